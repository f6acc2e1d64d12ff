//! A task's details: description, title and jira id, and how they are made and changed by old
//! clients (a description only) and new ones.

use super::description::Description;
use super::title::{JiraId, Title, split_legacy};

/// What a task says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// What to do.
    pub description: String,
    /// Its short name.
    pub title: String,
    /// Its jira issue key, if any.
    pub jira_id: Option<String>,
    /// The title was read from the description (no client gave one), so it follows the
    /// description's changes.
    pub title_derived: bool,
    /// Likewise the jira id: no client gave one (nor a title, which comes with its own).
    pub jira_id_derived: bool,
}

/// A change of details; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DetailsChange {
    /// A new description.
    pub description: Option<Description>,
    /// A new title.
    pub title: Option<Title>,
    /// A new jira id; `Some(None)` removes it.
    pub jira_id: Option<Option<JiraId>>,
}

impl DetailsChange {
    /// Whether the change names no field at all.
    pub fn is_empty(&self) -> bool {
        self.description.is_none() && self.title.is_none() && self.jira_id.is_none()
    }
}

impl Details {
    /// The details of a new task. Without a title (an old client), the title and, unless one is
    /// given, the jira id are read from the description ([`split_legacy`]).
    pub fn new(description: &Description, title: Option<Title>, jira_id: Option<JiraId>) -> Self {
        match title {
            Some(title) => Self {
                description: description.as_str().to_owned(),
                title: title.as_str().to_owned(),
                jira_id: jira_id.map(|id| id.as_str().to_owned()),
                title_derived: false,
                jira_id_derived: false,
            },
            None => {
                let mut details = Self::derived(description.as_str(), None);
                if let Some(jira_id) = jira_id {
                    details.jira_id = Some(jira_id.as_str().to_owned());
                    details.jira_id_derived = false;
                }
                details
            }
        }
    }

    /// The details of a description no client gave a title or jira id for: both read from it;
    /// when it has no leading jira id, `jira_id` (the one it had) stays.
    pub fn derived(description: &str, jira_id: Option<String>) -> Self {
        let legacy = split_legacy(description);
        Self {
            description: description.to_owned(),
            // A stored description always has a visible character; should one not, its title
            // says so rather than failing a read.
            title: legacy.as_ref().map_or_else(
                || "(untitled)".to_owned(),
                |legacy| legacy.title.as_str().to_owned(),
            ),
            jira_id: legacy
                .and_then(|legacy| legacy.jira_id)
                .map(|id| id.as_str().to_owned())
                .or(jira_id),
            title_derived: true,
            jira_id_derived: true,
        }
    }

    /// The details stored as `description`, `title`, `jira_id` and their flags, with what
    /// follows the description read from it again.
    pub fn stored(
        description: &str,
        title: Option<&str>,
        jira_id: Option<&str>,
        title_derived: bool,
        jira_id_derived: bool,
    ) -> Self {
        let derived = Self::derived(description, jira_id.map(str::to_owned));
        Self {
            description: description.to_owned(),
            title: match title {
                Some(title) if !title_derived => title.to_owned(),
                _ => derived.title,
            },
            jira_id: if jira_id_derived {
                derived.jira_id
            } else {
                jira_id.map(str::to_owned)
            },
            title_derived: title_derived || title.is_none(),
            jira_id_derived,
        }
    }

