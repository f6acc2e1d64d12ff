//! Accounting's read API: `ates.accounting.v1.AccountingService`.

use ates_contracts::ates::accounting::v1 as api;
use ates_contracts::ates::accounting::v1::accounting_service_server::AccountingService;
use ates_messaging::DbPool;
use ates_server::paging::Page;
use ates_token::{Role, caller, require_role};
use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use ates_contracts::time::timestamp;

use crate::domain::{BusinessCalendar, Kind};
use crate::error::AccountingError;
use crate::storage::ledger;

/// Longest range of dates one earnings call covers.
const MAX_RANGE_DAYS: i64 = 366;

/// The AccountingService implementation.
#[derive(Clone)]
pub struct AccountingApi {
    pub(crate) pool: DbPool,
    pub(crate) calendar: BusinessCalendar,
}

impl std::fmt::Debug for AccountingApi {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AccountingApi")
            .field("calendar", &self.calendar)
            .finish_non_exhaustive()
    }
}

fn date(field: &'static str, raw: &str) -> Result<NaiveDate, AccountingError> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| AccountingError::InvalidArgument {
        field,
        reason: "must be a date like 2026-11-25".to_owned(),
    })
}

fn page(size: i32, token: &str) -> Result<Page, AccountingError> {
    Page::parse(size, token, 200, 1_000).map_err(|error| AccountingError::InvalidArgument {
        field: error.field,
        reason: error.reason,
    })
}

fn kind(raw: &str) -> api::EntryKind {
    match Kind::parse(raw) {
        Some(Kind::AssignmentFee) => api::EntryKind::AssignmentFee,
        Some(Kind::CompletionReward) => api::EntryKind::CompletionReward,
        Some(Kind::Payout) => api::EntryKind::Payout,
        None => api::EntryKind::Unspecified,
    }
}

impl AccountingApi {
    async fn connection(
        &self,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, AccountingError>
    {
        self.pool
            .get()
            .await
            .map_err(|error| AccountingError::Unavailable(error.to_string()))
    }

    async fn earnings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<api::DayEarnings>, AccountingError> {
        let mut conn = self.connection().await?;
        let totals = ledger::day_totals(&mut conn, from, to).await?;
        let mut days = Vec::new();
        let mut day = from;
        let mut totals = totals.into_iter().peekable();
        while day <= to {
            let (fees_cents, rewards_cents) = match totals.peek() {
                Some(total) if total.business_date == day => {
                    let total = totals.next().expect("peeked");
                    (total.fees_cents, total.rewards_cents)
                }
                _ => (0, 0),
            };
            days.push(api::DayEarnings {
                business_date: day.to_string(),
                fees_cents,
                rewards_cents,
                earnings_cents: fees_cents - rewards_cents,
            });
            day = day.succ_opt().expect("dates within range have a successor");
        }
        Ok(days)
    }
}

#[tonic::async_trait]
impl AccountingService for AccountingApi {
    async fn get_statement(
        &self,
        request: Request<api::GetStatementRequest>,
    ) -> Result<Response<api::GetStatementResponse>, Status> {
        let claims = caller(&request)?;
        let message = request.get_ref();
        if message.account_id.is_empty() {
            return Err(AccountingError::InvalidArgument {
                field: "account_id",
                reason: "must not be empty".to_owned(),
            }
            .into());
        }
        let account_id =
            Uuid::parse_str(&message.account_id).map_err(|_| AccountingError::InvalidArgument {
                field: "account_id",
                reason: "must be a UUID".to_owned(),
            })?;
        if account_id != claims.sub && !matches!(claims.role, Role::Admin | Role::Accountant) {
            return Err(AccountingError::PermissionDenied(
                "only admins and accountants may read another account's statement",
            )
            .into());
        }
        let business_date = if message.business_date.is_empty() {
            self.calendar.today()
        } else {
            date("business_date", &message.business_date)?
        };
        let page = page(message.page_size, &message.page_token)?;

        let mut conn = self.connection().await?;
        if ledger::balance(&mut conn, account_id)
            .await
            .map_err(AccountingError::from)?
            .is_none()
        {
            return Err(AccountingError::AccountNotFound.into());
        }
        let sums = ledger::day_sums(&mut conn, account_id, business_date)
            .await
            .map_err(AccountingError::from)?;
        let mut rows = ledger::day_entries(
            &mut conn,
            account_id,
            business_date,
            page.after,
            page.fetch(),
        )
        .await
        .map_err(AccountingError::from)?;
        let next_page_token = page.finish(&mut rows, |row| row.public_id);
        Ok(Response::new(api::GetStatementResponse {
            account_id: account_id.to_string(),
            business_date: business_date.to_string(),
            opening_balance_cents: sums.opening_cents,
            closing_balance_cents: sums.opening_cents + sums.during_cents,
            entries: rows
                .into_iter()
                .map(|row| api::Entry {
                    entry_id: row.public_id.to_string(),
                    kind: kind(&row.kind) as i32,
                    amount_cents: row.amount_cents,
                    task_id: row.task_id.map(|task| task.to_string()).unwrap_or_default(),
                    task_description: row.task_description.unwrap_or_default(),
                    business_date: row.business_date.to_string(),
                    occurred_at: Some(timestamp(row.occurred_at)),
                })
                .collect(),
            next_page_token,
        }))
    }

