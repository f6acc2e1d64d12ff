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
            },
            None => {
                let mut details = Self::derived(description.as_str());
                if let Some(jira_id) = jira_id {
                    details.jira_id = Some(jira_id.as_str().to_owned());
                }
                details
            }
        }
    }

    /// The details of a description written before titles existed: title and jira id read from
    /// it.
    pub fn derived(description: &str) -> Self {
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
                .map(|id| id.as_str().to_owned()),
            title_derived: true,
        }
    }

    /// These details after `change`. A derived title is read again from a new description,
    /// unless the change sets the title; a jira id read from the new description replaces the
    /// old one then, but none is ever removed except by setting it empty.
    pub fn changed(&self, change: &DetailsChange) -> Self {
        let mut next = self.clone();
        if let Some(description) = &change.description {
            next.description = description.as_str().to_owned();
            if self.title_derived && change.title.is_none() {
                let derived = Self::derived(description.as_str());
                next.title = derived.title;
                if derived.jira_id.is_some() {
                    next.jira_id = derived.jira_id;
                }
            }
        }
        if let Some(title) = &change.title {
            next.title = title.as_str().to_owned();
            next.title_derived = false;
        }
        if let Some(jira_id) = &change.jira_id {
            next.jira_id = jira_id.as_ref().map(|id| id.as_str().to_owned());
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
        assert!(!details.title_derived);
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
