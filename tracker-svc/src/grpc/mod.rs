//! The tracker's gRPC API: `ates.tracker.v1.TrackerService`.

mod convert;

use ates_contracts::ates::tracker::v1 as api;
use ates_contracts::ates::tracker::v1::tracker_service_server::TrackerService;
use ates_server::paging::{Page, PageSizes};
use ates_token::{caller, require_role};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use self::convert::{
    description, jira_id, optional_title, request_id, status_filter, task, task_id, title,
};
use crate::domain::{self, DetailsChange};
use crate::error::TrackerError;
use crate::operations::{NewDetails, Tasks};

const PAGE_SIZES: PageSizes = PageSizes {
    default: 100,
    max: 500,
};

/// The TrackerService implementation.
#[derive(Debug, Clone)]
pub struct TrackerApi {
    pub(crate) tasks: Tasks,
}

/// A page of tasks and the token of the next; `method` names the list its tokens belong to.
async fn list(
    tasks: &Tasks,
    method: &str,
    assignee: Option<Uuid>,
    status: i32,
    size: i32,
    token: &str,
) -> Result<(Vec<api::Task>, String), TrackerError> {
    let scope = format!(
        "ates.tracker.v1.TrackerService/{method}?{}&{status}",
        assignee.map(|id| id.to_string()).unwrap_or_default()
    );
    let status = status_filter(status)?;
    let page = Page::parse(size, token, PAGE_SIZES, scope).map_err(TrackerError::from)?;
    let mut rows = tasks
        .page(assignee, status, page.after, page.fetch())
        .await?;
    let next = page.finish(&mut rows, |row| row.public_id);
    Ok((rows.iter().map(task).collect(), next))
}

#[tonic::async_trait]
impl TrackerService for TrackerApi {
    async fn create_task(
        &self,
        request: Request<api::CreateTaskRequest>,
    ) -> Result<Response<api::CreateTaskResponse>, Status> {
        let creator = caller(&request)?.sub;
        let message = request.get_ref();
        let asked = NewDetails {
            description: description(&message.description)?,
            title: optional_title(&message.title)?,
            jira_id: jira_id(&message.jira_id)?,
        };
        let request_id = request_id(&message.request_id)?;
        let row = self.tasks.create(creator, &asked, request_id).await?;
        Ok(Response::new(api::CreateTaskResponse {
            task: Some(task(&row)),
        }))
    }

    async fn reassign_open_tasks(
        &self,
        request: Request<api::ReassignOpenTasksRequest>,
    ) -> Result<Response<api::ReassignOpenTasksResponse>, Status> {
        let manager = require_role(&request, domain::MANAGERS)?.sub;
        let request_id = request_id(&request.get_ref().request_id)?;
        let reshuffle = self.tasks.reassign_open(manager, request_id).await?;
        Ok(Response::new(api::ReassignOpenTasksResponse {
            reshuffle_id: reshuffle.reshuffle_id.to_string(),
            reassigned_count: i64::try_from(reshuffle.reassigned).unwrap_or(i64::MAX),
        }))
    }

    async fn complete_task(
        &self,
        request: Request<api::CompleteTaskRequest>,
    ) -> Result<Response<api::CompleteTaskResponse>, Status> {
        let caller_id = caller(&request)?.sub;
        let task_id = task_id(&request.get_ref().task_id)?;
        let request_id = request_id(&request.get_ref().request_id)?;
        let row = self.tasks.complete(caller_id, task_id, request_id).await?;
        Ok(Response::new(api::CompleteTaskResponse {
            task: Some(task(&row)),
        }))
    }

    async fn update_task_description(
        &self,
        request: Request<api::UpdateTaskDescriptionRequest>,
    ) -> Result<Response<api::UpdateTaskDescriptionResponse>, Status> {
        let claims = caller(&request)?;
        let (caller_id, role) = (claims.sub, claims.role);
        let task_id = task_id(&request.get_ref().task_id)?;
        let change = DetailsChange {
            description: Some(description(&request.get_ref().description)?),
            ..DetailsChange::default()
        };
        let row = self
            .tasks
            .update_details(caller_id, role, task_id, &change)
            .await?;
        Ok(Response::new(api::UpdateTaskDescriptionResponse {
            task: Some(task(&row)),
        }))
    }

    async fn update_task_details(
        &self,
        request: Request<api::UpdateTaskDetailsRequest>,
    ) -> Result<Response<api::UpdateTaskDetailsResponse>, Status> {
        let claims = caller(&request)?;
        let (caller_id, role) = (claims.sub, claims.role);
        let message = request.get_ref();
        let task_id = task_id(&message.task_id)?;
        let change = DetailsChange {
            description: message
                .description
                .as_deref()
                .map(description)
                .transpose()?,
            title: message.title.as_deref().map(title).transpose()?,
            jira_id: message.jira_id.as_deref().map(jira_id).transpose()?,
        };
        if change.is_empty() {
            return Err(TrackerError::InvalidArgument {
                field: "request",
                reason: "set at least one of description, title and jira_id".to_owned(),
            }
            .into());
        }
        let row = self
            .tasks
            .update_details(caller_id, role, task_id, &change)
            .await?;
        Ok(Response::new(api::UpdateTaskDetailsResponse {
            task: Some(task(&row)),
        }))
    }

    async fn get_task(
        &self,
        request: Request<api::GetTaskRequest>,
    ) -> Result<Response<api::GetTaskResponse>, Status> {
        caller(&request)?;
        let row = self.tasks.get(task_id(&request.get_ref().task_id)?).await?;
        Ok(Response::new(api::GetTaskResponse {
            task: Some(task(&row)),
        }))
    }

    async fn list_my_tasks(
        &self,
        request: Request<api::ListMyTasksRequest>,
    ) -> Result<Response<api::ListMyTasksResponse>, Status> {
        let me = caller(&request)?.sub;
        let message = request.get_ref();
        let (tasks, next_page_token) = list(
            &self.tasks,
            "ListMyTasks",
            Some(me),
            message.status,
            message.page_size,
            &message.page_token,
        )
        .await?;
        Ok(Response::new(api::ListMyTasksResponse {
            tasks,
            next_page_token,
        }))
    }

    async fn list_tasks(
        &self,
        request: Request<api::ListTasksRequest>,
    ) -> Result<Response<api::ListTasksResponse>, Status> {
        require_role(&request, domain::MANAGERS)?;
        let message = request.get_ref();
        let (tasks, next_page_token) = list(
            &self.tasks,
            "ListTasks",
            None,
            message.status,
            message.page_size,
            &message.page_token,
        )
        .await?;
        Ok(Response::new(api::ListTasksResponse {
            tasks,
            next_page_token,
        }))
    }
}
