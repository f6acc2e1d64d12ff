//! Closing business dates: each account is paid its positive balance through the date, once.
//!
//! Dates are closed in order, by one process at a time (a PostgreSQL advisory lock held for the
//! whole close), in batches: each batch's payouts, their e-mails and their `BillZeroed` events
//! commit together. A payout is unique per account and date, so a close that was killed half-way
//! resumes where it stopped and pays every remaining account once.

use std::sync::Arc;
use std::time::Duration;

use ates_messaging::{Cause, DbPool, Outbox};
use ates_storage::DbConnection;
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::RunQueryDsl;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::{self, CloseSchedule, PayoutEmail};
use crate::error::PayoutsError;
use crate::events::outbound;
use crate::storage::payouts::{PayoutRow, PayoutView};
use crate::storage::{closes, earnings, emails, payouts};

/// The advisory lock that lets one process close at a time.
const CLOSE_LOCK: i64 = 7_242_018;
/// How long a close waits for another process's close to finish.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// Most dates one close covers (ten years of outage): a bound on the loop.
const MAX_DATES: usize = 3_660;

/// What a close did.
#[derive(Debug, Clone, Default)]
pub struct CloseOutcome {
    /// Payouts made for the date asked for.
    pub payouts: Vec<PayoutRow>,
    /// The date had been closed before; nothing was paid.
    pub already_closed: bool,
    /// Earlier dates closed first, oldest first.
    pub also_closed: Vec<NaiveDate>,
}

/// Closes business dates.
#[derive(Clone)]
pub struct Closer {
    pool: DbPool,
    outbox: Outbox,
    schedule: CloseSchedule,
    batch_size: usize,
    mail_domain: Arc<str>,
    mail_waiting: Arc<Notify>,
}

impl std::fmt::Debug for Closer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Closer")
            .field("schedule", &self.schedule)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// The close lock, on a connection of its own. Released explicitly; a close dropped half-way
/// (its task aborted) takes the connection out of the pool and closes it, which releases the
/// lock with the session.
struct CloseLock {
    conn: Option<DbConnection>,
}

impl CloseLock {
    async fn release(mut self) -> Result<(), PayoutsError> {
        if let Some(mut conn) = self.conn.take() {
            diesel::sql_query("SELECT pg_advisory_unlock($1)")
                .bind::<diesel::sql_types::BigInt, _>(CLOSE_LOCK)
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }
}

impl Drop for CloseLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(deadpool::managed::Object::take(conn));
        }
    }
}

impl Closer {
    /// Closes over payouts' pool and outbox, `batch_size` accounts per transaction; e-mails
    /// say `mail_domain` in their Message-ID; `mail_waiting` is woken after e-mails are queued.
    pub fn new(
        pool: DbPool,
        outbox: Outbox,
        schedule: CloseSchedule,
        batch_size: usize,
        mail_domain: &str,
        mail_waiting: Arc<Notify>,
    ) -> Self {
        Self {
            pool,
            outbox,
            schedule,
            batch_size: batch_size.max(1),
            mail_domain: Arc::from(mail_domain),
            mail_waiting,
        }
    }

    /// The schedule dates are closed on.
    pub fn schedule(&self) -> CloseSchedule {
        self.schedule
    }

    /// Closes `date`, which must have ended at `now`, and every earlier ended date never closed.
    pub async fn close(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<CloseOutcome, PayoutsError> {
        if !self.schedule.has_ended(date, now) {
            return Err(PayoutsError::InvalidArgument {
                field: "business_date",
                reason: format!(
                    "{date} has not ended yet; only dates before today ({}) can be closed",
                    self.schedule.calendar().date_of(now)
                ),
            });
        }
        let lock = self.lock().await?;
        let outcome = self.close_locked(date, true).await;
        lock.release().await?;
        outcome
    }

    /// Closes every date up to `last` that was never closed, oldest first, from the first date
    /// anything was earned on; returns the dates it closed.
    pub async fn close_through(&self, last: NaiveDate) -> Result<Vec<NaiveDate>, PayoutsError> {
        let lock = self.lock().await?;
        let outcome = self.close_locked(last, false).await;
        lock.release().await?;
        let outcome = outcome?;
        let mut closed = outcome.also_closed;
        if !outcome.already_closed {
            closed.push(last);
        }
        Ok(closed)
    }

    /// With the lock held: the dates from the first never closed up to `date`. `always` closes
    /// `date` even when nothing was ever earned (a close an admin asked for).
    async fn close_locked(
        &self,
        date: NaiveDate,
        always: bool,
    ) -> Result<CloseOutcome, PayoutsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let start = match closes::closed_through(&mut conn).await? {
            Some(through) if through >= date => {
                return Ok(CloseOutcome {
                    already_closed: true,
                    ..CloseOutcome::default()
                });
            }
            Some(through) => through.succ_opt().unwrap_or(date),
            // Never closed: from the first date anything was earned on. The scheduled close has
            // nothing to do before that date; an admin's close of an earlier date is recorded.
            None => match earnings::first_date(&mut conn).await? {
                Some(first) if first <= date => first,
                _ if always => date,
                _ => {
                    return Ok(CloseOutcome {
                        already_closed: true,
                        ..CloseOutcome::default()
                    });
                }
            },
        };
        drop(conn);
        let dates: Vec<NaiveDate> = start
            .iter_days()
            .take_while(|day| *day <= date)
            .take(MAX_DATES + 1)
            .collect();
        if dates.len() > MAX_DATES {
            return Err(PayoutsError::TooManyDates {
                first: start,
                count: MAX_DATES,
            });
        }
        let mut outcome = CloseOutcome::default();
        for day in dates {
            let made = self.close_one(day).await?;
            if day == date {
                outcome.payouts = made;
            } else {
                outcome.also_closed.push(day);
            }
        }
        Ok(outcome)
    }

