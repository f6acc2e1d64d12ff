//! analytics' gRPC API: `ates.analytics.v1.AnalyticsService`, admins only.

mod convert;

use ates_contracts::ates::analytics::v1 as api;
use ates_contracts::ates::analytics::v1::analytics_service_server::AnalyticsService;
use ates_token::{Role, require_role};
use chrono::Utc;
use tonic::{Request, Response, Status};

use crate::operations::{Answers, Resyncs};

/// The AnalyticsService implementation.
#[derive(Debug, Clone)]
pub struct AnalyticsApi {
    pub(crate) answers: Answers,
    pub(crate) resyncs: Resyncs,
}

#[tonic::async_trait]
impl AnalyticsService for AnalyticsApi {
    async fn get_summary(
        &self,
        request: Request<api::GetSummaryRequest>,
    ) -> Result<Response<api::GetSummaryResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let summary = self.answers.summary(Utc::now()).await?;
        Ok(Response::new(convert::summary(&summary)))
    }

    async fn get_most_expensive_task(
        &self,
        request: Request<api::GetMostExpensiveTaskRequest>,
    ) -> Result<Response<api::GetMostExpensiveTaskResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let message = request.get_ref();
        let period = convert::period(message.period)?;
        let end = convert::end_date(&message.end_date, self.answers.today(Utc::now()))?;
        let winner = self.answers.most_expensive(period, end).await?;
        Ok(Response::new(api::GetMostExpensiveTaskResponse {
            task: winner.as_ref().map(convert::task_price),
        }))
    }

    async fn get_most_expensive_task_series(
        &self,
        request: Request<api::GetMostExpensiveTaskSeriesRequest>,
    ) -> Result<Response<api::GetMostExpensiveTaskSeriesResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let message = request.get_ref();
        let range = convert::series_range(&message.from_date, &message.to_date)?;
        let series = self.answers.series(range).await?;
        Ok(Response::new(api::GetMostExpensiveTaskSeriesResponse {
            days: series
                .iter()
                .map(|(date, winner)| api::DayMostExpensiveTask {
                    business_date: date.to_string(),
                    task: winner.as_ref().map(convert::task_price),
                })
                .collect(),
        }))
    }

    async fn resync_projections(
        &self,
        request: Request<api::ResyncProjectionsRequest>,
    ) -> Result<Response<api::ResyncProjectionsResponse>, Status> {
        require_role(&request, &[Role::Admin])?;
        let wipe = request.get_ref().wipe;
        let resync = self.resyncs.request(wipe, Utc::now()).await?;
        Ok(Response::new(convert::resync(&resync)))
    }
}
