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

fn instant(timestamp: Option<&prost_types::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(|timestamp| {
            DateTime::from_timestamp(timestamp.seconds, u32::try_from(timestamp.nanos).ok()?)
        })
        .unwrap_or(fallback)
}

fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
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

    /// Posts each posting once, records an audit-log event per new entry and a bill update per
    /// account touched.
    async fn post_all(
        &self,
        conn: &mut AsyncPgConnection,
        postings: &[Posting],
        now: DateTime<Utc>,
    ) -> Result<(), HandlerError> {
        let mut audit = Vec::new();
        let mut touched = BTreeSet::new();
        for posting in postings {
            let Some(entry_id) = ledger::post(conn, posting).await? else {
                continue;
            };
            let leg = posting.employee_leg();
            let account = leg.book.account().expect("the first leg is the employee's");
            touched.insert(account);
            audit.push(out::AuditLogEntryCreated {
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
            });
        }
        self.outbox
            .record_all(conn, audit.iter().map(|event| (event, now)))
            .await
            .map_err(outbox_error)?;
        let mut bills = Vec::with_capacity(touched.len());
        for account in touched {
            let balance = ledger::balance(conn, account).await?.ok_or_else(|| {
                HandlerError::Failed(format!("no balance row for {account} after posting"))
            })?;
            bills.push(out::BillUpdated {
                account_id: account.to_string(),
                balance_cents: balance.balance_cents,
                as_of: Some(timestamp(balance.updated_at)),
                revision: u64::try_from(balance.entry_count).unwrap_or(0),
            });
        }
        self.outbox
            .record_all(conn, bills.iter().map(|event| (event, now)))
            .await
            .map_err(outbox_error)?;
        Ok(())
    }
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
            let now = Utc::now();
            let postings = match event.event_type.as_str() {
                TASK_ADDED => {
                    let added: tracker::TaskAdded = event.decode()?;
                    let assignment = added.assignment.ok_or_else(|| {
                        HandlerError::Rejected("TaskAdded has no assignment".to_owned())
                    })?;
                    ledger::remember_description(
                        conn,
                        id("task_id", &assignment.task_id)?,
                        &assignment.description,
                        0,
                    )
                    .await?;
                    vec![self.assignment_posting(&assignment, event.occurred_at)?]
                }
                TASKS_REASSIGNED => {
                    let batch: tracker::TasksReassigned = event.decode()?;
                    let mut postings = Vec::with_capacity(batch.assignments.len());
                    for assignment in &batch.assignments {
                        ledger::remember_description(
                            conn,
                            id("task_id", &assignment.task_id)?,
                            &assignment.description,
                            0,
                        )
                        .await?;
                        postings.push(self.assignment_posting(assignment, event.occurred_at)?);
                    }
                    postings
                }
                TASK_COMPLETED => {
                    let completed: tracker::TaskCompleted = event.decode()?;
                    let occurred_at = instant(completed.completed_at.as_ref(), event.occurred_at);
                    vec![Posting::completion_reward(
                        id("assignee_id", &completed.assignee_id)?,
                        id("task_id", &completed.task_id)?,
                        positive("reward_cents", completed.reward_cents)?,
                        occurred_at,
                        self.calendar.date_of(occurred_at),
                    )]
                }
                TASK_DESCRIPTION_UPDATED => {
                    let updated: tracker::TaskDescriptionUpdated = event.decode()?;
                    let revision = i64::try_from(updated.revision).map_err(|_| {
                        HandlerError::Rejected(format!(
                            "revision {} is out of range",
                            updated.revision
                        ))
                    })?;
                    ledger::remember_description(
                        conn,
                        id("task_id", &updated.task_id)?,
                        &updated.description,
                        revision,
                    )
                    .await?;
                    Vec::new()
                }
                BILL_ZEROED => {
                    let zeroed: payouts::BillZeroed = event.decode()?;
                    let business_date =
                        NaiveDate::parse_from_str(&zeroed.business_date, "%Y-%m-%d").map_err(
                            |_| {
                                HandlerError::Rejected(format!(
                                    "business_date `{}` is not YYYY-MM-DD",
                                    zeroed.business_date
                                ))
                            },
                        )?;
                    vec![Posting::payout(
                        id("account_id", &zeroed.account_id)?,
                        positive("amount_cents", zeroed.amount_cents)?,
                        instant(zeroed.paid_at.as_ref(), event.occurred_at),
                        business_date,
                    )]
                }
                other => {
                    return Err(HandlerError::Rejected(format!(
                        "unexpected event type {other}"
                    )));
                }
            };
            self.post_all(conn, &postings, now).await
        })
    }
}
