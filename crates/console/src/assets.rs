//! The console's files, embedded at build time (see `build.rs`), served
//! under `/console/` with a strict Content-Security-Policy: scripts and
//! styles only from these files, no inline code, no `eval`, no other host.
use std::borrow::Cow;

use poem::{
    IntoResponse, Request, Response, handler,
    http::{HeaderValue, StatusCode, header},
};
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Sent on every console response (and the sign-in API's).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// In debug builds only, `TPGATE_CONSOLE_ASSETS=<dir>` serves the files
/// from disk, so editing the console needs no rebuild.
const DEV_DIR_VAR: &str = "TPGATE_CONSOLE_ASSETS";

/// The embedded file at `path` (relative, e.g. `pages/calls.js`).
pub fn embedded(path: &str) -> Option<&'static [u8]> {
    ASSETS.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// Every embedded path, for tests.
pub fn paths() -> impl Iterator<Item = &'static str> {
    ASSETS.iter().map(|(p, _)| *p)
}

fn load(path: &str) -> Option<Cow<'static, [u8]>> {
    if cfg!(debug_assertions)
        && let Some(dir) = std::env::var_os(DEV_DIR_VAR)
    {
        // Only names the build would embed: no `..`, nothing hidden.
        if path.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
            return None;
        }
        return std::fs::read(std::path::Path::new(&dir).join(path))
            .ok()
            .map(Cow::Owned);
    }
    embedded(path).map(Cow::Borrowed)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The headers every console response carries.
pub fn with_security_headers(mut resp: Response) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    resp
}

/// `GET /console` → `/console/`.
#[handler]
pub fn root() -> Response {
    with_security_headers(
        Response::builder()
            .status(StatusCode::MOVED_PERMANENTLY)
            .header(header::LOCATION, "/console/")
            .finish(),
    )
}

/// `GET /console/` and `GET /console/*path`: a file, revalidated by its
/// hash (`ETag`), so a new tpgate version is picked up at once.
#[handler]
pub fn file(req: &Request) -> Response {
    let path = req.uri().path().strip_prefix("/console/").unwrap_or("");
    let path = if path.is_empty() { "index.html" } else { path };
    let Some(body) = load(path) else {
        return with_security_headers(
            problem::Problem::not_found("no such console file").into_response(),
        );
    };
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..20]);
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    let builder = Response::builder()
        .header(header::ETAG, etag)
        .header(header::CACHE_CONTROL, "no-cache");
    let resp = if fresh {
        builder.status(StatusCode::NOT_MODIFIED).finish()
    } else {
        builder
            .content_type(content_type(path))
            .body(body.into_owned())
    };
    with_security_headers(resp)
}
