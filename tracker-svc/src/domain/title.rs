//! Task titles and jira ids (schema v2), and how both are read out of a description written
//! before they existed (`[UBERPOP-42] Fix the button`).

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest jira id, in characters.
pub const MAX_JIRA_ID_CHARS: usize = 64;

/// A task's title: trimmed, 1..=[`MAX_TITLE_CHARS`] characters, one line, no `[` or `]` (the
/// jira id has a field of its own now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

/// Why a title was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TitleError {
    /// Nothing but whitespace.
    #[error("must not be empty")]
    Empty,
    /// Too long.
    #[error("must be at most {MAX_TITLE_CHARS} characters")]
    TooLong,
    /// A bracket: `[UBERPOP-42]` belongs in `jira_id`.
    #[error("must not contain `[` or `]` (put the jira id in jira_id)")]
    Bracket,
    /// A line break, tab, NUL or another control character.
    #[error("must be one line without control characters")]
    ControlCharacter,
}

impl Title {
    /// Validates `raw`.
    pub fn parse(raw: &str) -> Result<Self, TitleError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TitleError::Empty);
        }
        if trimmed.chars().count() > MAX_TITLE_CHARS {
            return Err(TitleError::TooLong);
        }
        if trimmed.contains(['[', ']']) {
            return Err(TitleError::Bracket);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TitleError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// A title made from free text (a description of an old client, or of a task written
    /// before titles existed): its first non-blank line, control characters dropped, brackets
    /// turned into parentheses, cut to [`MAX_TITLE_CHARS`] characters (the last one `…` when
    /// cut). `None` when the text has no visible character.
    pub fn derive(text: &str) -> Option<Self> {
        let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
        let cleaned: String = line
            .chars()
            .filter(|c| !c.is_control())
            .map(|c| match c {
                '[' => '(',
                ']' => ')',
                other => other,
            })
            .collect();
        let cleaned = cleaned.trim();
        let title = if cleaned.chars().count() > MAX_TITLE_CHARS {
            let mut cut: String = cleaned.chars().take(MAX_TITLE_CHARS - 1).collect();
            cut.truncate(cut.trim_end().len());
            cut.push('…');
            cut
        } else {
            cleaned.to_owned()
        };
        Self::parse(&title).ok()
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A jira issue key: upper-case letters and digits starting with a letter, a dash, digits
/// (`UBERPOP-42`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JiraId(String);

/// Why a jira id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JiraIdError {
    /// Not of the form `UBERPOP-42`.
    #[error(
        "must look like UBERPOP-42: upper-case letters and digits starting with a letter, a dash, digits"
    )]
    Malformed,
    /// Too long.
    #[error("must be at most {MAX_JIRA_ID_CHARS} characters")]
    TooLong,
}

impl JiraId {
    /// Validates `raw` (surrounding whitespace is dropped). Empty is "no jira id", decided by
    /// the caller before.
    pub fn parse(raw: &str) -> Result<Self, JiraIdError> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_JIRA_ID_CHARS {
            return Err(JiraIdError::TooLong);
        }
        let (project, number) = trimmed.split_once('-').ok_or(JiraIdError::Malformed)?;
        let project_ok = project.starts_with(|c: char| c.is_ascii_uppercase())
            && project
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        let number_ok = !number.is_empty() && number.chars().all(|c| c.is_ascii_digit());
        if project_ok && number_ok {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(JiraIdError::Malformed)
        }
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a description written before titles existed says: its jira id, when it starts with
/// one in brackets, and its title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Legacy {
    /// The bracketed key at the start, upper-cased (`[uberpop-42]` is `UBERPOP-42`).
    pub jira_id: Option<JiraId>,
    /// The rest, as a title ([`Title::derive`]); the jira id itself when nothing else is left.
    pub title: Title,
}

