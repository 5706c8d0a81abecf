//! The merchant-facing onboarding pages.
//!
//! - `GET /onboard/{token}`: the landing page (who asks for what, a button).
//!   It calls nothing at WeChat, so a link opened, reloaded or previewed by
//!   a chat app costs no quota. WeChat shows its PC authorization page only
//!   to a browser coming from a page on the platform's authorization domain
//!   (授权发起页域名); this page is that page.
//! - `POST /onboard/{token}/authorize`: the button. A fresh pre_auth_code
//!   and a visit, then `303` to WeChat's page; the landing page's
//!   `Referrer-Policy: origin` makes the browser send tpgate's origin as the
//!   `Referer` WeChat checks.
//! - `GET /onboard/complete?visit=…&auth_code=…`: where WeChat sends the
//!   browser back; shows what was granted.
//!
//! Every route is throttled per client address, starts per link and
//! completions per visit (`onboarding.*`), since each can spend the
//! platform's WeChat quota.
mod pages;

use poem::{
    IntoResponse, Request, Response, handler,
    http::{HeaderValue, header},
    web::{Data, Form, Path, Query},
};
use ratelimit::{ThrottleRule, Throttled};
use serde::Deserialize;
use tenant_auth::AuthPage;

use pages::Lang;

use crate::app::AppState;

/// The throttle window of the per-address and per-link rules.
const MINUTE: i64 = 60;
/// The window of the per-visit completion rule.
const VISIT_WINDOW: i64 = 600;

#[derive(Debug, Deserialize)]
pub struct LandingParams {
    /// `zh` or `en`; default from `Accept-Language`.
    lang: Option<String>,
    /// `pc` or `mobile`; default from the User-Agent.
    page: Option<String>,
}

#[handler]
pub async fn landing(
    Path(token): Path<String>,
    Query(params): Query<LandingParams>,
    req: &Request,
    Data(state): Data<&AppState>,
) -> Response {
    let lang = Lang::choose(
        params.lang.as_deref(),
        header_str(req, header::ACCEPT_LANGUAGE),
    );
    if let Err(t) = throttle(state, req, None).await {
        return pages::throttled(lang, t);
    }
    let page = AuthPage::choose(params.page.as_deref(), header_str(req, header::USER_AGENT));
    match state.auth.onboarding_landing(&token).await {
        Ok(landing) => with_referrer_origin(pages::landing(lang, &token, &landing, page)),
        Err(err) => pages::error(lang, &err),
    }
}

#[derive(Debug, Deserialize)]
pub struct AuthorizeForm {
    page: Option<String>,
    lang: Option<String>,
}

#[handler]
pub async fn authorize(
    Path(token): Path<String>,
    Form(form): Form<AuthorizeForm>,
    req: &Request,
    Data(state): Data<&AppState>,
) -> Response {
    let lang = Lang::choose(
        form.lang.as_deref(),
        header_str(req, header::ACCEPT_LANGUAGE),
    );
    // Per link: the token is hashed, so an unknown one costs a lookup only.
    let link_key = store::api_keys::hash_key(&token);
    if let Err(t) = throttle(state, req, Some((per_link(state), &link_key))).await {
        return pages::throttled(lang, t);
    }
    let page = AuthPage::choose(form.page.as_deref(), header_str(req, header::USER_AGENT));
    match state
        .auth
        .begin_onboarding(&token, &state.public_base_url, page)
        .await
    {
        Ok(url) => {
            with_referrer_origin(poem::web::Redirect::see_other(url.as_str()).into_response())
        }
        Err(err) => pages::error(lang, &err),
    }
}

#[derive(Debug, Deserialize)]
pub struct CompleteParams {
    visit: Option<String>,
    auth_code: Option<String>,
    lang: Option<String>,
}

#[handler]
pub async fn complete(
    Query(params): Query<CompleteParams>,
    req: &Request,
    Data(state): Data<&AppState>,
) -> Response {
    let lang = Lang::choose(
        params.lang.as_deref(),
        header_str(req, header::ACCEPT_LANGUAGE),
    );
    let (Some(visit), Some(auth_code)) = (params.visit, params.auth_code) else {
        return pages::incomplete(lang);
    };
    let per_visit = ThrottleRule {
        name: "onboard-visit",
        limit: state.onboarding.completions_per_visit,
        window_secs: VISIT_WINDOW,
    };
    let visit_key = store::api_keys::hash_key(&visit);
    if let Err(t) = throttle(state, req, Some((per_visit, &visit_key))).await {
        return pages::throttled(lang, t);
    }
    match state.auth.complete_onboarding(&visit, &auth_code).await {
        Ok(result) => pages::granted(lang, &result),
        Err(err) => pages::error(lang, &err),
    }
}

fn per_link(state: &AppState) -> ThrottleRule {
    ThrottleRule {
        name: "onboard-link",
        limit: state.onboarding.starts_per_link_per_minute,
        window_secs: MINUTE,
    }
}

/// Counts the request against the client address, and `extra` if given.
async fn throttle(
    state: &AppState,
    req: &Request,
    extra: Option<(ThrottleRule, &str)>,
) -> Result<(), Throttled> {
    let per_address = ThrottleRule {
        name: "onboard-address",
        limit: state.onboarding.requests_per_address_per_minute,
        window_secs: MINUTE,
    };
    let address = client_address(state, req);
    let mut checks = vec![(per_address, address.as_str())];
    if let Some(extra) = extra {
        checks.push(extra);
    }
    state.throttle.hit(&checks, state.auth.clock().now()).await
}

fn client_address(state: &AppState, req: &Request) -> String {
    let peer = match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip(),
        None => return "unknown".to_owned(),
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    state.trusted_proxies.client(peer, &forwarded).to_string()
}

fn header_str(req: &Request, name: header::HeaderName) -> Option<&str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// WeChat checks the `Referer` of the authorization page against the
/// platform's authorization domain: send the origin (never the path, which
/// holds the link token) on the way there.
fn with_referrer_origin(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("origin"));
    response
}
