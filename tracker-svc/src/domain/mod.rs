//! The tracker's rules, free of storage and transport: descriptions, titles and jira ids,
//! prices, a task's life, who may be assigned.

mod description;
mod details;
mod pricing;
mod task;
mod title;

pub use description::{Description, DescriptionError, MAX_DESCRIPTION_CHARS};
pub use details::{Details, DetailsChange};
pub use pricing::Prices;
pub use task::{
    CompletionRefused, DescriptionChangeRefused, TaskStatus, check_completion,
    check_description_change,
};
pub use title::{
    JiraId, JiraIdError, Legacy, MAX_JIRA_ID_CHARS, MAX_TITLE_CHARS, Title, TitleError,
    split_legacy,
};

use ates_token::Role;
use rand::Rng;
use uuid::Uuid;

/// Picks an assignee uniformly among `eligible`; `None` when nobody is.
pub fn pick_assignee<R: Rng + ?Sized>(eligible: &[Uuid], rng: &mut R) -> Option<Uuid> {
    if eligible.is_empty() {
        return None;
    }
    Some(eligible[rng.random_range(0..eligible.len())])
}

/// The roles that manage tasks: they reshuffle, list every task, change any description, and
/// are never assigned tasks.
pub const MANAGERS: &[Role] = &[Role::Manager, Role::Admin];

/// Whether an account with `role` may be assigned tasks: anyone but managers and admins.
pub fn is_eligible(role: Role) -> bool {
    !MANAGERS.contains(&role)
}

/// The roles whose accounts may be assigned tasks.
pub fn eligible_roles() -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|role| is_eligible(*role))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_eligible_popug_is_picked_about_equally_often() {
        let eligible: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..10_000 {
            *counts
                .entry(pick_assignee(&eligible, &mut rng).unwrap())
                .or_insert(0) += 1;
        }
        for id in &eligible {
            let count = counts[id];
            assert!(
                (1_800..=2_200).contains(&count),
                "{id} picked {count} times of 10000"
            );
        }
    }

    #[test]
    fn nobody_eligible_means_no_assignee() {
        assert_eq!(pick_assignee(&[], &mut rand::rng()), None);
    }

    #[test]
    fn managers_and_admins_are_never_eligible() {
        assert_eq!(eligible_roles(), vec![Role::Accountant, Role::Worker]);
        assert!(is_eligible(Role::Worker));
        assert!(is_eligible(Role::Accountant));
        assert!(!is_eligible(Role::Manager));
        assert!(!is_eligible(Role::Admin));
    }
}
