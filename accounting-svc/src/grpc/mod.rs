//! Accounting's read API: `ates.accounting.v1.AccountingService`.

mod convert;

use ates_contracts::ates::accounting::v1 as api;
use ates_contracts::ates::accounting::v1::accounting_service_server::AccountingService;
use ates_token::{caller, require_role};
use tonic::{Request, Response, Status};

use crate::domain::{self, BOOKKEEPERS};
use crate::error::AccountingError;
use crate::operations::Statements;

/// The AccountingService implementation.
#[derive(Debug, Clone)]
pub struct AccountingApi {
    pub(crate) statements: Statements,
}

#[tonic::async_trait]
impl AccountingService for AccountingApi {
    async fn get_statement(
        &self,
        request: Request<api::GetStatementRequest>,
    ) -> Result<Response<api::GetStatementResponse>, Status> {
        let claims = caller(&request)?;
        let message = request.get_ref();
        let account_id = convert::account_id(&message.account_id)?;
        domain::check_statement_access(claims.sub, claims.role, account_id)
            .map_err(AccountingError::from)?;
        let business_date = if message.business_date.is_empty() {
            self.statements.today()
        } else {
            convert::date("business_date", &message.business_date)?
        };
        let page = convert::page(
            message.page_size,
            &message.page_token,
            format!(
                "ates.accounting.v1.AccountingService/GetStatement?{account_id}&{business_date}"
            ),
        )?;
        let statement = self
            .statements
            .statement(account_id, business_date, page)
            .await?;
        Ok(Response::new(api::GetStatementResponse {
            account_id: account_id.to_string(),
            business_date: business_date.to_string(),
            opening_balance_cents: statement.opening_cents,
            closing_balance_cents: statement.closing_cents,
            entries: statement.entries.into_iter().map(convert::entry).collect(),
            next_page_token: statement.next_page_token,
        }))
    }

    async fn get_management_earnings(
        &self,
        request: Request<api::GetManagementEarningsRequest>,
    ) -> Result<Response<api::GetManagementEarningsResponse>, Status> {
        require_role(&request, BOOKKEEPERS)?;
        let message = request.get_ref();
        let (from, to) = convert::range(&message.from_date, &message.to_date)?;
        let days = self.statements.earnings(from, to).await?;
        Ok(Response::new(api::GetManagementEarningsResponse {
            total_earnings_cents: days.iter().map(domain::DayEarnings::earnings_cents).sum(),
            days: days.iter().map(convert::day).collect(),
        }))
    }

    async fn get_today_management_earnings(
        &self,
        request: Request<api::GetTodayManagementEarningsRequest>,
    ) -> Result<Response<api::GetTodayManagementEarningsResponse>, Status> {
        require_role(&request, BOOKKEEPERS)?;
        let today = self.statements.today();
        let days = self.statements.earnings(today, today).await?;
        Ok(Response::new(api::GetTodayManagementEarningsResponse {
            today: days.first().map(convert::day),
        }))
    }

    async fn list_balances(
        &self,
        request: Request<api::ListBalancesRequest>,
    ) -> Result<Response<api::ListBalancesResponse>, Status> {
        require_role(&request, BOOKKEEPERS)?;
        let page = convert::page(
            request.get_ref().page_size,
            &request.get_ref().page_token,
            "ates.accounting.v1.AccountingService/ListBalances".to_owned(),
        )?;
        let (rows, next_page_token, negative_balance_count) =
            self.statements.balances(page).await?;
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
