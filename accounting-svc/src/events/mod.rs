//! Events accounting consumes (task lifecycle and descriptions from the tracker, payouts) and the
//! events it records in return (bill updates and audit-log entries), in one transaction.

use std::collections::BTreeSet;

use ates_contracts::ates::accounting::events::v1 as out;
use ates_contracts::ates::payouts::events::v1 as payouts;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_messaging::{Handler, HandlerError, Outbox, ReceivedEvent};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use uuid::Uuid;

use ates_contracts::time::timestamp;

/// When an event's own timestamp is missing or malformed, the envelope's time is used.
fn instant(timestamp: Option<&prost_types::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(ates_contracts::time::instant)
        .unwrap_or(fallback)
}

use crate::domain::{BusinessCalendar, Kind, Posting};
use crate::storage::ledger;

const TASK_ADDED: &str = "ates.tracker.events.v1.TaskAdded";
const TASKS_REASSIGNED: &str = "ates.tracker.events.v1.TasksReassigned";
const TASK_COMPLETED: &str = "ates.tracker.events.v1.TaskCompleted";
const TASK_DESCRIPTION_UPDATED: &str = "ates.tracker.events.v1.TaskDescriptionUpdated";
const BILL_ZEROED: &str = "ates.payouts.events.v1.BillZeroed";

/// Applies money events to the ledger.
#[derive(Debug, Clone)]
pub struct LedgerHandler {
    outbox: Outbox,
    calendar: BusinessCalendar,
}

impl LedgerHandler {
    /// A handler recording its events in `outbox`, dating entries with `calendar`.
    pub fn new(outbox: Outbox, calendar: BusinessCalendar) -> Self {
        Self { outbox, calendar }
    }
}

fn id(field: &str, raw: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(raw)
        .map_err(|_| HandlerError::Rejected(format!("{field} `{raw}` is not a UUID")))
}

fn positive(field: &str, cents: i64) -> Result<i64, HandlerError> {
    if cents > 0 {
        Ok(cents)
    } else {
        Err(HandlerError::Rejected(format!(
            "{field} must be positive, not {cents}"
        )))
    }
}

fn entry_kind(kind: Kind) -> out::EntryKind {
    match kind {
        Kind::AssignmentFee => out::EntryKind::AssignmentFee,
        Kind::CompletionReward => out::EntryKind::CompletionReward,
        Kind::Payout => out::EntryKind::Payout,
    }
}

impl LedgerHandler {
    fn assignment_posting(
        &self,
        assignment: &tracker::Assignment,
        fallback: DateTime<Utc>,
    ) -> Result<Posting, HandlerError> {
        let occurred_at = instant(assignment.assigned_at.as_ref(), fallback);
        Ok(Posting::assignment_fee(
            id("assignment_id", &assignment.assignment_id)?,
            id("assignee_id", &assignment.assignee_id)?,
            id("task_id", &assignment.task_id)?,
            positive("fee_cents", assignment.fee_cents)?,
            occurred_at,
            self.calendar.date_of(occurred_at),
        ))
    }

    /// Reads one event into the postings and descriptions it carries.
    fn read(&self, event: &ReceivedEvent, effects: &mut Effects) -> Result<(), HandlerError> {
        match event.event_type.as_str() {
            TASK_ADDED => {
                let added: tracker::TaskAdded = event.decode()?;
                let assignment = added.assignment.ok_or_else(|| {
                    HandlerError::Rejected("TaskAdded has no assignment".to_owned())
                })?;
                effects.descriptions.push((
                    id("task_id", &assignment.task_id)?,
                    assignment.description.clone(),
                    0,
                ));
                effects
                    .postings
                    .push(self.assignment_posting(&assignment, event.occurred_at)?);
            }
            TASKS_REASSIGNED => {
                let batch: tracker::TasksReassigned = event.decode()?;
                for assignment in &batch.assignments {
                    effects.descriptions.push((
                        id("task_id", &assignment.task_id)?,
                        assignment.description.clone(),
                        0,
                    ));
                    effects
                        .postings
                        .push(self.assignment_posting(assignment, event.occurred_at)?);
                }
            }
            TASK_COMPLETED => {
                let completed: tracker::TaskCompleted = event.decode()?;
                let occurred_at = instant(completed.completed_at.as_ref(), event.occurred_at);
                effects.postings.push(Posting::completion_reward(
                    id("assignee_id", &completed.assignee_id)?,
                    id("task_id", &completed.task_id)?,
                    positive("reward_cents", completed.reward_cents)?,
                    occurred_at,
                    self.calendar.date_of(occurred_at),
                ));
            }
            TASK_DESCRIPTION_UPDATED => {
                let updated: tracker::TaskDescriptionUpdated = event.decode()?;
                let revision = i64::try_from(updated.revision).map_err(|_| {
                    HandlerError::Rejected(format!("revision {} is out of range", updated.revision))
                })?;
                effects.descriptions.push((
                    id("task_id", &updated.task_id)?,
                    updated.description,
                    revision,
                ));
            }
            BILL_ZEROED => {
                let zeroed: payouts::BillZeroed = event.decode()?;
                let business_date = NaiveDate::parse_from_str(&zeroed.business_date, "%Y-%m-%d")
                    .map_err(|_| {
                        HandlerError::Rejected(format!(
                            "business_date `{}` is not YYYY-MM-DD",
                            zeroed.business_date
                        ))
                    })?;
                effects.postings.push(Posting::payout(
                    id("account_id", &zeroed.account_id)?,
                    positive("amount_cents", zeroed.amount_cents)?,
                    instant(zeroed.paid_at.as_ref(), event.occurred_at),
                    business_date,
                ));
            }
            other => {
                return Err(HandlerError::Rejected(format!(
                    "unexpected event type {other}"
                )));
            }
        }
        Ok(())
    }

