//! Events analytics consumes: account events (auth), task events (tracker), bill and audit-log
//! events (accounting), and the snapshot batches each of them sends for a resync. A snapshot item
//! is read into the same fact as the change event of the same thing, so both are merged by one
//! rule.

use ates_contracts::ates::accounting::events::v1 as accounting;
use ates_contracts::ates::auth::events::v1 as auth;
use ates_contracts::ates::events::v1::SnapshotBatch;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_contracts::ates::tracker::events::v2 as tracker_v2;
use ates_contracts::time::instant;
use ates_messaging::{Accepts, Handler, HandlerError, Reads, Received, Recorder, field_uuid};
use ates_token::Role;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;

use crate::domain::{BatchSeen, Stream};
use crate::storage::accounts::{self, AccountFact};
use crate::storage::balances::{self, BalanceFact};
use crate::storage::entries::{self, EntryFact, EntryKind};
use crate::storage::resyncs::{self, BatchReceipt};
use crate::storage::tasks::{self, Prices, TaskFact};

/// What a batch of one queue's events carries: facts, and the snapshot batches among them.
#[derive(Debug)]
pub struct Projected<T> {
    facts: Vec<T>,
    batches: Vec<BatchReceipt>,
}

impl<T> Default for Projected<T> {
    fn default() -> Self {
        Self {
            facts: Vec::new(),
            batches: Vec::new(),
        }
    }
}

impl<T> Projected<T> {
    /// Keeps the facts of a snapshot's items. An item that cannot be read is set aside, logged
    /// with its reason, while the others are kept: refusing the whole batch would park every good
    /// item with it and leave the resync waiting for that batch for ever. (The same thing sent as a
    /// change event is parked on its own, as one message.)
    fn snapshot_items<I>(
        &mut self,
        batch: Option<&SnapshotBatch>,
        items: impl IntoIterator<Item = I>,
        fact: impl Fn(I) -> Result<T, HandlerError>,
    ) {
        for (position, item) in items.into_iter().enumerate() {
            match fact(item) {
                Ok(fact) => self.facts.push(fact),
                Err(error) => tracing::error!(
                    stream = batch.map_or("", |batch| batch.stream.as_str()),
                    resync_id = batch.map_or("", |batch| batch.resync_id.as_str()),
                    batch_index = batch.map(|batch| batch.index),
                    item = position,
                    %error,
                    "snapshot item set aside"
                ),
            }
        }
    }

    /// Notes a snapshot batch of `stream`, refusing one that says it is of another stream.
    fn snapshot(
        &mut self,
        batch: Option<SnapshotBatch>,
        stream: Stream,
    ) -> Result<(), HandlerError> {
        let batch = batch.ok_or_else(|| rejected("batch is missing"))?;
        if resyncs::parse_stream(&batch.stream) != Some(stream) {
            return Err(rejected(format!(
                "batch.stream `{}` is not `{}`",
                batch.stream,
                resyncs::stream_name(stream)
            )));
        }
        self.batches.push(BatchReceipt {
            resync_id: field_uuid("batch.resync_id", &batch.resync_id)?,
            batch: BatchSeen {
                stream,
                index: batch.index,
                last: batch.last,
            },
        });
        Ok(())
    }
}

fn rejected(reason: impl Into<String>) -> HandlerError {
    HandlerError::Rejected(reason.into())
}

fn revision(field: &str, raw: u64) -> Result<i64, HandlerError> {
    i64::try_from(raw).map_err(|_| rejected(format!("{field} {raw} is out of range")))
}

fn role(raw: i32) -> Result<Role, HandlerError> {
    Role::from_account_role(raw).ok_or_else(|| rejected(format!("role {raw} is not a role")))
}

fn time(field: &str, raw: Option<&prost_types::Timestamp>) -> Result<DateTime<Utc>, HandlerError> {
    raw.and_then(instant)
        .ok_or_else(|| rejected(format!("{field} is missing or out of range")))
}

fn text(field: &str, raw: String) -> Result<String, HandlerError> {
    if raw.contains('\0') {
        return Err(rejected(format!("{field} contains a NUL character")));
    }
    Ok(raw)
}

/// A task's prices as an event carries them.
fn prices(
    fee_cents: i64,
    reward_cents: i64,
    created_at: Option<&prost_types::Timestamp>,
) -> Result<Prices, HandlerError> {
    Ok(Prices {
        fee_cents,
        reward_cents,
        created_at: time("created_at", created_at)?,
    })
}

