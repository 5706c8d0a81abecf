//! Browser sessions: signing in (a one-time link, an admin JWT or a tenant
//! API key with an admin scope), who is signed in, signing out, and the
//! layer that lets the admin API take the session cookie as a credential.
//!
//! The cookie (`tpgate_console`) is `HttpOnly` and `SameSite=Strict`
//! (`Secure` when the public base URL is https) and holds a random token
//! whose hash is a row of `console_sessions`. A cookie is ambient, so every
//! request it authenticates must also prove it comes from the console: the
//! `X-Tpgate-Console: 1` header (a cross-site page cannot send a custom
//! header without a CORS preflight, which tpgate never grants) and, for
//! anything but a read, an `Origin` naming this host. A request with an
//! `Authorization` header is left alone: the bearer decides, as before.
use chrono::{DateTime, Duration, Utc};
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, handler,
    http::{HeaderValue, Method, StatusCode, header},
    web::{Data, Json},
};
use problem::Problem;
use serde::{Deserialize, Serialize};
use store::console_sessions::{ConsoleIdentity, SessionLookup, SignedInVia};

use admin_api::{
    AdminState,
    auth::{Caller, Credential, SESSION_AUTHORIZATION, SessionCaller},
};

use crate::assets::with_security_headers;

pub const COOKIE: &str = "tpgate_console";
/// The header the console sends with every request (CSRF).
pub const CONSOLE_HEADER: &str = "x-tpgate-console";
/// How long a one-time sign-in link works.
pub const SIGN_IN_LINK_VALIDITY: Duration = Duration::minutes(10);

/// A one-time sign-in link for `identity`, valid for
/// [`SIGN_IN_LINK_VALIDITY`] (`tpgate console-login`, the sandbox). The
/// code is in the URL's fragment, which browsers send to no server: it
/// stays out of access logs and `Referer` headers.
pub async fn sign_in_link(
    store: &store::Store,
    public_base_url: &url::Url,
    identity: &ConsoleIdentity,
) -> Result<url::Url, store::StoreError> {
    let code = store
        .create_console_sign_in(identity, SIGN_IN_LINK_VALIDITY)
        .await?;
    let mut url = public_base_url.clone();
    url.set_path(&format!("{}console/", public_base_url.path()));
    url.set_query(None);
    url.set_fragment(Some(&format!("/sign-in/{}", code.expose())));
    Ok(url)
}

/// The `console.*` configuration section.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A session unused for this long ends.
    pub idle_timeout_secs: u64,
    /// A session ends this long after sign-in whatever happens (sooner when
    /// the JWT or API key it was opened with expires sooner).
    pub session_lifetime_secs: u64,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            idle_timeout_secs: 30 * 60,
            session_lifetime_secs: 12 * 3600,
        }
    }
}

impl ConsoleSettings {
    pub fn validate(&self) -> Result<(), String> {
        if !(60..=86_400).contains(&self.idle_timeout_secs) {
            return Err("console.idle_timeout_secs must be between 60 and 86400".into());
        }
        if !(300..=30 * 86_400).contains(&self.session_lifetime_secs) {
            return Err("console.session_lifetime_secs must be between 300 and 2592000".into());
        }
        Ok(())
    }

    fn idle(&self) -> Duration {
        Duration::seconds(self.idle_timeout_secs.min(i64::MAX as u64) as i64)
    }

    fn lifetime(&self) -> Duration {
        Duration::seconds(self.session_lifetime_secs.min(i64::MAX as u64) as i64)
    }
}

/// What the session handlers and layer need, put in the app's `Data`.
#[derive(Clone)]
pub struct ConsoleState {
    pub admin: AdminState,
    pub settings: ConsoleSettings,
}

impl ConsoleState {
    fn secure_cookie(&self) -> bool {
        self.admin.public_base_url.scheme() == "https"
    }

    fn cookie(&self, token: Option<(&str, DateTime<Utc>)>) -> HeaderValue {
        set_cookie(self.secure_cookie(), token, Utc::now())
    }
}

/// `Set-Cookie` for a session token valid until the given time (or, with
/// `None`, one that deletes the cookie).
fn set_cookie(
    secure: bool,
    token: Option<(&str, DateTime<Utc>)>,
    now: DateTime<Utc>,
) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let (value, max_age) = match token {
        Some((t, until)) => (t, (until - now).num_seconds().max(0)),
        None => ("", 0),
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("tpgate_console=; Path=/; Max-Age=0"))
}