    async fn get_management_earnings(
        &self,
        request: Request<api::GetManagementEarningsRequest>,
    ) -> Result<Response<api::GetManagementEarningsResponse>, Status> {
        require_role(&request, &[Role::Admin, Role::Accountant])?;
        let from = date("from_date", &request.get_ref().from_date)?;
        let to = date("to_date", &request.get_ref().to_date)?;
        if to < from {
            return Err(AccountingError::InvalidArgument {
                field: "to_date",
                reason: "must not be before from_date".to_owned(),
            }
            .into());
        }
        if (to - from).num_days() >= MAX_RANGE_DAYS {
            return Err(AccountingError::InvalidArgument {
                field: "to_date",
                reason: format!("the range may cover at most {MAX_RANGE_DAYS} days"),
            }
            .into());
        }
        let days = self.earnings(from, to).await?;
        let total_earnings_cents = days.iter().map(|day| day.earnings_cents).sum();
        Ok(Response::new(api::GetManagementEarningsResponse {
            days,
            total_earnings_cents,
        }))
    }

    async fn get_today_management_earnings(
        &self,
        request: Request<api::GetTodayManagementEarningsRequest>,
    ) -> Result<Response<api::GetTodayManagementEarningsResponse>, Status> {
        require_role(&request, &[Role::Admin, Role::Accountant])?;
        let today = self.calendar.today();
        let today = self.earnings(today, today).await?.pop();
        Ok(Response::new(api::GetTodayManagementEarningsResponse {
            today,
        }))
    }

    async fn list_balances(
        &self,
        request: Request<api::ListBalancesRequest>,
    ) -> Result<Response<api::ListBalancesResponse>, Status> {
        require_role(&request, &[Role::Admin, Role::Accountant])?;
        let page = page(request.get_ref().page_size, &request.get_ref().page_token)?;
        let mut conn = self.connection().await?;
        let mut rows = ledger::balances_page(&mut conn, page.after, page.fetch())
            .await
            .map_err(AccountingError::from)?;
        let next_page_token = page.finish(&mut rows, |row| row.account_id);
        let negative_balance_count = ledger::negative_count(&mut conn)
            .await
            .map_err(AccountingError::from)?;
        Ok(Response::new(api::ListBalancesResponse {
            balances: rows
                .into_iter()
                .map(|row| api::Balance {
                    account_id: row.account_id.to_string(),
                    balance_cents: row.balance_cents,
                })
                .collect(),
            negative_balance_count,
            next_page_token,
        }))
    }
}