/// A task's text at a revision, checked: its id, description and (v2) title and jira id.
fn task_fact(
    task_id: &str,
    description: String,
    description_revision: i64,
    title: Option<(String, Option<String>)>,
    prices: Option<Prices>,
) -> Result<TaskFact, HandlerError> {
    Ok(TaskFact {
        task_id: field_uuid("task_id", task_id)?,
        description: text("description", description)?,
        description_revision,
        title,
        prices,
    })
}

/// A version 2 event's title and jira id (empty is none); an empty title counts as none told,
/// so the task's prices are not lost over it.
fn title_and_jira_id(
    title: String,
    jira_id: String,
) -> Result<Option<(String, Option<String>)>, HandlerError> {
    if title.trim().is_empty() {
        return Ok(None);
    }
    let title = text("title", title)?;
    let jira_id = text("jira_id", jira_id)?;
    Ok(Some((title, (!jira_id.is_empty()).then_some(jira_id))))
}

/// Keeps accounts and their roles.
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler;

impl AccountsHandler {
    fn fact(
        account_id: &str,
        raw_role: i32,
        raw_revision: u64,
    ) -> Result<AccountFact, HandlerError> {
        Ok(AccountFact {
            account_id: field_uuid("account_id", account_id)?,
            role: role(raw_role)?,
            revision: revision("revision", raw_revision)?,
        })
    }
}

impl Handler for AccountsHandler {
    type Batch = Projected<AccountFact>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<auth::AccountCreated>()
            .on::<auth::AccountRoleChanged>()
            .on::<auth::AccountsSnapshot>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Self::Batch,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            accounts::apply(conn, &batch.facts).await?;
            Ok(resyncs::record_batches(conn, &batch.batches).await?)
        })
    }
}

impl Reads<auth::AccountCreated> for AccountsHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<auth::AccountCreated>,
    ) -> Result<(), HandlerError> {
        let created = event.message;
        batch.facts.push(Self::fact(
            &created.account_id,
            created.role,
            created.revision,
        )?);
        Ok(())
    }
}

impl Reads<auth::AccountRoleChanged> for AccountsHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<auth::AccountRoleChanged>,
    ) -> Result<(), HandlerError> {
        let changed = event.message;
        batch.facts.push(Self::fact(
            &changed.account_id,
            changed.role,
            changed.revision,
        )?);
        Ok(())
    }
}

impl Reads<auth::AccountsSnapshot> for AccountsHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<auth::AccountsSnapshot>,
    ) -> Result<(), HandlerError> {
        let snapshot = event.message;
        batch.snapshot_items(snapshot.batch.as_ref(), &snapshot.accounts, |account| {
            Self::fact(&account.account_id, account.role, account.revision)
        });
        batch.snapshot(snapshot.batch, Stream::Accounts)
    }
}

/// Keeps tasks: prices and the newest description, title and jira id, from task events of
/// both schema versions.
#[derive(Debug, Clone, Copy)]
pub struct TasksHandler;

impl Handler for TasksHandler {
    type Batch = Projected<TaskFact>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<tracker::TaskCreated>()
            .on::<tracker::TaskDescriptionUpdated>()
            .on::<tracker::TasksSnapshot>()
            .on::<tracker_v2::TaskCreated>()
            .on::<tracker_v2::TaskDetailsUpdated>()
            .on::<tracker_v2::TasksSnapshot>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Self::Batch,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            tasks::apply(conn, &batch.facts).await?;
            Ok(resyncs::record_batches(conn, &batch.batches).await?)
        })
    }
}

impl Reads<tracker::TaskCreated> for TasksHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<tracker::TaskCreated>,
    ) -> Result<(), HandlerError> {
        let created = event.message;
        // The description a task is created with is revision 1.
        batch.facts.push(task_fact(
            &created.task_id,
            created.description,
            1,
            None,
            Some(prices(
                created.fee_cents,
                created.reward_cents,
                created.created_at.as_ref(),
            )?),
        )?);
        Ok(())
    }
}

impl Reads<tracker::TaskDescriptionUpdated> for TasksHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<tracker::TaskDescriptionUpdated>,
    ) -> Result<(), HandlerError> {
        let updated = event.message;
        batch.facts.push(task_fact(
            &updated.task_id,
            updated.description,
            revision("revision", updated.revision)?,
            None,
            None,
        )?);
        Ok(())
    }
}