/// The session token in the request's `Cookie` header, if any. Parsed here
/// rather than with poem's cookie jar: one name, no signing, and the jar's
/// feature would pull a crate in for it.
fn session_token(req: &Request) -> Option<&str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value)
}

/// The CSRF checks of a cookie-authenticated request (see the module doc).
fn check_from_console(req: &Request, public_base_url: &url::Url) -> Result<(), Problem> {
    let marked = req
        .headers()
        .get(CONSOLE_HEADER)
        .is_some_and(|v| v.as_bytes() == b"1");
    if !marked {
        return Err(Problem::forbidden(
            "a request authenticated by the console's session cookie must carry the header X-Tpgate-Console: 1",
        ));
    }
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if origin.is_some_and(|o| same_origin(o, req, public_base_url)) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "a change made with the console's session cookie must come from the console's own origin (Origin header)",
        ))
    }
}

/// Whether `origin` is tpgate's: its public base URL, or the host the
/// request was sent to (an operator reaching it by port-forward).
fn same_origin(origin: &str, req: &Request, public_base_url: &url::Url) -> bool {
    if origin == public_base_url.origin().ascii_serialization() {
        return true;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let Ok(origin) = url::Url::parse(origin) else {
        return false;
    };
    let origin_host = match (origin.host_str(), origin.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => return false,
    };
    host.is_some_and(|h| h.eq_ignore_ascii_case(&origin_host))
}

/// The session a request's cookie names, resolved to its caller now. A
/// session its tenant or key no longer allows is ended here.
async fn resolve(state: &ConsoleState, token: &str) -> Result<(Caller, SessionView), Problem> {
    let session = match state
        .admin
        .store
        .console_session(token, state.settings.idle())
        .await?
    {
        SessionLookup::Active(s) => s,
        SessionLookup::Expired => {
            return Err(Problem::unauthorized(
                "the console session has expired; sign in again",
            ));
        }
        SessionLookup::Unknown => {
            return Err(Problem::unauthorized(
                "not signed in to the console (or signed out)",
            ));
        }
    };
    let Some(caller) = admin_api::auth::caller_for_session(&state.admin, &session.identity).await?
    else {
        state.admin.store.end_console_session(token).await?;
        tracing::info!(
            console.subject = %session.identity.subject,
            "console session ended: its tenant is suspended or its API key no longer allows it"
        );
        return Err(Problem::unauthorized(
            "the console session has ended: its tenant is suspended or gone, or its API key was revoked",
        ));
    };
    let view = SessionView::new(
        &caller,
        session.identity.via,
        session.expires_at,
        &state.settings,
    );
    Ok((caller, view))
}

/// Who is signed in, as the console shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    pub role: &'static str,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Whether the console offers changes (a viewer, or a key without
    /// `admin_write`, does not).
    pub can_write: bool,
    pub expires_at: DateTime<Utc>,
    pub idle_timeout_secs: u64,
    pub via: &'static str,
}

impl SessionView {
    fn new(
        caller: &Caller,
        via: SignedInVia,
        expires_at: DateTime<Utc>,
        s: &ConsoleSettings,
    ) -> Self {
        // What the admin API itself would allow: a viewer nothing, a key
        // without admin_write nothing.
        let can_write = match &caller.tenant_id {
            Some(t) => caller.require_tenant_write(t).is_ok(),
            None => caller.require_platform_write().is_ok(),
        };
        Self {
            role: caller.role_name(),
            subject: caller.subject.clone(),
            tenant_id: caller.tenant_id.clone(),
            can_write,
            expires_at,
            idle_timeout_secs: s.idle_timeout_secs,
            via: via.as_str(),
        }
    }
}

fn answer(resp: impl IntoResponse) -> Response {
    let mut resp = with_security_headers(resp.into_response());
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// `GET /console/api/session`: who is signed in (401 when nobody).
#[handler]
pub async fn current(req: &Request, Data(state): Data<&ConsoleState>) -> Response {
    let Some(token) = session_token(req) else {
        return answer(Problem::unauthorized("not signed in to the console"));
    };
    match resolve(state, token).await {
        Ok((_, view)) => answer(Json(view)),
        Err(p) => clear_cookie(state, answer(p)),
    }
}

/// What the sign-in page sends: a one-time link's code, or a credential.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    code: Option<String>,
    /// An admin JWT or a tenant API key (`tpk_…`) with an admin scope.
    token: Option<String>,
}

