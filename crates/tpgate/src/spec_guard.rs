//! Two request checks derived from the OpenAPI document, so they can never
//! disagree with what is served:
//! - a 405 carries `Allow` (RFC 9110 §15.5.6 requires it; poem sends none);
//! - a query parameter the operation does not define is a 400 naming it,
//!   like an unknown body field: `?stauts=active` would otherwise silently
//!   list everything.
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, Method, StatusCode, header},
};
use problem::Problem;

/// One path template (`{param}` segments match any one segment; a final
/// `{*}` matches the rest) with its operations.
#[derive(Debug, Clone)]
struct Route {
    segments: Vec<String>,
    /// Method and the query parameters it accepts (None: not checked).
    operations: Vec<(Method, Option<Vec<String>>)>,
}

#[derive(Debug, Clone, Default)]
pub struct SpecGuard {
    routes: Vec<Route>,
}

/// A path's segments; poem's `:param` becomes `{param}` and a final
/// `*rest` becomes `{*}`, the spec's spelling.
fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(|s| {
            if let Some(name) = s.strip_prefix(':') {
                format!("{{{name}}}")
            } else if s.starts_with('*') {
                "{*}".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect()
}

impl SpecGuard {
    /// From the OpenAPI document and the routes served outside it (poem's
    /// path syntax; their query is not checked).
    pub fn from_spec<'a>(
        spec: &serde_json::Value,
        extra: impl IntoIterator<Item = (&'a str, Method)>,
    ) -> Self {
        let mut routes: Vec<Route> = extra
            .into_iter()
            .map(|(p, m)| Route {
                segments: segments(p),
                operations: vec![(m, None)],
            })
            .collect();
        let paths = spec.get("paths").and_then(|p| p.as_object());
        for (path, item) in paths.into_iter().flatten() {
            let Some(ops) = item.as_object() else {
                continue;
            };
            let operations: Vec<(Method, Option<Vec<String>>)> = ops
                .iter()
                .filter_map(|(m, op)| {
                    let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok()?;
                    let query = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| p["name"].as_str().map(str::to_owned))
                        .collect();
                    Some((method, Some(query)))
                })
                .collect();
            if !operations.is_empty() {
                routes.push(Route {
                    segments: segments(path),
                    operations,
                });
            }
        }
        Self { routes }
    }

    fn route(&self, path: &str) -> Option<&Route> {
        let wanted = segments(path);
        self.routes.iter().find(|r| matches(&r.segments, &wanted))
    }

    /// The methods served at `path`, if any route matches it.
    pub fn allowed(&self, path: &str) -> Option<String> {
        self.route(path).map(|r| {
            r.operations
                .iter()
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// The first query parameter of `query` that the operation does not define.
    pub fn unknown_query_parameter(
        &self,
        method: &Method,
        path: &str,
        query: &str,
    ) -> Option<String> {
        let (_, known) = self
            .route(path)?
            .operations
            .iter()
            .find(|(m, _)| m == method)?;
        let known = known.as_ref()?;
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, _)| name.into_owned())
            .find(|name| !known.iter().any(|k| k == name))
    }
}

/// `path`, or the name of the first query parameter, when it holds a C0
/// control character.
fn control_char_in(path: &str, query: Option<&str>) -> Option<String> {
    // %00–%1F; a raw control character cannot be in a request line.
    let encoded_control = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && matches!(w[1], b'0' | b'1') && w[2].is_ascii_hexdigit())
    };
    if encoded_control(path) {
        return Some("path".to_owned());
    }
    let bad = |s: &str| s.chars().any(|c| (c as u32) < 0x20);
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, v)| bad(k) || bad(v))
        .map(|(k, _)| k.into_owned())
}

fn matches(template: &[String], path: &[String]) -> bool {
    if template.last().is_some_and(|s| s == "{*}") {
        let fixed = &template[..template.len() - 1];
        return path.len() > fixed.len() && matches(fixed, &path[..fixed.len()]);
    }
    template.len() == path.len()
        && template
            .iter()
            .zip(path)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

impl<E: Endpoint> Middleware<E> for SpecGuard {
    type Output = SpecGuardEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SpecGuardEndpoint {
            inner,
            guard: self.clone(),
        }
    }
}

pub struct SpecGuardEndpoint<E> {
    inner: E,
    guard: SpecGuard,
}

impl<E: Endpoint> Endpoint for SpecGuardEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        // A NUL (or other C0 control) in the path or query: Postgres refuses
        // NUL in text, and no id, appid or filter holds one.
        if let Some(part) = control_char_in(&path, req.uri().query()) {
            return Ok(
                Problem::validation(part, "the URL must not contain control characters")
                    .into_response(),
            );
        }
        if let Some(query) = req.uri().query()
            && let Some(name) = self
                .guard
                .unknown_query_parameter(req.method(), &path, query)
        {
            return Ok(Problem::validation(
                name.clone(),
                format!("unknown query parameter `{name}`"),
            )
            .into_response());
        }
        let mut resp = self.inner.call(req).await?.into_response();
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(methods) = self.guard.allowed(&path)
            && let Ok(value) = HeaderValue::from_str(&methods)
        {
            resp.headers_mut().insert(header::ALLOW, value);
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> SpecGuard {
        SpecGuard::from_spec(
            &serde_json::json!({"paths": {
                "/admin/v1/tenants/{tenant_id}": {
                    "get": {"parameters": [{"name": "tenant_id", "in": "path"}]},
                    "delete": {"parameters": [{"name": "force", "in": "query"}]},
                    "patch": {},
                },
            }}),
            [
                ("/v1/apps/:appid/raw/*path", Method::POST),
                ("/healthz", Method::GET),
                ("/onboard/:token", Method::GET),
            ],
        )
    }

    #[test]
    fn templates_match_paths() {
        let g = guard();
        assert_eq!(
            g.allowed("/admin/v1/tenants/abc").as_deref(),
            Some("DELETE, GET, PATCH")
        );
        assert_eq!(g.allowed("/admin/v1/tenants/abc/x"), None);
        assert_eq!(g.allowed("/v1/apps/wx1/raw/wxa/x").as_deref(), Some("POST"));
        assert_eq!(g.allowed("/v1/apps/wx1/raw"), None);
        assert_eq!(g.allowed("/healthz").as_deref(), Some("GET"));
    }

    #[test]
    fn control_characters_in_urls_are_found() {
        assert_eq!(
            control_char_in("/admin/v1/tenants/a%00b", None).as_deref(),
            Some("path")
        );
        assert_eq!(
            control_char_in("/a", Some("name=x%00")).as_deref(),
            Some("name")
        );
        assert_eq!(
            control_char_in("/a+b/c%20d=%1f", None).as_deref(),
            Some("path")
        );
        assert_eq!(control_char_in("/a+b/c%20d", Some("name=a+b")), None);
    }

    #[test]
    fn unknown_query_parameters_are_named() {
        let g = guard();
        let t = "/admin/v1/tenants/abc";
        assert_eq!(
            g.unknown_query_parameter(&Method::DELETE, t, "force=true"),
            None
        );
        assert_eq!(
            g.unknown_query_parameter(&Method::DELETE, t, "force=true&forse=1")
                .as_deref(),
            Some("forse")
        );
        assert_eq!(
            g.unknown_query_parameter(&Method::GET, t, "=null")
                .as_deref(),
            Some("")
        );
        // Routes outside the spec are not checked.
        assert_eq!(
            g.unknown_query_parameter(&Method::GET, "/onboard/x", "page=pc&y=1"),
            None
        );
    }
}
