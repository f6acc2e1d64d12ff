//! The BFF's gRPC API: `ates.bff.v1.AccountingDashboardService`, shaped from accounting's
//! answers. Every call to accounting carries the caller's own token and trace
//! ([`ates_server::propagating_channel`]), so accounting enforces the caller's rights as well.

use ates_contracts::ates::accounting::v1 as accounting;
use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::bff::v1 as api;
use ates_contracts::ates::bff::v1::accounting_dashboard_service_server::AccountingDashboardService;
use ates_server::Propagate;
use ates_token::{caller, require_role};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::domain;
use crate::error::{from_accounting, missing};

/// Entries per statement page: as many as accounting gives in one.
const STATEMENT_PAGE: i32 = 1_000;

/// The AccountingDashboardService implementation.
#[derive(Debug, Clone)]
pub struct DashboardApi {
    accounting: AccountingServiceClient<Propagate<Channel>>,
}

impl DashboardApi {
    /// The API over a client of accounting.
    pub fn new(accounting: AccountingServiceClient<Propagate<Channel>>) -> Self {
        Self { accounting }
    }

    async fn statement(
        &self,
        account_id: String,
        business_date: String,
        page_token: String,
    ) -> Result<accounting::GetStatementResponse, Status> {
        Ok(self
            .accounting
            .clone()
            .get_statement(accounting::GetStatementRequest {
                account_id,
                business_date,
                page_size: STATEMENT_PAGE,
                page_token,
            })
            .await
            .map_err(from_accounting)?
            .into_inner())
    }
}

#[tonic::async_trait]
impl AccountingDashboardService for DashboardApi {
    async fn get_my_dashboard(
        &self,
        request: Request<api::GetMyDashboardRequest>,
    ) -> Result<Response<api::GetMyDashboardResponse>, Status> {
        let me = caller(&request)?.sub;
        let message = request.into_inner();
        let statement = self
            .statement(me.to_string(), message.business_date, message.page_token)
            .await?;
        Ok(Response::new(api::GetMyDashboardResponse {
            statement: Some(statement),
        }))
    }

    async fn get_account_statement(
        &self,
        request: Request<api::GetAccountStatementRequest>,
    ) -> Result<Response<api::GetAccountStatementResponse>, Status> {
        require_role(&request, domain::BOOKKEEPERS)?;
        let message = request.into_inner();
        let account_id = ates_server::input::required_uuid("account_id", &message.account_id)
            .map_err(|invalid| Status::invalid_argument(invalid.to_string()))?;
        let statement = self
            .statement(
                account_id.to_string(),
                message.business_date,
                message.page_token,
            )
            .await?;
        Ok(Response::new(api::GetAccountStatementResponse {
            statement: Some(statement),
        }))
    }

    async fn get_management_dashboard(
        &self,
        request: Request<api::GetManagementDashboardRequest>,
    ) -> Result<Response<api::GetManagementDashboardResponse>, Status> {
        require_role(&request, domain::BOOKKEEPERS)?;
        let message = request.into_inner();
        let (mut today_client, mut balances_client) =
            (self.accounting.clone(), self.accounting.clone());
        let (today, balances) = tokio::try_join!(
            async {
                today_client
                    .get_today_management_earnings(accounting::GetTodayManagementEarningsRequest {})
                    .await
                    .map_err(from_accounting)
            },
            async {
                balances_client
                    .list_balances(accounting::ListBalancesRequest {
                        page_size: 1,
                        page_token: String::new(),
                    })
                    .await
                    .map_err(from_accounting)
            },
        )?;
        let today = today.into_inner().today.ok_or_else(|| missing("today"))?;
        let to_date = if message.to_date.is_empty() {
            today.business_date.clone()
        } else {
            message.to_date
        };
        let from_date = if message.from_date.is_empty() {
            let end = ates_server::input::date("to_date", &to_date)
                .map_err(|invalid| Status::invalid_argument(invalid.to_string()))?;
            domain::default_series_start(end).to_string()
        } else {
            message.from_date
        };
        let series = self
            .accounting
            .clone()
            .get_management_earnings(accounting::GetManagementEarningsRequest {
                from_date,
                to_date,
            })
            .await
            .map_err(from_accounting)?
            .into_inner();
        Ok(Response::new(api::GetManagementDashboardResponse {
            today: Some(today),
            days: series.days,
            negative_balance_count: balances.into_inner().negative_balance_count,
            total_earnings_cents: series.total_earnings_cents,
        }))
    }
}
