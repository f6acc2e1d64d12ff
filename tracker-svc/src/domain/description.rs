//! Task descriptions: validated once, at the edge.

/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;

/// A non-empty, trimmed description of at most [`MAX_DESCRIPTION_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

/// Why a description was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptionError {
    /// Nothing but whitespace.
    #[error("must not be empty")]
    Empty,
    /// Too long.
    #[error("must be at most {MAX_DESCRIPTION_CHARS} characters")]
    TooLong,
    /// A NUL or another control character (line breaks and tabs are text).
    #[error("must not contain control characters other than line breaks and tabs")]
    ControlCharacter,
}

impl Description {
    /// Validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, DescriptionError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(DescriptionError::Empty);
        }
        if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(DescriptionError::TooLong);
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(DescriptionError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_trimmed_and_bounded() {
        assert_eq!(
            Description::parse("  fix the beak  ").unwrap().as_str(),
            "fix the beak"
        );
        assert_eq!(Description::parse(" \n "), Err(DescriptionError::Empty));
        assert!(Description::parse(&"é".repeat(MAX_DESCRIPTION_CHARS)).is_ok());
        assert_eq!(
            Description::parse(&"a".repeat(MAX_DESCRIPTION_CHARS + 1)),
            Err(DescriptionError::TooLong)
        );
    }

    #[test]
    fn nul_and_other_control_characters_are_refused_and_line_breaks_kept() {
        for bad in [
            "fix\0 the beak",
            "fix\u{7} the beak",
            "a\u{1b}[31mred",
            "x\u{9f}y",
        ] {
            assert_eq!(
                Description::parse(bad),
                Err(DescriptionError::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(
            Description::parse("line one\r\n\tline two")
                .unwrap()
                .as_str(),
            "line one\r\n\tline two"
        );
    }
}
