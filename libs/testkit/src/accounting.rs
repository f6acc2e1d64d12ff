//! A real auth (for tokens) and a real accounting on one broker prefix. The test plays the
//! tracker and payouts: it publishes their events, in their envelopes, to their exchanges.

#![allow(clippy::unwrap_used, missing_docs, missing_debug_implementations)]

use crate::auth;

use std::time::Duration;

use ates_contracts::ates::accounting::v1::accounting_service_client::AccountingServiceClient;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_messaging::DbPool;

use crate::{ConfirmedChannel, RunningService, TestDatabase};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::Pool;
use tonic::transport::Channel as GrpcChannel;
use uuid::Uuid;

/// auth and accounting running for a test, and a channel to play the tracker and payouts.
pub struct Ledger {
    pub auth: auth::Auth,
    pub accounting: RunningService,
    pub database: TestDatabase,
    pub pool: DbPool,
    broker: ConfirmedChannel,
    /// Distinct event ids the test published so far, other than auth's (auth publishes its own
    /// announcements too, so [`Ledger::settle`] does not count auth's events).
    pub published: usize,
}

pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: 0,
    }
}

pub fn assignment(
    task: Uuid,
    assignee: Uuid,
    fee_cents: i64,
    assigned_at: DateTime<Utc>,
) -> tracker::Assignment {
    tracker::Assignment {
        assignment_id: Uuid::new_v4().to_string(),
        task_id: task.to_string(),
        assignee_id: assignee.to_string(),
        description: format!("task {task}"),
        fee_cents,
        assigned_at: Some(timestamp(assigned_at)),
    }
}

impl Ledger {
    pub async fn start() -> Self {
        let auth = auth::Auth::start().await;
        let database = TestDatabase::create().await.unwrap();
        let config = crate::service_config(database.url(), &auth.broker, &auth.endpoint());
        let accounting =
            RunningService::start(accounting_svc::app::spec(), config, |application| {
                Ok(accounting_svc::app::wiring_with(
                    application,
                    accounting_svc::config::AccountingConfig::default(),
                ))
            })
            .await
            .unwrap();
        let pool = Pool::builder(AsyncDieselConnectionManager::<AsyncPgConnection>::new(
            database.url(),
        ))
        .max_size(4)
        .build()
        .unwrap();
        let broker = ConfirmedChannel::open(&auth.broker).await.unwrap();
        Self {
            auth,
            accounting,
            database,
            pool,
            broker,
            published: 0,
        }
    }

    /// Publishes an event as its producer would; returns the exact bytes sent.
    pub async fn publish<E: prost::Message + prost::Name>(
        &mut self,
        event: &E,
        occurred_at: DateTime<Utc>,
    ) -> Vec<u8> {
        let body = self.broker.publish_event(event, occurred_at).await;
        if !E::full_name().starts_with("ates.auth.") {
            self.published += 1;
        }
        body
    }

    /// Publishes bytes to an exchange (a byte-for-byte copy of an earlier message, say).
    pub async fn publish_bytes(&self, exchange: &str, routing_key: &str, body: &[u8]) {
        self.broker.publish_bytes(exchange, routing_key, body).await;
    }

    /// The number a counting query (`SELECT count(*) AS n ...`) answers on the service's database.
    pub async fn count(&self, sql: &str) -> i64 {
        crate::database::count(&self.pool, sql).await
    }

    /// Waits until every distinct event the test published so far has been applied (or parked),
    /// then checks the ledger's invariants. Auth's announcements of the test's accounts are not
    /// counted: auth publishes those itself.
    pub async fn settle(&self) {
        const APPLIED: &str =
            "SELECT count(*) AS n FROM inbox_events WHERE event_type NOT LIKE 'ates.auth.%'";
        let wanted = self.published as i64;
        let settled = crate::eventually(Duration::from_secs(30), || async {
            (self.count(APPLIED).await >= wanted).then_some(())
        })
        .await;
        assert!(
            settled.is_some(),
            "accounting applied {} of {wanted} events",
            self.count(APPLIED).await
        );
        // Copies of applied events may still be in flight: give them time to (not) change anything.
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.assert_invariants().await;
    }

