//! Sending payout e-mails: claim one with a lease, send it outside any transaction, record the
//! outcome only if the lease still holds. A crash between the server's acceptance and that
//! record sends the same message (same Message-ID) once more after the lease runs out; nothing
//! else can send an e-mail twice, and nothing can lose one.

use std::sync::Arc;
use std::time::Duration;

use ates_messaging::DbPool;
use chrono::Utc;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::domain::{PayoutEmail, retry_delay};
use crate::error::PayoutsError;
use crate::storage::emails::{self, ClaimedEmail, Sent};

/// What one step of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendStep {
    /// E-mails the mail server accepted.
    pub sent: usize,
    /// E-mails that could not be sent now; they are retried later.
    pub retrying: usize,
    /// E-mails refused for good.
    pub refused: usize,
}

impl SendStep {
    /// Whether nothing was due.
    pub fn idle(&self) -> bool {
        self.sent + self.retrying + self.refused == 0
    }
}

/// E-mails one sender claims at a time.
const CLAIM_BATCH: i64 = 20;

/// Sends the e-mails of payouts over SMTP.
#[derive(Clone)]
pub struct Mailer {
    pool: DbPool,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: Arc<str>,
    send_timeout: Duration,
    lease: Duration,
    retry_max: Duration,
    waiting: Arc<Notify>,
    metrics: Arc<MailMetrics>,
}

