//! Beaks: the secret a popug signs in with. Generated here with 256 random bits, shown once,
//! stored only as a keyed digest.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand_core06::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// Shortest beak accepted from an operator (22 base64 characters carry 128 bits).
pub const MIN_LENGTH: usize = 22;
/// Longest beak looked up at sign-in; anything longer cannot be one.
pub const MAX_LENGTH: usize = 256;

/// A freshly generated beak: 32 random bytes as URL-safe base64 (43 characters).
pub struct Beak(SecretString);

impl Beak {
    /// A new random beak.
    pub fn generate() -> Self {
        let mut bytes = [0_u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The beak's text, to hand to its owner once.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Beak {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Beak([redacted])")
    }
}

/// Digests beaks with HMAC-SHA256 under the server's secret key, so the stored digests are
/// useless without the key and sign-in can find an account by digest.
#[derive(Clone)]
pub struct BeakDigester {
    key: SecretString,
}

impl std::fmt::Debug for BeakDigester {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BeakDigester([redacted])")
    }
}

impl BeakDigester {
    /// A digester keyed with `key`.
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    /// The digest of `beak`.
    pub fn digest(&self, beak: &str) -> Vec<u8> {
        // HMAC takes keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC accepts a key of any length");
        mac.update(beak.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beaks_are_long_random_and_url_safe() {
        let first = Beak::generate();
        let second = Beak::generate();
        assert_eq!(first.expose().len(), 43);
        assert_ne!(first.expose(), second.expose());
        assert!(
            first
                .expose()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(format!("{first:?}"), "Beak([redacted])");
    }

    #[test]
    fn a_digest_depends_on_the_key() {
        let beak = Beak::generate();
        let one = BeakDigester::new(SecretString::from("one"));
        let two = BeakDigester::new(SecretString::from("two"));
        assert_eq!(one.digest(beak.expose()), one.digest(beak.expose()));
        assert_ne!(one.digest(beak.expose()), two.digest(beak.expose()));
        assert_eq!(one.digest(beak.expose()).len(), 32);
    }
}
