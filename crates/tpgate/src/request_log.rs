//! Every request's id, and one log line per request.
//!
//! The id is the caller's `X-Request-Id` when it is a sane token, else a
//! new one ([`RequestId::from_caller`]). It goes back in the `X-Request-Id`
//! header of every answer and as `request_id` in every problem body, is a
//! field of the request's span (so of every line logged while serving it),
//! and names the WeChat calls the request causes: the handler runs in the
//! request's [`RequestScope`], whose calls are handed to the call log with
//! the final status. This is the outermost layer, so answers made by any
//! layer inside (404, 405, 413, 408, problems) carry the id; errors are
//! turned into problem responses here, not by poem after it.
//!
//! The log line holds nothing that must not be logged: the query
//! string is dropped (it carries `auth_code`, the onboarding `visit`, push
//! signatures, and the WeChat-compatible host's `secret` and `access_token`) and an onboarding link's token in the path is replaced, so a
//! verbose filter never writes a credential to the logs. (poem's `Tracing`
//! middleware logs the full URI, and takes the client address from
//! `X-Forwarded-For` whoever sent it.)
use std::{borrow::Cow, time::Instant};

use call_log::{CallLog, RequestId, RequestScope};
use poem::{
    Body, Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{
        HeaderValue,
        header::{CONTENT_LENGTH, CONTENT_TYPE},
    },
};
use problem::Problem;
use tokio::io::AsyncReadExt as _;
use tracing::Instrument as _;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Problem bodies are a few hundred bytes; one larger than this is passed
/// on untouched.
const MAX_PROBLEM_BODY: usize = 64 * 1024;

/// The path as logged: onboarding link tokens replaced by `:token`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/onboard/") {
        Some(rest) if rest != "complete" => {
            let tail = rest.split_once('/').map_or("", |(_, tail)| tail);
            if tail.is_empty() {
                Cow::Borrowed("/onboard/:token")
            } else {
                Cow::Owned(format!(
                    "/onboard/:token/{}",
                    tail.chars().take(32).collect::<String>()
                ))
            }
        }
        _ => Cow::Owned(path.chars().take(256).collect()),
    }
}

/// The middleware: ids, scope, log line; the calls go to `calls`.
#[derive(Clone)]
pub struct RequestLog {
    calls: CallLog,
}

impl RequestLog {
    pub fn new(calls: CallLog) -> Self {
        Self { calls }
    }
}

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestLogEndpoint {
            inner: ep,
            calls: self.calls.clone(),
        }
    }
}

pub struct RequestLogEndpoint<E> {
    inner: E,
    calls: CallLog,
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let id = RequestId::from_caller(
            req.headers()
                .get(REQUEST_ID_HEADER)
                .and_then(|v| v.to_str().ok()),
        );
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            path = %loggable_path(req.uri().path()),
            peer = %req.remote_addr(),
        );
        let scope = RequestScope::new(id.clone());
        async move {
            // Dropped with this future, whether it answered or not.
            let mut finish = Finish {
                scope: scope.clone(),
                calls: &self.calls,
                status: None,
            };
            let started = Instant::now();
            let resp = match scope.run(self.inner.call(req)).await {
                Ok(resp) => resp.into_response(),
                // As `app::problem_for` would: poem renders an error after
                // this layer, where the id could not be added.
                Err(err) => Problem::from_poem_error(&err).into_response(),
            };
            let resp = with_request_id(resp, &id).await;
            let status = resp.status().as_u16();
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            tracing::info!(status, latency_ms, "response");
            finish.status = Some(status);
            Ok(resp)
        }
        .instrument(span)
        .await
    }
}

/// Status of the calls of a request whose client left before the answer
/// (nginx's "client closed request").
const CLIENT_CLOSED: u16 = 499;

