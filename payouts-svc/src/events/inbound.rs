//! Events payouts consumes: auth's account events (role, e-mail) and accounting's bill events
//! (what each account earned on each date).

use ates_contracts::ates::accounting::events::v1 as accounting;
use ates_contracts::ates::auth::events::v1 as auth;
use ates_messaging::{Accepts, Handler, HandlerError, Reads, Received, Recorder, field_uuid};
use ates_token::Role;
use diesel_async::AsyncPgConnection;
use futures::future::BoxFuture;
use uuid::Uuid;

use crate::storage::accounts::{self, AccountFact};
use crate::storage::earnings::{self, DayEarned};

fn account_id(raw: &str) -> Result<Uuid, HandlerError> {
    field_uuid("account_id", raw)
}

fn revision(raw: u64) -> Result<i64, HandlerError> {
    i64::try_from(raw)
        .map_err(|_| HandlerError::Rejected(format!("revision {raw} is out of range")))
}

fn role(raw: i32) -> Result<Role, HandlerError> {
    Role::from_account_role(raw)
        .ok_or_else(|| HandlerError::Rejected(format!("role {raw} is not a role")))
}

/// Keeps payouts' copy of accounts: whom to e-mail.
#[derive(Debug, Clone, Copy)]
pub struct AccountsHandler;

impl Handler for AccountsHandler {
    type Batch = Vec<AccountFact>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts
            .on::<auth::AccountCreated>()
            .on::<auth::AccountRoleChanged>()
            .on::<auth::AccountEmailSet>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        facts: Vec<AccountFact>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { Ok(accounts::apply(conn, &facts).await?) })
    }
}

impl Reads<auth::AccountCreated> for AccountsHandler {
    fn read(
        &self,
        facts: &mut Vec<AccountFact>,
        event: Received<auth::AccountCreated>,
    ) -> Result<(), HandlerError> {
        let created = event.message;
        facts.push(AccountFact::Role {
            account_id: account_id(&created.account_id)?,
            role: role(created.role)?,
            revision: revision(created.revision)?,
        });
        Ok(())
    }
}

impl Reads<auth::AccountRoleChanged> for AccountsHandler {
    fn read(
        &self,
        facts: &mut Vec<AccountFact>,
        event: Received<auth::AccountRoleChanged>,
    ) -> Result<(), HandlerError> {
        let changed = event.message;
        facts.push(AccountFact::Role {
            account_id: account_id(&changed.account_id)?,
            role: role(changed.role)?,
            revision: revision(changed.revision)?,
        });
        Ok(())
    }
}

impl Reads<auth::AccountEmailSet> for AccountsHandler {
    fn read(
        &self,
        facts: &mut Vec<AccountFact>,
        event: Received<auth::AccountEmailSet>,
    ) -> Result<(), HandlerError> {
        let set = event.message;
        if set.email.trim().is_empty() || set.email.contains(['\r', '\n']) {
            return Err(HandlerError::Rejected(
                "email is empty or spans lines".to_owned(),
            ));
        }
        facts.push(AccountFact::Email {
            account_id: account_id(&set.account_id)?,
            email: set.email,
            revision: revision(set.revision)?,
        });
        Ok(())
    }
}

/// Keeps what each account earned on each date, from accounting's bill events.
#[derive(Debug, Clone, Copy)]
pub struct BillsHandler;

impl Handler for BillsHandler {
    type Batch = Vec<DayEarned>;

    fn accepts(accepts: &mut Accepts<Self>) {
        accepts.on::<accounting::BillUpdated>();
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut AsyncPgConnection,
        _events: &'a Recorder,
        days: Vec<DayEarned>,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move { Ok(earnings::record(conn, &days).await?) })
    }
}

impl Reads<accounting::BillUpdated> for BillsHandler {
    fn read(
        &self,
        days: &mut Vec<DayEarned>,
        event: Received<accounting::BillUpdated>,
    ) -> Result<(), HandlerError> {
        let bill = event.message;
        // A bill event from before dates were carried says nothing about any date; the next
        // change of that account and date carries its whole total.
        if bill.business_date.is_empty() {
            return Ok(());
        }
        let business_date = ates_calendar::parse_date(&bill.business_date).map_err(|error| {
            HandlerError::Rejected(format!("business_date `{}` {error}", bill.business_date))
        })?;
        days.push(DayEarned {
            account_id: account_id(&bill.account_id)?,
            business_date,
            earned_cents: bill.date_earned_cents,
            revision: revision(bill.date_earned_revision)?,
        });
        Ok(())
    }
}
