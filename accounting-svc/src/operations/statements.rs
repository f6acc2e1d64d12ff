//! Reading the books: statements, balances, management's earnings.

use ates_messaging::DbPool;
use ates_server::paging::Page;
use chrono::NaiveDate;
use uuid::Uuid;

use crate::domain::{BusinessCalendar, DayEarnings, daily_series};
use crate::error::AccountingError;
use crate::storage::ledger::{self, BalanceRow, EntryRow};

/// An account's statement for one business date (one page of its entries).
#[derive(Debug, Clone)]
pub struct Statement {
    /// Balance at the start of the date, in cents.
    pub opening_cents: i64,
    /// Balance at the end of the date (or now, for today), in cents.
    pub closing_cents: i64,
    /// The page of entries, in the order they were recorded.
    pub entries: Vec<EntryRow>,
    /// Token of the next page; empty on the last.
    pub next_page_token: String,
}

/// The read side of the ledger.
#[derive(Clone)]
pub struct Statements {
    pool: DbPool,
    calendar: BusinessCalendar,
}

impl std::fmt::Debug for Statements {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Statements")
            .field("calendar", &self.calendar)
            .finish_non_exhaustive()
    }
}

impl Statements {
    /// Reads over accounting's pool, dating with `calendar`.
    pub fn new(pool: DbPool, calendar: BusinessCalendar) -> Self {
        Self { pool, calendar }
    }

    /// Today's business date.
    pub fn today(&self) -> NaiveDate {
        self.calendar.today()
    }

    /// `account`'s statement for `date`: NOT_FOUND when auth never announced the account and it
    /// has no entry.
    pub async fn statement(
        &self,
        account: Uuid,
        date: NaiveDate,
        page: Page,
    ) -> Result<Statement, AccountingError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        if !ledger::is_known(&mut conn, account).await? {
            return Err(AccountingError::AccountNotFound);
        }
        let sums = ledger::day_sums(&mut conn, account, date).await?;
        let mut entries =
            ledger::day_entries(&mut conn, account, date, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut entries, |row| row.public_id);
        Ok(Statement {
            opening_cents: sums.opening_cents,
            closing_cents: sums.opening_cents + sums.during_cents,
            entries,
            next_page_token,
        })
    }

    /// Management's earnings of every date from `from` to `to`.
    pub async fn earnings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayEarnings>, AccountingError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let totals: Vec<DayEarnings> = ledger::day_totals(&mut conn, from, to)
            .await?
            .into_iter()
            .map(|total| DayEarnings {
                business_date: total.business_date,
                fees_cents: total.fees_cents,
                rewards_cents: total.rewards_cents,
            })
            .collect();
        Ok(daily_series(from, to, &totals))
    }

    /// A page of balances and how many accounts are negative now.
    pub async fn balances(
        &self,
        page: Page,
    ) -> Result<(Vec<BalanceRow>, String, i64), AccountingError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let mut rows = ledger::balances_page(&mut conn, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.account_id);
        let negative = ledger::negative_count(&mut conn).await?;
        Ok((rows, next_page_token, negative))
    }
}
