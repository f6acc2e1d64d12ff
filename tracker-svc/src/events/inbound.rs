//! Events the tracker consumes: auth's account events, for its copy of who may be assigned.

use ates_contracts::ates::auth::events::v1 as auth;
use ates_messaging::{Accepts, Handler, HandlerError, Reads, Received, Recorder, field_uuid};
use ates_token::Role;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;

use crate::storage::accounts::{self, AccountRole};

/// Keeps the tracker's copy of accounts: an account's role moves it in or out of the pool of
/// assignees. The newest revision of an account wins, whatever order events arrive in.
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler;

fn account(account_id: &str, raw_role: i32, revision: u64) -> Result<AccountRole, HandlerError> {
    Ok(AccountRole {
        public_id: field_uuid("account_id", account_id)?,
        role: Role::from_account_role(raw_role)
            .ok_or_else(|| HandlerError::Rejected(format!("role {raw_role} is not a role")))?,
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