/// Longest code or credential read (a JWT with a large key id still fits).
const MAX_CREDENTIAL_LEN: usize = 8192;

/// `POST /console/api/session`: signs in; the answer sets the cookie.
#[handler]
pub async fn sign_in(
    req: &Request,
    body: poem::Result<Json<SignIn>>,
    Data(state): Data<&ConsoleState>,
) -> Response {
    // A forged sign-in would put the victim in the attacker's session.
    if let Err(p) = check_from_console(req, &state.admin.public_base_url) {
        return answer(p);
    }
    let Ok(Json(body)) = body else {
        return answer(Problem::bad_request(
            "the body must be JSON: {\"code\": \"…\"} or {\"token\": \"…\"}",
        ));
    };
    match open(state, body).await {
        Ok((view, token)) => {
            tracing::info!(
                console.subject = %view.subject,
                console.role = view.role,
                console.via = view.via,
                "console sign-in"
            );
            let mut resp = answer(Json(&view));
            resp.headers_mut().insert(
                header::SET_COOKIE,
                state.cookie(Some((token.expose(), view.expires_at))),
            );
            resp
        }
        Err(p) => answer(p),
    }
}

async fn open(state: &ConsoleState, body: SignIn) -> Result<(SessionView, store::Secret), Problem> {
    let lifetime_end = Utc::now() + state.settings.lifetime();
    let (identity, expires_at) = match (body.code, body.token) {
        (Some(code), None) if code.len() <= MAX_CREDENTIAL_LEN => {
            let identity = state
                .admin
                .store
                .redeem_console_sign_in(&code)
                .await?
                .ok_or_else(|| {
                    Problem::unauthorized(
                        "this sign-in link is unknown, already used or expired (links work once, for 10 minutes); run `tpgate console-login` for a new one",
                    )
                })?;
            (identity, lifetime_end)
        }
        (None, Some(token)) if token.len() <= MAX_CREDENTIAL_LEN => {
            let (caller, credential_end) =
                admin_api::auth::authenticate(&state.admin, token.trim())
                    .await
                    .map_err(|e| Problem::from_poem_error(&e))?;
            let (api_key_id, via) = match &caller.credential {
                Credential::ApiKey { id, .. } => (Some(id.clone()), SignedInVia::ApiKey),
                Credential::Jwt => (None, SignedInVia::Jwt),
            };
            let identity = ConsoleIdentity {
                role: caller.role_name().to_owned(),
                subject: caller.subject,
                tenant_id: caller.tenant_id.map(Into::into),
                api_key_id,
                via,
            };
            let end = credential_end.map_or(lifetime_end, |e| e.min(lifetime_end));
            (identity, end)
        }
        (Some(_), Some(_)) => {
            return Err(Problem::bad_request("send either code or token, not both"));
        }
        (None, None) => return Err(Problem::bad_request("send code or token")),
        _ => return Err(Problem::bad_request("code or token is too long")),
    };
    let caller = admin_api::auth::caller_for_session(&state.admin, &identity)
        .await?
        .ok_or_else(|| {
            Problem::forbidden(
                "this tenant is suspended or gone, or the API key no longer allows it",
            )
        })?;
    let (session, token) = state
        .admin
        .store
        .open_console_session(&identity, expires_at)
        .await?;
    let view = SessionView::new(&caller, identity.via, session.expires_at, &state.settings);
    Ok((view, token))
}

/// `DELETE /console/api/session`: signs out (ends the session on the
/// server, whatever the browser keeps).
#[handler]
pub async fn sign_out(req: &Request, Data(state): Data<&ConsoleState>) -> Response {
    if let Err(p) = check_from_console(req, &state.admin.public_base_url) {
        return answer(p);
    }
    if let Some(token) = session_token(req)
        && let Err(e) = state.admin.store.end_console_session(token).await
    {
        return answer(Problem::from(e));
    }
    clear_cookie(state, answer(StatusCode::NO_CONTENT))
}

fn clear_cookie(state: &ConsoleState, mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::SET_COOKIE, state.cookie(None));
    resp
}

