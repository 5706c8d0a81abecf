//! WeChat message encryption ("safe mode", WXBizMsgCrypt) for third-party
//! platforms: `msg_signature` and AES-256-CBC as `protocol.md` §3 describes.
//!
//! - Key: `Base64Decode(EncodingAESKey + "=")`, 32 bytes; IV = key[0..16].
//! - Plaintext: `random(16) ‖ len(msg) as u32 BE ‖ msg ‖ appid`, padded
//!   PKCS#7-style to a multiple of **32** bytes (not AES's 16, which is why
//!   the padding is done here rather than with RustCrypto's `Pkcs7`).
//! - `msg_signature = hex(sha1(sorted([token, timestamp, nonce, Encrypt]).concat()))`.
//!
//! Pure and I/O-free; every malformed input is a typed [`CryptError`], never a panic.
#![forbid(unsafe_code)]

use aes::Aes256;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, array::Array};
use rand::RngCore as _;
use sha1::{Digest, Sha1};

const BLOCK: usize = 32;
const AES_BLOCK: usize = 16;

/// Errors, with the WXBizMsgCrypt sample code of each ([`CryptError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptError {
    #[error("EncodingAESKey must be 43 characters of [A-Za-z0-9]")]
    InvalidAesKey,
    #[error("msg_signature does not match")]
    InvalidSignature,
    #[error("Encrypt is not valid base64")]
    Base64,
    #[error("ciphertext length {0} is not a positive multiple of 16")]
    InvalidCiphertextLength(usize),
    #[error("padding is invalid")]
    InvalidPadding,
    #[error("decrypted plaintext is malformed: {0}")]
    InvalidPlaintext(&'static str),
    #[error("appid in the message is {actual}, expected {expected}")]
    AppIdMismatch { expected: String, actual: String },
    #[error("envelope is not valid: {0}")]
    Xml(String),
}

impl CryptError {
    /// The code the official WXBizMsgCrypt samples use for this failure.
    pub fn code(&self) -> i32 {
        match self {
            CryptError::InvalidSignature => -40001,
            CryptError::Xml(_) => -40002,
            CryptError::InvalidAesKey => -40004,
            CryptError::AppIdMismatch { .. } => -40005,
            CryptError::InvalidCiphertextLength(_) | CryptError::InvalidPadding => -40007,
            CryptError::InvalidPlaintext(_) => -40008,
            CryptError::Base64 => -40010,
        }
    }
}

/// `msg_signature`: lowercase hex SHA-1 of the four values sorted and joined.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for p in parts {
        hasher.update(p.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub random: [u8; 16],
    pub message: String,
    pub appid: String,
}

/// An encrypted reply, ready to be sent as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedReply {
    pub encrypt: String,
    pub msg_signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl EncryptedReply {
    pub fn to_xml(&self) -> String {
        format!(
            "<xml><Encrypt><![CDATA[{}]]></Encrypt><MsgSignature><![CDATA[{}]]></MsgSignature><TimeStamp>{}</TimeStamp><Nonce><![CDATA[{}]]></Nonce></xml>",
            self.encrypt, self.msg_signature, self.timestamp, self.nonce
        )
    }
}

#[derive(Clone)]
struct AesKey([u8; 32]);

impl AesKey {
    fn parse(encoding_aes_key: &str) -> Result<Self, CryptError> {
        if encoding_aes_key.len() != 43
            || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(CryptError::InvalidAesKey);
        }
        // 43 chars + "=" decode to 32 bytes; the last char's low bits may be
        // non-zero in keys WeChat issues, so decode leniently.
        let raw = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        )
        .decode(format!("{encoding_aes_key}="))
        .map_err(|_| CryptError::InvalidAesKey)?;
        <[u8; 32]>::try_from(raw.as_slice())
            .map(AesKey)
            .map_err(|_| CryptError::InvalidAesKey)
    }

    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.0[..16]);
        iv
    }

    fn encrypt(&self, mut plain: Vec<u8>) -> Vec<u8> {
        let pad = BLOCK - plain.len() % BLOCK; // 1..=32
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let mut enc = cbc::Encryptor::<Aes256>::new(&self.0.into(), &self.iv().into());
        for chunk in plain.chunks_exact_mut(AES_BLOCK) {
            let mut block = Array::try_from(&*chunk).expect("chunk is 16 bytes");
            enc.encrypt_block(&mut block);
            chunk.copy_from_slice(&block);
        }
        plain
    }

    fn decrypt(&self, mut data: Vec<u8>) -> Result<Vec<u8>, CryptError> {
        if data.is_empty() || !data.len().is_multiple_of(AES_BLOCK) {
            return Err(CryptError::InvalidCiphertextLength(data.len()));
        }
        let mut dec = cbc::Decryptor::<Aes256>::new(&self.0.into(), &self.iv().into());
        for chunk in data.chunks_exact_mut(AES_BLOCK) {
            let mut block = Array::try_from(&*chunk).expect("chunk is 16 bytes");
            dec.decrypt_block(&mut block);
            chunk.copy_from_slice(&block);
        }
        let pad = usize::from(*data.last().ok_or(CryptError::InvalidPadding)?);
        if pad == 0 || pad > BLOCK || pad > data.len() {
            return Err(CryptError::InvalidPadding);
        }
        data.truncate(data.len() - pad);
        Ok(data)
    }
}

