//! Events the tracker consumes: auth's account events, for its copy of who may be assigned.

use ates_contracts::ates::auth::events::v1 as auth;
use ates_messaging::{Accepts, Handler, HandlerError, Reads, Received, Recorder};
use ates_token::Role;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::storage::accounts::{self, AccountRole};

/// Keeps the tracker's copy of accounts: an account's role moves it in or out of the pool of
/// assignees. The newest revision of an account wins, whatever order events arrive in.
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler;

fn role(raw: i32) -> Result<Role, HandlerError> {
    match auth::AccountRole::try_from(raw) {
        Ok(auth::AccountRole::Admin) => Ok(Role::Admin),
        Ok(auth::AccountRole::Manager) => Ok(Role::Manager),
        Ok(auth::AccountRole::Accountant) => Ok(Role::Accountant),
        Ok(auth::AccountRole::Worker) => Ok(Role::Worker),
        _ => Err(HandlerError::Rejected(format!("role {raw} is not a role"))),
    }
}

fn account(account_id: &str, raw_role: i32, revision: u64) -> Result<AccountRole, HandlerError> {
    Ok(AccountRole {
        public_id: Uuid::parse_str(account_id).map_err(|_| {
            HandlerError::Rejected(format!("account_id `{account_id}` is not a UUID"))
        })?,
        role: role(raw_role)?,
        revision: i64::try_from(revision)
            .map_err(|_| HandlerError::Rejected(format!("revision {revision} is out of range")))?,
    })
}

impl Handler for AccountsHandler {
    type Batch = Vec<AccountRole>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<auth::AccountCreated>()
            .on::<auth::AccountRoleChanged>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        batch: Vec<AccountRole>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { Ok(accounts::upsert(conn, &batch).await?) })
    }
}

impl Reads<auth::AccountCreated> for AccountsHandler {
    fn read(
        &self,
        batch: &mut Vec<AccountRole>,
        event: Received<auth::AccountCreated>,
    ) -> Result<(), HandlerError> {
        let created = event.message;
        batch.push(account(
            &created.account_id,
            created.role,
            created.revision,
        )?);
        Ok(())
    }
}

impl Reads<auth::AccountRoleChanged> for AccountsHandler {
    fn read(
        &self,
        batch: &mut Vec<AccountRole>,
        event: Received<auth::AccountRoleChanged>,
    ) -> Result<(), HandlerError> {
        let changed = event.message;
        batch.push(account(
            &changed.account_id,
            changed.role,
            changed.revision,
        )?);
        Ok(())
    }
}