    /// The ledger's invariants: postings balance, balances and each date's earnings equal their
    /// entries.
    pub async fn assert_invariants(&self) {
        assert_eq!(
            self.count("SELECT COALESCE(sum(amount_cents), 0)::bigint AS n FROM ledger_entries")
                .await,
            0,
            "all postings sum to zero"
        );
        assert_eq!(
            self.count("SELECT count(*) AS n FROM (SELECT posting_id FROM ledger_entries GROUP BY posting_id HAVING count(*) <> 2 OR sum(amount_cents) <> 0) AS unbalanced").await,
            0,
            "every posting has two legs that balance"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) AS n FROM balances b WHERE balance_cents <> \
                 (SELECT COALESCE(sum(amount_cents), 0) FROM ledger_entries e WHERE e.account_id = b.account_id) \
                 OR entry_count <> (SELECT count(*) FROM ledger_entries e WHERE e.account_id = b.account_id)"
            )
            .await,
            0,
            "every balance equals the sum of its entries"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) AS n FROM (SELECT account_id, business_date, sum(amount_cents) AS earned, count(*) AS entries, \
                   COALESCE(-sum(amount_cents) FILTER (WHERE kind = 'assignment_fee'), 0) AS fees, \
                   COALESCE(sum(amount_cents) FILTER (WHERE kind = 'completion_reward'), 0) AS rewards \
                   FROM ledger_entries WHERE book = 'employee' AND kind <> 'payout' GROUP BY account_id, business_date) AS sums \
                 FULL JOIN date_earnings d USING (account_id, business_date) \
                 WHERE sums.earned IS DISTINCT FROM d.earned_cents OR sums.entries IS DISTINCT FROM d.entry_count \
                    OR sums.fees IS DISTINCT FROM d.fees_cents OR sums.rewards IS DISTINCT FROM d.rewards_cents"
            )
            .await,
            0,
            "what each account earned, was charged and was rewarded on each date equals the sums of its fee and reward entries of that date"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) AS n FROM (SELECT business_date, \
                   -sum(amount_cents) FILTER (WHERE book = 'employee' AND kind IN ('assignment_fee', 'completion_reward')) AS from_employees, \
                   sum(amount_cents) FILTER (WHERE book IN ('company_fee_income', 'company_reward_expense')) AS from_company \
                 FROM ledger_entries GROUP BY business_date) AS days \
                 WHERE COALESCE(from_employees, 0) <> COALESCE(from_company, 0)"
            )
            .await,
            0,
            "each day's management earnings (fees minus rewards) agree between the employees' and the company's books"
        );
    }

    /// A second accounting process on the same database and queues (a replica).
    pub async fn replica(&self) -> RunningService {
        let config = crate::service_config(
            self.database.url(),
            &self.auth.broker,
            &self.auth.endpoint(),
        );
        RunningService::start(accounting_svc::app::spec(), config, |application| {
            Ok(accounting_svc::app::wiring_with(
                application,
                accounting_svc::config::AccountingConfig::default(),
            ))
        })
        .await
        .unwrap()
    }

    pub async fn balance(&self, account: Uuid) -> i64 {
        self.count(&format!("SELECT COALESCE((SELECT balance_cents FROM balances WHERE account_id = '{account}'), 0) AS n")).await
    }

    pub async fn client(&self) -> AccountingServiceClient<GrpcChannel> {
        let channel = tonic::transport::Endpoint::from_shared(self.accounting.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        AccountingServiceClient::new(channel)
    }

    /// An account in auth with a token, for the read API.
    pub async fn popug(
        &self,
        name: &str,
        role: ates_contracts::ates::auth::v1::Role,
    ) -> (Uuid, String) {
        let (account, beak) = self
            .auth
            .create(&format!("{name}@uberpopug.test"), role)
            .await;
        (
            Uuid::parse_str(&account.account_id).unwrap(),
            self.auth.sign_in(&beak).await.access_token,
        )
    }
}
