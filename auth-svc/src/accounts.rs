//! The account operations: each change commits together with the events it causes.

use ates_messaging::{DbPool, Outbox};
use ates_token::Role;
use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::domain::{Beak, BeakDigester, Email};
use crate::error::{AuthError, pool_error};
use crate::grpc::convert;
use crate::storage::accounts::{self, AccountRow};

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

    async fn connection(
        &self,
    ) -> Result<diesel_async::pooled_connection::deadpool::Object<AsyncPgConnection>, AuthError>
    {
        self.pool.get().await.map_err(pool_error)
    }

    /// Creates an account with a new beak; emits AccountCreated and AccountEmailSet.
    pub async fn create(&self, email: &Email, role: Role) -> Result<(AccountRow, Beak), AuthError> {
        let beak = Beak::generate();
        let row = self.create_with_beak(email, role, beak.expose()).await?;
        Ok((row, beak))
    }

    async fn create_with_beak(
        &self,
        email: &Email,
        role: Role,
        beak: &str,
    ) -> Result<AccountRow, AuthError> {
        let digest = self.digester.digest(beak);
        let mut conn = self.connection().await?;
        let row = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let row = accounts::insert(conn, email.as_str(), role, &digest).await?;
                let now = Utc::now();
                self.outbox
                    .record(conn, &convert::account_created(&row), now)
                    .await?;
                self.outbox
                    .record(conn, &convert::account_email_set(&row), now)
                    .await?;
                Ok(row)
            })
            .await?;
        self.outbox.notify_committed();
        tracing::info!(account.id = %row.public_id, account.role = %role, "account created");
        Ok(row)
    }

    /// Creates the configured first admin unless an admin exists. Returns whether it did.
    pub async fn bootstrap_admin(&self, email: &Email, beak: &str) -> Result<bool, AuthError> {
        let mut conn = self.connection().await?;
        // Serialise concurrent starts of several replicas on one advisory lock.
        let created = conn
            .transaction::<_, AuthError, _>(async |conn| {
                diesel_async::RunQueryDsl::execute(
                    diesel::sql_query("SELECT pg_advisory_xact_lock(7242016)"),
                    conn,
                )
                .await?;
                if accounts::count_admins(conn).await? > 0 {
                    return Ok(None);
                }
                let row = accounts::insert(
                    conn,
                    email.as_str(),
                    Role::Admin,
                    &self.digester.digest(beak),
                )
                .await?;
                let now = Utc::now();
                self.outbox
                    .record(conn, &convert::account_created(&row), now)
                    .await?;
                self.outbox
                    .record(conn, &convert::account_email_set(&row), now)
                    .await?;
                Ok(Some(row))
            })
            .await?;
        match created {
            Some(row) => {
                self.outbox.notify_committed();
                tracing::info!(account.id = %row.public_id, "bootstrap admin created");
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The account a beak belongs to, if any.
    pub async fn by_beak(&self, beak: &str) -> Result<Option<AccountRow>, AuthError> {
        let digest = self.digester.digest(beak);
        let mut conn = self.connection().await?;
        Ok(accounts::find_by_beak_digest(&mut conn, &digest).await?)
    }

    /// One account.
    pub async fn get(&self, account_id: Uuid) -> Result<AccountRow, AuthError> {
        let mut conn = self.connection().await?;
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
        let mut conn = self.connection().await?;
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
        let mut conn = self.connection().await?;
        let (row, changed) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let row = accounts::lock(conn, account_id)
                    .await?
                    .ok_or(AuthError::AccountNotFound)?;
                if row.role() == role {
                    return Ok((row, false));
                }
                if row.role() == Role::Admin && accounts::count_admins(conn).await? <= 1 {
                    return Err(AuthError::LastAdmin);
                }
                let row = accounts::set_role(conn, row.id, role).await?;
                self.outbox
                    .record(conn, &convert::account_role_changed(&row), row.updated_at)
                    .await?;
                Ok((row, true))
            })
            .await?;
        if changed {
            self.outbox.notify_committed();
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
        let mut conn = self.connection().await?;
        let (row, changed) = conn
            .transaction::<_, AuthError, _>(async |conn| {
                let row = accounts::lock(conn, account_id)
                    .await?
                    .ok_or(AuthError::AccountNotFound)?;
                if row.email == email.as_str() {
                    return Ok((row, false));
                }
                let row = accounts::set_email(conn, row.id, email.as_str()).await?;
                self.outbox
                    .record(conn, &convert::account_email_set(&row), row.updated_at)
                    .await?;
                Ok((row, true))
            })
            .await?;
        if changed {
            self.outbox.notify_committed();
            tracing::info!(account.id = %row.public_id, "email changed");
        }
        Ok(row)
    }

    /// Gives an account a new beak; the old one stops working.
    pub async fn reissue_beak(&self, account_id: Uuid) -> Result<Beak, AuthError> {
        let beak = Beak::generate();
        let digest = self.digester.digest(beak.expose());
        let mut conn = self.connection().await?;
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
