//! auth's signing keys: kept in its database, encrypted with the key encryption key from
//! configuration, cached in memory, rotated on an admin's request.

use std::sync::Arc;
use std::time::Duration;

use ates_messaging::DbPool;
use ates_token::{KeySet, KeySource, SigningKey, VerificationKey};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use futures::future::BoxFuture;
use rand_core06::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretBox};
use tokio::sync::RwLock;
use tokio::time::Instant;

use crate::storage::schema::signing_keys;

/// How long the in-memory copy is trusted before it is read again (another replica may have
/// rotated).
const CACHE_TTL: Duration = Duration::from_secs(10);
const NONCE_LENGTH: usize = 12;

/// Why the keys could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The database failed or could not be reached.
    #[error("signing keys unavailable: {0}")]
    Database(String),
    /// A stored key does not decrypt: the key encryption key is not the one it was sealed with.
    #[error("signing key {kid} does not decrypt with AUTH_KEY_ENCRYPTION_KEY")]
    Undecryptable {
        /// The key id.
        kid: String,
    },
}

impl From<diesel::result::Error> for KeyError {
    fn from(error: diesel::result::Error) -> Self {
        KeyError::Database(error.to_string())
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
    cipher: ChaCha20Poly1305,
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

#[derive(Queryable)]
struct KeyRow {
    kid: String,
    public_key_x: String,
    private_key_sealed: Vec<u8>,
    retired_at: Option<DateTime<Utc>>,
    verify_until: Option<DateTime<Utc>>,
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
        let cipher = ChaCha20Poly1305::new(&Key::from(*key_encryption_key.expose_secret()));
        Self {
            pool,
            cipher,
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
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|error| KeyError::Database(error.to_string()))?;
        let new_key = SigningKey::generate();
        let sealed = self.seal(&new_key)?;
        let verify_for = chrono::Duration::from_std(self.token_lifetime + self.retirement_leeway)
            .unwrap_or(chrono::Duration::hours(1));
        conn.transaction::<_, KeyError, _>(async |conn| {
            let now = Utc::now();
            diesel::update(signing_keys::table.filter(signing_keys::retired_at.is_null()))
                .set((
                    signing_keys::retired_at.eq(now),
                    signing_keys::verify_until.eq(now + verify_for),
                ))
                .execute(conn)
                .await?;
            diesel::insert_into(signing_keys::table)
                .values((
                    signing_keys::kid.eq(new_key.kid()),
                    signing_keys::public_key_x.eq(new_key.public_x()),
                    signing_keys::private_key_sealed.eq(&sealed),
                ))
                .execute(conn)
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
        let mut conn = self
            .pool
            .get()
            .await
            .map_err(|error| KeyError::Database(error.to_string()))?;
        let mut rows = Self::verifying_rows(&mut conn).await?;
        if !rows.iter().any(|row| row.retired_at.is_none()) {
            // First start: make a key. Two replicas racing here both insert; the unique index on
            // the current key lets one win and the other's row is dropped.
            let key = SigningKey::generate();
            let sealed = self.seal(&key)?;
            diesel::insert_into(signing_keys::table)
                .values((
                    signing_keys::kid.eq(key.kid()),
                    signing_keys::public_key_x.eq(key.public_x()),
                    signing_keys::private_key_sealed.eq(&sealed),
                ))
                .on_conflict_do_nothing()
                .execute(&mut conn)
                .await?;
            tracing::info!(kid = key.kid(), "created the first signing key");
            rows = Self::verifying_rows(&mut conn).await?;
        }
        let current_row = rows
            .iter()
            .find(|row| row.retired_at.is_none())
            .ok_or_else(|| {
                KeyError::Database("no current signing key after creating one".to_owned())
            })?;
        let current = Arc::new(self.open(current_row)?);
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

    async fn verifying_rows(
        conn: &mut diesel_async::AsyncPgConnection,
    ) -> Result<Vec<KeyRow>, KeyError> {
        Ok(signing_keys::table
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
            .await?)
    }

    /// Encrypts a private key; the key id is authenticated with it, so a sealed key cannot be
    /// moved to another row.
    fn seal(&self, key: &SigningKey) -> Result<Vec<u8>, KeyError> {
        let der = key.to_pkcs8_der().map_err(KeyError::Database)?;
        let mut nonce = [0_u8; NONCE_LENGTH];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &der,
                    aad: key.kid().as_bytes(),
                },
            )
            .map_err(|_| KeyError::Database("encryption failed".to_owned()))?;
        Ok([nonce.as_slice(), &ciphertext].concat())
    }

    fn open(&self, row: &KeyRow) -> Result<SigningKey, KeyError> {
        let undecryptable = || KeyError::Undecryptable {
            kid: row.kid.clone(),
        };
        if row.private_key_sealed.len() <= NONCE_LENGTH {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = row.private_key_sealed.split_at(NONCE_LENGTH);
        let nonce: [u8; NONCE_LENGTH] = nonce.try_into().map_err(|_| undecryptable())?;
        let der = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: row.kid.as_bytes(),
                },
            )
            .map_err(|_| undecryptable())?;
        SigningKey::from_pkcs8_der(row.kid.clone(), &der).map_err(|_| undecryptable())
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
