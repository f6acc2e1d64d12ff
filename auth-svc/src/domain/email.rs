//! Email addresses: validated and normalised once, at the edge.

/// Longest address SMTP accepts.
const MAX_LENGTH: usize = 254;

/// A valid, normalised (trimmed, lower-case) email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an email was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was given.
    #[error("must not be empty")]
    Empty,
    /// Longer than 254 characters.
    #[error("must be at most {MAX_LENGTH} characters")]
    TooLong,
    /// Not an address.
    #[error("is not a valid email address")]
    Malformed,
}

impl Email {
    /// Validates and normalises `raw`.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(EmailError::Empty);
        }
        if normalised.len() > MAX_LENGTH {
            return Err(EmailError::TooLong);
        }
        // Not even in a quoted local part: a NUL cannot be stored, and no mailbox needs one.
        if normalised.chars().any(char::is_control) {
            return Err(EmailError::Malformed);
        }
        // A mailbox with a dotted domain: `user@localhost` and display names are not accepted.
        let valid = email_address::EmailAddress::parse_with_options(
            &normalised,
            email_address::Options::default()
                .without_display_text()
                .without_domain_literal(),
        )
        .is_ok()
            && normalised
                .rsplit_once('@')
                .is_some_and(|(_, domain)| domain.contains('.'));
        if !valid {
            return Err(EmailError::Malformed);
        }
        Ok(Self(normalised))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Popug@UberPopug.Example ").unwrap().as_str(),
            "popug@uberpopug.example"
        );
    }

    #[test]
    fn bad_emails_are_refused_with_their_reason() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        assert_eq!(Email::parse("no-at-sign"), Err(EmailError::Malformed));
        assert_eq!(Email::parse("two@@example.com"), Err(EmailError::Malformed));
        assert_eq!(Email::parse("popug@localhost"), Err(EmailError::Malformed));
        for control in [
            "po\0pug@example.com",
            "\"po\0pug\"@example.com",
            "popug@exa\u{7}mple.com",
        ] {
            assert_eq!(
                Email::parse(control),
                Err(EmailError::Malformed),
                "{control:?}"
            );
        }
        assert_eq!(
            Email::parse("Popug <popug@example.com>"),
            Err(EmailError::Malformed)
        );
        assert_eq!(
            Email::parse(&format!("{}@example.com", "a".repeat(250))),
            Err(EmailError::TooLong)
        );
    }
}