/// Lets the admin API (`/admin/…`) take the session cookie as its
/// credential: for a request with the cookie and no `Authorization`, checks
/// that it comes from the console, resolves the session and hands the
/// caller to the admin API's security scheme. Other requests pass as they
/// are.
pub struct SessionCredential {
    pub state: ConsoleState,
}

impl<E: Endpoint> Middleware<E> for SessionCredential {
    type Output = SessionCredentialEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SessionCredentialEndpoint {
            inner,
            state: self.state.clone(),
        }
    }
}

pub struct SessionCredentialEndpoint<E> {
    inner: E,
    state: ConsoleState,
}

impl<E: Endpoint> Endpoint for SessionCredentialEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let applies = req.uri().path().starts_with("/admin/")
            && !req.headers().contains_key(header::AUTHORIZATION);
        if let Some(token) = session_token(&req).filter(|_| applies).map(str::to_owned) {
            check_from_console(&req, &self.state.admin.public_base_url)?;
            // Boxed: the lookup's queries make a future of kilobytes that
            // every request's future would otherwise carry (and move).
            match Box::pin(resolve(&self.state, &token)).await {
                Ok((caller, _)) => {
                    req.extensions_mut().insert(SessionCaller(caller));
                    req.headers_mut().insert(
                        header::AUTHORIZATION,
                        HeaderValue::from_static(SESSION_AUTHORIZATION),
                    );
                }
                Err(p) => return Ok(clear_cookie(&self.state, p.into_response())),
            }
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, headers: &[(&str, &str)]) -> Request {
        let mut builder = Request::builder()
            .method(method)
            .uri_str("/admin/v1/tenants");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.finish()
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let req = request(
            Method::GET,
            &[
                ("cookie", "a=1; tpgate_console=abc; b=2"),
                ("cookie", "c=3"),
            ],
        );
        assert_eq!(session_token(&req), Some("abc"));
        assert_eq!(
            session_token(&request(Method::GET, &[("cookie", "tpgate_console=")])),
            None
        );
        assert_eq!(session_token(&request(Method::GET, &[])), None);
    }

    #[test]
    fn cookie_requests_must_come_from_the_console() {
        let base: url::Url = "https://tp.example.com/".parse().unwrap();
        let ok = |m: Method, h: &[(&str, &str)]| check_from_console(&request(m, h), &base);
        // Reads need the header; changes also the origin.
        assert!(ok(Method::GET, &[]).is_err());
        assert!(ok(Method::GET, &[("x-tpgate-console", "1")]).is_ok());
        assert!(ok(Method::POST, &[("x-tpgate-console", "1")]).is_err());
        assert!(
            ok(
                Method::POST,
                &[
                    ("x-tpgate-console", "1"),
                    ("origin", "https://evil.example")
                ]
            )
            .is_err()
        );
        assert!(
            ok(
                Method::DELETE,
                &[
                    ("x-tpgate-console", "1"),
                    ("origin", "https://tp.example.com")
                ]
            )
            .is_ok()
        );
        // Reached by port-forward: the Host it was sent to.
        assert!(
            ok(
                Method::POST,
                &[
                    ("x-tpgate-console", "1"),
                    ("origin", "http://127.0.0.1:8080"),
                    ("host", "127.0.0.1:8080")
                ]
            )
            .is_ok()
        );
        assert!(
            ok(
                Method::POST,
                &[
                    ("x-tpgate-console", "1"),
                    ("origin", "http://127.0.0.1:9999"),
                    ("host", "127.0.0.1:8080")
                ]
            )
            .is_err()
        );
        assert!(ok(Method::POST, &[("origin", "https://tp.example.com")]).is_err());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let now = Utc::now();
        let until = now + Duration::hours(1);
        let plain = set_cookie(false, Some(("abc", until)), now);
        assert_eq!(
            plain.to_str().unwrap(),
            "tpgate_console=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600"
        );
        let secure = set_cookie(true, Some(("abc", until)), now);
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
        let gone = set_cookie(true, None, now);
        assert_eq!(
            gone.to_str().unwrap(),
            "tpgate_console=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
        );
    }

    #[test]
    fn settings_are_bounded() {
        assert!(ConsoleSettings::default().validate().is_ok());
        let s = ConsoleSettings {
            idle_timeout_secs: 5,
            ..Default::default()
        };
        assert!(s.validate().is_err());
    }
}
