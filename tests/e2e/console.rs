//! The operator console's server side over HTTP: its files under a strict
//! CSP, signing in (one-time link, admin JWT, API key with an admin scope),
//! the admin API taking the session cookie with its CSRF checks, sessions
//! ending (sign-out, expiry, suspended tenant, revoked key), and the admin
//! additions the console uses (call counts, onboarding links' QR codes).
use admin_api::Role;
use chrono::Utc;
use reqwest::{Method, header};
use serde_json::{Value, json};
use store::console_sessions::{ConsoleIdentity, SignedInVia};

use crate::helpers::{TestApp, jwt};

/// A browser of the console: its cookie, sent with the console's header
/// and, for writes, its origin.
struct Browser<'a> {
    app: &'a TestApp,
    cookie: Option<String>,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self { app, cookie: None }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .app
            .http
            .request(method.clone(), self.app.url(path))
            .header("x-tpgate-console", "1");
        if method != Method::GET {
            req = req.header(header::ORIGIN, self.app.base.origin().ascii_serialization());
        }
        if let Some(c) = &self.cookie {
            req = req.header(header::COOKIE, format!("tpgate_console={c}"));
        }
        req
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value, reqwest::header::HeaderMap) {
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            headers,
        )
    }

    /// Signs in with `body`; keeps the cookie on success.
    async fn sign_in(&mut self, body: Value) -> (u16, Value) {
        let (status, answer, headers) = self
            .send(
                self.request(Method::POST, "/console/api/session")
                    .json(&body),
            )
            .await;
        if status == 200 {
            let set = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
            for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
                assert!(set.contains(attr), "{set} lacks {attr}");
            }
            assert!(!set.contains("Secure"), "http base URL: no Secure ({set})");
            let value = set
                .split(';')
                .next()
                .and_then(|kv| kv.strip_prefix("tpgate_console="))
                .unwrap();
            self.cookie = Some(value.to_owned());
        }
        (status, answer)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let (s, v, _) = self.send(self.request(Method::GET, path)).await;
        (s, v)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self
            .send(self.request(Method::POST, path).json(&body))
            .await;
        (s, v)
    }
}

fn identity(role: Role, tenant: Option<&str>) -> ConsoleIdentity {
    ConsoleIdentity {
        role: role.as_str().to_owned(),
        subject: "e2e-operator".into(),
        tenant_id: tenant.map(|t| t.to_owned().into()),
        api_key_id: None,
        via: SignedInVia::Link,
    }
}

/// A one-time sign-in link's code, as `tpgate console-login` makes it.
async fn link_code(app: &TestApp, role: Role, tenant: Option<&str>) -> String {
    let url = console::sign_in_link(app.auth.store(), &app.base, &identity(role, tenant))
        .await
        .unwrap();
    assert_eq!(url.path(), "/console/");
    let fragment = url.fragment().unwrap();
    fragment.strip_prefix("/sign-in/").unwrap().to_owned()
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_one_time_link_signs_in_once_and_the_cookie_works_the_admin_api() {
    let app = TestApp::spawn().await;
    let code = link_code(&app, Role::PlatformAdmin, None).await;
    let mut browser = Browser::new(&app);
    let (status, session) = browser.sign_in(json!({ "code": code })).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["role"], "platform_admin");
    assert_eq!(session["via"], "link");
    assert_eq!(session["can_write"], true);

    // Once only.
    let (status, body) = Browser::new(&app).sign_in(json!({ "code": code })).await;
    assert_eq!(status, 401);
    assert!(detail(&body).contains("already used"), "{body}");

    assert_eq!(browser.get("/console/api/session").await.0, 200);
    let (status, created) = browser
        .post("/admin/v1/tenants", json!({ "name": "by-console" }))
        .await;
    assert_eq!(status, 201, "{created}");
    // The audit log names the person, not the session.
    let (_, audit) = browser.get("/admin/v1/audit-log").await;
    assert_eq!(audit["items"][0]["actor"], "e2e-operator");

    // Signing out ends the session on the server.
    let (status, _, headers) = browser
        .send(browser.request(Method::DELETE, "/console/api/session"))
        .await;
    assert_eq!(status, 204);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, body) = browser.get("/admin/v1/tenants").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(browser.get("/console/api/session").await.0, 401);
    app.shutdown().await;
}