/// `payouts.emails.sent` (by outcome: accepted, retrying, refused) and `payouts.emails.waiting`
/// (payout e-mails not sent yet, counted at most every 10 s while the senders run).
struct MailMetrics {
    sent: opentelemetry::metrics::Counter<u64>,
    waiting: Arc<std::sync::atomic::AtomicI64>,
    counted_at: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl MailMetrics {
    const COUNT_INTERVAL: Duration = Duration::from_secs(10);

    fn new() -> Self {
        let meter = ates_telemetry::metrics::meter();
        let waiting = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let observed = Arc::clone(&waiting);
        meter
            .i64_observable_gauge("payouts.emails.waiting")
            .with_description("Payout e-mails not sent yet (counted every 10 s)")
            .with_callback(move |observer| {
                observer.observe(observed.load(std::sync::atomic::Ordering::Relaxed), &[]);
            })
            .build();
        Self {
            sent: meter
                .u64_counter("payouts.emails.sent")
                .with_description("Payout e-mails handed to the mail server, by outcome (accepted, retrying, refused)")
                .build(),
            waiting,
            counted_at: std::sync::Mutex::new(None),
        }
    }

    fn sent(&self, outcome: &'static str, count: usize) {
        if count > 0 {
            self.sent.add(
                count as u64,
                &[opentelemetry::KeyValue::new("outcome", outcome)],
            );
        }
    }

    /// Whether the waiting e-mails are due to be counted again (and, if so, marks them counted).
    fn count_due(&self) -> bool {
        let mut counted_at = self
            .counted_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = tokio::time::Instant::now();
        let due = counted_at.is_none_or(|at| now.duration_since(at) >= Self::COUNT_INTERVAL);
        if due {
            *counted_at = Some(now);
        }
        due
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// How a mailer sends.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `smtp://host:port`, `smtps://user:password@host`, … (lettre's URL forms).
    pub smtp_url: String,
    /// The sender, `Name <address>`.
    pub from: Mailbox,
    /// The longest one send may take, connecting included.
    pub send_timeout: Duration,
    /// How long a claimed e-mail is reserved for its sender.
    pub lease: Duration,
    /// The longest wait between tries of one e-mail.
    pub retry_max: Duration,
    /// SMTP connections kept open.
    pub connections: u32,
}

impl Mailer {
    /// A mailer over payouts' pool; `waiting` wakes it when e-mails were queued.
    pub fn new(
        pool: DbPool,
        settings: &MailSettings,
        waiting: Arc<Notify>,
    ) -> Result<Self, PayoutsError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
            .map_err(|error| PayoutsError::Internal(format!("SMTP_URL: {error}")))?
            .timeout(Some(settings.send_timeout))
            .pool_config(PoolConfig::new().max_size(settings.connections.max(1)))
            .build();
        Ok(Self {
            pool,
            transport,
            domain: Arc::from(settings.from.email.domain()),
            from: settings.from.clone(),
            send_timeout: settings.send_timeout,
            lease: settings.lease,
            retry_max: settings.retry_max,
            waiting,
            metrics: Arc::new(MailMetrics::new()),
        })
    }

    /// The domain in the Message-IDs.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Claims the e-mails that are due (a few at a time), sends them one by one and records
    /// what happened to each. Those its lease no longer covers go back unsent.
    pub async fn send_next(&self) -> Result<SendStep, PayoutsError> {
        let lease_ends = tokio::time::Instant::now() + self.lease;
        let claims = {
            let mut conn = ates_storage::connection(&self.pool).await?;
            emails::claim(&mut conn, self.lease, CLAIM_BATCH).await?
        };
        let mut step = SendStep::default();
        for (index, claim) in claims.iter().enumerate() {
            // A send must end while the lease holds, or another sender could send it too.
            if tokio::time::Instant::now() + self.send_timeout >= lease_ends {
                let mut conn = ates_storage::connection(&self.pool).await?;
                emails::release(&mut conn, &claims[index..]).await?;
                break;
            }
            // No database connection is held while the mail server is talked to.
            let sent = self.send(claim).await;
            if sent == Sent::Accepted {
                ates_server::fault_point("payouts.email.after_accepted");
            }
            let mut conn = ates_storage::connection(&self.pool).await?;
            if !emails::record(&mut conn, claim, &sent).await? {
                tracing::warn!(payout.id = %claim.payout_id, "the e-mail's lease ran out while sending; another sender has it");
            }
            match sent {
                Sent::Accepted => step.sent += 1,
                Sent::Later(..) => step.retrying += 1,
                Sent::Refused(_) => step.refused += 1,
            }
        }
        if step.sent > 0 {
            tracing::info!(sent = step.sent, "payout e-mails sent");
        }
        self.metrics.sent("accepted", step.sent);
        self.metrics.sent("retrying", step.retrying);
        self.metrics.sent("refused", step.refused);
        if self.metrics.count_due() {
            // Only the gauge depends on it: a failed count leaves the last one and the step stands.
            let counted = match ates_storage::connection(&self.pool).await {
                Ok(mut conn) => emails::pending_count(&mut conn)
                    .await
                    .map_err(|error| error.to_string()),
                Err(error) => Err(error.to_string()),
            };
            match counted {
                Ok(waiting) => self
                    .metrics
                    .waiting
                    .store(waiting, std::sync::atomic::Ordering::Relaxed),
                Err(error) => tracing::debug!(error = %error, "cannot count the waiting e-mails"),
            }
        }
        Ok(step)
    }

    async fn send(&self, claim: &ClaimedEmail) -> Sent {
        let email = PayoutEmail::compose(
            claim.payout_id,
            claim.amount_cents,
            claim.business_date,
            &self.domain,
        );
        let to: Mailbox = match claim.to.parse() {
            Ok(to) => to,
            Err(_) => {
                tracing::error!(payout.id = %claim.payout_id, "the account's e-mail address is not one; not sending");
                return Sent::Refused("the account's e-mail address is not valid".to_owned());
            }
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(email.message_id))
            .header(ContentType::TEXT_PLAIN)
            .body(email.body);
        let message = match message {
            Ok(message) => message,
            Err(error) => return Sent::Refused(format!("the message cannot be built: {error}")),
        };
        let later = |reason: String| {
            let delay = retry_delay(
                u32::try_from(claim.attempts).unwrap_or(u32::MAX),
                self.retry_max,
                rand::random::<f64>(),
            );
            Sent::Later(
                Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX),
                reason,
            )
        };
        // lettre's own timeout covers the connection only: bound the whole send.
        match tokio::time::timeout(self.send_timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Sent::Accepted,
            Ok(Err(error)) if error.is_permanent() => {
                tracing::warn!(payout.id = %claim.payout_id, smtp.status = ?error.status().map(|code| code.to_string()), "the mail server refused a payout e-mail for good");
                Sent::Refused(error.to_string())
            }
            Ok(Err(error)) => {
                tracing::warn!(payout.id = %claim.payout_id, attempt = claim.attempts, smtp.status = ?error.status().map(|code| code.to_string()), "a payout e-mail could not be sent now; it will be tried again");
                later(error.to_string())
            }
            Err(_) => {
                tracing::warn!(payout.id = %claim.payout_id, attempt = claim.attempts, "sending a payout e-mail timed out; it will be tried again");
                later(format!(
                    "no answer from the mail server within {} s",
                    self.send_timeout.as_secs()
                ))
            }
        }
    }

    /// Sends e-mails until `shutdown`: as long as some are due, then when woken or every second.
    pub async fn run(&self, shutdown: CancellationToken) -> anyhow::Result<()> {
        loop {
            let step = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                step = self.send_next() => step,
            };
            match step {
                Ok(step) if step.idle() => {}
                Ok(_) => continue,
                Err(error) => tracing::warn!(error = %error, "payout e-mails cannot be sent now"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.waiting.notified() => {}
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
