//! `Idempotency-Key` on writes: the gate's step 5 (claim the key, or replay
//! the answer stored under it) and step 8 (store the answer under it, or
//! free it when WeChat was not asked).
use std::time::Duration;

use poem::http::StatusCode;
use problem::Problem;
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::idempotency::Claim;

use super::Call;
use crate::{ProxyState, TenantContext, answer::Answer, catalog::Safety};

/// Longest accepted `Idempotency-Key`.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The key a call is made under: a write's `Idempotency-Key`, checked;
/// `None` for a write without one and for a read (reads are safe to repeat,
/// so their key is ignored).
pub(super) fn key_of<'a>(call: &Call<'a>) -> Result<Option<&'a str>, Problem> {
    match (call.api.safety, call.idempotency_key) {
        (Safety::Write, Some(key)) => check_idempotency_key(key).map(Some),
        _ => Ok(None),
    }
}

/// A key is 1–255 visible ASCII characters.
fn check_idempotency_key(key: &str) -> Result<&str, Problem> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_LEN
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Problem::validation(
            "Idempotency-Key",
            format!(
                "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters, e.g. a UUID"
            ),
        ));
    }
    Ok(key)
}

/// SHA-256 of the path, appid and the body with its keys sorted, so the
/// same request in another key order is the same request.
fn request_hash(path: &str, appid: &str, body: &Value) -> String {
    // serde_json's map is a BTreeMap (no preserve_order): sorted keys.
    let canonical = serde_json::to_string(body).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [path, "\n", appid, "\n", canonical.as_str()] {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Claims `key` for `call`: `None` to proceed, or the answer to replay. A
/// concurrent repeat waits for the first request to finish, then replays
/// it, or gets 409 if it is still running.
pub(super) async fn claim<T>(
    state: &ProxyState,
    tenant: &TenantContext,
    call: &Call<'_>,
    key: &str,
) -> Result<Option<Answer<T>>, Problem> {
    let hash = request_hash(call.path, call.appid, call.body);
    let store = state.auth.store();
    let deadline = tokio::time::Instant::now() + state.settings.idempotency_wait();
    loop {
        let claim = store
            .claim_idempotency_key(
                &tenant.tenant_id,
                key,
                &hash,
                state.settings.idempotency_ttl(),
            )
            .await
            .map_err(Problem::from)?;
        match claim {
            Claim::Acquired => return Ok(None),
            Claim::Done { status, body } => return Ok(Some(replay(status, &body))),
            Claim::Mismatch => {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                )
                .with_field("Idempotency-Key")
                .with_detail("this Idempotency-Key was used for a different request in the last 24 hours; use a new key for a new request"));
            }
            Claim::InProgress => {
                if tokio::time::Instant::now() >= deadline {
                    return Err(Problem::conflict(
                        "a request with this Idempotency-Key is still in progress (or was interrupted, leaving its outcome unknown); retry later, and check the order's state before sending it with a new key",
                    )
                    .with_retry_after(1));
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// The answer stored as `status` and `body`, replayed: WeChat's JSON for a
/// success, else the stored problem.
fn replay<T>(status: u16, body: &str) -> Answer<T> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = if status.is_success() {
        super::JSON
    } else {
        problem::CONTENT_TYPE
    };
    // Stored by tpgate, so JSON; one that no longer reads is replayed as `null`.
    let body = match serde_json::from_str::<serde::de::IgnoredAny>(body) {
        Ok(_) => bytes::Bytes::copy_from_slice(body.as_bytes()),
        Err(_) => bytes::Bytes::from_static(b"null"),
    };
    Answer::new(status, body, content_type)
        .with_headers(vec![("Idempotent-Replayed", "true".to_owned())])
}

/// Frees `key` after a call that never reached WeChat, so the client may
/// send it again with the same key.
pub(super) async fn release(state: &ProxyState, tenant: &TenantContext, key: &str) {
    if let Err(e) = state
        .auth
        .store()
        .release_idempotency_key(&tenant.tenant_id, key)
        .await
    {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

/// Stores the answer under `key`, for repeats.
pub(super) async fn complete(
    state: &ProxyState,
    tenant: &TenantContext,
    key: &str,
    status: StatusCode,
    body: &str,
) {
    if let Err(e) = state
        .auth
        .store()
        .complete_idempotency_key(&tenant.tenant_id, key, status.as_u16(), body)
        .await
    {
        // The call went through; only a repeat would not be recognised.
        tracing::error!(error = %e, "could not store an idempotent answer");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::{GET_ORDER, UPLOAD_SHIPPING_INFO};

    #[test]
    fn request_hash_ignores_key_order_but_not_values() {
        let a = request_hash("/p", "wx1", &json!({"a": 1, "b": {"c": 2, "d": 3}}));
        let b = request_hash("/p", "wx1", &json!({"b": {"d": 3, "c": 2}, "a": 1}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            request_hash("/p", "wx1", &json!({"a": 2, "b": {"c": 2, "d": 3}}))
        );
        assert_ne!(
            a,
            request_hash("/p", "wx2", &json!({"a": 1, "b": {"c": 2, "d": 3}}))
        );
    }

    #[test]
    fn idempotency_keys_are_bounded_visible_ascii() {
        assert!(check_idempotency_key("0b9f6d9e-6c3a-4f7e-9a55-1f2b3c4d5e6f").is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("has space").is_err());
        assert!(check_idempotency_key(&"k".repeat(255)).is_ok());
        assert!(check_idempotency_key(&"k".repeat(256)).is_err());
        assert!(check_idempotency_key("ключ").is_err());
    }

    #[test]
    fn only_writes_are_made_under_a_key() {
        let body = json!({});
        let call = |api: crate::catalog::WechatApi, key| Call {
            api,
            path: api.path,
            appid: "wx1",
            body: &body,
            idempotency_key: key,
            shipment: None,
        };
        assert_eq!(
            key_of(&call(UPLOAD_SHIPPING_INFO, Some("k1"))).unwrap(),
            Some("k1")
        );
        assert_eq!(key_of(&call(UPLOAD_SHIPPING_INFO, None)).unwrap(), None);
        // A read is safe to repeat: its key is ignored, even a malformed one.
        assert_eq!(key_of(&call(GET_ORDER, Some("k1"))).unwrap(), None);
        assert_eq!(key_of(&call(GET_ORDER, Some("has space"))).unwrap(), None);
        let refused = key_of(&call(UPLOAD_SHIPPING_INFO, Some(""))).unwrap_err();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert_eq!(refused.body().field.as_deref(), Some("Idempotency-Key"));
    }

    #[test]
    fn replays_carry_the_stored_status_and_say_so() {
        let ok: Answer<()> = replay(200, r#"{"errcode":0}"#);
        assert_eq!(ok.status, StatusCode::OK);
        assert_eq!(&ok.body[..], br#"{"errcode":0}"#);
        assert_eq!(ok.content_type, super::super::JSON);
        assert_eq!(ok.headers, vec![("Idempotent-Replayed", "true".to_owned())]);
        let failed: Answer<()> = replay(502, r#"{"status":502}"#);
        assert_eq!(failed.status, StatusCode::BAD_GATEWAY);
        assert_eq!(failed.content_type, problem::CONTENT_TYPE);
        // A stored status or body that no longer reads.
        let odd: Answer<()> = replay(1000, "not json");
        assert_eq!(odd.status, StatusCode::OK);
        assert_eq!(&odd.body[..], b"null");
    }
}
