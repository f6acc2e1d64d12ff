//! A task's life: open until its assignee completes it, then done for good.

use ates_token::Role;
use uuid::Uuid;

/// Where a task is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Assigned and not yet done; takes part in reshuffles.
    Open,
    /// Completed by its assignee; final.
    Done,
}

impl TaskStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Open => "open",
            TaskStatus::Done => "done",
        }
    }

    /// From the stored name.
    pub fn parse(raw: &str) -> Option<Self> {
        [TaskStatus::Open, TaskStatus::Done]
            .into_iter()
            .find(|status| status.as_str() == raw)
    }
}

/// Why a completion is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CompletionRefused {
    /// Only the current assignee may complete a task.
    #[error("only the task's current assignee may complete it")]
    NotTheAssignee,
    /// A task is completed once.
    #[error("the task is already done")]
    AlreadyDone,
}

/// Whether `caller` may complete a task with this status and assignee now.
pub fn check_completion(
    status: TaskStatus,
    assignee: Uuid,
    caller: Uuid,
) -> Result<(), CompletionRefused> {
    if assignee != caller {
        return Err(CompletionRefused::NotTheAssignee);
    }
    if status == TaskStatus::Done {
        return Err(CompletionRefused::AlreadyDone);
    }
    Ok(())
}

/// Why a description change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only the task's creator, managers and admins may change its description")]
pub struct DescriptionChangeRefused;

/// Whether `caller` with `role` may change the description of a task `creator` created.
pub fn check_description_change(
    creator: Uuid,
    caller: Uuid,
    role: Role,
) -> Result<(), DescriptionChangeRefused> {
    if caller == creator || super::MANAGERS.contains(&role) {
        Ok(())
    } else {
        Err(DescriptionChangeRefused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for status in [TaskStatus::Open, TaskStatus::Done] {
            assert_eq!(TaskStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(TaskStatus::parse("closed"), None);
    }

    #[test]
    fn only_the_assignee_completes_and_only_an_open_task() {
        let (assignee, other) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            check_completion(TaskStatus::Open, assignee, assignee),
            Ok(())
        );
        assert_eq!(
            check_completion(TaskStatus::Open, assignee, other),
            Err(CompletionRefused::NotTheAssignee)
        );
        assert_eq!(
            check_completion(TaskStatus::Done, assignee, assignee),
            Err(CompletionRefused::AlreadyDone)
        );
        // Someone else asking about a done task learns only that it is not theirs.
        assert_eq!(
            check_completion(TaskStatus::Done, assignee, other),
            Err(CompletionRefused::NotTheAssignee)
        );
    }

    #[test]
    fn the_creator_managers_and_admins_change_descriptions() {
        let (creator, other) = (Uuid::new_v4(), Uuid::new_v4());
        assert!(check_description_change(creator, creator, Role::Worker).is_ok());
        assert!(check_description_change(creator, other, Role::Manager).is_ok());
        assert!(check_description_change(creator, other, Role::Admin).is_ok());
        assert!(check_description_change(creator, other, Role::Worker).is_err());
        assert!(check_description_change(creator, other, Role::Accountant).is_err());
    }
}
