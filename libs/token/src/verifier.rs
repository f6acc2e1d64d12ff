//! Verifying tokens against auth's public keys, cached and refetched on an unknown `kid`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use ates_contracts::ates::auth::v1::GetPublicKeysRequest;
use ates_contracts::ates::auth::v1::auth_service_client::AuthServiceClient;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, Validation};
use tokio::sync::{Mutex, RwLock};
use tokio::time::Instant;

use crate::{Claims, VerificationKey};

/// Why a token was refused. Every variant means UNAUTHENTICATED to the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// No `authorization: Bearer` metadata.
    #[error("missing bearer access token")]
    Missing,
    /// Not a JWT, or its header does not decode (this includes `alg: none`).
    #[error("malformed access token")]
    Malformed,
    /// Signed with an algorithm other than EdDSA (e.g. a symmetric one).
    #[error("access token algorithm is not allowed")]
    Algorithm,
    /// The header carries or points to a key (`jwk`, `jku`, `x5u`, `x5c`); keys come only from auth.
    #[error("access token header must not carry or point to a key")]
    EmbeddedKey,
    /// No `kid` header.
    #[error("access token has no key id")]
    MissingKeyId,
    /// The `kid` names no key auth publishes.
    #[error("access token key is unknown")]
    UnknownKey,
    /// The signature does not match (e.g. a tampered payload).
    #[error("access token signature is invalid")]
    Signature,
    /// The token has expired.
    #[error("access token has expired")]
    Expired,
    /// The token is not valid yet.
    #[error("access token is not valid yet")]
    NotYetValid,
    /// Wrong `iss`.
    #[error("access token issuer is not accepted")]
    Issuer,
    /// Wrong `aud`.
    #[error("access token audience is not accepted")]
    Audience,
    /// Claims missing or of the wrong shape.
    #[error("access token claims are invalid")]
    Claims,
    /// auth's keys could not be fetched and none are cached.
    #[error("cannot verify access tokens right now: {0}")]
    KeysUnavailable(String),
}

/// auth's current public keys.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// The keys that verify tokens.
    pub keys: Vec<VerificationKey>,
}

/// Where a [`Verifier`] gets public keys from.
pub trait KeySource: Send + Sync + 'static {
    /// Fetches the current key set.
    fn fetch(&self) -> BoxFuture<'_, Result<KeySet, String>>;
}

/// auth-svc's `GetPublicKeys` over gRPC.
#[derive(Debug, Clone)]
pub struct AuthKeySource {
    channel: tonic::transport::Channel,
}

impl AuthKeySource {
    /// A key source calling auth at `endpoint` (e.g. `http://127.0.0.1:50051`). Connects lazily.
    pub fn new(endpoint: &str) -> Result<Self, String> {
        let channel = tonic::transport::Endpoint::from_shared(endpoint.to_owned())
            .map_err(|error| format!("auth endpoint {endpoint} is not a URI: {error}"))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(5))
            .connect_lazy();
        Ok(Self { channel })
    }
}

impl KeySource for AuthKeySource {
    fn fetch(&self) -> BoxFuture<'_, Result<KeySet, String>> {
        Box::pin(async move {
            let mut client = AuthServiceClient::new(self.channel.clone());
            let mut headers = http::HeaderMap::new();
            ates_telemetry::inject_into_headers(&mut headers);
            let request = tonic::Request::from_parts(
                tonic::metadata::MetadataMap::from_headers(headers),
                tonic::Extensions::default(),
                GetPublicKeysRequest {},
            );
            let response = client
                .get_public_keys(request)
                .await
                .map_err(|status| {
                    format!(
                        "auth GetPublicKeys failed: {}: {}",
                        status.code(),
                        status.message()
                    )
                })?
                .into_inner();
            let keys = response
                .keys
                .into_iter()
                .filter(|key| key.algorithm == crate::ALGORITHM)
                .map(|key| VerificationKey::from_x(key.kid, &key.x))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(KeySet { keys })
        })
    }
}

/// What a verifier accepts.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The only accepted `iss`.
    pub issuer: String,
    /// The only accepted `aud`.
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Least time between two fetches caused by unknown key ids (a flood of random `kid`s must
    /// not become a flood of calls to auth).
    pub min_refetch_interval: Duration,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            issuer: "ates-auth".to_owned(),
            audience: "ates".to_owned(),
            leeway: Duration::from_secs(5),
            min_refetch_interval: Duration::from_secs(1),
        }
    }
}

struct Cache {
    keys: HashMap<String, VerificationKey>,
    fetched_at: Option<Instant>,
}

/// Verifies aTES access tokens.
pub struct Verifier {
    source: Arc<dyn KeySource>,
    config: VerifierConfig,
    cache: RwLock<Cache>,
    fetching: Mutex<()>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier with an empty cache; keys are fetched on first use.
    pub fn new(source: Arc<dyn KeySource>, config: VerifierConfig) -> Self {
        Self {
            source,
            config,
            cache: RwLock::new(Cache {
                keys: HashMap::new(),
                fetched_at: None,
            }),
            fetching: Mutex::new(()),
        }
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.jwk.is_some()
            || header.jku.is_some()
            || header.x5u.is_some()
            || header.x5c.is_some()
        {
            return Err(TokenError::EmbeddedKey);
        }
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let kid = header.kid.ok_or(TokenError::MissingKeyId)?;
        let key = self.key(&kid).await?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.config.leeway.as_secs();
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.key, &validation).map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::InvalidSignature => TokenError::Signature,
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                    ErrorKind::InvalidIssuer => TokenError::Issuer,
                    ErrorKind::InvalidAudience => TokenError::Audience,
                    ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                    ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => TokenError::Claims,
                    _ => TokenError::Malformed,
                }
            })?;
        Ok(data.claims)
    }

    async fn key(&self, kid: &str) -> Result<VerificationKey, TokenError> {
        if let Some(key) = self.cache.read().await.keys.get(kid) {
            return Ok(key.clone());
        }
        // Unknown key id: refetch, at most once per interval, one fetch at a time.
        let _fetching = self.fetching.lock().await;
        {
            let cache = self.cache.read().await;
            if let Some(key) = cache.keys.get(kid) {
                return Ok(key.clone());
            }
            if let Some(fetched_at) = cache.fetched_at
                && fetched_at.elapsed() < self.config.min_refetch_interval
            {
                return Err(TokenError::UnknownKey);
            }
        }
        let fetched = self.source.fetch().await;
        let mut cache = self.cache.write().await;
        match fetched {
            Ok(key_set) => {
                cache.keys = key_set
                    .keys
                    .into_iter()
                    .map(|key| (key.kid.clone(), key))
                    .collect();
                cache.fetched_at = Some(Instant::now());
                cache.keys.get(kid).cloned().ok_or(TokenError::UnknownKey)
            }
            Err(error) => {
                tracing::warn!(error = %error, "cannot fetch token verification keys");
                cache.fetched_at = Some(Instant::now());
                Err(TokenError::KeysUnavailable(error))
            }
        }
    }
}
