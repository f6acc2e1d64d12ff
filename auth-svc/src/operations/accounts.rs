//! The account operations: each change commits together with the events it causes.

use ates_messaging::{Cause, DbPool, Outbox};
use ates_token::Role;
use chrono::Utc;
use diesel_async::AsyncConnection;
use uuid::Uuid;

use crate::domain::{self, Beak, BeakDigester, Email};
use crate::error::AuthError;
use crate::events::outbound;
use crate::storage::accounts::{self, AccountRow};

/// Serialises every change that counts admins (the bootstrap admin of several replicas, role
/// changes of admins), so that two concurrent demotions cannot both see another admin left.
const ADMINS_LOCK: i64 = 7_242_016;

/// Accounts and their events.
#[derive(Clone)]
pub struct Accounts {
    pool: DbPool,
    outbox: Outbox,
    digester: BeakDigester,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    /// Account operations over auth's pool and outbox.
    pub fn new(pool: DbPool, outbox: Outbox, digester: BeakDigester) -> Self {
        Self {
            pool,
            outbox,
            digester,
        }
    }

    /// Creates an account with a new beak; emits AccountCreated and AccountEmailSet.
    pub async fn create(&self, email: &Email, role: Role) -> Result<(AccountRow, Beak), AuthError> {
        let beak = Beak::generate();
        let digest = self.digester.digest(beak.expose());
        let mut conn = ates_storage::connection(&self.pool).await?;
        let row = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let row = accounts::insert(conn, email.as_str(), role, &digest).await?;
                record_new_account(conn, events, &row).await?;
                Ok::<_, AuthError>(row)
            })
            .await?;
        tracing::info!(account.id = %row.public_id, account.role = %role, "account created");
        Ok((row, beak))
    }

    /// Creates the configured first admin unless an admin exists. Returns whether it did.
    pub async fn bootstrap_admin(&self, email: &Email, beak: &str) -> Result<bool, AuthError> {
        let digest = self.digester.digest(beak);
        let mut conn = ates_storage::connection(&self.pool).await?;
        let created = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                accounts::advisory_lock(conn, ADMINS_LOCK).await?;
                if accounts::count_admins(conn).await? > 0 {
                    return Ok::<_, AuthError>(None);
                }
                let row = accounts::insert(conn, email.as_str(), Role::Admin, &digest).await?;
                record_new_account(conn, events, &row).await?;
                Ok(Some(row))
            })
            .await?;
        match created {
            Some(row) => {
                tracing::info!(account.id = %row.public_id, "bootstrap admin created");
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The account a beak belongs to, if any.
    pub async fn by_beak(&self, beak: &str) -> Result<Option<AccountRow>, AuthError> {
        let digest = self.digester.digest(beak);
        let mut conn = ates_storage::connection(&self.pool).await?;
        Ok(accounts::find_by_beak_digest(&mut conn, &digest).await?)
    }

    /// One account.
    pub async fn get(&self, account_id: Uuid) -> Result<AccountRow, AuthError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        accounts::find(&mut conn, account_id)
            .await?
            .ok_or(AuthError::AccountNotFound)
    }

    /// A page of accounts after the one named by `after`.
    pub async fn page(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<AccountRow>, AuthError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let after = match after {
            Some(public_id) => Some(
                accounts::find(&mut conn, public_id)
                    .await?
                    .ok_or(AuthError::InvalidArgument {
                        field: "page_token",
                        reason: "does not come from a previous page".to_owned(),
                    })?
                    .id,
            ),
            None => None,
        };
        Ok(accounts::page(&mut conn, after, limit).await?)
    }

    /// Changes the role; emits AccountRoleChanged when it changed.
    pub async fn change_role(&self, account_id: Uuid, role: Role) -> Result<AccountRow, AuthError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let (row, changed) = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let row = accounts::lock(conn, account_id)
                    .await?
                    .ok_or(AuthError::AccountNotFound)?;
                if row.role() == role {
                    return Ok::<_, AuthError>((row, false));
                }
                let admins = if row.role() == Role::Admin {
                    accounts::advisory_lock(conn, ADMINS_LOCK).await?;
                    accounts::count_admins(conn).await?
                } else {
                    0
                };
                domain::check_role_change(row.role(), role, admins)?;
                let row = accounts::set_role(conn, row.id, role).await?;
                events
                    .record(
                        conn,
                        &outbound::account_role_changed(&row),
                        row.updated_at,
                        Cause::current(),
                    )
                    .await?;
                Ok((row, true))
            })
            .await?;
        if changed {
            tracing::info!(account.id = %row.public_id, account.role = %role, "role changed");
        }
        Ok(row)
    }

    /// Changes the email; emits AccountEmailSet when it changed.
    pub async fn change_email(
        &self,
        account_id: Uuid,
        email: &Email,
    ) -> Result<AccountRow, AuthError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let (row, changed) = self
            .outbox
            .transaction(&mut conn, async |conn, events| {
                let row = accounts::lock(conn, account_id)
                    .await?
                    .ok_or(AuthError::AccountNotFound)?;
                if row.email == email.as_str() {
                    return Ok::<_, AuthError>((row, false));
                }
                let row = accounts::set_email(conn, row.id, email.as_str()).await?;
                events
                    .record(
                        conn,
                        &outbound::account_email_set(&row),
                        row.updated_at,
                        Cause::current(),
                    )
                    .await?;
                Ok((row, true))
            })
            .await?;
        if changed {
            tracing::info!(account.id = %row.public_id, "email changed");
        }
        Ok(row)
    }

    /// Gives an account a new beak; the old one stops working.
    pub async fn reissue_beak(&self, account_id: Uuid) -> Result<Beak, AuthError> {
        let beak = Beak::generate();
        let digest = self.digester.digest(beak.expose());
        let mut conn = ates_storage::connection(&self.pool).await?;
        // No event: a beak is auth's alone.
        conn.transaction::<_, AuthError, _>(async |conn| {
            let row = accounts::lock(conn, account_id)
                .await?
                .ok_or(AuthError::AccountNotFound)?;
            accounts::set_beak_digest(conn, row.id, &digest).await?;
            Ok(())
        })
        .await?;
        tracing::info!(account.id = %account_id, "beak reissued");
        Ok(beak)
    }
}

/// The events of a new account: it exists with its role, and its e-mail (for payouts).
async fn record_new_account(
    conn: &mut diesel_async::AsyncPgConnection,
    events: &ates_messaging::Recorder,
    row: &AccountRow,
) -> Result<(), AuthError> {
    let now = Utc::now();
    events
        .record(conn, &outbound::account_created(row), now, Cause::current())
        .await?;
    events
        .record(
            conn,
            &outbound::account_email_set(row),
            now,
            Cause::current(),
        )
        .await?;
    Ok(())
}
