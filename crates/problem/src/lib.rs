//! `application/problem+json` (RFC 9457) for every tpgate HTTP error.
//!
//! One type, [`Problem`], is the `Err` of every handler. It implements poem's
//! [`ResponseError`] (so it renders itself) and poem-openapi's [`ApiResponse`]
//! (so every operation documents its error responses with the same schema).
//! A 5xx body is deliberately generic: the cause goes to the log, never to the
//! caller, so no internal detail or secret can leak through an error.
//!
//! # Which error goes where
//!
//! Every domain error becomes a `Problem` here and nowhere else, through a
//! `From` impl, so `?` works in every handler:
//! - `store::StoreError` (this file): unavailable → 503, not found → 404,
//!   conflict → 409, the rest → 500 (logged).
//! - `wechat_api::ValidationError` ([`wechat`]): 400 naming the field and
//!   the errcode the check prevented.
//! - `tenant_auth::AuthError` ([`wechat`]): pushes WeChat sent badly → 400
//!   `push-rejected` (never quoting the push); unknown Mini Program → 404;
//!   inactive authorization → 403; WeChat's refusals → [`wechat::wechat_problem`]
//!   with WeChat's own text withheld (platform-level calls can name the
//!   egress IP); refresh in progress or cooling down, no ticket → 503 with
//!   `Retry-After`; onboarding links and visits → 404 / 409 / 410.
//! - WeChat's answer to a proxied call ([`wechat::wechat_problem`]): the
//!   status from [`wechat::status_for_errcode`] (the caller's mistake 4xx,
//!   WeChat's trouble 5xx, quotas 429), with errcode, errmsg, rid and the
//!   seed's advice.
//!
//! Retry decisions read these typed fields (status, `wechat_errcode`),
//! never a rendered message.
#![forbid(unsafe_code)]

pub mod checked;
pub mod wechat;

pub use checked::Checked;