/// Hands the request's calls to the log when the request ends, also when
/// it never answers: a client that gives up while WeChat is slow drops the
/// request's future, and those calls matter most.
struct Finish<'a> {
    scope: std::sync::Arc<RequestScope>,
    calls: &'a CallLog,
    status: Option<u16>,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let status = self.status.unwrap_or(CLIENT_CLOSED);
        self.calls.submit(self.scope.finish(status));
    }
}

/// `resp` with the id in its `X-Request-Id` header and, for a problem
/// body, as its `request_id` member.
async fn with_request_id(mut resp: Response, id: &RequestId) -> Response {
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        resp.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let is_problem = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(problem::CONTENT_TYPE));
    if !is_problem {
        return resp;
    }
    let mut reader = resp.take_body().into_async_read();
    let mut head = Vec::new();
    let read = (&mut reader)
        .take(MAX_PROBLEM_BODY as u64 + 1)
        .read_to_end(&mut head)
        .await;
    let body = match read {
        Ok(n) if n <= MAX_PROBLEM_BODY => match problem::with_request_id(&head, id.as_str()) {
            Some(stamped) => {
                resp.headers_mut().remove(CONTENT_LENGTH);
                Body::from(stamped)
            }
            None => Body::from(head),
        },
        // Too large to rewrite (or failing): passed on as it comes.
        _ => Body::from_async_read(std::io::Cursor::new(head).chain(reader)),
    };
    resp.set_body(body);
    resp
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use call_log::{CallLogSettings, CallOutcome, NewCall};
    use poem::{EndpointExt as _, http::StatusCode};
    use store::{Sealer, Store, calls::CallFilter};

    use super::*;

    /// What the subscriber writes, for reading back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn call(api: &str) -> NewCall {
        let mut call = NewCall::new(api, CallOutcome::WechatFailed);
        call.appid = Some("wx1".into());
        call.errcode = Some(45009);
        call.latency_ms = 1;
        call
    }

    async fn get(
        ep: &impl Endpoint<Output = Response>,
        request_id: Option<&str>,
    ) -> (Response, String) {
        let mut req = Request::builder().uri_str("/somewhere?secret=1");
        if let Some(id) = request_id {
            req = req.header(REQUEST_ID_HEADER, id);
        }
        let mut resp = ep.call(req.finish()).await.unwrap();
        let body = resp.take_body().into_string().await.unwrap();
        (resp, body)
    }

    fn header(resp: &Response) -> String {
        resp.headers()[REQUEST_ID_HEADER]
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The handler runs in the request's scope: the calls it records carry
    /// the id and the answer's status, and so does the log line.
    #[tokio::test]
    async fn the_id_names_the_answer_the_log_line_and_the_calls() {
        let store = Store::connect("sqlite::memory:", None, Sealer::for_testing())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let (log, writer) = call_log::CallLog::start(store.clone(), &CallLogSettings::default());
        let recorder = log.clone();
        let ep = poem::endpoint::make(move |_| {
            let recorder = recorder.clone();
            async move {
                recorder.record(call("/wxa/sec/order/get_order"));
                let id = RequestScope::current().map(|s| s.id().to_string());
                tracing::info!("handled");
                Err::<Response, _>(poem::Error::from(
                    Problem::new(StatusCode::BAD_GATEWAY, "wechat", "WeChat failed")
                        .with_detail(id.unwrap_or_default()),
                ))
            }
        })
        .with(RequestLog::new(log.clone()));
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer({
                let captured = captured.clone();
                move || captured.clone()
            })
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        // Another test may have registered this module's span and event
        // while no subscriber existed, caching them as disabled (a race in
        // tracing's interest cache, seen once in CI): ask again.
        tracing::callsite::rebuild_interest_cache();

        let (resp, body) = get(&ep, Some("req-42.a:b_c")).await;
        assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(header(&resp), "req-42.a:b_c");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["request_id"], "req-42.a:b_c");
        assert_eq!(body["detail"], "req-42.a:b_c", "the handler's scope");
        let lines = captured.text();
        for message in ["handled", "response"] {
            let line = lines
                .lines()
                .find(|l| l.contains(message))
                .unwrap_or_else(|| panic!("no {message} line in {lines}"));
            assert!(line.contains("request_id=req-42.a:b_c"), "{line}");
            assert!(!line.contains("secret"), "{line}");
        }

        log.close();
        drop((log, ep));
        writer.await.unwrap();
        let calls = store
            .list_calls(&CallFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].call.request_id.as_deref(), Some("req-42.a:b_c"));
        assert_eq!(calls[0].call.status, Some(502));
    }

    #[tokio::test]
    async fn calls_of_an_abandoned_request_are_still_recorded() {
        let store = Store::connect("sqlite::memory:", None, Sealer::for_testing())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let (log, writer) = call_log::CallLog::start(store.clone(), &CallLogSettings::default());
        let recorder = log.clone();
        let ep = poem::endpoint::make(move |_| {
            let recorder = recorder.clone();
            async move {
                recorder.record(call("/wxa/sec/order/upload_shipping_info"));
                // WeChat never answers; the client gives up.
                std::future::pending::<()>().await;
                "never"
            }
        })
        .with(RequestLog::new(log.clone()));
        let req = Request::builder()
            .header(REQUEST_ID_HEADER, "gave-up")
            .finish();
        let gave_up =
            tokio::time::timeout(std::time::Duration::from_millis(50), ep.call(req)).await;
        assert!(gave_up.is_err());
        log.close();
        writer.await.unwrap();
        let calls = store
            .list_calls(&CallFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].call.request_id.as_deref(), Some("gave-up"));
        assert_eq!(calls[0].call.status, Some(CLIENT_CLOSED));
    }

    #[tokio::test]
    async fn insane_or_missing_ids_are_replaced_by_fresh_ones() {
        let ep = poem::endpoint::make(|_| async { "ok" })
            .with(RequestLog::new(call_log::CallLog::disabled()));
        let mut seen = std::collections::HashSet::new();
        let long = "a".repeat(65);
        for sent in [
            None,
            None,
            Some("has space"),
            Some(long.as_str()),
            Some("a;b"),
        ] {
            let (resp, body) = get(&ep, sent).await;
            assert_eq!(body, "ok");
            let id = header(&resp);
            assert_eq!(RequestId::from_caller(Some(&id)).as_str(), id, "sane");
            assert_ne!(Some(id.as_str()), sent);
            assert!(seen.insert(id), "a fresh id per request");
        }
    }

    #[tokio::test]
    async fn large_or_foreign_bodies_are_left_alone() {
        let big = format!("{{\"detail\":\"{}\"}}", "x".repeat(MAX_PROBLEM_BODY));
        for (content_type, body) in [
            (problem::CONTENT_TYPE, big.clone()),
            ("application/json", r#"{"a":1}"#.to_owned()),
            (problem::CONTENT_TYPE, "not json".to_owned()),
        ] {
            let served = body.clone();
            let ep = poem::endpoint::make(move |_| {
                let served = served.clone();
                async move {
                    Response::builder()
                        .status(StatusCode::BAD_REQUEST)
                        .content_type(content_type)
                        .body(served)
                }
            })
            .with(RequestLog::new(call_log::CallLog::disabled()));
            let (resp, got) = get(&ep, Some("r1")).await;
            assert_eq!(header(&resp), "r1");
            assert_eq!(got, body, "{content_type}");
        }
    }

    #[test]
    fn link_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/onboard/abc123secret"), "/onboard/:token");
        assert_eq!(
            loggable_path("/onboard/abc123secret/authorize"),
            "/onboard/:token/authorize"
        );
        assert_eq!(loggable_path("/onboard/complete"), "/onboard/complete");
        assert_eq!(
            loggable_path("/v1/apps/wx1/wxa/sec/order/get_order"),
            "/v1/apps/wx1/wxa/sec/order/get_order"
        );
        assert_eq!(loggable_path(&"/x".repeat(500)).len(), 256);
    }
}
