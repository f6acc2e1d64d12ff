//! The e-mails of payouts: written with the payout, claimed with a lease, marked after sending.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Array, BigInt, Date, Text, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::payouts::PayoutRow;

/// An e-mail claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq, diesel::QueryableByName)]
pub struct ClaimedEmail {
    /// The payout it tells of.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub payout_id: Uuid,
    /// The lease this claim holds.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub lease_id: Uuid,
    /// The attempt this is (1 for the first).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    /// The recipient.
    #[diesel(sql_type = Text)]
    pub to: String,
    /// The amount paid, in cents.
    #[diesel(sql_type = BigInt)]
    pub amount_cents: i64,
    /// The closed date.
    #[diesel(sql_type = Date)]
    pub business_date: NaiveDate,
}

/// Queues the e-mail of each payout, in the payouts' transaction.
pub async fn queue(
    conn: &mut AsyncPgConnection,
    payouts: &[PayoutRow],
    message_ids: &[String],
    now: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    if payouts.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = payouts.iter().map(|payout| payout.payout_id).collect();
    let accounts: Vec<Uuid> = payouts.iter().map(|payout| payout.account_id).collect();
    diesel::sql_query(
        "INSERT INTO emails (payout_id, account_id, message_id, status, next_attempt_at) \
         SELECT payout_id, account_id, message_id, 'pending', $4 \
         FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS queued (payout_id, account_id, message_id)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<Array<diesel::sql_types::Uuid>, _>(&accounts)
    .bind::<Array<Text>, _>(message_ids)
    .bind::<Timestamptz, _>(now)
    .execute(conn)
    .await
    .map(drop)
}

/// How many payout e-mails are not sent yet (pending, due or not).
pub async fn pending_count(conn: &mut AsyncPgConnection) -> diesel::QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    Ok(
        diesel::sql_query("SELECT count(*) AS n FROM emails WHERE status = 'pending'")
            .get_result::<Count>(conn)
            .await?
            .n,
    )
}

/// Claims up to `limit` e-mails that are due and have an address, for `lease`: other senders
/// skip them until the lease runs out. Commits on its own (no transaction is held while
/// sending).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    lease: Duration,
    limit: i64,
) -> diesel::QueryResult<Vec<ClaimedEmail>> {
    let lease_seconds = i64::try_from(lease.as_secs()).unwrap_or(i64::MAX);
    diesel::sql_query(
        "WITH next AS ( \
             SELECT e.payout_id, a.email FROM emails e JOIN accounts a ON a.account_id = e.account_id \
             WHERE e.status = 'pending' AND e.next_attempt_at <= now() AND a.email IS NOT NULL \
               AND (e.lease_until IS NULL OR e.lease_until < now()) \
             ORDER BY e.next_attempt_at LIMIT $3 FOR UPDATE OF e SKIP LOCKED), \
         claimed AS ( \
             UPDATE emails SET lease_id = $1, lease_until = now() + make_interval(secs => $2), \
                    attempts = attempts + 1 \
             FROM next WHERE emails.payout_id = next.payout_id \
             RETURNING emails.payout_id, emails.lease_id, emails.attempts) \
         SELECT claimed.payout_id, claimed.lease_id, claimed.attempts, next.email AS to, \
                p.amount_cents, p.business_date \
         FROM claimed JOIN next USING (payout_id) JOIN payouts p USING (payout_id)",
    )
    .bind::<diesel::sql_types::Uuid, _>(Uuid::now_v7())
    .bind::<BigInt, _>(lease_seconds)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Gives claimed e-mails back unsent (their lease was too short for them), without counting a
/// try.
pub async fn release(
    conn: &mut AsyncPgConnection,
    claims: &[ClaimedEmail],
) -> diesel::QueryResult<()> {
    let Some(first) = claims.first() else {
        return Ok(());
    };
    let ids: Vec<Uuid> = claims.iter().map(|claim| claim.payout_id).collect();
    diesel::sql_query(
        "UPDATE emails SET lease_id = NULL, lease_until = NULL, attempts = attempts - 1 \
         WHERE payout_id = ANY($1) AND lease_id = $2",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<diesel::sql_types::Uuid, _>(first.lease_id)
    .execute(conn)
    .await
    .map(drop)
}

/// What became of a send, recorded only if the claim still holds its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The server accepted it.
    Accepted,
    /// Try again at this time; why it failed.
    Later(DateTime<Utc>, String),
    /// The server refused it for good.
    Refused(String),
}

/// Records what became of a claimed e-mail. Returns false when the lease was lost (another
/// sender took the e-mail after the lease ran out): nothing is recorded then.
pub async fn record(
    conn: &mut AsyncPgConnection,
    claim: &ClaimedEmail,
    sent: &Sent,
) -> diesel::QueryResult<bool> {
    let updated = match sent {
        Sent::Accepted => {
            diesel::sql_query(
                "UPDATE emails SET status = 'sent', sent_at = now(), lease_id = NULL, \
                 lease_until = NULL, last_error = NULL WHERE payout_id = $1 AND lease_id = $2",
            )
            .bind::<diesel::sql_types::Uuid, _>(claim.payout_id)
            .bind::<diesel::sql_types::Uuid, _>(claim.lease_id)
            .execute(conn)
            .await?
        }
        Sent::Later(at, error) => {
            diesel::sql_query(
                "UPDATE emails SET next_attempt_at = $3, lease_id = NULL, lease_until = NULL, \
                 last_error = $4 WHERE payout_id = $1 AND lease_id = $2",
            )
            .bind::<diesel::sql_types::Uuid, _>(claim.payout_id)
            .bind::<diesel::sql_types::Uuid, _>(claim.lease_id)
            .bind::<Timestamptz, _>(*at)
            .bind::<Text, _>(error)
            .execute(conn)
            .await?
        }
        Sent::Refused(error) => {
            diesel::sql_query(
                "UPDATE emails SET status = 'failed', lease_id = NULL, lease_until = NULL, \
                 last_error = $3 WHERE payout_id = $1 AND lease_id = $2",
            )
            .bind::<diesel::sql_types::Uuid, _>(claim.payout_id)
            .bind::<diesel::sql_types::Uuid, _>(claim.lease_id)
            .bind::<Text, _>(error)
            .execute(conn)
            .await?
        }
    };
    Ok(updated == 1)
}
