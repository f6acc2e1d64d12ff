//! payouts' gRPC API: `ates.payouts.v1.PayoutsService`.

mod convert;

use ates_contracts::ates::payouts::v1 as api;
use ates_contracts::ates::payouts::v1::payouts_service_server::PayoutsService;
use ates_token::{Role, require_role};
use chrono::Utc;
use tonic::{Request, Response, Status};

use crate::error::PayoutsError;
use crate::operations::Closer;

/// The PayoutsService implementation.
#[derive(Debug, Clone)]
pub struct PayoutsApi {
    pub(crate) closer: Closer,
}

#[tonic::async_trait]
impl PayoutsService for PayoutsApi {
    async fn close_business_day(
        &self,
        request: Request<api::CloseBusinessDayRequest>,
    ) -> Result<Response<api::CloseBusinessDayResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let date = convert::business_date(&request.get_ref().business_date)?;
        // Money moves here: a client that gives up waiting must not stop the close half-way.
        let closer = self.closer.clone();
        let outcome = tokio::spawn(async move { closer.close(date, Utc::now()).await })
            .await
            .map_err(|error| PayoutsError::Internal(format!("the close stopped: {error}")))??;
        Ok(Response::new(api::CloseBusinessDayResponse {
            payouts: outcome.payouts.iter().map(convert::new_payout).collect(),
            already_closed: outcome.already_closed,
            also_closed_dates: outcome
                .also_closed
                .iter()
                .map(ToString::to_string)
                .collect(),
        }))
    }

    async fn list_payouts(
        &self,
        request: Request<api::ListPayoutsRequest>,
    ) -> Result<Response<api::ListPayoutsResponse>, Status> {
        require_role(&request, &[Role::Admin, Role::Accountant])?;
        let message = request.get_ref();
        let date = convert::business_date(&message.business_date)?;
        let page = convert::page(
            message.page_size,
            &message.page_token,
            format!("ates.payouts.v1.PayoutsService/ListPayouts?{date}"),
        )?;
        let mut rows = self.closer.page(date, page.after, page.fetch()).await?;
        let next_page_token = page.finish(&mut rows, |row| row.payout.account_id);
        Ok(Response::new(api::ListPayoutsResponse {
            payouts: rows.iter().map(convert::payout).collect(),
            next_page_token,
        }))
    }
}
