//! auth, accounting and payouts in this process on one broker prefix, and a real SMTP listener:
//! the test plays the tracker (it publishes task events) and reads e-mails off the listener.

#![allow(clippy::unwrap_used, missing_docs, missing_debug_implementations)]

use std::collections::BTreeMap;
use std::time::Duration;

use ates_contracts::ates::auth::v1::Role;
use ates_contracts::ates::payouts::v1 as api;
use ates_contracts::ates::payouts::v1::payouts_service_client::PayoutsServiceClient;
use ates_contracts::ates::tracker::events::v1 as tracker;
use ates_messaging::DbPool;
use chrono::{DateTime, NaiveDate, Utc};
use tonic::transport::Channel;
use uuid::Uuid;

use crate::accounting::{Ledger, assignment, timestamp};
use crate::{RunningService, SmtpSink, TestDatabase, signed};

pub use payouts_svc::config::PayoutsConfig;

/// The grace the tests give the scheduled close: long, so that only the test closes dates.
pub const TEST_GRACE: Duration = Duration::from_secs(100 * 24 * 3600);

/// Settings for payouts under test: UTC days, a long grace, quick e-mail retries.
pub fn payouts_config(smtp: &SmtpSink) -> PayoutsConfig {
    let defaults = PayoutsConfig::default();
    PayoutsConfig {
        schedule: payouts_svc::domain::CloseSchedule::new(
            ates_calendar::BusinessCalendar::utc(),
            TEST_GRACE,
        ),
        mail: payouts_svc::operations::mail::MailSettings {
            smtp_url: smtp.url(),
            send_timeout: Duration::from_secs(2),
            lease: Duration::from_secs(3),
            retry_max: Duration::from_secs(1),
            ..defaults.mail
        },
        email_senders: 2,
        ..defaults
    }
}

/// A date `days` before today (UTC).
pub fn days_ago(days: i64) -> NaiveDate {
    Utc::now().date_naive() - chrono::Duration::days(days)
}

/// Noon of `date` plus `minutes`.
pub fn during(date: NaiveDate, minutes: i64) -> DateTime<Utc> {
    date.and_hms_opt(12, 0, 0).unwrap().and_utc() + chrono::Duration::minutes(minutes)
}

/// The payroll of a test.
pub struct Payroll {
    pub ledger: Ledger,
    pub payouts: RunningService,
    pub payouts_database: TestDatabase,
    pub payouts_pool: DbPool,
    pub smtp: SmtpSink,
    admin: String,
}

impl Payroll {
    pub async fn start() -> Self {
        Self::start_with(|config| config).await
    }

