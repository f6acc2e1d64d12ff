//! Settling money effects: postings and descriptions written in a handful of statements, with an
//! audit-log event per new entry and a bill update per account touched.

use std::collections::BTreeMap;

use ates_messaging::{Cause, Recorder};
use chrono::{NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::domain::Posting;
use crate::error::AccountingError;
use crate::events::outbound;
use crate::storage::ledger;

/// What a batch of events carries, gathered before anything is written.
#[derive(Debug, Default)]
pub struct Settlement {
    /// Money effects, each with the cause whose trace its events continue.
    pub postings: Vec<(Posting, Cause)>,
    /// Task texts, each as one event told it.
    pub descriptions: Vec<ledger::TaskText>,
}

impl Settlement {
    /// Writes the settlement inside the caller's transaction: descriptions, postings (each
    /// business key once), an `AuditLogEntryCreated` per new entry and a `BillUpdated` per
    /// account and business date touched.
    pub async fn apply(
        self,
        conn: &mut AsyncPgConnection,
        events: &Recorder,
    ) -> Result<(), AccountingError> {
        let now = Utc::now();
        ledger::remember_descriptions(conn, &self.descriptions).await?;
        let (postings, causes): (Vec<Posting>, Vec<Cause>) = self.postings.into_iter().unzip();
        let posted = ledger::post_all(conn, &postings).await?;
        if posted.is_empty() {
            return Ok(());
        }
        // The newest cause of each account and date touched: its bill update continues that
        // trace.
        let mut touched: BTreeMap<(Uuid, NaiveDate), &Cause> = BTreeMap::new();
        let audit: Vec<_> = posted
            .iter()
            .map(|&(index, entry_id)| {
                let posting = &postings[index];
                touched.insert((posting.account(), posting.business_date()), &causes[index]);
                (
                    outbound::audit_log_entry_created(&postings[index], entry_id),
                    causes[index].clone(),
                )
            })
            .collect();
        events
            .record_all(
                conn,
                audit
                    .iter()
                    .map(|(event, cause)| (event, now, cause.clone())),
            )
            .await?;
        let mut accounts: Vec<Uuid> = touched.keys().map(|(account, _)| *account).collect();
        accounts.dedup();
        let balances: BTreeMap<Uuid, ledger::BalanceRow> = ledger::balances_of(conn, &accounts)
            .await?
            .into_iter()
            .map(|balance| (balance.account_id, balance))
            .collect();
        let pairs: Vec<(Uuid, NaiveDate)> = touched.keys().copied().collect();
        let mut bills = Vec::with_capacity(pairs.len());
        for earned in ledger::date_earnings(conn, &pairs).await? {
            let balance = balances.get(&earned.account_id).ok_or_else(|| {
                AccountingError::Internal(format!(
                    "account {} has entries but no balance row",
                    earned.account_id
                ))
            })?;
            let cause = touched
                .get(&(earned.account_id, earned.business_date))
                .map(|cause| (*cause).clone())
                .unwrap_or_default();
            bills.push((outbound::bill_updated(balance, &earned), cause));
        }
        events
            .record_all(
                conn,
                bills
                    .iter()
                    .map(|(event, cause)| (event, now, cause.clone())),
            )
            .await?;
        Ok(())
    }
}