    /// These details after `change`: what follows the description is read again from a new
    /// one (a derived jira id is replaced by the new description's, never removed); what a
    /// change sets no longer follows it.
    pub fn changed(&self, change: &DetailsChange) -> Self {
        let mut next = self.clone();
        if let Some(description) = &change.description {
            next.description = description.as_str().to_owned();
        }
        if let Some(title) = &change.title {
            next.title = title.as_str().to_owned();
            next.title_derived = false;
        }
        if let Some(jira_id) = &change.jira_id {
            next.jira_id = jira_id.as_ref().map(|id| id.as_str().to_owned());
            next.jira_id_derived = false;
        }
        let derived = Self::derived(&next.description, next.jira_id.clone());
        if next.title_derived {
            next.title = derived.title;
        }
        if next.jira_id_derived {
            next.jira_id = derived.jira_id;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description(text: &str) -> Description {
        Description::parse(text).unwrap()
    }

    #[test]
    fn an_old_client_gets_title_and_jira_id_read_from_its_description() {
        let details = Details::new(&description("[UBERPOP-42] - Fix the button"), None, None);
        assert_eq!(details.title, "Fix the button");
        assert_eq!(details.jira_id.as_deref(), Some("UBERPOP-42"));
        assert_eq!(details.description, "[UBERPOP-42] - Fix the button");
        assert!(details.title_derived);

        let given_id = Details::new(
            &description("Fix the button"),
            None,
            Some(JiraId::parse("UBERPOP-7").unwrap()),
        );
        assert_eq!(given_id.title, "Fix the button");
        assert_eq!(given_id.jira_id.as_deref(), Some("UBERPOP-7"));
    }

    #[test]
    fn a_new_client_keeps_its_title_and_jira_id_as_given() {
        let details = Details::new(
            &description("[OTHER-1] the long story"),
            Some(Title::parse("Fix the button").unwrap()),
            None,
        );
        assert_eq!(details.title, "Fix the button");
        assert_eq!(
            details.jira_id, None,
            "a given title reads nothing from the text"
        );
        assert!(!details.title_derived && !details.jira_id_derived);
    }

    #[test]
    fn a_jira_id_an_old_client_gives_wins_over_the_descriptions_and_stays() {
        let details = Details::new(
            &description("[UBERPOP-42] Fix the button"),
            None,
            Some(JiraId::parse("UBERPOP-7").unwrap()),
        );
        assert_eq!(details.title, "Fix the button");
        assert_eq!(details.jira_id.as_deref(), Some("UBERPOP-7"));
        let stored = Details::stored(
            &details.description,
            Some(&details.title),
            details.jira_id.as_deref(),
            details.title_derived,
            details.jira_id_derived,
        );
        assert_eq!(stored, details, "reading it back gives what was written");
        let moved = details.changed(&DetailsChange {
            description: Some(description("[UBERPOP-9] Fix it all")),
            ..DetailsChange::default()
        });
        assert_eq!(moved.title, "Fix it all");
        assert_eq!(moved.jira_id.as_deref(), Some("UBERPOP-7"));
        let cleared = moved.changed(&DetailsChange {
            jira_id: Some(None),
            ..DetailsChange::default()
        });
        assert_eq!(cleared.jira_id, None);
        let again = Details::stored(
            &cleared.description,
            Some(&cleared.title),
            None,
            cleared.title_derived,
            cleared.jira_id_derived,
        );
        assert_eq!(again.jira_id, None, "a removed jira id is not read back in");
    }

    #[test]
    fn a_row_written_before_titles_reads_as_its_description_says() {
        let legacy = Details::stored("[uberpop-5]: Paint it", None, None, true, true);
        assert_eq!(
            (legacy.title.as_str(), legacy.jira_id.as_deref()),
            ("Paint it", Some("UBERPOP-5"))
        );
        // A previous release changed the description after the backfill stored a title.
        let moved = Details::stored(
            "Paint it red",
            Some("Paint it"),
            Some("UBERPOP-5"),
            true,
            true,
        );
        assert_eq!(
            (moved.title.as_str(), moved.jira_id.as_deref()),
            ("Paint it red", Some("UBERPOP-5"))
        );
    }

    #[test]
    fn a_derived_title_follows_the_description_until_one_is_set() {
        let details = Details::new(&description("[UBERPOP-42] Fix the button"), None, None);
        let moved = details.changed(&DetailsChange {
            description: Some(description("Paint the beak\nin blue")),
            ..DetailsChange::default()
        });
        assert_eq!(moved.title, "Paint the beak");
        assert_eq!(
            moved.jira_id.as_deref(),
            Some("UBERPOP-42"),
            "a jira id is removed only explicitly"
        );

        let titled = moved.changed(&DetailsChange {
            title: Some(Title::parse("Blue beak").unwrap()),
            jira_id: Some(None),
            ..DetailsChange::default()
        });
        assert_eq!(titled.title, "Blue beak");
        assert_eq!(titled.jira_id, None);
        assert!(!titled.title_derived);

        let kept = titled.changed(&DetailsChange {
            description: Some(description("[UBERPOP-9] Something else")),
            ..DetailsChange::default()
        });
        assert_eq!(kept.title, "Blue beak", "a given title stays");
        assert_eq!(kept.jira_id, None);
        assert_eq!(kept.description, "[UBERPOP-9] Something else");
    }

    #[test]
    fn an_empty_change_is_empty() {
        assert!(DetailsChange::default().is_empty());
        assert!(
            !DetailsChange {
                jira_id: Some(None),
                ..DetailsChange::default()
            }
            .is_empty()
        );
    }
}