impl Reads<tracker::TasksSnapshot> for TasksHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<tracker::TasksSnapshot>,
    ) -> Result<(), HandlerError> {
        let snapshot = event.message;
        batch.snapshot_items(snapshot.batch.as_ref(), snapshot.tasks, |task| {
            task_fact(
                &task.task_id,
                task.description,
                revision("description_revision", task.description_revision)?,
                None,
                Some(prices(
                    task.fee_cents,
                    task.reward_cents,
                    task.created_at.as_ref(),
                )?),
            )
        });
        batch.snapshot(snapshot.batch, Stream::Tasks)
    }
}

impl Reads<tracker_v2::TaskCreated> for TasksHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<tracker_v2::TaskCreated>,
    ) -> Result<(), HandlerError> {
        let created = event.message;
        batch.facts.push(task_fact(
            &created.task_id,
            created.description,
            1,
            title_and_jira_id(created.title, created.jira_id)?,
            Some(prices(
                created.fee_cents,
                created.reward_cents,
                created.created_at.as_ref(),
            )?),
        )?);
        Ok(())
    }
}

impl Reads<tracker_v2::TaskDetailsUpdated> for TasksHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<tracker_v2::TaskDetailsUpdated>,
    ) -> Result<(), HandlerError> {
        let updated = event.message;
        batch.facts.push(task_fact(
            &updated.task_id,
            updated.description,
            revision("revision", updated.revision)?,
            title_and_jira_id(updated.title, updated.jira_id)?,
            None,
        )?);
        Ok(())
    }
}

impl Reads<tracker_v2::TasksSnapshot> for TasksHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<tracker_v2::TasksSnapshot>,
    ) -> Result<(), HandlerError> {
        let snapshot = event.message;
        batch.snapshot_items(snapshot.batch.as_ref(), snapshot.tasks, |task| {
            task_fact(
                &task.task_id,
                task.description,
                revision("details_revision", task.details_revision)?,
                title_and_jira_id(task.title, task.jira_id)?,
                Some(prices(
                    task.fee_cents,
                    task.reward_cents,
                    task.created_at.as_ref(),
                )?),
            )
        });
        batch.snapshot(snapshot.batch, Stream::Tasks)
    }
}

/// Keeps every account's balance now.
#[derive(Debug, Clone, Copy)]
pub struct BillsHandler;

impl BillsHandler {
    fn fact(
        account_id: &str,
        balance_cents: i64,
        raw_revision: u64,
    ) -> Result<BalanceFact, HandlerError> {
        Ok(BalanceFact {
            account_id: field_uuid("account_id", account_id)?,
            balance_cents,
            revision: revision("revision", raw_revision)?,
        })
    }
}

impl Handler for BillsHandler {
    type Batch = Projected<BalanceFact>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<accounting::BillUpdated>()
            .on::<accounting::BillsSnapshot>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Self::Batch,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            balances::apply(conn, &batch.facts).await?;
            Ok(resyncs::record_batches(conn, &batch.batches).await?)
        })
    }
}

impl Reads<accounting::BillUpdated> for BillsHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<accounting::BillUpdated>,
    ) -> Result<(), HandlerError> {
        let bill = event.message;
        batch.facts.push(Self::fact(
            &bill.account_id,
            bill.balance_cents,
            bill.revision,
        )?);
        Ok(())
    }
}

impl Reads<accounting::BillsSnapshot> for BillsHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<accounting::BillsSnapshot>,
    ) -> Result<(), HandlerError> {
        let snapshot = event.message;
        batch.snapshot_items(snapshot.batch.as_ref(), &snapshot.bills, |bill| {
            Self::fact(&bill.account_id, bill.balance_cents, bill.revision)
        });
        batch.snapshot(snapshot.batch, Stream::Bills)
    }
}

/// Keeps the audit log: each entry once, and each date's fees and rewards.
#[derive(Debug, Clone, Copy)]
pub struct AuditLogHandler;

impl AuditLogHandler {
    fn fact(entry: accounting::AuditLogEntryCreated) -> Result<EntryFact, HandlerError> {
        let kind = match accounting::EntryKind::try_from(entry.kind) {
            Ok(accounting::EntryKind::AssignmentFee) => EntryKind::AssignmentFee,
            Ok(accounting::EntryKind::CompletionReward) => EntryKind::CompletionReward,
            Ok(accounting::EntryKind::Payout) => EntryKind::Payout,
            Ok(accounting::EntryKind::Unspecified) | Err(_) => {
                return Err(rejected(format!(
                    "kind {} is not an entry kind",
                    entry.kind
                )));
            }
        };
        let task_id = if entry.task_id.is_empty() {
            None
        } else {
            Some(field_uuid("task_id", &entry.task_id)?)
        };
        if kind != EntryKind::Payout && task_id.is_none() {
            return Err(rejected(format!(
                "entry {} is a {} without a task_id",
                entry.entry_id,
                kind.as_str()
            )));
        }
        let business_date = ates_calendar::parse_date(&entry.business_date).map_err(|error| {
            rejected(format!("business_date `{}` {error}", entry.business_date))
        })?;
        Ok(EntryFact {
            entry_id: field_uuid("entry_id", &entry.entry_id)?,
            account_id: field_uuid("account_id", &entry.account_id)?,
            task_id,
            kind,
            amount_cents: entry.amount_cents,
            business_date,
            occurred_at: time("occurred_at", entry.occurred_at.as_ref())?,
        })
    }
}

