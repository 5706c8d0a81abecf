//! `Tpgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` — the scheme
//! Stripe made familiar, so receivers know how to check it:
//!
//! 1. split the header on `,`; take `t` and every `v1`;
//! 2. compute `HMAC-SHA256(secret, "<t>.<raw body>")` as lowercase hex;
//! 3. accept if it equals any `v1` (constant-time compare) and `t` is within
//!    your tolerance (e.g. 5 minutes) of your clock.
//!
//! During a secret rotation's grace period a delivery carries one `v1` per
//! secret, so receivers holding either keep accepting.
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

pub const HEADER: &str = "Tpgate-Signature";

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header value for `body` sent at `timestamp`, signed with each secret.
pub fn header_value(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    let mut value = format!("t={timestamp}");
    for secret in secrets {
        value.push_str(",v1=");
        value.push_str(&hex::encode(
            mac(secret, timestamp, body).finalize().into_bytes(),
        ));
    }
    value
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("malformed signature header")]
    Malformed,
    #[error("timestamp outside the tolerance")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a header as a receiver would (used by tests and Rust receivers).
pub fn verify(
    header: &str,
    secret: &str,
    body: &[u8],
    now: i64,
    tolerance_secs: i64,
) -> Result<(), VerifyError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => {
                candidates.push(hex::decode(sig).map_err(|_| VerifyError::Malformed)?)
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(VerifyError::Malformed)?;
    if (now - timestamp).abs() > tolerance_secs {
        return Err(VerifyError::Stale);
    }
    let ok = candidates
        .iter()
        .any(|sig| mac(secret, timestamp, body).verify_slice(sig).is_ok());
    if ok {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_with_either_secret() {
        let body = br#"{"id":"e1"}"#;
        let header = header_value(&["whsec_new", "whsec_old"], 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(header.matches("v1=").count(), 2);
        assert_eq!(
            verify(&header, "whsec_new", body, 1_700_000_010, 300),
            Ok(())
        );
        assert_eq!(
            verify(&header, "whsec_old", body, 1_700_000_010, 300),
            Ok(())
        );
        assert_eq!(
            verify(&header, "whsec_other", body, 1_700_000_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&header, "whsec_new", b"{}", 1_700_000_010, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            verify(&header, "whsec_new", body, 1_700_001_000, 300),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            verify("v1=00", "s", body, 0, 300),
            Err(VerifyError::Malformed)
        );
        // The README's vector (computed independently with Python's hmac).
        assert_eq!(
            header_value(&["whsec_test"], 1_700_000_000, br#"{"id":"evt_1"}"#),
            "t=1700000000,v1=c89214b5b5da833daed6f0b8c5bb6bd58cea9022bd80ccc78230f3942d632925"
        );
    }
}
