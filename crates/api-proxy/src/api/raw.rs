//! `POST /v1/apps/{appid}/raw/{wechat path}`: any other WeChat API, through
//! the same gate (ownership, permission map, limits, token, retries), for
//! tenants an operator allowed (off by default).
//!
//! A plain poem endpoint: OpenAPI path parameters cannot span `/`, so this
//! route is documented in the README rather than in the spec. Its body is
//! forwarded as sent (no local rules: tpgate does not know the API), except
//! that a path of a typed API keeps that API's group and limits.
use poem::{
    Body, IntoResponse, Request, Response, handler,
    http::header,
    web::{Data, Path},
};
use problem::Problem;
use serde_json::Value;

use crate::{
    ProxyState, catalog,
    gate::{self, Call},
    tenant_for_key,
};

/// Longest WeChat path accepted.
const MAX_PATH_LEN: usize = 256;

/// Paths that need the platform's own credentials, never an authorizer's.
const PLATFORM_PATHS: &[&str] = &[
    "/cgi-bin/component/",
    "/cgi-bin/token",
    "/cgi-bin/stable_token",
    "/sns/component/",
];

#[handler]
pub async fn raw_passthrough(
    req: &Request,
    Data(state): Data<&ProxyState>,
    Path((appid, path)): Path<(String, String)>,
    body: Body,
) -> Response {
    match raw(req, state, &appid, &path, body).await {
        Ok(response) => response,
        Err(problem) => problem.into_response(),
    }
}

async fn raw(
    req: &Request,
    state: &ProxyState,
    appid: &str,
    path: &str,
    body: Body,
) -> Result<Response, Problem> {
    let key = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            Problem::unauthorized("send the API key as `Authorization: Bearer tpk_…`")
        })?;
    let tenant = tenant_for_key(state, key.trim()).await?;
    if !tenant.raw_passthrough {
        return Err(Problem::forbidden(
            "the raw passthrough is off for this tenant; a platform operator can switch it on (admin API: PUT /admin/v1/tenants/{id}/raw-passthrough)",
        ));
    }
    let path = wechat_path(path)?;
    let bytes = body
        .into_bytes()
        .await
        .map_err(|_| Problem::bad_request("the request body could not be read"))?;
    let json: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Problem::validation("body", format!("the body must be a JSON object: {e}")))?;
    if !json.is_object() {
        return Err(Problem::validation(
            "body",
            "the body must be a JSON object",
        ));
    }
    let idempotency_key = req
        .headers()
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    let answer = gate::forward::<()>(
        state,
        &tenant,
        Call {
            api: catalog::for_raw_path(&path),
            path: &path,
            appid,
            body: &json,
            idempotency_key: idempotency_key.as_deref(),
            shipment: None,
        },
        || Ok(()),
        super::any_answer,
    )
    .await?;
    Ok(answer.into_response())
}

/// The canonical WeChat path for what followed `raw/`, or a refusal.
///
/// Every check (permission sets, limits, the deny-list below) runs on the
/// returned path and exactly that path is forwarded, so nothing may differ
/// between what is checked and what WeChat receives: a path is accepted only
/// when it is already canonical. `.`/`..` segments, empty segments (`//`, a
/// leading or trailing `/`) and percent-escapes would be resolved or decoded
/// by someone on the way (`Url::join`, WeChat's front end), so they are
/// refused rather than normalised.
pub(crate) fn wechat_path(path: &str) -> Result<String, Problem> {
    let plain = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if path.is_empty() || path.len() >= MAX_PATH_LEN || !path.split('/').all(plain) {
        return Err(Problem::validation(
            "path",
            format!(
                "the WeChat path must be canonical, like wxa/… or cgi-bin/…: segments of letters, digits and `_-.`, no `.` or `..` segments, no empty segments (`//`, a leading or trailing `/`), no percent-escapes, at most {MAX_PATH_LEN} characters"
            ),
        ));
    }
    let path = format!("/{path}");
    // Case-insensitively: whether WeChat's front end folds case is not
    // documented, and refusing a variant costs nothing.
    let lower = path.to_ascii_lowercase();
    if PLATFORM_PATHS.iter().any(|p| lower.starts_with(p)) {
        return Err(Problem::forbidden(format!(
            "{path} uses the platform's own credentials and cannot be called through the passthrough"
        )));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_checked() {
        assert_eq!(wechat_path("wxa/getwxacode").unwrap(), "/wxa/getwxacode");
        assert!(wechat_path("../etc/passwd").is_err());
        for not_canonical in [
            "./wxa/sec/order/get_order",
            "wxa/./sec/order/get_order",
            "wxa//sec/order/get_order",
            "/wxa/sec/order/get_order",
            "wxa/sec/order/get_order/",
            "wxa/%2e/sec/order/get_order",
            "wxa/sec/order/../order/get_order",
            "./cgi-bin/token",
        ] {
            assert_eq!(
                wechat_path(not_canonical).unwrap_err().status(),
                400,
                "{not_canonical}"
            );
        }
        assert_eq!(wechat_path("CGI-BIN/Token").unwrap_err().status(), 403);
        assert_eq!(
            wechat_path("cgi-bin/stable_token").unwrap_err().status(),
            403
        );
        assert!(wechat_path("wxa/a b").is_err());
        assert!(wechat_path("wxa/x?access_token=1").is_err());
        assert_eq!(
            wechat_path("cgi-bin/component/api_component_token")
                .unwrap_err()
                .status(),
            403
        );
        assert!(wechat_path("").is_err());
    }
}