impl Handler for AuditLogHandler {
    type Batch = Projected<EntryFact>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<accounting::AuditLogEntryCreated>()
            .on::<accounting::AuditLogSnapshot>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Self::Batch,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            entries::record(conn, &batch.facts).await?;
            Ok(resyncs::record_batches(conn, &batch.batches).await?)
        })
    }
}

impl Reads<accounting::AuditLogEntryCreated> for AuditLogHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<accounting::AuditLogEntryCreated>,
    ) -> Result<(), HandlerError> {
        batch.facts.push(Self::fact(event.message)?);
        Ok(())
    }
}

impl Reads<accounting::AuditLogSnapshot> for AuditLogHandler {
    fn read(
        &self,
        batch: &mut Self::Batch,
        event: Received<accounting::AuditLogSnapshot>,
    ) -> Result<(), HandlerError> {
        let snapshot = event.message;
        batch.snapshot_items(snapshot.batch.as_ref(), snapshot.entries, Self::fact);
        batch.snapshot(snapshot.batch, Stream::AuditLog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ates_messaging::Cause;
    use uuid::Uuid;

    fn received<E>(message: E) -> Received<E> {
        Received {
            event_id: Uuid::new_v4(),
            occurred_at: Utc::now(),
            producer: "tracker-svc".to_owned(),
            message,
            cause: Cause::default(),
        }
    }

    fn task(task_id: &str) -> tracker::tasks_snapshot::Task {
        tracker::tasks_snapshot::Task {
            task_id: task_id.to_owned(),
            description: "Feed the parrots".to_owned(),
            description_revision: 1,
            fee_cents: 1_500,
            reward_cents: 3_000,
            created_at: Some(prost_types::Timestamp {
                seconds: 1_790_000_000,
                nanos: 0,
            }),
        }
    }

    #[test]
    fn a_bad_item_of_a_snapshot_is_set_aside_and_the_batch_still_counts() {
        let resync_id = Uuid::new_v4();
        let good = Uuid::new_v4();
        let mut projected = Projected::default();
        let snapshot = tracker::TasksSnapshot {
            batch: Some(SnapshotBatch {
                resync_id: resync_id.to_string(),
                stream: resyncs::stream_name(Stream::Tasks).to_owned(),
                index: 3,
                last: true,
            }),
            tasks: vec![task("not-a-uuid"), task(&good.to_string())],
        };
        TasksHandler
            .read(&mut projected, received(snapshot))
            .expect("a batch with one bad item is still read");
        let kept: Vec<Uuid> = projected.facts.iter().map(|fact| fact.task_id).collect();
        assert_eq!(kept, vec![good]);
        assert_eq!(
            projected.batches,
            vec![BatchReceipt {
                resync_id,
                batch: BatchSeen {
                    stream: Stream::Tasks,
                    index: 3,
                    last: true
                }
            }]
        );
    }

    #[test]
    fn a_snapshot_without_its_batch_or_of_another_stream_is_refused() {
        let mut projected = Projected::default();
        let without = tracker::TasksSnapshot {
            batch: None,
            tasks: vec![task(&Uuid::new_v4().to_string())],
        };
        let error = TasksHandler
            .read(&mut projected, received(without))
            .expect_err("a snapshot without its batch cannot count for a resync");
        assert!(error.to_string().contains("batch is missing"), "{error}");
        let other = tracker::TasksSnapshot {
            batch: Some(SnapshotBatch {
                resync_id: Uuid::new_v4().to_string(),
                stream: resyncs::stream_name(Stream::Bills).to_owned(),
                index: 0,
                last: true,
            }),
            tasks: Vec::new(),
        };
        let error = TasksHandler
            .read(&mut projected, received(other))
            .expect_err("a tasks snapshot that says it is of bills is refused");
        assert!(error.to_string().contains("batch.stream"), "{error}");
    }
}
