//! Events accounting consumes: the tracker's task lifecycle (fees and rewards) and task texts,
//! in both schema versions (v2 adds the title and jira id), and payouts' bill-zeroed events
//! (payout entries), read into a [`Settlement`]; and auth's account announcements, so that a
//! new account has a statement before its first entry.

use ates_contracts::ates::auth::events::v1 as auth;
use ates_contracts::ates::payouts::events::v1 as payouts;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_contracts::ates::tracker::events::v2 as tracker_v2;
use ates_messaging::{Accepts, Cause, Handler, HandlerError, Reads, Received, Recorder};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::domain::{BusinessCalendar, Posting};
use crate::error::AccountingError;
use crate::operations::Settlement;
use crate::storage::ledger::{self, TaskText};

/// Applies money events to the ledger, dating entries with the business calendar.
#[derive(Debug, Clone, Copy)]
pub struct LedgerHandler {
    calendar: BusinessCalendar,
}

impl LedgerHandler {
    /// A handler dating entries with `calendar`.
    pub fn new(calendar: BusinessCalendar) -> Self {
        Self { calendar }
    }

    fn assignment(
        &self,
        settlement: &mut Settlement,
        assignment: Assigned<'_>,
        fallback: DateTime<Utc>,
        cause: &Cause,
    ) -> Result<(), HandlerError> {
        let task = id("task_id", assignment.task_id)?;
        let occurred_at = instant(assignment.assigned_at, fallback);
        settlement.descriptions.push(TaskText {
            task_id: task,
            description: storable(assignment.description),
            title: assignment.title,
            revision: assignment.revision,
        });
        settlement.postings.push((
            Posting::assignment_fee(
                id("assignment_id", assignment.assignment_id)?,
                id("assignee_id", assignment.assignee_id)?,
                task,
                positive("fee_cents", assignment.fee_cents)?,
                occurred_at,
                self.calendar.date_of(occurred_at),
            ),
            cause.clone(),
        ));
        Ok(())
    }
}

/// An assignment of either schema version.
struct Assigned<'a> {
    assignment_id: &'a str,
    task_id: &'a str,
    assignee_id: &'a str,
    description: &'a str,
    fee_cents: i64,
    assigned_at: Option<&'a prost_types::Timestamp>,
    /// Title and jira id: `None` from version 1.
    title: Option<(String, Option<String>)>,
    /// The revision of the text: 0 from version 1, which does not say.
    revision: i64,
}

impl<'a> From<&'a tracker::Assignment> for Assigned<'a> {
    fn from(assignment: &'a tracker::Assignment) -> Self {
        Self {
            assignment_id: &assignment.assignment_id,
            task_id: &assignment.task_id,
            assignee_id: &assignment.assignee_id,
            description: &assignment.description,
            fee_cents: assignment.fee_cents,
            assigned_at: assignment.assigned_at.as_ref(),
            title: None,
            revision: 0,
        }
    }
}

impl<'a> From<&'a tracker_v2::Assignment> for Assigned<'a> {
    fn from(assignment: &'a tracker_v2::Assignment) -> Self {
        Self {
            assignment_id: &assignment.assignment_id,
            task_id: &assignment.task_id,
            assignee_id: &assignment.assignee_id,
            description: &assignment.description,
            fee_cents: assignment.fee_cents,
            assigned_at: assignment.assigned_at.as_ref(),
            title: title_and_jira_id(&assignment.title, &assignment.jira_id),
            // A revision out of range tells nothing; the fee is charged all the same.
            revision: i64::try_from(assignment.details_revision).unwrap_or(0),
        }
    }
}

/// A version 2 event's title and jira id (empty is none). A money event is never refused over
/// its text: an empty title counts as none told.
fn title_and_jira_id(title: &str, jira_id: &str) -> Option<(String, Option<String>)> {
    (!title.trim().is_empty()).then(|| {
        (
            storable(title),
            (!jira_id.is_empty()).then(|| storable(jira_id)),
        )
    })
}

/// Text as PostgreSQL can store it: a NUL (which it refuses) becomes U+FFFD, so a money event
/// is never parked over its task's text.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{fffd}")
}

fn details_revision(revision: u64) -> Result<i64, HandlerError> {
    i64::try_from(revision)
        .map_err(|_| HandlerError::Rejected(format!("revision {revision} is out of range")))
}

fn id(field: &str, raw: &str) -> Result<Uuid, HandlerError> {
    ates_messaging::field_uuid(field, raw)
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

/// When an event's own timestamp is missing or malformed, the envelope's time is used.
fn instant(timestamp: Option<&prost_types::Timestamp>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(ates_contracts::time::instant)
        .unwrap_or(fallback)
}

impl From<AccountingError> for HandlerError {
    fn from(error: AccountingError) -> Self {
        match error {
            AccountingError::Database(error) => error.into(),
            other => HandlerError::Failed(other.to_string()),
        }
    }
}

impl Handler for LedgerHandler {
    type Batch = Settlement;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<tracker::TaskAdded>()
            .on::<tracker::TasksReassigned>()
            .on::<tracker::TaskCompleted>()
            .on::<tracker::TaskDescriptionUpdated>()
            .on::<tracker_v2::TaskAdded>()
            .on::<tracker_v2::TasksReassigned>()
            .on::<tracker_v2::TaskDetailsUpdated>()
            .on::<payouts::BillZeroed>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        events: &'a Recorder,
        settlement: Settlement,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { Ok(settlement.apply(conn, events).await?) })
    }
}

