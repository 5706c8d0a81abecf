//! The `Allow` header on 405 answers (RFC 9110 §15.5.6 requires it; poem
//! sends none). Allowed methods come from the OpenAPI document for the API
//! paths, plus the few routes outside it, so the header can never disagree
//! with what is served.
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result,
    http::{HeaderValue, StatusCode, header},
};

/// Path templates (`{param}` segments match anything) and their methods.
#[derive(Debug, Clone, Default)]
pub struct AllowedMethods {
    routes: Vec<(Vec<String>, String)>,
}

/// Routes served outside the OpenAPI document.
const EXTRA_ROUTES: &[(&str, &str)] = &[
    ("/wechat/component/events", "POST"),
    ("/v1/apps/{appid}/raw/{*}", "POST"),
    ("/onboard/complete", "GET"),
    ("/onboard/{token}", "GET"),
    ("/healthz", "GET"),
    ("/readyz", "GET"),
    ("/metrics", "GET"),
    ("/openapi.json", "GET"),
];

fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .map(str::to_owned)
        .collect()
}

impl AllowedMethods {
    pub fn from_spec(spec: &serde_json::Value) -> Self {
        let mut routes: Vec<(Vec<String>, String)> = EXTRA_ROUTES
            .iter()
            .map(|(p, m)| (segments(p), (*m).to_owned()))
            .collect();
        if let Some(paths) = spec.get("paths").and_then(|p| p.as_object()) {
            for (path, item) in paths {
                let Some(ops) = item.as_object() else {
                    continue;
                };
                let methods: Vec<String> = ops
                    .keys()
                    .filter(|m| {
                        matches!(
                            m.as_str(),
                            "get" | "put" | "post" | "delete" | "patch" | "head" | "options"
                        )
                    })
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                if !methods.is_empty() {
                    routes.push((segments(path), methods.join(", ")));
                }
            }
        }
        Self { routes }
    }

    /// The methods served at `path`, if any route matches it.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        let wanted = segments(path);
        self.routes
            .iter()
            .find(|(template, _)| matches(template, &wanted))
            .map(|(_, methods)| methods.as_str())
    }
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

impl<E: Endpoint> Middleware<E> for AllowedMethods {
    type Output = AllowEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        AllowEndpoint {
            inner,
            allowed: self.clone(),
        }
    }
}

pub struct AllowEndpoint<E> {
    inner: E,
    allowed: AllowedMethods,
}

impl<E: Endpoint> Endpoint for AllowEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let path = req.uri().path().to_owned();
        let mut resp = self.inner.call(req).await?.into_response();
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(methods) = self.allowed.allowed(&path)
            && let Ok(value) = HeaderValue::from_str(methods)
        {
            resp.headers_mut().insert(header::ALLOW, value);
        }
        Ok(resp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_paths() {
        let spec = serde_json::json!({"paths": {
            "/admin/v1/tenants/{tenant_id}": {"get": {}, "patch": {}, "delete": {}, "parameters": []},
        }});
        let a = AllowedMethods::from_spec(&spec);
        assert_eq!(
            a.allowed("/admin/v1/tenants/abc"),
            Some("DELETE, GET, PATCH")
        );
        assert_eq!(a.allowed("/admin/v1/tenants/abc/x"), None);
        assert_eq!(a.allowed("/v1/apps/wx1/raw/wxa/x"), Some("POST"));
        assert_eq!(a.allowed("/v1/apps/wx1/raw"), None);
        assert_eq!(a.allowed("/healthz"), Some("GET"));
    }
}
