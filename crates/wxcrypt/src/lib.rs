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

/// WeChat's padding block size (PKCS#7 with K = 32).
const PAD_BLOCK: usize = 32;
const AES_BLOCK: usize = 16;
/// `random(16) ‖ msg_len(4)`.
const HEADER: usize = 20;

/// Errors, with the WXBizMsgCrypt sample code of each ([`CryptError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptError {
    #[error("EncodingAESKey must be 43 characters of [A-Za-z0-9]")]
    InvalidAesKey,
    #[error("msg_signature does not match")]
    InvalidSignature,
    #[error("Encrypt is not valid base64")]
    Base64,
    #[error("ciphertext length is not a positive multiple of 16")]
    InvalidCiphertextLength,
    #[error("padding is invalid")]
    InvalidPadding,
    #[error("decrypted plaintext is malformed (length field or UTF-8)")]
    InvalidPlaintext,
    #[error("appid in the message is {actual:?}, expected {expected:?}")]
    AppIdMismatch { expected: String, actual: String },
    /// A category only, never the envelope's text (it is unauthenticated
    /// input and ends up in logs and error answers).
    #[error("envelope is not valid: {0}")]
    Xml(&'static str),
}

impl CryptError {
    /// The code the official WXBizMsgCrypt samples use for this failure.
    pub fn code(&self) -> i32 {
        match self {
            CryptError::InvalidSignature => -40001,
            CryptError::Xml(_) => -40002,
            CryptError::InvalidAesKey => -40004,
            CryptError::AppIdMismatch { .. } => -40005,
            CryptError::InvalidCiphertextLength | CryptError::InvalidPadding => -40007,
            CryptError::InvalidPlaintext => -40008,
            CryptError::Base64 => -40010,
        }
    }
}

/// `msg_signature`: lowercase hex SHA-1 of the four values sorted and joined.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    hex::encode(signature_digest(token, timestamp, nonce, encrypt))
}

fn signature_digest(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> [u8; 20] {
    let mut parts = [token, timestamp, nonce, encrypt];
    // Byte-wise order, as the samples' `sort()` on ASCII strings.
    parts.sort_unstable();
    let mut hasher = Sha1::new();
    for p in parts {
        hasher.update(p.as_bytes());
    }
    hasher.finalize().into()
}

/// A decrypted message: the plaintext's random prefix, the message and the trailer appid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decrypted {
    pub random: [u8; 16],
    pub message: String,
    pub appid: String,
}

/// An encrypted passive reply, ready to be sent as XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedReply {
    pub encrypt: String,
    pub msg_signature: String,
    pub timestamp: String,
    pub nonce: String,
}

impl EncryptedReply {
    /// `<xml><Encrypt><![CDATA[..]]></Encrypt><MsgSignature>..</MsgSignature><TimeStamp>..</TimeStamp><Nonce>..</Nonce></xml>`.
    /// Timestamp and nonce are echoed from the request query, so they are escaped.
    pub fn to_xml(&self) -> String {
        format!(
            "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{}</TimeStamp><Nonce>{}</Nonce></xml>",
            cdata(&self.encrypt),
            quick_xml::escape::escape(self.msg_signature.as_str()),
            quick_xml::escape::escape(self.timestamp.as_str()),
            quick_xml::escape::escape(self.nonce.as_str()),
        )
    }
}

/// Which configured key a message was opened with (see key rotation in
/// `protocol.md` §3: the reply should use the key that worked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySlot {
    Current,
    Previous,
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
        // 43 chars + "=" carry 258 bits for 32 bytes; keys in the wild may have
        // non-zero low bits in the last char (the samples ignore them), so allow them.
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

    /// Pads to a multiple of 32 (always 1..=32 bytes) and encrypts.
    fn encrypt(&self, mut plain: Vec<u8>) -> Vec<u8> {
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        // `pad` is 1..=32, so the cast is exact.
        plain.extend(std::iter::repeat_n(pad as u8, pad));
        let (blocks, _) = Array::slice_as_chunks_mut(&mut plain);
        cbc::Encryptor::<Aes256>::new(&self.0.into(), &self.iv().into()).encrypt_blocks(blocks);
        plain
    }

    /// Decrypts without padding and strips the 32-byte-block pad. Lenient like
    /// the official decoders (pad bytes other than the last are not compared),
    /// but a last byte of 0 or > 32 is an error, never an underflow.
    fn decrypt(&self, data: &[u8]) -> Result<Vec<u8>, CryptError> {
        if data.is_empty() || !data.len().is_multiple_of(AES_BLOCK) {
            return Err(CryptError::InvalidCiphertextLength);
        }
        let mut buf = data.to_vec();
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        cbc::Decryptor::<Aes256>::new(&self.0.into(), &self.iv().into()).decrypt_blocks(blocks);
        let pad = usize::from(buf.last().copied().unwrap_or(0));
        if pad == 0 || pad > PAD_BLOCK || pad > buf.len() {
            return Err(CryptError::InvalidPadding);
        }
        buf.truncate(buf.len() - pad);
        Ok(buf)
    }
}

