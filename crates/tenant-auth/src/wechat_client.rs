//! A small HTTP client for WeChat's JSON APIs.
//!
//! WeChat answers HTTP 200 with `{"errcode":N,"errmsg":…}` on failure, so
//! success is decided by `errcode`, not by the status. Tokens travel in the
//! query string; errors never carry the URL (reqwest's errors would print it,
//! token included), and nothing here logs bodies.
//!
//! Every call is recorded in the call log ([`call_log`]): here, once, for
//! the proxy's calls and tpgate's own alike.
use std::time::{Duration, Instant};

use bytes::Bytes;
use call_log::{CallLog, CallOutcome, NewCall, RequestScope};
use serde::{Serialize, de::DeserializeOwned};
use store::Secret;
use url::Url;
use wechat_api::WechatStatus;

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    #[error("WeChat could not be reached: {0}")]
    Transport(String),
    /// No answer in time: for a write, WeChat may or may not have acted.
    #[error("WeChat did not answer in time: {0}")]
    Timeout(String),
    #[error("WeChat answered HTTP {0}")]
    HttpStatus(u16),
    #[error("WeChat answered errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    #[error("WeChat's answer could not be read: {0}")]
    Decode(String),
}

impl WechatError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// How a call that ended with this error is classed in the call log.
    pub fn outcome(&self) -> CallOutcome {
        match self {
            WechatError::Timeout(_) => CallOutcome::Timeout,
            WechatError::Api { errcode, .. } if *errcode != wechat_api::errcode::SYSTEM_ERROR => {
                CallOutcome::WechatRefused
            }
            _ => CallOutcome::WechatFailed,
        }
    }
}

/// A transport error without the URL (it carries the token); a timeout says
/// so, because for a write it means the outcome is unknown.
fn transport(e: reqwest::Error) -> WechatError {
    if e.is_timeout() {
        WechatError::Timeout(e.without_url().to_string())
    } else {
        WechatError::Transport(e.without_url().to_string())
    }
}

#[derive(Clone, Debug)]
pub struct WechatClient {
    http: reqwest::Client,
    api_base: Url,
    log: CallLog,
}

/// The longest errmsg kept in the call log.
const MAX_ERRMSG_CHARS: usize = 256;

/// What one exchange with WeChat gave, for the log.
struct Exchange {
    /// The answer's bytes when its errcode is 0 or absent.
    result: Result<Bytes, WechatError>,
    /// The answer's bytes, when the body is to be kept.
    body: Option<Bytes>,
}