fn split_plaintext(plain: &[u8]) -> Result<Decrypted, CryptError> {
    if plain.len() < 20 {
        return Err(CryptError::InvalidPlaintext("shorter than random + length"));
    }
    let mut random = [0u8; 16];
    random.copy_from_slice(&plain[..16]);
    let len = u32::from_be_bytes([plain[16], plain[17], plain[18], plain[19]]) as usize;
    let rest = &plain[20..];
    if len > rest.len() {
        return Err(CryptError::InvalidPlaintext(
            "length field exceeds the data",
        ));
    }
    let message = std::str::from_utf8(&rest[..len])
        .map_err(|_| CryptError::InvalidPlaintext("message is not UTF-8"))?
        .to_owned();
    let appid = std::str::from_utf8(&rest[len..])
        .map_err(|_| CryptError::InvalidPlaintext("appid is not UTF-8"))?
        .to_owned();
    Ok(Decrypted {
        random,
        message,
        appid,
    })
}

/// The signing token, the current key (and the previous one during a key
/// rotation) and the appid expected in every plaintext's trailer.
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: AesKey,
    previous_key: Option<AesKey>,
    appid: String,
}

impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("appid", &self.appid)
            .field("previous_key", &self.previous_key.is_some())
            .finish_non_exhaustive()
    }
}

impl MsgCrypt {
    pub fn new(token: &str, encoding_aes_key: &str, appid: &str) -> Result<Self, CryptError> {
        Ok(Self {
            token: token.to_owned(),
            key: AesKey::parse(encoding_aes_key)?,
            previous_key: None,
            appid: appid.to_owned(),
        })
    }

    /// Also accept messages encrypted with the previous key (rotation).
    pub fn with_previous_key(mut self, encoding_aes_key: &str) -> Result<Self, CryptError> {
        self.previous_key = Some(AesKey::parse(encoding_aes_key)?);
        Ok(self)
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptError> {
        let expected = msg_signature_bytes(&self.token, timestamp, nonce, encrypt);
        let given = hex::decode(msg_signature.trim()).map_err(|_| CryptError::InvalidSignature)?;
        // Compare without an early exit on the first differing byte.
        if given.len() == expected.len()
            && given
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        {
            Ok(())
        } else {
            Err(CryptError::InvalidSignature)
        }
    }

    /// Decrypts and checks that the trailer appid is this platform's.
    pub fn decrypt(&self, encrypt: &str) -> Result<Decrypted, CryptError> {
        let d = self.decrypt_unchecked(encrypt)?;
        if d.appid != self.appid {
            return Err(CryptError::AppIdMismatch {
                expected: self.appid.clone(),
                actual: d.appid,
            });
        }
        Ok(d)
    }

    /// Decrypts without checking the trailer appid (tests, vectors).
    pub fn decrypt_unchecked(&self, encrypt: &str) -> Result<Decrypted, CryptError> {
        let data = STANDARD
            .decode(encrypt.trim())
            .map_err(|_| CryptError::Base64)?;
        let first = self
            .key
            .decrypt(data.clone())
            .and_then(|plain| split_plaintext(&plain));
        match (&first, &self.previous_key) {
            (Err(_), Some(previous)) => previous
                .decrypt(data)
                .and_then(|plain| split_plaintext(&plain))
                .or(first),
            _ => first,
        }
    }

    /// Opens an inbound push: extract `<Encrypt>`, verify `msg_signature`, decrypt, check appid.
    pub fn open(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<Decrypted, CryptError> {
        let encrypt = extract_encrypt(body)?;
        self.verify_signature(msg_signature, timestamp, nonce, &encrypt)?;
        self.decrypt(&encrypt)
    }

    pub fn encrypt(&self, message: &str) -> String {
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        self.encrypt_with_random(message, random)
    }

    pub fn encrypt_with_random(&self, message: &str, random: [u8; 16]) -> String {
        let msg = message.as_bytes();
        let mut plain = Vec::with_capacity(20 + msg.len() + self.appid.len() + BLOCK);
        plain.extend_from_slice(&random);
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(self.appid.as_bytes());
        STANDARD.encode(self.key.encrypt(plain))
    }

    pub fn seal_reply(&self, message: &str, timestamp: &str, nonce: &str) -> EncryptedReply {
        let encrypt = self.encrypt(message);
        EncryptedReply {
            msg_signature: msg_signature(&self.token, timestamp, nonce, &encrypt),
            encrypt,
            timestamp: timestamp.to_owned(),
            nonce: nonce.to_owned(),
        }
    }

    /// Builds an inbound envelope as WeChat sends it (for simulators and tests):
    /// returns the XML body and its `msg_signature`.
    pub fn seal_push(
        &self,
        outer_to: Option<(&str, &str)>,
        message: &str,
        timestamp: &str,
        nonce: &str,
    ) -> (String, String) {
        let encrypt = self.encrypt(message);
        let signature = msg_signature(&self.token, timestamp, nonce, &encrypt);
        let to = outer_to
            .map(|(tag, value)| format!("<{tag}><![CDATA[{value}]]></{tag}>"))
            .unwrap_or_default();
        (
            format!("<xml>{to}<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
            signature,
        )
    }
}

fn msg_signature_bytes(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Vec<u8> {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for p in parts {
        hasher.update(p.as_bytes());
    }
    hasher.finalize().to_vec()
}

/// The `<Encrypt>` text of an inbound envelope (CDATA or plain text).
pub fn extract_encrypt(envelope_xml: &str) -> Result<String, CryptError> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "Encrypt")]
        encrypt: Option<String>,
    }
    let envelope: Envelope =
        quick_xml::de::from_str(envelope_xml).map_err(|e| CryptError::Xml(e.to_string()))?;
    envelope
        .encrypt
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .ok_or_else(|| CryptError::Xml("no <Encrypt> element".into()))
}

#[cfg(test)]
mod tests;