/// Splits `random ‖ msg_len ‖ msg ‖ appid`.
fn split_plaintext(plain: &[u8]) -> Result<Decrypted, CryptError> {
    let (header, rest) = plain
        .split_at_checked(HEADER)
        .ok_or(CryptError::InvalidPlaintext)?;
    let mut random = [0u8; 16];
    random.copy_from_slice(&header[..16]);
    let len = u32::from_be_bytes([header[16], header[17], header[18], header[19]]);
    let (msg, appid) = usize::try_from(len)
        .ok()
        .and_then(|len| rest.split_at_checked(len))
        .ok_or(CryptError::InvalidPlaintext)?;
    let utf8 = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| CryptError::InvalidPlaintext)
    };
    Ok(Decrypted {
        random,
        message: utf8(msg)?,
        appid: utf8(appid)?,
    })
}

/// The signing token, the current key (and the previous one during a key
/// rotation) and the appid expected in every plaintext's trailer (for a
/// third-party platform: the component appid, also on Mini Program pushes).
#[derive(Clone)]
pub struct MsgCrypt {
    token: String,
    key: AesKey,
    previous_key: Option<AesKey>,
    appid: String,
}

/// Never prints the token or the keys.
impl std::fmt::Debug for MsgCrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsgCrypt")
            .field("appid", &self.appid)
            .field("has_previous_key", &self.previous_key.is_some())
            .finish_non_exhaustive()
    }
}

impl MsgCrypt {
    /// `encoding_aes_key` must be exactly 43 characters of `[A-Za-z0-9]`.
    pub fn new(token: &str, encoding_aes_key: &str, appid: &str) -> Result<Self, CryptError> {
        Ok(Self {
            token: token.to_owned(),
            key: AesKey::parse(encoding_aes_key)?,
            previous_key: None,
            appid: appid.to_owned(),
        })
    }