#[tokio::test]
async fn cookie_requests_are_refused_without_the_console_header_or_from_another_origin() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let code = link_code(&app, Role::PlatformAdmin, None).await;
    assert_eq!(browser.sign_in(json!({ "code": code })).await.0, 200);
    let cookie = format!("tpgate_console={}", browser.cookie.clone().unwrap());
    let send = |req: reqwest::RequestBuilder| {
        let cookie = cookie.clone();
        async move {
            let resp = req.header(header::COOKIE, cookie).send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let url = app.url("/admin/v1/tenants");
    let body = json!({ "name": "forged" });

    // A cross-site form or image can send neither the header nor our Origin.
    let (status, p) = send(app.http.get(url.clone())).await;
    assert_eq!(status, 403);
    assert!(detail(&p).contains("X-Tpgate-Console"), "{p}");
    let (status, _) = send(app.http.post(url.clone()).json(&body)).await;
    assert_eq!(status, 403);
    let (status, p) = send(
        app.http
            .post(url.clone())
            .header("x-tpgate-console", "1")
            .header(header::ORIGIN, "https://evil.example")
            .json(&body),
    )
    .await;
    assert_eq!(status, 403);
    assert!(detail(&p).contains("Origin"), "{p}");
    let (status, _) = send(
        app.http
            .post(url.clone())
            .header("x-tpgate-console", "1")
            .json(&body),
    )
    .await;
    assert_eq!(status, 403, "a write without Origin");
    // A forged sign-in (login CSRF) is refused too.
    let code = link_code(&app, Role::PlatformAdmin, None).await;
    let resp = app
        .http
        .post(app.url("/console/api/session"))
        .header("x-tpgate-console", "1")
        .header(header::ORIGIN, "https://evil.example")
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);

    // Nothing was created.
    let (_, tenants) = browser.get("/admin/v1/tenants").await;
    assert!(
        tenants["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "forged"),
        "{tenants}"
    );

    // A bearer decides alone: the cookie is ignored beside it.
    let resp = app
        .http
        .get(url.clone())
        .bearer_auth("not-a-token")
        .header(
            header::COOKIE,
            format!("tpgate_console={}", browser.cookie.as_deref().unwrap()),
        )
        .header("x-tpgate-console", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // The session layer's own bearer means nothing without a session.
    let resp = app
        .http
        .get(url)
        .header(
            header::AUTHORIZATION,
            admin_api::auth::SESSION_AUTHORIZATION,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    app.shutdown().await;
}

#[tokio::test]
async fn a_jwt_or_an_admin_api_key_signs_in_and_its_session_ends_with_it() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("console-keys").await;
    let other = app.create_tenant("console-other").await;

    // An admin JWT: the session is bounded by its expiry.
    let token = jwt()
        .mint(
            "jwt-operator",
            Role::PlatformViewer,
            None,
            chrono::Duration::minutes(5),
        )
        .unwrap();
    let mut viewer = Browser::new(&app);
    let (status, session) = viewer.sign_in(json!({ "token": token })).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(
        (session["role"].as_str(), session["can_write"].as_bool()),
        (Some("platform_viewer"), Some(false))
    );
    let ends: chrono::DateTime<Utc> = session["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(ends <= Utc::now() + chrono::Duration::minutes(5), "{ends}");
    let (status, _) = viewer
        .post("/admin/v1/tenants", json!({ "name": "viewer" }))
        .await;
    assert_eq!(status, 403, "a viewer's session changes nothing");

    // A proxy-only key may not sign in; an admin key may.
    let proxy_key = app.create_api_key(&tenant).await;
    let (status, body) = Browser::new(&app)
        .sign_in(json!({ "token": proxy_key }))
        .await;
    assert_eq!(status, 403, "{body}");
    let key = app
        .create_api_key_with(
            &tenant,
            json!({ "name": "console", "scopes": ["admin_read", "admin_write"] }),
        )
        .await;
    let mut tenant_admin = Browser::new(&app);
    let (status, session) = tenant_admin.sign_in(json!({ "token": key })).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["tenant_id"], tenant.as_str());
    assert_eq!(session["via"], "api_key");
    // Only its own tenant.
    let (_, tenants) = tenant_admin.get("/admin/v1/tenants").await;
    let ids: Vec<&str> = tenants["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [tenant.as_str()]);
    assert_eq!(
        tenant_admin
            .get(&format!("/admin/v1/tenants/{other}"))
            .await
            .0,
        403
    );

    // Revoking the key ends the session at its next request.
    let keys = app
        .admin_get(&format!("/admin/v1/tenants/{tenant}/api-keys"))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let key_id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "console")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/api-keys/{key_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let (status, body) = tenant_admin.get("/admin/v1/tenants").await;
    assert_eq!(status, 401, "{body}");
    assert!(detail(&body).contains("revoked"), "{body}");
    assert_eq!(tenant_admin.get("/console/api/session").await.0, 401);

    // Garbage is refused with a clear error, and changes nothing.
    let (status, body) = Browser::new(&app)
        .sign_in(json!({ "token": "nonsense" }))
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = Browser::new(&app)
        .sign_in(json!({ "code": "x", "token": "y" }))
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = Browser::new(&app)
        .sign_in(json!({ "code": "x".repeat(100_000) }))
        .await;
    assert!(status == 400 || status == 413, "{status}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_suspended_tenants_session_ends_and_an_expired_session_is_refused() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("console-suspend").await;
    let mut browser = Browser::new(&app);
    let code = link_code(&app, Role::TenantAdmin, Some(&tenant)).await;
    assert_eq!(browser.sign_in(json!({ "code": code })).await.0, 200);
    assert_eq!(
        browser.get(&format!("/admin/v1/tenants/{tenant}")).await.0,
        200
    );

    let resp = app
        .admin_post(&format!("/admin/v1/tenants/{tenant}/suspend"), json!({}))
        .await;
    assert_eq!(resp.status(), 200);
    let (status, body) = browser.get(&format!("/admin/v1/tenants/{tenant}")).await;
    assert_eq!(status, 401, "{body}");
    assert!(detail(&body).contains("suspended"), "{body}");
    // Ended for good: resuming the tenant does not bring it back.
    let resp = app
        .admin_post(&format!("/admin/v1/tenants/{tenant}/resume"), json!({}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        browser.get(&format!("/admin/v1/tenants/{tenant}")).await.0,
        401
    );
    // A suspended tenant's admin cannot sign in either.
    app.admin_post(&format!("/admin/v1/tenants/{tenant}/suspend"), json!({}))
        .await;
    let code = link_code(&app, Role::TenantAdmin, Some(&tenant)).await;
    assert_eq!(
        Browser::new(&app).sign_in(json!({ "code": code })).await.0,
        403
    );

    // A session past its lifetime.
    let (_, token) = app
        .auth
        .store()
        .open_console_session(
            &identity(Role::PlatformAdmin, None),
            Utc::now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    let expired = Browser {
        app: &app,
        cookie: Some(token.expose().to_owned()),
    };
    let (status, body) = expired.get("/admin/v1/tenants").await;
    assert_eq!(status, 401);
    assert!(detail(&body).contains("expired"), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn console_files_are_served_under_a_strict_policy() {
    let app = TestApp::spawn().await;
    let resp = app.http.get(app.url("/console")).send().await.unwrap();
    assert_eq!(resp.status(), 301);
    let mut served = 0;
    for path in console::assets::paths() {
        let resp = app
            .http
            .get(app.url(&format!("/console/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let h = resp.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        let ct = h[header::CONTENT_TYPE].to_str().unwrap();
        if path.ends_with(".js") {
            assert!(ct.starts_with("text/javascript"), "{path}: {ct}");
        }
        let etag = h[header::ETAG].clone();
        let again = app
            .http
            .get(app.url(&format!("/console/{path}")))
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        served += 1;
    }
    assert!(served >= 5, "the console has its files ({served})");
    let index = app
        .http
        .get(app.url("/console/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        index.contains("app.js") && !index.contains("<script>"),
        "no inline script"
    );
    for bad in [
        "/console/nope.js",
        "/console/../Cargo.toml",
        "/console/.hidden",
    ] {
        let resp = app.http.get(app.url(bad)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{bad}");
    }
    app.shutdown().await;
}

#[tokio::test]
async fn call_stats_count_per_hour_and_per_mini_program_within_the_callers_tenant() {
    let app = TestApp::spawn().await;
    let (tenant, key, appid) = app.onboarded_tenant("console-stats").await;
    let (status, _) = app
        .proxy(
            &key,
            &appid,
            "get_order",
            &json!({ "transaction_id": "nope" }),
        )
        .await;
    assert!(status >= 400, "an unknown order is refused by WeChat");
    let stats = |q: String| {
        let app = &app;
        async move {
            crate::helpers::eventually(
                std::time::Duration::from_secs(5),
                "the call is recorded",
                async || {
                    let v: Value = app
                        .admin_get(&format!("/admin/v1/call-stats?{q}"))
                        .await
                        .json()
                        .await
                        .unwrap();
                    v["groups"]
                        .as_array()
                        .is_some_and(|g| g.iter().any(|g| g["calls"].as_u64() > Some(0)))
                },
            )
            .await;
            app.admin_get(&format!("/admin/v1/call-stats?{q}"))
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let hours = stats("group_by=hour".into()).await;
    let groups = hours["groups"].as_array().unwrap();
    assert!(
        (24..=25).contains(&groups.len()),
        "every hour of the day: {}",
        groups.len()
    );
    let total: u64 = groups.iter().map(|g| g["calls"].as_u64().unwrap()).sum();
    assert!(total >= 1);
    let per_app = stats(format!("group_by=appid&tenant_id={tenant}")).await;
    let mine = &per_app["groups"][0];
    assert_eq!(mine["key"], appid.as_str());
    assert!(mine["errors"].as_u64().unwrap() >= 1, "{mine}");

    let resp = app.admin_get("/admin/v1/call-stats?group_by=hour&since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z").await;
    assert_eq!(resp.status(), 400);
    let resp = app.admin_get("/admin/v1/call-stats?group_by=week").await;
    assert_eq!(resp.status(), 400);
    app.shutdown().await;
}

#[tokio::test]
async fn a_new_onboarding_link_comes_with_its_pc_and_mobile_links_as_qr_codes() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("console-qr").await;
    let resp = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/onboarding-links"),
            json!({}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let link: Value = resp.json().await.unwrap();
    let url = link["url"].as_str().unwrap();
    assert_eq!(link["pc_url"], format!("{url}?page=pc"));
    assert_eq!(link["mobile_url"], format!("{url}?page=mobile"));
    for field in ["pc_qr_svg", "mobile_qr_svg"] {
        let svg = link[field].as_str().unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{field}");
    }
    assert_ne!(link["pc_qr_svg"], link["mobile_qr_svg"]);
    app.shutdown().await;
}
