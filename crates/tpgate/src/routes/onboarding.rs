//! The merchant-facing onboarding pages: `GET /onboard/{token}` sends the
//! browser to WeChat's authorization page; WeChat sends it back to
//! `GET /onboard/complete?visit=…&auth_code=…`, which shows what was granted.
use poem::{
    IntoResponse, Response, handler,
    http::StatusCode,
    web::{Data, Html, Path, Query, Redirect},
};
use serde::Deserialize;
use store::onboarding::LinkState;
use tenant_auth::{AuthError, AuthPage, OnboardingResult, permissions};

use crate::app::AppState;

#[derive(Debug, Deserialize)]
pub struct BeginParams {
    /// `pc` (QR page) or `mobile` (inside WeChat); default from the User-Agent.
    page: Option<String>,
}

#[handler]
pub async fn begin(
    Path(token): Path<String>,
    Query(params): Query<BeginParams>,
    req: &poem::Request,
    Data(state): Data<&AppState>,
) -> Response {
    let user_agent = req
        .headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let page = AuthPage::choose(params.page.as_deref(), user_agent);
    match state
        .auth
        .begin_onboarding(&token, &state.public_base_url, page)
        .await
    {
        Ok(url) => Redirect::see_other(url.as_str()).into_response(),
        Err(err) => error_page(err),
    }
}

#[derive(Debug, Deserialize)]
pub struct CompleteParams {
    visit: Option<String>,
    auth_code: Option<String>,
}

#[handler]
pub async fn complete(
    Query(params): Query<CompleteParams>,
    Data(state): Data<&AppState>,
) -> Response {
    let (Some(visit), Some(auth_code)) = (params.visit, params.auth_code) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Authorization incomplete",
            "<p>WeChat did not return an authorization code. Open the onboarding link again.</p>",
        );
    };
    match state.auth.complete_onboarding(&visit, &auth_code).await {
        Ok(result) => page(
            StatusCode::OK,
            "Authorization complete",
            &granted_html(&result),
        ),
        Err(err) => error_page(err),
    }
}

/// What was granted, and in plain words what is missing for shipping/logistics.
pub fn granted_html(result: &OnboardingResult) -> String {
    let mut html = format!(
        "<p>Mini Program <code>{}</code> has authorized the platform.</p><h2>Granted permission sets</h2><ul>",
        escape(&result.authorizer_appid)
    );
    for id in &result.funcscopes {
        html.push_str(&format!(
            "<li>{id}: {}</li>",
            escape(permissions::name(*id))
        ));
    }
    html.push_str("</ul>");
    let has = |id| result.funcscopes.contains(&id);
    if !has(permissions::SHIPPING_MANAGEMENT) && !has(permissions::DEVELOPMENT) {
        html.push_str("<p class=warn><strong>Shipping will not work:</strong> neither set 142 (shipping information management) nor set 18 (development) was granted. Authorize again and tick one of them.</p>");
    }
    if !has(permissions::LOGISTICS) {
        html.push_str("<p class=warn><strong>Logistics will not work:</strong> set 45 (WeChat logistics) was not granted.</p>");
    }
    if result.owned_by_other_tenant {
        html.push_str("<p class=warn>This Mini Program was already connected to another account on this platform and stays there; contact the platform operator to move it.</p>");
    }
    html
}

fn error_page(err: AuthError) -> Response {
    let (status, message) = match &err {
        AuthError::LinkNotFound => (
            StatusCode::NOT_FOUND,
            "This onboarding link does not exist. Ask for a new one.",
        ),
        AuthError::LinkUnusable(LinkState::Expired) => (
            StatusCode::GONE,
            "This onboarding link has expired. Ask for a new one.",
        ),
        AuthError::LinkUnusable(LinkState::AlreadyUsed) => (
            StatusCode::GONE,
            "This onboarding link has already been used. Ask for a new one.",
        ),
        AuthError::LinkUnusable(_) => (
            StatusCode::GONE,
            "This onboarding link has been revoked. Ask for a new one.",
        ),
        AuthError::AuthorizerInactive { .. } => (
            StatusCode::CONFLICT,
            "This Mini Program's authorization is not active. Open the onboarding link again to authorize.",
        ),
        AuthError::VisitNotFound => (
            StatusCode::NOT_FOUND,
            "This authorization attempt is unknown or has expired. Open the onboarding link again.",
        ),
        AuthError::Wechat(e) if e.errcode().is_some() => {
            tracing::warn!(error = %err, "onboarding: WeChat refused");
            (
                StatusCode::BAD_GATEWAY,
                "WeChat refused the authorization step. Open the onboarding link again; if it keeps failing, contact the platform operator.",
            )
        }
        _ => {
            tracing::error!(error = %err, "onboarding failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The platform cannot complete this step right now. Please try again in a few minutes.",
            )
        }
    };
    page(
        status,
        "Authorization not possible",
        &format!("<p>{}</p>", escape(message)),
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width\"><title>{t}</title><style>body{{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}}.warn{{color:#a40}}</style></head><body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    );
    Html(html).with_status(status).into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_when_shipping_sets_missing() {
        let r = OnboardingResult {
            authorizer_appid: "wx<b>".into(),
            tenant_id: "t".into(),
            funcscopes: [17].into_iter().collect(),
            owned_by_other_tenant: false,
        };
        let html = granted_html(&r);
        assert!(html.contains("Shipping will not work"));
        assert!(html.contains("Logistics will not work"));
        assert!(html.contains("wx&lt;b&gt;"));
        let ok = OnboardingResult {
            funcscopes: [18, 45, 142].into_iter().collect(),
            ..r
        };
        let html = granted_html(&ok);
        assert!(!html.contains("will not work"));
        assert!(html.contains("142: Shipping information management"));
    }
}
