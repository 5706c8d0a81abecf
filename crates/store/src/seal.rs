//! Sealing secrets at rest (refresh tokens, cached access tokens, the ticket).
//!
//! Byte format of a sealed value (version 1):
//! ```text
//! [0]      format version = 1
//! [1..5]   key id: first 4 bytes of SHA-256(key), big-endian u32
//! [5..17]  96-bit random nonce
//! [17..]   AES-256-GCM ciphertext ‖ 16-byte tag
//! ```
//! The associated data is the value's *purpose* (e.g.
//! `authorizer.refresh_token:wx0123…`), so a sealed value copied into another
//! row or column fails to open instead of being used as the wrong secret.
//! Keys rotate by adding the new key as current and keeping old ones for
//! opening: the key id in each value says which key sealed it.
use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::Secret;

const VERSION: u8 = 1;
const HEADER: usize = 1 + 4 + 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("sealing key must be 32 bytes, base64-encoded (got {0} bytes)")]
    BadKeyLength(usize),
    #[error("sealing key is not valid base64")]
    BadKeyEncoding,
    #[error("sealed value is malformed")]
    Malformed,
    #[error(
        "sealed value was sealed with unknown key id {0:08x}; is the key that sealed it configured?"
    )]
    UnknownKey(u32),
    #[error("sealed value failed authentication (wrong key or tampered)")]
    Tampered,
}

struct SealKey {
    id: u32,
    cipher: Aes256Gcm,
    /// Keys [`Sealer::derive`]; derived from the sealing key, never the key itself.
    derive_key: [u8; 32],
}

impl SealKey {
    fn new(raw: &[u8; 32]) -> Self {
        let digest = Sha256::digest(raw);
        let id = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let key = Key::<Aes256Gcm>::from(*raw);
        let mut derive = Sha256::new();
        derive.update(b"tpgate derive v1\0");
        derive.update(raw);
        Self {
            derive_key: derive.finalize().into(),
            id,
            cipher: Aes256Gcm::new(&key),
        }
    }
}

/// Seals with the current key; opens with any configured key.
pub struct Sealer {
    current: SealKey,
    previous: Vec<SealKey>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current_key_id", &format_args!("{:08x}", self.current.id))
            .field("previous_keys", &self.previous.len())
            .finish()
    }
}

impl Sealer {
    /// `current` and `previous` are base64 (standard alphabet) 32-byte keys.
    pub fn from_base64(current: &str, previous: &[crate::Secret]) -> Result<Self, SealError> {
        let decode = |s: &str| -> Result<[u8; 32], SealError> {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| SealError::BadKeyEncoding)?;
            <[u8; 32]>::try_from(raw.as_slice()).map_err(|_| SealError::BadKeyLength(raw.len()))
        };
        Ok(Self {
            current: SealKey::new(&decode(current)?),
            previous: previous
                .iter()
                .map(|k| decode(k.expose()).map(|raw| SealKey::new(&raw)))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A sealer with a random key, for tests and the throwaway sandbox.
    pub fn for_testing() -> Self {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        Self {
            current: SealKey::new(&raw),
            previous: Vec::new(),
        }
    }

    /// A fresh random key, base64-encoded (what `TPGATE_SEALING_KEY` expects).
    pub fn generate_key() -> String {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        base64::engine::general_purpose::STANDARD.encode(raw)
    }

    /// A value only this deployment can compute from `input` (HMAC-SHA256
    /// under a key derived from the current sealing key), for tokens that
    /// must be re-created rather than stored: the database keeps only their
    /// hash. Changes when the sealing key does.
    pub fn derive(&self, purpose: &str, input: &str) -> [u8; 32] {
        use hmac::{KeyInit as _, Mac as _};
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.current.derive_key)
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(input.as_bytes());
        mac.finalize().into_bytes().into()
    }

    pub fn seal(&self, purpose: &str, secret: &Secret) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: purpose.as_bytes(),
                },
            )
            // AES-GCM encryption only fails for messages over ~64 GiB.
            .expect("AES-GCM encryption of a small secret cannot fail");
        let mut out = Vec::with_capacity(HEADER + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&self.current.id.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Whether `sealed` was sealed with the current key (else
    /// `tpgate rotate-keys` re-seals it).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.len() >= 5
            && u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]) == self.current.id
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Secret, SealError> {
        if sealed.len() < HEADER + 16 || sealed[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let id = u32::from_be_bytes([sealed[1], sealed[2], sealed[3], sealed[4]]);
        let key = std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == id)
            .ok_or(SealError::UnknownKey(id))?;
        let nonce: [u8; 12] = sealed[5..HEADER]
            .try_into()
            .map_err(|_| SealError::Malformed)?;
        let plain = key
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed[HEADER..],
                    aad: purpose.as_bytes(),
                },
            )
            .map_err(|_| SealError::Tampered)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| SealError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_purpose_binding() {
        let s = Sealer::for_testing();
        let sealed = s.seal("a", &Secret::new("refreshtoken@@@x"));
        assert_eq!(s.open("a", &sealed).unwrap().expose(), "refreshtoken@@@x");
        assert_eq!(s.open("b", &sealed), Err(SealError::Tampered));
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(s.open("a", &tampered), Err(SealError::Tampered));
        assert_eq!(s.open("a", &sealed[..10]), Err(SealError::Malformed));
    }

    #[test]
    fn rotation_opens_old_values() {
        let old_key = Sealer::generate_key();
        let new_key = Sealer::generate_key();
        let old = Sealer::from_base64(&old_key, &[]).unwrap();
        let sealed = old.seal("p", &Secret::new("v"));
        let rotated = Sealer::from_base64(&new_key, &[old_key.as_str().into()]).unwrap();
        assert_eq!(rotated.open("p", &sealed).unwrap().expose(), "v");
        let without_old = Sealer::from_base64(&new_key, &[]).unwrap();
        assert!(matches!(
            without_old.open("p", &sealed),
            Err(SealError::UnknownKey(_))
        ));
    }

    #[test]
    fn bad_keys_are_rejected() {
        assert_eq!(
            Sealer::from_base64("c2hvcnQ=", &[]).err(),
            Some(SealError::BadKeyLength(5))
        );
        assert_eq!(
            Sealer::from_base64("!!!", &[]).err(),
            Some(SealError::BadKeyEncoding)
        );
    }
}
