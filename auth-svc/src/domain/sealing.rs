//! Sealing signing keys at rest: ChaCha20-Poly1305 under the key encryption key, with the key id
//! authenticated alongside, so that a sealed key cannot be moved to another key id.

use ates_token::SigningKey;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core06::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretBox};

const NONCE_LENGTH: usize = 12;

/// Why a key could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key could not be serialised or encrypted.
    #[error("cannot seal signing key: {0}")]
    Seal(String),
    /// The sealed key does not open: the key encryption key is not the one it was sealed with,
    /// or the bytes were changed.
    #[error("signing key {kid} does not decrypt with AUTH_KEY_ENCRYPTION_KEY")]
    Undecryptable {
        /// The key id.
        kid: String,
    },
}

/// Seals and opens signing keys with the key encryption key.
pub struct KeySeal {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for KeySeal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("KeySeal([redacted])")
    }
}

impl KeySeal {
    /// A seal under `key_encryption_key`.
    pub fn new(key_encryption_key: &SecretBox<[u8; 32]>) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(*key_encryption_key.expose_secret())),
        }
    }

    /// The key's private half, encrypted: a random nonce followed by the ciphertext.
    pub fn seal(&self, key: &SigningKey) -> Result<Vec<u8>, SealError> {
        let der = key.to_pkcs8_der().map_err(SealError::Seal)?;
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
            .map_err(|_| SealError::Seal("encryption failed".to_owned()))?;
        Ok([nonce.as_slice(), &ciphertext].concat())
    }

    /// The signing key `kid` from its sealed bytes.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<SigningKey, SealError> {
        let undecryptable = || SealError::Undecryptable {
            kid: kid.to_owned(),
        };
        if sealed.len() <= NONCE_LENGTH {
            return Err(undecryptable());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LENGTH);
        let nonce: [u8; NONCE_LENGTH] = nonce.try_into().map_err(|_| undecryptable())?;
        let der = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: kid.as_bytes(),
                },
            )
            .map_err(|_| undecryptable())?;
        SigningKey::from_pkcs8_der(kid.to_owned(), &der).map_err(|_| undecryptable())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_under_its_kid_and_its_key_encryption_key() {
        let seal = KeySeal::new(&SecretBox::new(Box::new([1_u8; 32])));
        let key = SigningKey::generate();
        let sealed = seal.seal(&key).unwrap();
        assert_eq!(seal.open(key.kid(), &sealed).unwrap().kid(), key.kid());
        assert!(matches!(
            seal.open("another-kid", &sealed),
            Err(SealError::Undecryptable { .. })
        ));
        let other = KeySeal::new(&SecretBox::new(Box::new([2_u8; 32])));
        assert!(other.open(key.kid(), &sealed).is_err());
        assert!(seal.open(key.kid(), &sealed[..5]).is_err());
    }
}
