//! Request ids, and the scope that follows one request through tpgate.
//!
//! The scope is a tokio task-local set by the HTTP layer around each
//! request: the WeChat client and the proxy's gate add the calls the request
//! causes, with its tenant and idempotency key; when the response is ready
//! the HTTP layer stamps its status on them and hands them to the log. Work a
//! request spawns onto another task runs outside the scope and is recorded
//! without a request id.
use std::sync::{Arc, Mutex};

use store::{TenantId, calls::NewCall};

/// The longest request id taken from a caller.
pub const MAX_REQUEST_ID_LEN: usize = 64;
/// Calls kept per request (a loop of retries cannot grow it without bound).
const MAX_CALLS_PER_REQUEST: usize = 32;

/// A request's id: the caller's `X-Request-Id` when it is a sane token,
/// else a new UUIDv7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(String);

impl RequestId {
    /// The caller's id when it is 1–64 characters of `A–Z a–z 0–9 - _ . :`
    /// (it lands in logs and headers), else a fresh one.
    pub fn from_caller(header: Option<&str>) -> Self {
        match header {
            Some(id) if is_sane(id) => Self(id.to_owned()),
            _ => Self::generate(),
        }
    }

    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_sane(id: &str) -> bool {
    (1..=MAX_REQUEST_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// What the proxy knows about the call it is making for this request.
#[derive(Debug, Clone, Default)]
pub struct ProxiedCall {
    pub tenant_id: Option<TenantId>,
    /// The operationId a WeChat path is recorded under.
    pub operation: Option<(String, String)>,
    pub idempotency_key: Option<String>,
    /// Keep request and response bodies (the tenant asked, and it is a write).
    pub capture_bodies: bool,
}

#[derive(Debug, Default)]
struct State {
    call: ProxiedCall,
    calls: Vec<NewCall>,
    dropped: u64,
}

/// One request's id and the calls it caused so far.
#[derive(Debug)]
pub struct RequestScope {
    id: RequestId,
    state: Mutex<State>,
}

tokio::task_local! {
    static SCOPE: Arc<RequestScope>;
}

impl RequestScope {
    pub fn new(id: RequestId) -> Arc<Self> {
        Arc::new(Self {
            id,
            state: Mutex::default(),
        })
    }

    pub fn id(&self) -> &RequestId {
        &self.id
    }

    /// Runs `fut` with this scope current.
    pub async fn run<F: Future>(self: &Arc<Self>, fut: F) -> F::Output {
        SCOPE.scope(Arc::clone(self), fut).await
    }

    /// The scope of the request this task serves, if any.
    pub fn current() -> Option<Arc<RequestScope>> {
        SCOPE.try_with(Arc::clone).ok()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Says what the proxy is calling, for the calls recorded from now on.
    pub fn set_call(&self, call: ProxiedCall) {
        self.state().call = call;
    }

    /// Whether the request keeps the bodies of its call to `path`: the
    /// tenant asked, and `path` is the proxied write itself.
    pub fn captures_bodies_for(&self, path: &str) -> bool {
        let state = self.state();
        state.call.capture_bodies
            && state
                .call
                .operation
                .as_ref()
                .is_some_and(|(p, _)| p == path)
    }

    /// Fills in what the scope knows of a call: the request id, tenant,
    /// idempotency key, and the operationId of the proxied path (so the
    /// metrics and the log name it alike).
    pub fn attribute(&self, call: &mut NewCall) {
        let state = self.state();
        call.request_id.get_or_insert_with(|| self.id.0.clone());
        if call.tenant_id.is_none() {
            call.tenant_id.clone_from(&state.call.tenant_id);
        }
        if call.idempotency_key.is_none() && is_the_proxied_call(call, &state.call) {
            call.idempotency_key.clone_from(&state.call.idempotency_key);
        }
        if let Some((path, operation)) = &state.call.operation
            && &call.api == path
        {
            call.api.clone_from(operation);
        }
    }

    /// Keeps an attributed call until the request ends.
    pub fn push(&self, call: NewCall) {
        let mut state = self.state();
        if state.calls.len() < MAX_CALLS_PER_REQUEST {
            state.calls.push(call);
        } else {
            state.dropped += 1;
        }
    }

    /// How many earlier calls of this request went to `api` for `appid`:
    /// a retry is its own row, numbered.
    pub fn attempts_so_far(&self, api: &str, appid: Option<&str>) -> u32 {
        let state = self.state();
        let operation = state
            .call
            .operation
            .as_ref()
            .filter(|(path, _)| path == api)
            .map(|(_, op)| op.as_str());
        let n = state
            .calls
            .iter()
            .filter(|c| c.outcome.sent())
            .filter(|c| c.api == api || Some(c.api.as_str()) == operation)
            .filter(|c| c.appid.as_deref() == appid)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The calls, each stamped with the status tpgate answered.
    pub fn finish(&self, status: u16) -> Vec<NewCall> {
        let mut state = self.state();
        if state.dropped > 0 {
            tracing::warn!(
                dropped = state.dropped,
                "a request caused more WeChat calls than the call log keeps per request"
            );
        }
        let mut calls = std::mem::take(&mut state.calls);
        for call in &mut calls {
            call.status.get_or_insert(status);
        }
        calls
    }
}

/// Whether a call is the proxied call itself (not a token refresh the
/// request caused along the way).
fn is_the_proxied_call(call: &NewCall, proxied: &ProxiedCall) -> bool {
    !call.component_level
        && proxied
            .operation
            .as_ref()
            .is_some_and(|(path, op)| &call.api == path || &call.api == op)
}

#[cfg(test)]
mod tests {

    use store::calls::CallOutcome;

    use super::*;

    fn call(api: &str, outcome: CallOutcome) -> NewCall {
        let mut call = NewCall::new(api, outcome);
        call.appid = Some("wx1".into());
        call.latency_ms = 1;
        call
    }

    fn add(scope: &RequestScope, mut call: NewCall) {
        scope.attribute(&mut call);
        scope.push(call);
    }

    #[test]
    fn caller_ids_are_kept_only_when_sane() {
        assert_eq!(
            RequestId::from_caller(Some("abc-123_x.y:z")).as_str(),
            "abc-123_x.y:z"
        );
        for bad in ["", "a b", "x\ny", "é", &"a".repeat(65)] {
            let id = RequestId::from_caller(Some(bad));
            assert_ne!(id.as_str(), bad);
            assert!(is_sane(id.as_str()));
        }
        assert!(is_sane(RequestId::from_caller(None).as_str()));
    }

    #[tokio::test]
    async fn a_scope_collects_its_requests_calls_and_stamps_them() {
        let scope = RequestScope::new(RequestId::from_caller(Some("req-1")));
        assert!(RequestScope::current().is_none());
        scope
            .run(async {
                let current = RequestScope::current().unwrap();
                current.set_call(ProxiedCall {
                    tenant_id: Some("t1".into()),
                    operation: Some(("/wxa/sec/order/get_order".into(), "get_order".into())),
                    idempotency_key: Some("k1".into()),
                    capture_bodies: false,
                });
                add(
                    &current,
                    call("/cgi-bin/component/api_authorizer_token", CallOutcome::Ok),
                );
                add(
                    &current,
                    call("/wxa/sec/order/get_order", CallOutcome::WechatFailed),
                );
                assert_eq!(
                    current.attempts_so_far("/wxa/sec/order/get_order", Some("wx1")),
                    1
                );
                add(&current, call("/wxa/sec/order/get_order", CallOutcome::Ok));
            })
            .await;
        let calls = scope.finish(200);
        assert_eq!(calls.len(), 3);
        assert!(
            calls
                .iter()
                .all(|c| c.request_id.as_deref() == Some("req-1")
                    && c.status == Some(200)
                    && c.tenant_id.as_deref() == Some("t1"))
        );
        assert_eq!(calls[0].api, "/cgi-bin/component/api_authorizer_token");
        assert_eq!(
            calls[0].idempotency_key, None,
            "a token refresh is not the write"
        );
        assert_eq!(calls[2].api, "get_order");
        assert_eq!(calls[2].idempotency_key.as_deref(), Some("k1"));
        assert!(scope.finish(200).is_empty(), "taken once");
    }

    #[tokio::test]
    async fn a_request_keeps_a_bounded_number_of_calls() {
        let scope = RequestScope::new(RequestId::generate());
        for _ in 0..100 {
            scope.push(call("/x", CallOutcome::Ok));
        }
        assert_eq!(scope.finish(200).len(), MAX_CALLS_PER_REQUEST);
    }
}