    /// Applies what a set of events carries in a handful of statements: descriptions, postings
    /// (each business key once), an audit-log event per new entry, a bill update per account
    /// touched.
    async fn apply(
        &self,
        conn: &mut AsyncPgConnection,
        effects: &Effects,
    ) -> Result<(), HandlerError> {
        let now = Utc::now();
        ledger::remember_descriptions(conn, &effects.descriptions).await?;
        let posted = ledger::post_all(conn, &effects.postings).await?;
        let mut touched = BTreeSet::new();
        let audit: Vec<out::AuditLogEntryCreated> = posted
            .iter()
            .map(|&(index, entry_id)| {
                let posting = &effects.postings[index];
                let leg = posting.employee_leg();
                let account = leg.book.account().expect("the first leg is the employee's");
                touched.insert(account);
                out::AuditLogEntryCreated {
                    entry_id: entry_id.to_string(),
                    account_id: account.to_string(),
                    task_id: posting
                        .task_id
                        .map(|task| task.to_string())
                        .unwrap_or_default(),
                    amount_cents: leg.amount_cents,
                    kind: entry_kind(posting.kind) as i32,
                    business_date: posting.business_date.to_string(),
                    occurred_at: Some(timestamp(posting.occurred_at)),
                }
            })
            .collect();
        if audit.is_empty() {
            return Ok(());
        }
        self.outbox
            .record_all(conn, audit.iter().map(|event| (event, now)))
            .await
            .map_err(outbox_error)?;
        let accounts: Vec<Uuid> = touched.into_iter().collect();
        let bills: Vec<out::BillUpdated> = ledger::balances_of(conn, &accounts)
            .await?
            .into_iter()
            .map(|balance| out::BillUpdated {
                account_id: balance.account_id.to_string(),
                balance_cents: balance.balance_cents,
                as_of: Some(timestamp(balance.updated_at)),
                revision: u64::try_from(balance.entry_count).unwrap_or(0),
            })
            .collect();
        self.outbox
            .record_all(conn, bills.iter().map(|event| (event, now)))
            .await
            .map_err(outbox_error)?;
        Ok(())
    }
}

/// What events carry, gathered before anything is written.
#[derive(Default)]
struct Effects {
    postings: Vec<Posting>,
    descriptions: Vec<(Uuid, String, i64)>,
}

fn outbox_error(error: ates_messaging::OutboxError) -> HandlerError {
    match error {
        ates_messaging::OutboxError::Database(error) => error.into(),
        other => HandlerError::Failed(other.to_string()),
    }
}

impl Handler for LedgerHandler {
    fn event_types(&self) -> &[&'static str] {
        &[
            TASK_ADDED,
            TASKS_REASSIGNED,
            TASK_COMPLETED,
            TASK_DESCRIPTION_UPDATED,
            BILL_ZEROED,
        ]
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a ReceivedEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mut effects = Effects::default();
            self.read(event, &mut effects)?;
            self.apply(conn, &effects).await
        })
    }

    fn handle_batch<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _queue: &'a str,
        events: &'a [&'a ReceivedEvent],
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let mut effects = Effects::default();
            for event in events {
                self.read(event, &mut effects)?;
            }
            self.apply(conn, &effects).await
        })
    }
}
