//! The most expensive task, and management's earnings.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

/// A completed task as the audit log shows it: its reward entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The task.
    pub task_id: Uuid,
    /// The reward credited, in cents.
    pub reward_cents: i64,
    /// When it was completed.
    pub completed_at: DateTime<Utc>,
    /// The business date it was completed on.
    pub completed_on: NaiveDate,
}

/// Whether `a` ranks above `b`: the higher reward; among equal rewards the earlier completion;
/// among those the lower task id. (Storage orders by the same keys: `amount_cents DESC,
/// occurred_at, task_id`; PostgreSQL compares UUIDs byte by byte as `Uuid` does.)
pub fn ranks_above(a: &Completion, b: &Completion) -> bool {
    rank(a, b) == Ordering::Less
}

fn rank(a: &Completion, b: &Completion) -> Ordering {
    b.reward_cents
        .cmp(&a.reward_cents)
        .then(a.completed_at.cmp(&b.completed_at))
        .then(a.task_id.cmp(&b.task_id))
}

/// The most expensive of `completions`, by [`ranks_above`].
pub fn most_expensive<'a>(
    completions: impl IntoIterator<Item = &'a Completion>,
) -> Option<&'a Completion> {
    completions.into_iter().min_by(|a, b| rank(a, b))
}

/// The fees charged and rewards credited on one business date, both as positive sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTotals {
    /// Sum of the assignment fees, in cents.
    pub fees_cents: i64,
    /// Sum of the completion rewards, in cents.
    pub rewards_cents: i64,
}

impl DayTotals {
    /// Management's earnings: fees minus rewards (payouts are not earnings).
    pub fn management_earnings_cents(&self) -> i64 {
        self.fees_cents - self.rewards_cents
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn completion(task: u128, reward: i64, second: u32) -> Completion {
        Completion {
            task_id: Uuid::from_u128(task),
            reward_cents: reward,
            completed_at: Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, second).unwrap(),
            completed_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
        }
    }

    #[test]
    fn the_highest_reward_wins_then_the_earliest_completion_then_the_lowest_task_id() {
        let cheap = completion(1, 2_000, 0);
        let rich_late = completion(2, 4_000, 30);
        let rich_early = completion(9, 4_000, 10);
        let rich_early_lower_id = completion(3, 4_000, 10);
        let all = [
            cheap,
            rich_late,
            rich_early.clone(),
            rich_early_lower_id.clone(),
        ];
        assert_eq!(most_expensive(&all), Some(&rich_early_lower_id));
        assert!(ranks_above(&rich_early_lower_id, &rich_early));
        assert!(!ranks_above(&rich_early, &rich_early));
        assert_eq!(most_expensive(&[]), None);
    }

    #[test]
    fn management_earns_fees_minus_rewards() {
        let day = DayTotals {
            fees_cents: 4_500,
            rewards_cents: 6_000,
        };
        assert_eq!(day.management_earnings_cents(), -1_500);
    }
}