impl Reads<tracker::TaskAdded> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker::TaskAdded>,
    ) -> Result<(), HandlerError> {
        let assignment = event
            .message
            .assignment
            .ok_or_else(|| HandlerError::Rejected("TaskAdded has no assignment".to_owned()))?;
        self.assignment(
            settlement,
            (&assignment).into(),
            event.occurred_at,
            &event.cause,
        )
    }
}

impl Reads<tracker::TasksReassigned> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker::TasksReassigned>,
    ) -> Result<(), HandlerError> {
        for assignment in &event.message.assignments {
            self.assignment(
                settlement,
                assignment.into(),
                event.occurred_at,
                &event.cause,
            )?;
        }
        Ok(())
    }
}

impl Reads<tracker::TaskCompleted> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker::TaskCompleted>,
    ) -> Result<(), HandlerError> {
        let completed = event.message;
        let occurred_at = instant(completed.completed_at.as_ref(), event.occurred_at);
        settlement.postings.push((
            Posting::completion_reward(
                id("assignee_id", &completed.assignee_id)?,
                id("task_id", &completed.task_id)?,
                positive("reward_cents", completed.reward_cents)?,
                occurred_at,
                self.calendar.date_of(occurred_at),
            ),
            event.cause,
        ));
        Ok(())
    }
}

impl Reads<tracker::TaskDescriptionUpdated> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker::TaskDescriptionUpdated>,
    ) -> Result<(), HandlerError> {
        let updated = event.message;
        settlement.descriptions.push(TaskText {
            task_id: id("task_id", &updated.task_id)?,
            description: storable(&updated.description),
            title: None,
            revision: details_revision(updated.revision)?,
        });
        Ok(())
    }
}

impl Reads<tracker_v2::TaskAdded> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker_v2::TaskAdded>,
    ) -> Result<(), HandlerError> {
        let assignment = event
            .message
            .assignment
            .ok_or_else(|| HandlerError::Rejected("TaskAdded has no assignment".to_owned()))?;
        self.assignment(
            settlement,
            (&assignment).into(),
            event.occurred_at,
            &event.cause,
        )
    }
}

impl Reads<tracker_v2::TasksReassigned> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker_v2::TasksReassigned>,
    ) -> Result<(), HandlerError> {
        for assignment in &event.message.assignments {
            self.assignment(
                settlement,
                assignment.into(),
                event.occurred_at,
                &event.cause,
            )?;
        }
        Ok(())
    }
}

impl Reads<tracker_v2::TaskDetailsUpdated> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<tracker_v2::TaskDetailsUpdated>,
    ) -> Result<(), HandlerError> {
        let updated = event.message;
        settlement.descriptions.push(TaskText {
            task_id: id("task_id", &updated.task_id)?,
            title: title_and_jira_id(&updated.title, &updated.jira_id),
            description: storable(&updated.description),
            revision: details_revision(updated.revision)?,
        });
        Ok(())
    }
}

impl Reads<payouts::BillZeroed> for LedgerHandler {
    fn read(
        &self,
        settlement: &mut Settlement,
        event: Received<payouts::BillZeroed>,
    ) -> Result<(), HandlerError> {
        let zeroed = event.message;
        let business_date = ates_calendar::parse_date(&zeroed.business_date).map_err(|error| {
            HandlerError::Rejected(format!("business_date `{}` {error}", zeroed.business_date))
        })?;
        settlement.postings.push((
            Posting::payout(
                id("account_id", &zeroed.account_id)?,
                positive("amount_cents", zeroed.amount_cents)?,
                instant(zeroed.paid_at.as_ref(), event.occurred_at),
                business_date,
            ),
            event.cause,
        ));
        Ok(())
    }
}

/// Remembers the accounts auth announces: their statements exist (balance 0, no entries) before
/// their first entry.
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler;

impl Handler for AccountsHandler {
    type Batch = Vec<Uuid>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<auth::AccountCreated>()
            .on::<auth::AccountsSnapshot>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        accounts: Vec<Uuid>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { Ok(ledger::remember_accounts(conn, &accounts).await?) })
    }
}

impl Reads<auth::AccountCreated> for AccountsHandler {
    fn read(
        &self,
        accounts: &mut Vec<Uuid>,
        event: Received<auth::AccountCreated>,
    ) -> Result<(), HandlerError> {
        accounts.push(id("account_id", &event.message.account_id)?);
        Ok(())
    }
}

impl Reads<auth::AccountsSnapshot> for AccountsHandler {
    /// A resync's batch of every account (answering analytics' resync request): accounts
    /// created before accounting read announcements become known this way.
    fn read(
        &self,
        accounts: &mut Vec<Uuid>,
        event: Received<auth::AccountsSnapshot>,
    ) -> Result<(), HandlerError> {
        for account in &event.message.accounts {
            accounts.push(id("accounts.account_id", &account.account_id)?);
        }
        Ok(())
    }
}
