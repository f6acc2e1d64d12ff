//! The e-mail that tells a popug it was paid, and how a failed send is retried.

use std::time::Duration;

use chrono::NaiveDate;
use uuid::Uuid;

use super::dollars;

/// A payout's e-mail: plain text, identified by a Message-ID derived from the payout, so that a
/// copy sent twice (after a crash between the server's acceptance and the record of it) is
/// recognisably the same message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutEmail {
    /// `<payout-…@domain>`.
    pub message_id: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl PayoutEmail {
    /// The e-mail for payout `payout_id` of `amount_cents` for `business_date`; `domain` is the
    /// sender's domain, for the Message-ID.
    pub fn compose(
        payout_id: Uuid,
        amount_cents: i64,
        business_date: NaiveDate,
        domain: &str,
    ) -> Self {
        let amount = dollars(amount_cents);
        Self {
            message_id: format!("<payout-{payout_id}@{domain}>"),
            subject: format!("aTES: you were paid {amount} for {business_date}"),
            body: format!(
                "Hello,\n\n\
                 at the close of business day {business_date} aTES paid you {amount}:\n\
                 your balance through that day.\n\n\
                 Payout id: {payout_id}\n\n\
                 Money you earn from now on is paid at a later close; a negative balance is\n\
                 carried over until completed tasks repay it.\n\n\
                 -- aTES payouts\n"
            ),
        }
    }
}

/// How long to wait before sending again after the `attempt`-th failed try: 5 s doubling per
/// attempt up to `max`, then moved by `jitter` (0..1) within ±20 %, so that many e-mails that
/// failed together do not all come back at once.
pub fn retry_delay(attempt: u32, max: Duration, jitter: f64) -> Duration {
    let base = Duration::from_secs(5)
        .saturating_mul(2_u32.saturating_pow(attempt.saturating_sub(1).min(16)))
        .min(max);
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_email_says_the_amount_the_date_and_the_payout() {
        let payout = Uuid::parse_str("0193a1f2-0000-7000-8000-000000000001").unwrap();
        let date = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        let email = PayoutEmail::compose(payout, 12_345, date, "ates.example");
        assert_eq!(email.message_id, format!("<payout-{payout}@ates.example>"));
        assert_eq!(email.subject, "aTES: you were paid $123.45 for 2026-11-25");
        for part in ["$123.45", "2026-11-25", &payout.to_string()] {
            assert!(email.body.contains(part), "{part} missing: {}", email.body);
        }
    }

    #[test]
    fn retries_back_off_to_a_ceiling_with_bounded_jitter() {
        let max = Duration::from_secs(300);
        assert_eq!(retry_delay(1, max, 0.5), Duration::from_secs(5));
        assert_eq!(retry_delay(2, max, 0.5), Duration::from_secs(10));
        assert_eq!(retry_delay(7, max, 0.5), Duration::from_secs(300));
        assert_eq!(retry_delay(u32::MAX, max, 0.5), Duration::from_secs(300));
        assert_eq!(retry_delay(1, max, 0.0), Duration::from_secs(4));
        assert_eq!(retry_delay(1, max, 1.0), Duration::from_secs(6));
    }
}