use poem::{IntoResponse, Response, error::ResponseError, http::StatusCode};
use poem_openapi::{
    ApiResponse, Object,
    registry::{MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};
use serde::Serialize;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// The wire shape (RFC 9457 plus tpgate's extension members).
#[derive(Debug, Clone, Serialize, serde::Deserialize, Object, PartialEq, Eq)]
#[oai(rename = "Problem")]
pub struct ProblemBody {
    /// A URI reference naming the problem type, e.g. `https://tpgate.dev/problems/validation`.
    #[oai(rename = "type")]
    #[serde(rename = "type")]
    pub type_: String,
    /// Short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence, in plain words.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// JSON path of the offending request field, for validation errors.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For validation errors: the WeChat errcode this local check prevented.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prevents_errcode: Option<i64>,
    /// The errcode WeChat answered, when WeChat answered.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_errcode: Option<i64>,
    /// The errmsg WeChat answered (includes WeChat's `rid` for support tickets).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_errmsg: Option<String>,
    /// WeChat's request id (`rid`) from the errmsg, for support tickets.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_rid: Option<String>,
    /// Permission sets (funcscope ids) that would allow the call, for 403s.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_permission_sets: Option<Vec<i64>>,
    /// For a value tpgate does not know (e.g. a courier code): the closest
    /// valid values, best first.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestions: Option<Vec<String>>,
    /// The request's id, as in the `X-Request-Id` response header (the
    /// caller's own when it sent a sane one): quote it to the operator, who
    /// finds the request's log lines and WeChat calls by it.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An HTTP error rendered as problem+json.
#[derive(Debug, Clone)]
pub struct Problem {
    // Boxed: `Result<T, Problem>` is returned everywhere; keep it small.
    body: Box<ProblemBody>,
    retry_after: Option<u64>,
    www_authenticate: Option<String>,
    /// Further headers (e.g. `RateLimit` on a 429).
    headers: Vec<(&'static str, String)>,
}

impl Problem {
    pub fn new(status: StatusCode, slug: &str, title: &str) -> Self {
        Self {
            body: Box::new(ProblemBody {
                type_: format!("https://tpgate.dev/problems/{slug}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: None,
                field: None,
                prevents_errcode: None,
                wechat_errcode: None,
                wechat_errmsg: None,
                wechat_rid: None,
                required_permission_sets: None,
                suggestions: None,
                // Added by the HTTP layer, which knows the request (see
                // [`with_request_id`]).
                request_id: None,
            }),
            retry_after: None,
            www_authenticate: None,
            headers: Vec::new(),
        }
    }

    /// Bounded (see [`bounded`]): a detail may quote what a client sent.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.body.detail = Some(bounded(detail.into(), MAX_DETAIL));
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.body.field = Some(bounded(field.into(), MAX_FIELD));
        self
    }

    pub fn with_prevented_errcode(mut self, errcode: i64) -> Self {
        self.body.prevents_errcode = Some(errcode);
        self
    }

    /// WeChat's errcode and errmsg; the `rid` WeChat appends to errmsg
    /// (`… rid: 64f0a1b2-1c2d3e4f-5a6b7c8d`) is also given on its own.
    pub fn with_wechat(mut self, errcode: i64, errmsg: impl Into<String>) -> Self {
        let errmsg = errmsg.into();
        self.body.wechat_rid = wechat_api::rid_in_errmsg(&errmsg).map(str::to_owned);
        self.body.wechat_errcode = Some(errcode);
        self.body.wechat_errmsg = Some(errmsg);
        self
    }

    /// Adds a response header (a name poem accepts; invalid values are dropped).
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_required_sets(mut self, sets: Vec<i64>) -> Self {
        self.body.required_permission_sets = Some(sets);
        self
    }

    /// At most ten, each bounded like a field.
    pub fn with_suggestions(mut self, suggestions: Vec<String>) -> Self {
        self.body.suggestions = Some(
            suggestions
                .into_iter()
                .take(10)
                .map(|s| bounded(s, MAX_FIELD))
                .collect(),
        );
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn body(&self) -> &ProblemBody {
        &self.body
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    // === common problems ===

    /// 400 for a malformed or rule-breaking request; names the field.
    pub fn validation(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation", "Invalid request")
            .with_field(field)
            .with_detail(detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").with_detail(detail)
    }

    /// 401 with a `WWW-Authenticate: Bearer` challenge.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p =
            Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized").with_detail(detail);
        p.www_authenticate = Some("Bearer realm=\"tpgate\"".to_owned());
        p
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").with_detail(detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").with_detail(detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict").with_detail(detail)
    }

    /// 503: a dependency (database, Redis, WeChat) is unavailable; retrying later may work.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        )
        .with_detail(detail)
    }

    /// 500 with a generic body. Log the cause where it is handled; it never reaches the caller.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
        .with_detail("an unexpected error occurred; it has been logged")
    }

    /// Turns any poem error that is not already a `Problem` (parse errors, 404
    /// routes, 405 methods, auth failures) into one, keeping its status.
    pub fn from_poem_error(err: &poem::Error) -> Self {
        if let Some(p) = err.downcast_ref::<Problem>() {
            return p.clone();
        }
        let status = err.status();
        match status {
            StatusCode::NOT_FOUND => Self::not_found("no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => {
                Self::new(status, "method-not-allowed", "Method not allowed")
                    .with_detail("this method is not allowed on this path")
            }
            StatusCode::UNAUTHORIZED => Self::unauthorized("missing or invalid credentials"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::new(status, "unsupported-media-type", "Unsupported media type")
                    .with_detail("send the body as JSON with `Content-Type: application/json`")
            }
            s if s.is_server_error() => Self::internal(),
            s => {
                let message = err.to_string();
                match field_from_parse_message(&message) {
                    // The same problem type as tpgate's own field checks.
                    Some(field) if s == StatusCode::BAD_REQUEST => Self::validation(field, message),
                    field => {
                        let mut p = Self::new(s, "bad-request", "Bad request").with_detail(message);
                        if let Some(field) = field {
                            p = p.with_field(field);
                        }
                        p
                    }
                }
            }
        }
    }
}

const MAX_DETAIL: usize = 400;
const MAX_FIELD: usize = 96;

/// The one rule for text in answers that may carry external input (a
/// parser's message quoting a value, a field path): at most `max` bytes,
/// cut on a character boundary and marked with `…`. Every `detail` and
/// `field` passes through it, so no handler can echo a body unbounded.
pub fn bounded(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    text.push('…');
    text
}

/// A rendered problem body with `request_id` added: `None` when `body` is
/// not a JSON object or already has one. Spliced into the text rather than
/// re-serialised, so the members keep their order.
pub fn with_request_id(body: &[u8], request_id: &str) -> Option<Vec<u8>> {
    let members: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    if members.contains_key("request_id") {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?.trim_end();
    let open = text.strip_suffix('}')?.trim_end();
    let id = serde_json::to_string(request_id).ok()?;
    let comma = if members.is_empty() { "" } else { "," };
    Some(format!("{open}{comma}\"request_id\":{id}}}").into_bytes())
}

/// poem-openapi parse errors read like `failed to parse "Foo": field `bar`: ...`
/// or `failed to parse parameter `appid``. Pull the field name out when present
/// so that clients always get a `field` to point at.
fn field_from_parse_message(message: &str) -> Option<String> {
    for marker in ["field `", "parameter `"] {
        if let Some(start) = message.find(marker) {
            let rest = &message[start + marker.len()..];
            if let Some(end) = rest.find('`') {
                return Some(rest[..end].to_owned());
            }
        }
    }
    None
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.body.title, self.body.status)?;
        if let Some(detail) = &self.body.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl ResponseError for Problem {
    fn status(&self) -> StatusCode {
        Problem::status(self)
    }

    fn as_response(&self) -> Response {
        let body = serde_json::to_vec(&self.body).unwrap_or_else(|_| b"{}".to_vec());
        let mut resp = Response::builder()
            .status(self.status())
            .content_type(CONTENT_TYPE)
            .body(body);
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert("retry-after", secs.to_string().parse().expect("digits"));
        }
        if let Some(challenge) = &self.www_authenticate
            && let Ok(value) = challenge.parse()
        {
            resp.headers_mut().insert("www-authenticate", value);
        }
        for (name, value) in &self.headers {
            if let Ok(value) = value.parse() {
                resp.headers_mut().insert(*name, value);
            }
        }
        resp
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.as_response()
    }
}

/// Storage failures: unavailable → 503, not found → 404, conflict → 409,
/// anything else → a generic 500 (the cause is logged here, not returned).
impl From<store::StoreError> for Problem {
    fn from(err: store::StoreError) -> Self {
        use store::StoreError;
        match err {
            StoreError::Unavailable(detail) => {
                tracing::error!(error = %detail, "storage unavailable");
                Problem::unavailable("storage is unavailable; retry shortly")
            }
            StoreError::NotFound(what) => Problem::not_found(format!("{what} not found")),
            StoreError::Conflict(detail) => Problem::conflict(detail),
            other => {
                tracing::error!(error = %other, "storage error");
                Problem::internal()
            }
        }
    }
}

/// The statuses any tpgate operation may answer with a problem body. Listed on
/// every operation so generated clients always know the error shape.
const DOCUMENTED: &[(u16, &str)] = &[
    (400, "Invalid request: `field` names the offending field"),
    (401, "Missing or invalid credentials"),
    (
        403,
        "The caller may not do this (role, tenant or permission set)",
    ),
    (404, "No such resource, or not visible to the caller"),
    (
        409,
        "Conflicts with the current state (e.g. WeChat's re-shipment limit)",
    ),
    (
        413,
        "The request body is larger than this operation accepts",
    ),
    (
        415,
        "The request body is not `application/json` (or is missing)",
    ),
    (
        422,
        "An `Idempotency-Key` was reused with a different request",
    ),
    (429, "Rate limited; see `Retry-After`"),
    (500, "Unexpected error (logged; body is generic)"),
    (
        502,
        "WeChat answered an error that is not the caller's fault",
    ),
    (503, "A dependency (database, Redis, WeChat) is unavailable"),
    (
        504,
        "WeChat did not answer in time; for a write the outcome is unknown",
    ),
];

impl ApiResponse for Problem {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|(status, description)| MetaResponse {
                    description,
                    status: Some(*status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: CONTENT_TYPE,
                        schema: ProblemBody::schema_ref(),
                    }],
                    headers: vec![],
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        ProblemBody::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_and_fields_are_bounded() {
        let huge = "é".repeat(100_000);
        let p = Problem::bad_request(huge.clone()).with_field(huge);
        let body = p.body();
        let detail = body.detail.as_deref().unwrap();
        assert!(detail.len() <= MAX_DETAIL + 3 && detail.ends_with('…'));
        assert!(body.field.as_deref().unwrap().len() <= MAX_FIELD + 3);
        assert_eq!(bounded("short".into(), 10), "short");
    }

    #[test]
    fn validation_problem_renders_field_and_errcode() {
        let p = Problem::validation("shipping_list[0].item_desc", "required")
            .with_prevented_errcode(10060008);
        let resp = p.as_response();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        let json = serde_json::to_value(p.body()).unwrap();
        assert_eq!(json["field"], "shipping_list[0].item_desc");
        assert_eq!(json["prevents_errcode"], 10060008);
        assert!(json.get("wechat_errcode").is_none());
    }

    #[test]
    fn unauthorized_carries_challenge() {
        let resp = Problem::unauthorized("no key").as_response();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get("www-authenticate").is_some());
    }

    #[test]
    fn parse_messages_yield_field() {
        assert_eq!(
            field_from_parse_message("failed to parse \"X\": field `order_key`: missing"),
            Some("order_key".into())
        );
        assert_eq!(field_from_parse_message("nothing here"), None);
    }

    #[test]
    fn a_request_id_joins_a_rendered_body() {
        let body = serde_json::to_vec(Problem::not_found("no such resource").body()).unwrap();
        let stamped = with_request_id(&body, "req-1").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&stamped).unwrap();
        assert_eq!(json["request_id"], "req-1");
        assert_eq!(json["status"], 404);
        assert!(
            String::from_utf8(stamped.clone())
                .unwrap()
                .starts_with(r#"{"type":"#),
            "order kept"
        );
        assert_eq!(with_request_id(&stamped, "req-2"), None, "one id");
        assert_eq!(
            with_request_id(b" {} ", "x").as_deref(),
            Some(br#" {"request_id":"x"}"#.as_slice())
        );
        for not_an_object in [&b"[1]"[..], b"\"x\"", b"{", b""] {
            assert_eq!(with_request_id(not_an_object, "x"), None);
        }
    }

    #[test]
    fn server_errors_are_generic() {
        let err =
            poem::Error::from_string("db password=hunter2", StatusCode::INTERNAL_SERVER_ERROR);
        let p = Problem::from_poem_error(&err);
        assert_eq!(p.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            !p.body()
                .detail
                .clone()
                .unwrap_or_default()
                .contains("hunter2")
        );
    }
}
