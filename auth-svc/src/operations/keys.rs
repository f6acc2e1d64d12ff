//! auth's signing keys: kept in its database, sealed with the key encryption key from
//! configuration, cached in memory, rotated on an admin's request.

use std::sync::Arc;
use std::time::Duration;

use ates_messaging::DbPool;
use ates_storage::DbError;
use ates_token::{KeySet, KeySource, SigningKey, VerificationKey};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use futures::future::BoxFuture;
use secrecy::SecretBox;
use tokio::sync::RwLock;
use tokio::time::Instant;

use crate::domain::{KeySeal, SealError};
use crate::storage::signing_keys::{self, KeyRow};

/// How long the in-memory copy is trusted before it is read again (another replica may have
/// rotated).
const CACHE_TTL: Duration = Duration::from_secs(10);

/// Why the keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database failed or could not be reached.
    #[error("signing keys unavailable: {0}")]
    Database(#[from] DbError),
    /// A key could not be sealed, or a stored key does not open.
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl From<diesel::result::Error> for KeyError {
    fn from(error: diesel::result::Error) -> Self {
        KeyError::Database(error.into())
    }
}

/// A key published for verification.
#[derive(Debug, Clone)]
pub struct PublishedKey {
    /// The key id.
    pub kid: String,
    /// The raw public key, base64url.
    pub x: String,
    /// When a retired key stops verifying; `None` for the current key.
    pub verify_until: Option<DateTime<Utc>>,
}

struct Loaded {
    current: Arc<SigningKey>,
    published: Vec<PublishedKey>,
    loaded_at: Instant,
}

/// The signing keys of auth.
pub struct KeyRing {
    pool: DbPool,
    seal: KeySeal,
    token_lifetime: Duration,
    retirement_leeway: Duration,
    loaded: RwLock<Option<Arc<Loaded>>>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("KeyRing")
            .field("token_lifetime", &self.token_lifetime)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// A key ring over auth's database; nothing is read until first use. A retired key keeps
    /// verifying for `token_lifetime` plus `retirement_leeway` (clock skew between services).
    pub fn new(
        pool: DbPool,
        key_encryption_key: &SecretBox<[u8; 32]>,
        token_lifetime: Duration,
        retirement_leeway: Duration,
    ) -> Self {
        Self {
            pool,
            seal: KeySeal::new(key_encryption_key),
            token_lifetime,
            retirement_leeway,
            loaded: RwLock::new(None),
        }
    }

    /// The key that signs new tokens (created on first use when there is none).
    pub async fn current(&self) -> Result<Arc<SigningKey>, KeyError> {
        Ok(Arc::clone(&self.load().await?.current))
    }

    /// The keys that verify tokens: the current one and retired ones still within their time.
    pub async fn published(&self) -> Result<Vec<PublishedKey>, KeyError> {
        let now = Utc::now();
        Ok(self
            .load()
            .await?
            .published
            .iter()
            .filter(|key| key.verify_until.is_none_or(|until| until > now))
            .cloned()
            .collect())
    }

    /// Retires the current key (it keeps verifying for one token lifetime) and makes a new one
    /// current. Returns the new key id.
    pub async fn rotate(&self) -> Result<String, KeyError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let new_key = SigningKey::generate();
        let sealed = self.seal.seal(&new_key)?;
        let verify_for = chrono::Duration::from_std(self.token_lifetime + self.retirement_leeway)
            .unwrap_or(chrono::Duration::hours(1));
        conn.transaction::<_, KeyError, _>(async |conn| {
            let now = Utc::now();
            signing_keys::retire_current(conn, now, now + verify_for).await?;
            signing_keys::insert_current(conn, new_key.kid(), &new_key.public_x(), &sealed, false)
                .await?;
            Ok(())
        })
        .await?;
        tracing::info!(kid = new_key.kid(), "signing key rotated");
        self.reload().await?;
        Ok(new_key.kid().to_owned())
    }

    async fn load(&self) -> Result<Arc<Loaded>, KeyError> {
        if let Some(loaded) = self.loaded.read().await.as_ref()
            && loaded.loaded_at.elapsed() < CACHE_TTL
        {
            return Ok(Arc::clone(loaded));
        }
        self.reload().await
    }

    async fn reload(&self) -> Result<Arc<Loaded>, KeyError> {
        let mut conn = ates_storage::connection(&self.pool).await?;
        let mut rows = signing_keys::verifying(&mut conn).await?;
        if !rows.iter().any(|row| row.retired_at.is_none()) {
            // First start: make a key. Two replicas racing here both insert; the unique index on
            // the current key lets one win and the other's row is dropped.
            let key = SigningKey::generate();
            let sealed = self.seal.seal(&key)?;
            signing_keys::insert_current(&mut conn, key.kid(), &key.public_x(), &sealed, true)
                .await?;
            tracing::info!(kid = key.kid(), "created the first signing key");
            rows = signing_keys::verifying(&mut conn).await?;
        }
        let current_row: &KeyRow = rows
            .iter()
            .find(|row| row.retired_at.is_none())
            .ok_or_else(|| {
                KeyError::Database(DbError::Other(
                    "no current signing key after creating one".to_owned(),
                ))
            })?;
        let current = Arc::new(
            self.seal
                .open(&current_row.kid, &current_row.private_key_sealed)?,
        );
        let published = rows
            .iter()
            .map(|row| PublishedKey {
                kid: row.kid.clone(),
                x: row.public_key_x.clone(),
                verify_until: row.verify_until,
            })
            .collect();
        let loaded = Arc::new(Loaded {
            current,
            published,
            loaded_at: Instant::now(),
        });
        *self.loaded.write().await = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}

/// auth verifies its own tokens from its key ring, without calling itself.
#[derive(Debug, Clone)]
pub struct LocalKeySource(pub Arc<KeyRing>);

impl KeySource for LocalKeySource {
    fn fetch(&self) -> BoxFuture<'_, Result<KeySet, String>> {
        Box::pin(async move {
            let published = self
                .0
                .published()
                .await
                .map_err(|error| error.to_string())?;
            let keys = published
                .into_iter()
                .map(|key| VerificationKey::from_x(key.kid, &key.x))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(KeySet { keys })
        })
    }
}