/// Reads `description` as a legacy task text: `[UBERPOP-42] Fix the button`,
/// `[UBERPOP-42] - Fix the button` and `[ UBERPOP-42 ]: Fix the button` are jira id
/// `UBERPOP-42` with title `Fix the button`; a bracket that does not open the text or does not
/// hold a key is part of the title (as parentheses). `None` only for a text with no visible
/// character, which no stored description is.
pub fn split_legacy(description: &str) -> Option<Legacy> {
    let text = description.trim_start();
    if let Some(after_bracket) = text.strip_prefix('[')
        && let Some((inside, rest)) = after_bracket.split_once(']')
        && let Ok(jira_id) = JiraId::parse(&inside.to_uppercase())
    {
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix(['-', ':', '–', '—'])
            .unwrap_or(rest)
            .trim_start();
        let title = Title::derive(rest)
            .or_else(|| Title::derive(jira_id.as_str()))
            .expect("a jira id is a title");
        return Some(Legacy {
            jira_id: Some(jira_id),
            title,
        });
    }
    Title::derive(description).map(|title| Legacy {
        jira_id: None,
        title,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn legacy(description: &str) -> (Option<String>, String) {
        let legacy = split_legacy(description).expect("a title");
        (
            legacy.jira_id.map(|id| id.as_str().to_owned()),
            legacy.title.as_str().to_owned(),
        )
    }

    fn with_id(id: &str, title: &str) -> (Option<String>, String) {
        (Some(id.to_owned()), title.to_owned())
    }

    #[test]
    fn titles_are_trimmed_bounded_one_line_and_bracket_free() {
        assert_eq!(
            Title::parse("  Fix the button ").unwrap().as_str(),
            "Fix the button"
        );
        assert_eq!(Title::parse(" \t "), Err(TitleError::Empty));
        assert!(Title::parse(&"ж".repeat(MAX_TITLE_CHARS)).is_ok());
        assert_eq!(
            Title::parse(&"a".repeat(MAX_TITLE_CHARS + 1)),
            Err(TitleError::TooLong)
        );
        for bad in ["[UBERPOP-42] Fix", "Fix ]", "a [b"] {
            assert_eq!(Title::parse(bad), Err(TitleError::Bracket), "{bad}");
        }
        for bad in ["two\nlines", "tab\there", "nul\0", "bell\u{7}"] {
            assert_eq!(
                Title::parse(bad),
                Err(TitleError::ControlCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn jira_ids_are_a_project_key_a_dash_and_a_number() {
        for good in ["UBERPOP-42", "A-1", "P2P-0007", " UBERPOP-42 "] {
            assert!(JiraId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "uberpop-42",
            "UBERPOP42",
            "UBERPOP-",
            "-42",
            "42-42",
            "UBER POP-42",
            "UBERPOP-4a",
            "UBERPOP-42-1",
            "ÜBER-1",
            "",
        ] {
            assert_eq!(JiraId::parse(bad), Err(JiraIdError::Malformed), "{bad}");
        }
        assert_eq!(
            JiraId::parse(&format!("A-{}", "1".repeat(MAX_JIRA_ID_CHARS))),
            Err(JiraIdError::TooLong)
        );
    }

    #[test]
    fn a_legacy_prefix_becomes_the_jira_id_in_every_spelling() {
        for description in [
            "[UBERPOP-42] Fix the button",
            "[UBERPOP-42] - Fix the button",
            "[UBERPOP-42]-Fix the button",
            "[UBERPOP-42]: Fix the button",
            "[UBERPOP-42] — Fix the button",
            "  [UBERPOP-42]   Fix the button  ",
            "[ UBERPOP-42 ] Fix the button",
            "[uberpop-42] Fix the button",
            "[UBERPOP-42]Fix the button",
            "[UBERPOP-42] Fix the button\nwith details below",
        ] {
            assert_eq!(
                legacy(description),
                with_id("UBERPOP-42", "Fix the button"),
                "{description:?}"
            );
        }
    }

    #[test]
    fn without_a_leading_key_the_whole_text_is_the_title() {
        assert_eq!(legacy("Fix the button"), (None, "Fix the button".into()));
        // A key in the middle, or a bracket that holds no key, is text.
        assert_eq!(
            legacy("Fix [UBERPOP-42] the button"),
            (None, "Fix (UBERPOP-42) the button".into())
        );
        assert_eq!(
            legacy("[draft] Fix the button"),
            (None, "(draft) Fix the button".into())
        );
        assert_eq!(legacy("[UBERPOP-42 Fix"), (None, "(UBERPOP-42 Fix".into()));
        assert_eq!(
            legacy("\n\n  second line first\nthird"),
            (None, "second line first".into())
        );
    }

    #[test]
    fn unicode_and_edge_cases_keep_a_valid_title() {
        assert_eq!(
            legacy("[UBERPOP-7] Починить клюв 🐦"),
            with_id("UBERPOP-7", "Починить клюв 🐦")
        );
        assert_eq!(legacy("[UBERPOP-42]"), with_id("UBERPOP-42", "UBERPOP-42"));
        assert_eq!(
            legacy("[UBERPOP-42] - "),
            with_id("UBERPOP-42", "UBERPOP-42")
        );
        let long = "ы".repeat(MAX_TITLE_CHARS + 50);
        let (_, title) = legacy(&long);
        assert_eq!(title.chars().count(), MAX_TITLE_CHARS);
        assert!(title.ends_with('…'));
        assert_eq!(split_legacy(" \n\t "), None);
    }

    proptest! {
        #[test]
        fn every_visible_text_has_a_title_taken_from_it(text in "\\PC*[a-zA-Z0-9]\\PC*") {
            let legacy = split_legacy(&text).expect("a visible character makes a title");
            let title = legacy.title.as_str();
            prop_assert!(title.chars().count() <= MAX_TITLE_CHARS);
            // The title is a piece of the text (brackets as parentheses), or the jira id when
            // nothing follows it.
            let piece = title.strip_suffix('…').unwrap_or(title);
            let text = text.replace('[', "(").replace(']', ")");
            prop_assert!(
                text.contains(piece) || legacy.jira_id.as_ref().is_some_and(|id| id.as_str() == title),
                "{title:?} is not taken from {text:?}"
            );
        }

        #[test]
        fn a_written_key_and_title_are_read_back(
            project in "[A-Z][A-Z0-9]{0,9}",
            number in 0_u32..1_000_000,
            separator in prop::sample::select(vec![" ", " - ", ": ", "-", "  —  "]),
            title in "[^\\[\\]\\p{C}\\s:–—\\-]([^\\[\\]\\p{C}]{0,60}[^\\[\\]\\p{C}\\s])?",
        ) {
            let id = format!("{project}-{number}");
            let (jira_id, read) = legacy(&format!("[{id}]{separator}{title}"));
            prop_assert_eq!(jira_id, Some(id));
            prop_assert_eq!(read, title);
        }

        #[test]
        fn titles_that_parse_are_exactly_their_trimmed_text(raw in "\\PC{0,250}") {
            if let Ok(title) = Title::parse(&raw) {
                prop_assert_eq!(title.as_str(), raw.trim());
                prop_assert!(!title.as_str().contains(['[', ']']));
            }
        }
    }
}
