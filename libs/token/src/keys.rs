//! Ed25519 signing keys and the tokens they sign.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use uuid::Uuid;

use crate::{Claims, Role};

/// A private Ed25519 key with its key id. Only auth-svc holds these.
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
    /// The same key as jsonwebtoken wants it, encoded once.
    encoding: EncodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key with a random key id.
    pub fn generate() -> Self {
        let key = ed25519_dalek::SigningKey::generate(&mut rand_core06::OsRng);
        Self::from_key(Uuid::new_v4().simple().to_string(), key)
            .expect("a fresh Ed25519 key encodes")
    }

    /// A key from its PKCS#8 DER encoding.
    pub fn from_pkcs8_der(kid: impl Into<String>, der: &[u8]) -> Result<Self, String> {
        let key =
            ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|error| error.to_string())?;
        Self::from_key(kid.into(), key)
    }

    fn from_key(kid: String, key: ed25519_dalek::SigningKey) -> Result<Self, String> {
        let der = key.to_pkcs8_der().map_err(|error| error.to_string())?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        Ok(Self { kid, key, encoding })
    }

    /// The key's PKCS#8 DER encoding (secret: store it encrypted).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, String> {
        self.key
            .to_pkcs8_der()
            .map(|document| document.as_bytes().to_vec())
            .map_err(|error| error.to_string())
    }

    /// The key id, sent as the `kid` header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half as a JWK `x` (base64url of the 32 raw bytes).
    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes())
    }

    /// The public half, ready for a [`crate::Verifier`].
    pub fn verification_key(&self) -> VerificationKey {
        VerificationKey::from_x(self.kid.clone(), &self.public_x())
            .expect("a fresh Ed25519 key encodes")
    }

    /// Signs arbitrary claims with an arbitrary header `kid`/fields, for tests of the verifier.
    pub fn sign_raw<T: serde::Serialize>(
        &self,
        header: &Header,
        claims: &T,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(header, claims, &self.encoding)
    }
}

/// A public key that verifies tokens.
#[derive(Clone)]
pub struct VerificationKey {
    pub(crate) kid: String,
    pub(crate) key: DecodingKey,
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("VerificationKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerificationKey {
    /// A key from its id and JWK `x` member (base64url of the raw Ed25519 public key).
    pub fn from_x(kid: String, x: &str) -> Result<Self, String> {
        let raw = URL_SAFE_NO_PAD
            .decode(x)
            .map_err(|error| format!("key {kid}: x is not base64url: {error}"))?;
        if raw.len() != 32 {
            return Err(format!(
                "key {kid}: an Ed25519 public key has 32 bytes, not {}",
                raw.len()
            ));
        }
        let key =
            DecodingKey::from_ed_components(x).map_err(|error| format!("key {kid}: {error}"))?;
        Ok(Self { kid, key })
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Issues access tokens: auth-svc's half of the token contract.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    /// The `iss` claim.
    pub issuer: String,
    /// The `aud` claim.
    pub audience: String,
    /// How long a token is valid.
    pub lifetime: Duration,
}

impl TokenIssuer {
    /// Signs a token for `account_id` with `role`, valid from `now` for the configured lifetime.
    /// Returns the token and its expiry.
    pub fn issue(
        &self,
        key: &SigningKey,
        account_id: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<(String, DateTime<Utc>), jsonwebtoken::errors::Error> {
        let expires_at = now + self.lifetime;
        let claims = Claims {
            sub: account_id,
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::new_v4(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".to_owned());
        Ok((key.sign_raw(&header, &claims)?, expires_at))
    }
}