    /// With payouts' settings changed by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(PayoutsConfig) -> PayoutsConfig) -> Self {
        let ledger = Ledger::start().await;
        let smtp = SmtpSink::start().await.unwrap();
        let payouts_database = TestDatabase::create().await.unwrap();
        let config = crate::service_config(
            payouts_database.url(),
            &ledger.auth.broker,
            &ledger.auth.endpoint(),
        );
        let payouts_config = adjust(payouts_config(&smtp));
        let payouts = RunningService::start(payouts_svc::app::spec(), config, |application| {
            payouts_svc::app::wiring_with(application, payouts_config)
        })
        .await
        .unwrap();
        let payouts_pool = ates_storage::pool(payouts_database.url(), 4).unwrap();
        let admin = ledger.auth.admin_token().await;
        Self {
            ledger,
            payouts,
            payouts_database,
            payouts_pool,
            smtp,
            admin,
        }
    }

    pub fn admin(&self) -> &str {
        &self.admin
    }

    pub async fn client(&self) -> PayoutsServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(self.payouts.endpoint())
            .unwrap()
            .connect()
            .await
            .unwrap();
        PayoutsServiceClient::new(channel)
    }

    /// A popug created in auth: (account id, e-mail, token).
    pub async fn popug(&self, name: &str, role: Role) -> (Uuid, String, String) {
        let email = format!("{name}@uberpopug.test");
        let (id, token) = self.ledger.popug(name, role).await;
        (id, email, token)
    }

    /// A task assigned to `account` at `assigned_at` (its fee), completed at `completed_at`
    /// when given (its reward), as the tracker would announce them.
    pub async fn task(
        &mut self,
        account: Uuid,
        fee_cents: i64,
        assigned_at: DateTime<Utc>,
        reward: Option<(i64, DateTime<Utc>)>,
    ) -> Uuid {
        let task = Uuid::new_v4();
        self.ledger
            .publish(
                &tracker::TaskAdded {
                    task_id: task.to_string(),
                    assignment: Some(assignment(task, account, fee_cents, assigned_at)),
                    creator_id: Uuid::new_v4().to_string(),
                },
                assigned_at,
            )
            .await;
        if let Some((reward_cents, completed_at)) = reward {
            self.ledger
                .publish(
                    &tracker::TaskCompleted {
                        task_id: task.to_string(),
                        assignee_id: account.to_string(),
                        reward_cents,
                        completed_at: Some(timestamp(completed_at)),
                    },
                    completed_at,
                )
                .await;
        }
        task
    }

    /// Waits until accounting applied everything published and payouts knows, for every account
    /// and date, exactly what accounting's ledger says it earned.
    pub async fn settle(&self) {
        self.ledger.settle().await;
        let agreed = crate::eventually(Duration::from_secs(30), || async {
            (self.accounting_earnings().await == self.payouts_earnings().await).then_some(())
        })
        .await;
        assert!(
            agreed.is_some(),
            "payouts' earnings never matched accounting's: accounting {:?}, payouts {:?}",
            self.accounting_earnings().await,
            self.payouts_earnings().await
        );
    }

    async fn accounting_earnings(&self) -> BTreeMap<(Uuid, NaiveDate), i64> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            account_id: Uuid,
            #[diesel(sql_type = diesel::sql_types::Date)]
            business_date: NaiveDate,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            cents: i64,
        }
        let mut conn = self.ledger.pool.get().await.unwrap();
        let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
            diesel::sql_query(
                "SELECT account_id, business_date, sum(amount_cents)::bigint AS cents FROM ledger_entries \
                 WHERE book = 'employee' AND kind <> 'payout' GROUP BY 1, 2",
            ),
            &mut conn,
        )
        .await
        .unwrap();
        rows.into_iter()
            .map(|row| ((row.account_id, row.business_date), row.cents))
            .collect()
    }

    async fn payouts_earnings(&self) -> BTreeMap<(Uuid, NaiveDate), i64> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            account_id: Uuid,
            #[diesel(sql_type = diesel::sql_types::Date)]
            business_date: NaiveDate,
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            earned_cents: i64,
        }
        let mut conn = self.payouts_pool.get().await.unwrap();
        let rows: Vec<Row> = diesel_async::RunQueryDsl::load(
            diesel::sql_query("SELECT account_id, business_date, earned_cents FROM daily_earnings"),
            &mut conn,
        )
        .await
        .unwrap();
        rows.into_iter()
            .map(|row| ((row.account_id, row.business_date), row.earned_cents))
            .collect()
    }

    /// Closes `date` as the admin.
    pub async fn close(&self, date: NaiveDate) -> api::CloseBusinessDayResponse {
        self.client()
            .await
            .close_business_day(signed(
                api::CloseBusinessDayRequest {
                    business_date: date.to_string(),
                },
                &self.admin,
            ))
            .await
            .unwrap()
            .into_inner()
    }

    /// Every payout of `date`, every page.
    pub async fn payouts_of(&self, date: NaiveDate) -> Vec<api::Payout> {
        let mut client = self.client().await;
        let mut payouts = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = client
                .list_payouts(signed(
                    api::ListPayoutsRequest {
                        business_date: date.to_string(),
                        page_size: 100,
                        page_token: page_token.clone(),
                    },
                    &self.admin,
                ))
                .await
                .unwrap()
                .into_inner();
            payouts.extend(page.payouts);
            if page.next_page_token.is_empty() {
                return payouts;
            }
            page_token = page.next_page_token;
        }
    }

    /// `account`'s closing balance of `date`, from accounting, as the admin reads it.
    pub async fn closing_balance(&self, account: Uuid, date: NaiveDate) -> (i64, i64) {
        use ates_contracts::ates::accounting::v1 as accounting;
        let statement = self
            .ledger
            .client()
            .await
            .get_statement(signed(
                accounting::GetStatementRequest {
                    account_id: account.to_string(),
                    business_date: date.to_string(),
                    ..Default::default()
                },
                &self.admin,
            ))
            .await
            .unwrap()
            .into_inner();
        (
            statement.opening_balance_cents,
            statement.closing_balance_cents,
        )
    }

    /// Waits until the SMTP listener has at least `count` messages.
    pub async fn wait_for_emails(&self, count: usize) -> Vec<crate::ReceivedMail> {
        let arrived = crate::eventually(Duration::from_secs(30), || async {
            let messages = self.smtp.messages();
            (messages.len() >= count).then_some(messages)
        })
        .await;
        arrived
            .unwrap_or_else(|| panic!("{} of {count} e-mails arrived", self.smtp.messages().len()))
    }
}
