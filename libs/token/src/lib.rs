//! aTES access tokens.
//!
//! auth-svc signs short-lived JWTs with Ed25519 ([`TokenIssuer`]); every other service verifies
//! them offline with auth's public keys ([`Verifier`], fed by [`AuthKeySource`] over gRPC) in a
//! tower layer ([`AuthLayer`]) that puts the verified [`Claims`] in the request extensions.
//! Handlers check roles in one line with [`require_role`].

mod claims;
mod keys;
mod layer;
mod verifier;

pub use claims::{Claims, Role, caller, require_role};
pub use keys::{SigningKey, TokenIssuer, VerificationKey};
pub use layer::{AuthLayer, AuthMiddleware};
pub use verifier::{AuthKeySource, KeySet, KeySource, TokenError, Verifier, VerifierConfig};

/// The JWS algorithm of aTES tokens.
pub const ALGORITHM: &str = "EdDSA";