    /// Also accept messages encrypted with the previous key (rotation):
    /// decryption tries the current key first, then this one.
    pub fn with_previous_key(mut self, encoding_aes_key: &str) -> Result<Self, CryptError> {
        self.previous_key = Some(AesKey::parse(encoding_aes_key)?);
        Ok(self)
    }

    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// Checks `msg_signature` (hex, any case) over (token, timestamp, nonce, Encrypt).
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypt: &str,
    ) -> Result<(), CryptError> {
        let expected = signature_digest(&self.token, timestamp, nonce, encrypt);
        let given = hex::decode(msg_signature.trim()).map_err(|_| CryptError::InvalidSignature)?;
        // No early exit on the first differing byte (the length is public).
        let diff = given.len() != expected.len()
            || given
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0;
        if diff {
            Err(CryptError::InvalidSignature)
        } else {
            Ok(())
        }
    }

    /// Decrypts and checks that the trailer appid is this platform's.
    pub fn decrypt(&self, encrypt: &str) -> Result<Decrypted, CryptError> {
        self.decrypt_with_slot(encrypt).map(|(d, _)| d)
    }

    /// Like [`MsgCrypt::decrypt`], also telling which key worked.
    pub fn decrypt_with_slot(&self, encrypt: &str) -> Result<(Decrypted, KeySlot), CryptError> {
        self.try_keys(encrypt, |d| {
            if d.appid == self.appid {
                Ok(d)
            } else {
                Err(CryptError::AppIdMismatch {
                    expected: self.appid.clone(),
                    // At most an appid's length of what the sender wrote.
                    actual: d.appid.chars().take(32).collect(),
                })
            }
        })
    }

    /// Decrypts without checking the trailer appid (tests, vectors).
    pub fn decrypt_unchecked(&self, encrypt: &str) -> Result<Decrypted, CryptError> {
        self.try_keys(encrypt, Ok).map(|(d, _)| d)
    }

    /// Current key, then the previous one; on total failure the current
    /// key's error is reported. `accept` runs per key so that a garbage
    /// plaintext that happens to parse under the wrong key still falls
    /// through to the other key on an appid mismatch.
    fn try_keys(
        &self,
        encrypt: &str,
        accept: impl Fn(Decrypted) -> Result<Decrypted, CryptError>,
    ) -> Result<(Decrypted, KeySlot), CryptError> {
        let data = STANDARD
            .decode(encrypt.trim())
            .map_err(|_| CryptError::Base64)?;
        let attempt = |key: &AesKey| {
            key.decrypt(&data)
                .and_then(|plain| split_plaintext(&plain))
                .and_then(&accept)
        };
        match (attempt(&self.key), &self.previous_key) {
            (Ok(d), _) => Ok((d, KeySlot::Current)),
            (Err(e), Some(previous)) => attempt(previous)
                .map(|d| (d, KeySlot::Previous))
                .map_err(|_| e),
            (Err(e), None) => Err(e),
        }
    }

    /// Opens an inbound push: extract `<Encrypt>`, verify `msg_signature`,
    /// decrypt, check the appid.
    pub fn open(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<Decrypted, CryptError> {
        self.open_with_slot(msg_signature, timestamp, nonce, body)
            .map(|(d, _)| d)
    }

    /// Like [`MsgCrypt::open`], also telling which key worked (for
    /// [`MsgCrypt::seal_reply_with_slot`]).
    pub fn open_with_slot(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &str,
    ) -> Result<(Decrypted, KeySlot), CryptError> {
        let encrypt = extract_encrypt(body)?;
        self.verify_signature(msg_signature, timestamp, nonce, &encrypt)?;
        self.decrypt_with_slot(&encrypt)
    }

    /// Encrypts with the current key and 16 fresh random bytes.
    pub fn encrypt(&self, message: &str) -> String {
        self.encrypt_with_random(message, fresh_random())
    }

    /// Deterministic encryption with the current key (test vectors).
    pub fn encrypt_with_random(&self, message: &str, random: [u8; 16]) -> String {
        self.encrypt_with(&self.key, message, random)
    }

    fn key_for(&self, slot: KeySlot) -> &AesKey {
        match slot {
            KeySlot::Previous => self.previous_key.as_ref().unwrap_or(&self.key),
            KeySlot::Current => &self.key,
        }
    }

    fn encrypt_with(&self, key: &AesKey, message: &str, random: [u8; 16]) -> String {
        let msg = message.as_bytes();
        let mut plain = Vec::with_capacity(HEADER + msg.len() + self.appid.len() + PAD_BLOCK);
        plain.extend_from_slice(&random);
        // The wire format has a 32-bit length; messages are XML of a few KiB.
        plain.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(self.appid.as_bytes());
        STANDARD.encode(key.encrypt(plain))
    }

    /// An encrypted passive reply signed over (token, timestamp, nonce, Encrypt).
    pub fn seal_reply(&self, message: &str, timestamp: &str, nonce: &str) -> EncryptedReply {
        self.seal_reply_with_slot(KeySlot::Current, message, timestamp, nonce)
    }

    /// Like [`MsgCrypt::seal_reply`] with the key a push was opened with;
    /// `Previous` without a previous key uses the current one.
    pub fn seal_reply_with_slot(
        &self,
        slot: KeySlot,
        message: &str,
        timestamp: &str,
        nonce: &str,
    ) -> EncryptedReply {
        let encrypt = self.encrypt_with(self.key_for(slot), message, fresh_random());
        EncryptedReply {
            msg_signature: msg_signature(&self.token, timestamp, nonce, &encrypt),
            encrypt,
            timestamp: timestamp.to_owned(),
            nonce: nonce.to_owned(),
        }
    }

    /// Builds an inbound envelope as WeChat sends it (for simulators and tests):
    /// `<xml><TAG><![CDATA[value]]></TAG><Encrypt><![CDATA[..]]></Encrypt></xml>`
    /// with `outer_to = Some(("AppId", "wx..."))` or `Some(("ToUserName", "gh_..."))`.
    /// Returns the XML body and its `msg_signature`. The tag is used verbatim.
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
            .map(|(tag, value)| format!("<{tag}>{}</{tag}>", cdata(value)))
            .unwrap_or_default();
        (
            format!("<xml>{to}<Encrypt>{}</Encrypt></xml>", cdata(&encrypt)),
            signature,
        )
    }
}

fn fresh_random() -> [u8; 16] {
    let mut random = [0u8; 16];
    rand::rng().fill_bytes(&mut random);
    random
}

/// A CDATA section holding `text` exactly, even if it contains `]]>`.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

/// The `<Encrypt>` text of an inbound envelope (CDATA or plain text).
/// Non-XML input, or no (or an empty) `<Encrypt>`, is [`CryptError::Xml`].
pub fn extract_encrypt(envelope_xml: &str) -> Result<String, CryptError> {
    #[derive(serde::Deserialize)]
    struct Envelope {
        #[serde(rename = "Encrypt")]
        encrypt: Option<String>,
    }
    let envelope: Envelope = quick_xml::de::from_str(envelope_xml)
        .map_err(|_| CryptError::Xml("not well-formed XML"))?;
    envelope
        .encrypt
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .ok_or(CryptError::Xml("no <Encrypt> element"))
}

#[cfg(test)]
mod tests;
