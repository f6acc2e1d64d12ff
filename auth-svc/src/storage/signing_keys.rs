//! The signing_keys table: each key's public half and its sealed private half.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::schema::signing_keys;

/// A key that still verifies tokens.
#[derive(Debug, Clone, Queryable)]
pub struct KeyRow {
    /// Its id (the `kid` of the tokens it signed).
    pub kid: String,
    /// Its public half, base64url.
    pub public_key_x: String,
    /// Its private half, sealed.
    pub private_key_sealed: Vec<u8>,
    /// When it stopped signing; `None` for the current key.
    pub retired_at: Option<DateTime<Utc>>,
    /// Until when it verifies after retiring.
    pub verify_until: Option<DateTime<Utc>>,
}

/// The current key and the retired ones that still verify, newest first.
pub async fn verifying(conn: &mut AsyncPgConnection) -> QueryResult<Vec<KeyRow>> {
    signing_keys::table
        .filter(
            signing_keys::retired_at
                .is_null()
                .or(signing_keys::verify_until.gt(Utc::now())),
        )
        .order(signing_keys::created_at.desc())
        .select((
            signing_keys::kid,
            signing_keys::public_key_x,
            signing_keys::private_key_sealed,
            signing_keys::retired_at,
            signing_keys::verify_until,
        ))
        .load(conn)
        .await
}

/// Inserts a new current key. With `if_none_current`, a concurrent first key of another replica
/// wins instead (the unique index on the current key refuses a second).
pub async fn insert_current(
    conn: &mut AsyncPgConnection,
    kid: &str,
    public_key_x: &str,
    sealed: &[u8],
    if_none_current: bool,
) -> QueryResult<()> {
    let insert = diesel::insert_into(signing_keys::table).values((
        signing_keys::kid.eq(kid),
        signing_keys::public_key_x.eq(public_key_x),
        signing_keys::private_key_sealed.eq(sealed),
    ));
    if if_none_current {
        insert.on_conflict_do_nothing().execute(conn).await?;
    } else {
        insert.execute(conn).await?;
    }
    Ok(())
}

/// Retires the current key: it stops signing now and verifies until `verify_until`.
pub async fn retire_current(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    verify_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
        .set((
            signing_keys::retired_at.eq(now),
            signing_keys::verify_until.eq(verify_until),
        ))
        .execute(conn)
        .await
        .map(drop)
}