    /// Pays every account with a positive balance through `date` that was not paid for it yet.
    async fn close_one(&self, date: NaiveDate) -> Result<Vec<PayoutRow>, PayoutsError> {
        let span = tracing::info_span!("close business date", business_date = %date);
        let _entered = span.enter();
        let mut conn = ates_storage::connection(&self.pool).await?;
        closes::begin(&mut conn, date, Utc::now()).await?;
        let due: Vec<(uuid::Uuid, i64)> = payouts::unpaid_balances(&mut conn, date)
            .await?
            .into_iter()
            .filter_map(|balance| {
                domain::amount_due(balance.earned_through_cents, balance.paid_before_cents)
                    .map(|amount| (balance.account_id, amount))
            })
            .collect();
        let mut made = Vec::with_capacity(due.len());
        for batch in due.chunks(self.batch_size) {
            let paid = self
                .outbox
                .transaction(&mut conn, async |conn, events| {
                    let now = Utc::now();
                    let paid = payouts::insert_new(conn, date, batch, now).await?;
                    let message_ids: Vec<String> = paid
                        .iter()
                        .map(|payout| {
                            PayoutEmail::compose(
                                payout.payout_id,
                                payout.amount_cents,
                                payout.business_date,
                                &self.mail_domain,
                            )
                            .message_id
                        })
                        .collect();
                    emails::queue(conn, &paid, &message_ids, now).await?;
                    let zeroed: Vec<_> = paid.iter().map(outbound::bill_zeroed).collect();
                    events
                        .record_all(
                            conn,
                            zeroed.iter().map(|event| (event, now, Cause::current())),
                        )
                        .await?;
                    Ok::<_, PayoutsError>(paid)
                })
                .await?;
            made.extend(paid);
            self.mail_waiting.notify_one();
            ates_server::fault_point("payouts.close.after_batch");
        }
        closes::finish(&mut conn, date, Utc::now()).await?;
        tracing::info!(business_date = %date, payouts = made.len(), "business date closed");
        Ok(made)
    }

    async fn lock(&self) -> Result<CloseLock, PayoutsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            #[derive(diesel::QueryableByName)]
            struct Locked {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let locked: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(CLOSE_LOCK)
                .get_result(&mut conn)
                .await?;
            if locked.locked {
                return Ok(CloseLock { conn: Some(conn) });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(PayoutsError::CloseRunning);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The scheduled close: on start every ended date that was never closed, then each date
    /// when it ends plus the grace, until `shutdown`.
    pub async fn run_schedule(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            let now = Utc::now();
            if let Some(last_due) = self.schedule.last_due(now) {
                let closed = self.close_through(last_due).await?;
                if !closed.is_empty() {
                    tracing::info!(dates = closed.len(), through = %last_due, "scheduled close done");
                }
            }
            // Sleep until the next date is due, waking at least every minute (clocks move).
            let next = self
                .schedule
                .last_due(now)
                .and_then(|last| last.succ_opt())
                .map(|next| self.schedule.due_at(next))
                .unwrap_or(now);
            let wait = (next - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(Duration::from_secs(60))
                .max(Duration::from_millis(100));
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// A page of `date`'s payouts in account order, with their e-mails' state.
    pub async fn page(
        &self,
        date: NaiveDate,
        after: Option<uuid::Uuid>,
        limit: i64,
    ) -> Result<Vec<PayoutView>, PayoutsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        if let Some(after) = after
            && payouts::of_account(&mut conn, after, date).await?.is_none()
        {
            return Err(PayoutsError::InvalidArgument {
                field: "page_token",
                reason: "does not come from a previous page".to_owned(),
            });
        }
        Ok(payouts::page(&mut conn, date, after, limit).await?)
    }
}
