//! Answers from the projections; analytics never asks another service.

use ates_storage::DbPool;
use ates_token::Role;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{BusinessCalendar, DateRange, Period, is_complete, most_expensive};
use crate::error::AnalyticsError;
use crate::storage::entries::{self, DayWinner};
use crate::storage::{accounts, balances, resyncs};

/// The top of the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Today's business date.
    pub business_date: NaiveDate,
    /// Management's earnings today, in cents.
    pub management_earnings_cents: i64,
    /// How many accounts have a negative balance now.
    pub negative_balance_count: i64,
    /// How many accounts have the worker role now.
    pub worker_count: i64,
    /// Whether the latest resync still waits for snapshot batches.
    pub rebuilding: bool,
}

/// Reads the projections.
#[derive(Clone)]
pub struct Answers {
    pool: DbPool,
    calendar: BusinessCalendar,
}

impl std::fmt::Debug for Answers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Answers")
            .field("calendar", &self.calendar)
            .finish_non_exhaustive()
    }
}

impl Answers {
    /// Answers from the projections in `pool`, with business dates of `calendar`.
    pub fn new(pool: DbPool, calendar: BusinessCalendar) -> Self {
        Self { pool, calendar }
    }

    /// Today's business date at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        self.calendar.date_of(now)
    }

    /// The summary at `now`.
    pub async fn summary(&self, now: DateTime<Utc>) -> Result<Summary, AnalyticsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let business_date = self.today(now);
        // One snapshot of the projections: figures read in separate statements could mix a
        // state before a wipe with one after it, and say "not rebuilding" over half-empty tables.
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |conn| {
                let rebuilding = resyncs::latest(conn)
                    .await?
                    .is_some_and(|(_, batches)| !is_complete(&batches));
                let today = entries::day_totals(conn, business_date).await?;
                let negative_balance_count = balances::negative_count(conn).await?;
                let worker_count = accounts::count_with_role(conn, Role::Worker).await?;
                Ok::<_, AnalyticsError>(Summary {
                    business_date,
                    management_earnings_cents: today.management_earnings_cents(),
                    negative_balance_count,
                    worker_count,
                    rebuilding,
                })
            })
            .await
    }

    /// The most expensive task completed in `period` ending on `end`.
    pub async fn most_expensive(
        &self,
        period: Period,
        end: NaiveDate,
    ) -> Result<Option<DayWinner>, AnalyticsError> {
        let winners = self.day_winners(period.ending_on(end)).await?;
        let best = most_expensive(winners.iter().map(|winner| &winner.completion)).cloned();
        Ok(best.and_then(|best| winners.into_iter().find(|winner| winner.completion == best)))
    }

    /// The most expensive task of each date of `range` (`None` for a date without completions).
    pub async fn series(
        &self,
        range: DateRange,
    ) -> Result<Vec<(NaiveDate, Option<DayWinner>)>, AnalyticsError> {
        let mut winners = self.day_winners(range).await?.into_iter().peekable();
        Ok(range
            .dates()
            .map(|date| {
                let winner = winners.next_if(|winner| winner.completion.completed_on == date);
                (date, winner)
            })
            .collect())
    }

    async fn day_winners(&self, range: DateRange) -> Result<Vec<DayWinner>, AnalyticsError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        Ok(entries::day_winners(&mut conn, range).await?)
    }
}
