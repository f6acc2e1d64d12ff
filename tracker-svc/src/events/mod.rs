//! Events the tracker consumes: auth's account events, for its copy of who may be assigned.

use ates_contracts::ates::auth::events::v1 as auth_events;
use ates_messaging::{Handler, HandlerError, ReceivedEvent};
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::storage::accounts;

const ACCOUNT_CREATED: &str = "ates.auth.events.v1.AccountCreated";
const ACCOUNT_ROLE_CHANGED: &str = "ates.auth.events.v1.AccountRoleChanged";

/// Keeps the tracker's copy of accounts: an account's role moves it in or out of the pool of
/// assignees.
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler;

fn role_name(raw: i32) -> Result<&'static str, HandlerError> {
    match auth_events::AccountRole::try_from(raw) {
        Ok(auth_events::AccountRole::Admin) => Ok("admin"),
        Ok(auth_events::AccountRole::Manager) => Ok("manager"),
        Ok(auth_events::AccountRole::Accountant) => Ok("accountant"),
        Ok(auth_events::AccountRole::Worker) => Ok("worker"),
        _ => Err(HandlerError::Rejected(format!("role {raw} is not a role"))),
    }
}

fn account_id(raw: &str) -> Result<Uuid, HandlerError> {
    Uuid::parse_str(raw)
        .map_err(|_| HandlerError::Rejected(format!("account_id `{raw}` is not a UUID")))
}

fn revision(raw: u64) -> Result<i64, HandlerError> {
    i64::try_from(raw)
        .map_err(|_| HandlerError::Rejected(format!("revision {raw} is out of range")))
}

impl Handler for AccountsHandler {
    fn event_types(&self) -> &[&'static str] {
        &[ACCOUNT_CREATED, ACCOUNT_ROLE_CHANGED]
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        event: &'a ReceivedEvent,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let (id, role, revision_number) = match event.event_type.as_str() {
                ACCOUNT_CREATED => {
                    let created: auth_events::AccountCreated = event.decode()?;
                    (
                        account_id(&created.account_id)?,
                        role_name(created.role)?,
                        revision(created.revision)?,
                    )
                }
                ACCOUNT_ROLE_CHANGED => {
                    let changed: auth_events::AccountRoleChanged = event.decode()?;
                    (
                        account_id(&changed.account_id)?,
                        role_name(changed.role)?,
                        revision(changed.revision)?,
                    )
                }
                other => {
                    return Err(HandlerError::Rejected(format!(
                        "unexpected event type {other}"
                    )));
                }
            };
            accounts::upsert(conn, id, role, revision_number).await?;
            Ok(())
        })
    }
}