impl WechatClient {
    pub fn new(api_base: Url, timeout: Duration) -> Result<Self, WechatError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("tpgate/", env!("CARGO_PKG_VERSION")))
            // WeChat's APIs answer, they never redirect: a 3xx is an
            // unexpected answer (reported as its status), not a hop to
            // follow with a token-bearing request.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        Ok(Self {
            http,
            api_base,
            log: CallLog::disabled(),
        })
    }

    /// Records every call in `log`.
    pub fn with_call_log(mut self, log: CallLog) -> Self {
        self.log = log;
        self
    }

    /// Where calls are recorded (the proxy adds the calls it refused).
    pub fn call_log(&self) -> &CallLog {
        &self.log
    }

    /// The URL of `path` with `token` as the query parameter `token_param`
    /// (`access_token` or `component_access_token`) when given.
    fn url(&self, path: &str, token: Option<(&str, &Secret)>) -> Url {
        // `path` after the base's directory, as `Url::join` would place it,
        // but only the path is parsed: a join parsed the whole URL again
        // (host included) on every call. Paths are tpgate's own or the raw
        // passthrough's canonical ones: no query, fragment or dot segment.
        let base = self.api_base.path();
        let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
        let mut url = self.api_base.clone();
        url.set_path(&format!("{dir}{}", path.trim_start_matches('/')));
        url.set_query(None);
        if let Some((param, token)) = token {
            url.query_pairs_mut().append_pair(param, token.expose());
        }
        url
    }

    /// POSTs `body` to `path`, with `token` as the query parameter `token_param`
    /// (`access_token` or `component_access_token`) when given. Returns
    /// WeChat's answer as the bytes it sent when it is one JSON document
    /// whose errcode is 0 or absent: the proxy passes them on without
    /// parsing them into a value and writing it out again. `appid` is the
    /// Mini Program the call concerns, for the call log.
    pub async fn post_bytes<B: Serialize + ?Sized>(
        &self,
        appid: Option<&str>,
        path: &str,
        token: Option<(&str, &Secret)>,
        body: &B,
    ) -> Result<Bytes, WechatError> {
        let url = self.url(path, token);
        let request = self.http.post(url).json(body);
        let captured = self
            .capturing(path)
            .then(|| serde_json::to_value(body).ok())
            .flatten();
        self.recorded(appid, path, token, captured, request).await
    }

    /// GETs `path` (WeChat's few GET APIs, e.g. the logistics helper's
    /// `delivery/getall`: no body, the token in the query), like
    /// [`post_bytes`](Self::post_bytes) otherwise.
    pub async fn get_bytes(
        &self,
        appid: Option<&str>,
        path: &str,
        token: Option<(&str, &Secret)>,
    ) -> Result<Bytes, WechatError> {
        let url = self.url(path, token);
        let request = self.http.get(url);
        self.recorded(appid, path, token, None, request).await
    }

    /// Whether this request keeps the bodies of its call to `path` (its
    /// tenant asked, and it is the proxied write).
    fn capturing(&self, path: &str) -> bool {
        self.log.is_enabled()
            && RequestScope::current().is_some_and(|scope| scope.captures_bodies_for(path))
    }

    /// Sends `request` and records the exchange in the call log.
    async fn recorded(
        &self,
        appid: Option<&str>,
        path: &str,
        token: Option<(&str, &Secret)>,
        request_body: Option<serde_json::Value>,
        request: reqwest::RequestBuilder,
    ) -> Result<Bytes, WechatError> {
        let attempt =
            RequestScope::current().map_or(0, |scope| scope.attempts_so_far(path, appid)) + 1;
        let started = Instant::now();
        let keep_body = request_body.is_some();
        let exchange = Self::answer(request.send().await, keep_body).await;
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let max = self.log.max_body_bytes();
        let (errcode, errmsg, rid) = match &exchange.result {
            Ok(_) => (None, None, None),
            Err(WechatError::Api { errcode, errmsg }) => (
                Some(*errcode),
                Some(errmsg.chars().take(MAX_ERRMSG_CHARS).collect()),
                wechat_api::rid_in_errmsg(errmsg).map(str::to_owned),
            ),
            Err(e) => (
                None,
                Some(e.to_string().chars().take(MAX_ERRMSG_CHARS).collect()),
                None,
            ),
        };
        self.log.record(NewCall {
            occurred_at: chrono::Utc::now(),
            request_id: None,
            tenant_id: None,
            appid: appid.map(store::Appid::from),
            api: path.to_owned(),
            attempt,
            outcome: match &exchange.result {
                Ok(_) => CallOutcome::Ok,
                Err(e) => e.outcome(),
            },
            status: None,
            errcode,
            errmsg,
            rid,
            latency_ms,
            idempotency_key: None,
            // Component calls carry the platform's token (or secret): their
            // errmsg can name its egress IP.
            component_level: token.is_none_or(|(param, _)| param == "component_access_token"),
            request_body: request_body.map(|b| call_log::body::capture(&b, max)),
            response_body: exchange.body.map(|b| call_log::body::capture_text(&b, max)),
        });
        exchange.result
    }

    /// WeChat's answer when it is one JSON document whose errcode is 0 or
    /// absent (and its bytes, when `keep_body`, whatever it is).
    async fn answer(sent: Result<reqwest::Response, reqwest::Error>, keep_body: bool) -> Exchange {
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                return Exchange {
                    result: Err(transport(e)),
                    body: None,
                };
            }
        };
        let status = response.status();
        if !status.is_success() {
            return Exchange {
                result: Err(WechatError::HttpStatus(status.as_u16())),
                body: None,
            };
        }
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Exchange {
                    result: Err(transport(e)),
                    body: None,
                };
            }
        };
        // The whole document is read (serde_json checks what it skips, and
        // that nothing follows), so an answer that is not JSON fails here.
        let result = serde_json::from_slice::<WechatStatus>(&bytes)
            .map_err(|e| WechatError::Decode(e.to_string()))
            .and_then(|status| {
                if status.is_ok() {
                    Ok(bytes.clone())
                } else {
                    Err(WechatError::Api {
                        errcode: status.errcode,
                        errmsg: status.errmsg,
                    })
                }
            });
        Exchange {
            result,
            body: keep_body.then_some(bytes),
        }
    }

    /// Like [`post_bytes`](Self::post_bytes), decoded into `R`
    /// (`serde_json::Value` for the whole answer).
    pub async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        appid: Option<&str>,
        path: &str,
        token: Option<(&str, &Secret)>,
        body: &B,
    ) -> Result<R, WechatError> {
        let bytes = self.post_bytes(appid, path, token, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| WechatError::Decode(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3xx is reported as the status it is: the token-bearing request is
    /// not sent on to wherever `Location` points.
    #[tokio::test]
    async fn a_redirect_is_an_answer_not_a_hop() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let followed = Url::parse(&format!("{base}elsewhere")).unwrap();
        let server = tokio::spawn(async move {
            let mut paths = Vec::new();
            // The first request, and a second one if the client followed.
            for _ in 0..2 {
                let Ok(Ok((mut conn, _))) =
                    tokio::time::timeout(Duration::from_millis(500), listener.accept()).await
                else {
                    break;
                };
                let mut buf = vec![0; 4096];
                let n = conn.read(&mut buf).await.unwrap();
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                paths.push(head.split(' ').nth(1).unwrap_or_default().to_owned());
                let answer = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {followed}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                conn.write_all(answer.as_bytes()).await.unwrap();
            }
            paths
        });
        let client = WechatClient::new(base, Duration::from_secs(2)).unwrap();
        let token = Secret::new("t0ken".to_owned());
        let result: Result<serde_json::Value, _> = client
            .post(
                None,
                "cgi-bin/x",
                Some(("access_token", &token)),
                &serde_json::json!({}),
            )
            .await;
        assert!(
            matches!(result, Err(WechatError::HttpStatus(302))),
            "{result:?}"
        );
        assert_eq!(server.await.unwrap(), ["/cgi-bin/x?access_token=t0ken"]);
    }

    /// Only the path is parsed per call; the URL is the one `Url::join`
    /// gave, for bases with and without a path of their own.
    #[test]
    fn urls_are_the_base_directory_joined_with_the_path() {
        let token = Secret::new("a b&c".to_owned());
        for base in [
            "https://api.weixin.qq.com/",
            "http://127.0.0.1:8080/",
            "https://egress.example.com/wechat/",
            "https://egress.example.com/wechat",
            "https://egress.example.com/wechat/?x=1",
        ] {
            let base = Url::parse(base).unwrap();
            let client = WechatClient::new(base.clone(), Duration::from_secs(1)).unwrap();
            for path in [
                "cgi-bin/token",
                "/wxa/sec/order/get_order",
                "cgi-bin/express/delivery/open_msg/trace_waybill",
            ] {
                let mut joined = base.join(path.trim_start_matches('/')).unwrap();
                assert_eq!(client.url(path, None), joined, "{base} + {path}");
                joined
                    .query_pairs_mut()
                    .append_pair("access_token", "a b&c");
                assert_eq!(client.url(path, Some(("access_token", &token))), joined);
            }
        }
    }

    #[test]
    fn errors_are_classed_for_the_log() {
        let api = |errcode| WechatError::Api {
            errcode,
            errmsg: String::new(),
        };
        assert_eq!(api(10060003).outcome(), CallOutcome::WechatRefused);
        assert_eq!(api(-1).outcome(), CallOutcome::WechatFailed);
        assert_eq!(
            WechatError::Timeout("t".into()).outcome(),
            CallOutcome::Timeout
        );
        assert_eq!(
            WechatError::HttpStatus(502).outcome(),
            CallOutcome::WechatFailed
        );
    }
}
