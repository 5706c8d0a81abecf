//! The admin API, endpoint by endpoint: every operation in the served spec
//! is walked for 401 (no / bad credentials), 403 (wrong role, another
//! tenant's admin, read-only key), 400 (a field named), 404 and success;
//! a tenant admin reads nothing of another tenant; nothing that failed
//! changed anything (the audit log stays still); no response ever carries a
//! key, secret, token or key hash. Then the behaviours behind the endpoints:
//! suspension and key revocation apply at once (on every replica), paging,
//! read-only keys, webhook secret rotation, force delete, the audit trail.
use std::collections::BTreeSet;

use admin_api::Role;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, TestOptions, eventually, jwt, upload_body};

/// One HTTP exchange, kept for the secret scan.
struct Exchange {
    what: String,
    body: String,
}

/// Calls the gateway and records every response body.
struct Admin<'a> {
    app: &'a TestApp,
    seen: std::sync::Mutex<Vec<Exchange>>,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl<'a> Admin<'a> {
    fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn send(
        &self,
        method: &Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut req = self.app.http.request(method.clone(), self.app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        self.seen.lock().unwrap().push(Exchange {
            what: format!("{method} {path} → {status}"),
            body: text.clone(),
        });
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    async fn ok(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let r = self.send(&method, path, Some(token), body.as_ref()).await;
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
        r.body
    }

    async fn audit_len(&self) -> usize {
        let mut n = 0;
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/admin/v1/audit-log?limit=200&cursor={c}"),
                None => "/admin/v1/audit-log?limit=200".to_owned(),
            };
            let page = self
                .ok(Method::GET, &path, &self.app.admin_token, None)
                .await;
            n += page["items"].as_array().unwrap().len();
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return n,
            }
        }
    }
}

fn token(role: Role, tenant: Option<&str>) -> String {
    jwt()
        .mint(
            "walker",
            role,
            tenant.map(str::to_owned),
            chrono::Duration::hours(1),
        )
        .unwrap()
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// platform_admin / platform_viewer only.
    PlatformRead,
    /// platform_admin only.
    PlatformWrite,
    /// Any role, but a tenant admin only inside its tenant (403 elsewhere).
    TenantRead,
    TenantWrite,
    /// Addressed by an id that belongs to a tenant: another tenant's admin
    /// gets the same 404 as for an unknown id.
    OwnedRead,
    OwnedWrite,
    /// A listing: a tenant admin sees only its own (403 when asking for
    /// another tenant explicitly).
    ScopedList,
}

impl Access {
    fn writes(self) -> bool {
        matches!(
            self,
            Self::PlatformWrite | Self::TenantWrite | Self::OwnedWrite
        )
    }
}

/// One operation with concrete requests against tenant A's resources.
struct Case {
    op: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    access: Access,
    /// A request that must be a 400 naming `field`: (path, body, field).
    invalid: Option<(String, Option<Value>, &'static str)>,
    /// A path naming something that does not exist (404).
    missing: Option<String>,
}

fn case(op: &'static str, method: Method, path: String, access: Access) -> Case {
    Case {
        op,
        method,
        path,
        body: None,
        access,
        invalid: None,
        missing: None,
    }
}

impl Case {
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn invalid(mut self, path: String, body: Option<Value>, field: &'static str) -> Self {
        self.invalid = Some((path, body, field));
        self
    }
    fn missing(mut self, path: String) -> Self {
        self.missing = Some(path);
        self
    }
}

/// Everything the walk needs: tenant A (onboarded, with a key, link,
/// webhook and a throwaway of each to revoke/delete), tenant B (the
/// outsider), and a tenant C to delete.
struct World {
    a: String,
    a_key_id: String,
    appid: String,
    link_id: String,
    webhook_id: String,
    spare_webhook_id: String,
    spare_key_id: String,
    event_id: String,
    /// A call tenant A's request made (seeded in the call log).
    call_id: String,
    b: String,
    c: String,
    secrets: Vec<String>,
}

async fn world(app: &TestApp, admin: &Admin<'_>) -> World {
    let root = app.admin_token.clone();
    let (a, a_key, appid) = app.onboarded_tenant("Tenant A").await;
    let b = app.create_tenant("Tenant B").await;
    let c = app.create_tenant("Tenant C").await;
    let keys = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/tenants/{a}/api-keys"),
            &root,
            None,
        )
        .await;
    let a_key_id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let spare = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{a}/api-keys"),
            &root,
            Some(json!({"name": "spare"})),
        )
        .await;
    let links = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/tenants/{a}/onboarding-links"),
            &root,
            None,
        )
        .await;
    let link_id = links["items"][0]["id"].as_str().unwrap().to_owned();
    let mut webhook_secrets = Vec::new();
    let webhook = |url: &'static str| {
        let admin = &admin;
        let root = root.clone();
        let a = a.clone();
        async move {
            admin
                .ok(
                    Method::POST,
                    &format!("/admin/v1/tenants/{a}/webhooks"),
                    &root,
                    Some(json!({"url": url})),
                )
                .await
        }
    };
    let w1 = webhook("https://hooks.example/a").await;
    let w2 = webhook("https://hooks.example/spare").await;
    webhook_secrets.push(w1["secret"].as_str().unwrap().to_owned());
    webhook_secrets.push(w2["secret"].as_str().unwrap().to_owned());
    let events = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/events?tenant_id={a}"),
            &root,
            None,
        )
        .await;
    let event_id = events["items"][0]["id"]
        .as_str()
        .expect("onboarding recorded an event")
        .to_owned();

    // What must never appear in a response other than the one that created it.
    let store = app.auth.store();
    store
        .insert_calls(vec![{
            let mut call = store::calls::NewCall::new("get_order", store::calls::CallOutcome::Ok);
            call.request_id = Some("walk-call".into());
            call.tenant_id = Some(a.clone().into());
            call.appid = Some(appid.clone().into());
            call.status = Some(200);
            call
        }])
        .await
        .unwrap();
    let call_filter = store::calls::CallFilter {
        request_id: Some("walk-call".into()),
        ..Default::default()
    };
    let call_id = store.list_calls(&call_filter, None, 1).await.unwrap()[0]
        .id
        .clone();
    let tokens = store.authorizer_tokens(&appid).await.unwrap().unwrap();
    let access = app.auth.authorizer_access_token(&appid).await.unwrap();
    let spare_key = spare["key"].as_str().unwrap().to_owned();
    let mut secrets = vec![
        a_key.clone(),
        spare_key.clone(),
        hex::encode(Sha256::digest(a_key.as_bytes())),
        hex::encode(Sha256::digest(spare_key.as_bytes())),
        tokens.refresh_token.expose().to_owned(),
        access.token.expose().to_owned(),
        app.config
            .admin
            .jwt_secret
            .clone()
            .unwrap()
            .expose()
            .to_owned(),
        app.config.sealing_key.clone().unwrap().expose().to_owned(),
        app.config.component.secret.expose().to_owned(),
        app.config.component.encoding_aes_key.expose().to_owned(),
    ];
    secrets.extend(webhook_secrets);
    World {
        a,
        a_key_id,
        appid,
        link_id,
        webhook_id: w1["id"].as_str().unwrap().to_owned(),
        spare_webhook_id: w2["id"].as_str().unwrap().to_owned(),
        spare_key_id: spare["id"].as_str().unwrap().to_owned(),
        event_id,
        call_id,
        b,
        c,
        secrets,
    }
}

fn cases(w: &World) -> Vec<Case> {
    use Access::*;
    let (a, b, c, appid) = (&w.a, &w.b, &w.c, &w.appid);
    let nobody = "00000000-0000-7000-8000-000000000000";
    let t = |rest: &str| format!("/admin/v1/tenants/{a}{rest}");
    vec![
        case("create_tenant", Method::POST, "/admin/v1/tenants".into(), PlatformWrite)
            .body(json!({"name": "Tenant D"}))
            .invalid("/admin/v1/tenants".into(), Some(json!({"name": ""})), "name"),
        case("list_tenants", Method::GET, "/admin/v1/tenants".into(), ScopedList)
            .invalid("/admin/v1/tenants?limit=0".into(), None, "limit"),
        case("get_tenant", Method::GET, t(""), TenantRead)
            .missing(format!("/admin/v1/tenants/{nobody}")),
        case("update_tenant", Method::PATCH, t(""), PlatformWrite)
            .body(json!({"name": "Tenant A2"}))
            .invalid(t(""), Some(json!({"name": "   "})), "name")
            .missing(format!("/admin/v1/tenants/{nobody}")),
        case("delete_tenant", Method::DELETE, format!("/admin/v1/tenants/{c}"), PlatformWrite)
            .invalid(format!("/admin/v1/tenants/{c}?force=maybe"), None, "force")
            .missing(format!("/admin/v1/tenants/{nobody}")),
        case("suspend_tenant", Method::POST, format!("/admin/v1/tenants/{b}/suspend"), PlatformWrite)
            .missing(format!("/admin/v1/tenants/{nobody}/suspend")),
        case("resume_tenant", Method::POST, format!("/admin/v1/tenants/{b}/resume"), PlatformWrite)
            .missing(format!("/admin/v1/tenants/{nobody}/resume")),
        case("set_tenant_raw_passthrough", Method::PUT, t("/raw-passthrough"), PlatformWrite)
            .body(json!({"enabled": false}))
            .invalid(t("/raw-passthrough"), Some(json!({"enabled": "yes"})), "enabled")
            .missing(format!("/admin/v1/tenants/{nobody}/raw-passthrough")),
        case("create_api_key", Method::POST, t("/api-keys"), TenantWrite)
            .body(json!({"name": "walk", "scopes": ["read"], "expires_in_secs": 3600}))
            .invalid(t("/api-keys"), Some(json!({"name": "x", "scopes": ["admin"]})), "scopes[0]")
            .missing(format!("/admin/v1/tenants/{nobody}/api-keys")),
        case("list_api_keys", Method::GET, t("/api-keys"), TenantRead)
            .invalid(t("/api-keys?cursor=%25%25"), None, "cursor")
            .missing(format!("/admin/v1/tenants/{nobody}/api-keys")),
        case("get_api_key", Method::GET, t(&format!("/api-keys/{}", w.a_key_id)), TenantRead)
            .missing(t(&format!("/api-keys/{nobody}"))),
        case("revoke_api_key", Method::POST, t(&format!("/api-keys/{}/revoke", w.spare_key_id)), TenantWrite)
            .missing(t(&format!("/api-keys/{nobody}/revoke"))),
        case("create_onboarding_link", Method::POST, t("/onboarding-links"), TenantWrite)
            .body(json!({"expires_in_secs": 600}))
            .invalid(t("/onboarding-links"), Some(json!({"biz_appid": "not-an-appid"})), "biz_appid")
            .missing(format!("/admin/v1/tenants/{nobody}/onboarding-links")),
        case("list_onboarding_links", Method::GET, t("/onboarding-links"), TenantRead)
            .invalid(t("/onboarding-links?limit=1000"), None, "limit")
            .missing(format!("/admin/v1/tenants/{nobody}/onboarding-links")),
        case("revoke_onboarding_link", Method::POST, t(&format!("/onboarding-links/{}/revoke", w.link_id)), TenantWrite)
            .missing(t(&format!("/onboarding-links/{nobody}/revoke"))),
        case("list_authorizers", Method::GET, "/admin/v1/authorizers".into(), ScopedList)
            .invalid("/admin/v1/authorizers?status=sleeping".into(), None, "status"),
        case("get_authorizer", Method::GET, format!("/admin/v1/authorizers/{appid}"), OwnedRead)
            .missing("/admin/v1/authorizers/wx0000000000000000".into()),
        case("refresh_authorizer_token", Method::POST, format!("/admin/v1/authorizers/{appid}/refresh-token"), OwnedWrite)
            .missing("/admin/v1/authorizers/wx0000000000000000/refresh-token".into()),
        case("move_authorizer", Method::POST, format!("/admin/v1/authorizers/{appid}/move"), PlatformWrite)
            .body(json!({"tenant_id": a}))
            .invalid(format!("/admin/v1/authorizers/{appid}/move"), Some(json!({"tenant_id": nobody})), "tenant_id")
            .missing("/admin/v1/authorizers/wx0000000000000000/move".into()),
        case("resync_authorizer", Method::POST, format!("/admin/v1/authorizers/{appid}/resync"), PlatformWrite)
            .missing("/admin/v1/authorizers/wx0000000000000000/resync".into()),
        case("revoke_authorizer", Method::POST, format!("/admin/v1/authorizers/{appid}/revoke"), OwnedWrite)
            .body(json!({"reason": "walk"}))
            .invalid(format!("/admin/v1/authorizers/{appid}/revoke"), Some(json!({"reason": null})), "reason")
            .missing("/admin/v1/authorizers/wx0000000000000000/revoke".into()),
        case("list_rate_limit_policies", Method::GET, "/admin/v1/rate-limit-policies".into(), PlatformRead),
        case("put_rate_limit_policy", Method::PUT, "/admin/v1/rate-limit-policies".into(), PlatformWrite)
            .body(json!({"api_group": "shipping", "dimension": "appid", "window": "minute", "scope": format!("tenant:{a}"), "max_calls": 1000}))
            .invalid("/admin/v1/rate-limit-policies".into(), Some(json!({"api_group": "shipping", "dimension": "planet", "window": "minute", "scope": "global", "max_calls": 1})), "dimension"),
        case("delete_rate_limit_policy", Method::DELETE, "/admin/v1/rate-limit-policies/{policy}".into(), PlatformWrite)
            .missing(format!("/admin/v1/rate-limit-policies/{nobody}")),
        case("get_usage", Method::GET, format!("/admin/v1/usage?appid={appid}"), OwnedRead)
            .invalid(format!("/admin/v1/usage?appid={appid}&date=yesterday"), None, "date")
            .missing("/admin/v1/usage?appid=wx0000000000000000".into()),
        case("create_webhook", Method::POST, t("/webhooks"), TenantWrite)
            .body(json!({"url": "https://hooks.example/new", "event_types": ["authorization.revoked"]}))
            .invalid(t("/webhooks"), Some(json!({"url": "ftp://hooks.example/"})), "url")
            .missing(format!("/admin/v1/tenants/{nobody}/webhooks")),
        case("list_webhooks", Method::GET, t("/webhooks"), TenantRead)
            .invalid(t("/webhooks?limit=-1"), None, "limit")
            .missing(format!("/admin/v1/tenants/{nobody}/webhooks")),
        case("get_webhook", Method::GET, t(&format!("/webhooks/{}", w.webhook_id)), TenantRead)
            .missing(t(&format!("/webhooks/{nobody}"))),
        case("update_webhook", Method::PATCH, t(&format!("/webhooks/{}", w.webhook_id)), TenantWrite)
            .body(json!({"enabled": false}))
            .invalid(t(&format!("/webhooks/{}", w.webhook_id)), Some(json!({"event_types": ["bad type"]})), "event_types[0]")
            .missing(t(&format!("/webhooks/{nobody}"))),
        case("rotate_webhook_secret", Method::POST, t(&format!("/webhooks/{}/rotate-secret", w.webhook_id)), TenantWrite)
            .body(json!({"previous_secret_valid_for_secs": 60}))
            .invalid(t(&format!("/webhooks/{}/rotate-secret", w.webhook_id)), Some(json!({"previous_secret_valid_for_secs": 10_000_000})), "previous_secret_valid_for_secs")
            .missing(t(&format!("/webhooks/{nobody}/rotate-secret"))),
        case("delete_webhook", Method::DELETE, t(&format!("/webhooks/{}", w.spare_webhook_id)), TenantWrite)
            .missing(t(&format!("/webhooks/{nobody}"))),
        case("list_events", Method::GET, "/admin/v1/events".into(), ScopedList)
            .invalid("/admin/v1/events?since=tuesday".into(), None, "since"),
        case("get_event", Method::GET, format!("/admin/v1/events/{}", w.event_id), OwnedRead)
            .missing(format!("/admin/v1/events/{nobody}")),
        case("list_event_deliveries", Method::GET, format!("/admin/v1/events/{}/deliveries", w.event_id), OwnedRead)
            .missing(format!("/admin/v1/events/{nobody}/deliveries")),
        case("list_webhook_deliveries", Method::GET, t(&format!("/webhooks/{}/deliveries", w.webhook_id)), TenantRead)
            .invalid(t(&format!("/webhooks/{}/deliveries?status=lost", w.webhook_id)), None, "status")
            .missing(t(&format!("/webhooks/{nobody}/deliveries"))),
        case("replay_event", Method::POST, format!("/admin/v1/events/{}/replay", w.event_id), OwnedWrite)
            .missing(format!("/admin/v1/events/{nobody}/replay")),
        case("replay_events", Method::POST, "/admin/v1/events/replay".into(), TenantWrite)
            .body(json!({"tenant_id": a, "since": "2020-01-01T00:00:00Z"}))
            .invalid("/admin/v1/events/replay".into(), Some(json!({"tenant_id": a, "since": "tuesday"})), "since"),
        case("list_audit_log", Method::GET, "/admin/v1/audit-log".into(), ScopedList)
            .invalid("/admin/v1/audit-log?limit=abc".into(), None, "limit"),
        case("get_platform_status", Method::GET, "/admin/v1/platform/status".into(), PlatformRead),
        case("list_calls", Method::GET, "/admin/v1/calls".into(), ScopedList)
            .invalid("/admin/v1/calls?outcome=lost".into(), None, "outcome"),
        case("list_pending_orders", Method::GET, "/admin/v1/shipping/pending".into(), ScopedList)
            .invalid("/admin/v1/shipping/pending?min_age_hours=-1".into(), None, "min_age_hours"),
        case("list_shipments_admin", Method::GET, "/admin/v1/shipping/shipments".into(), ScopedList)
            .invalid("/admin/v1/shipping/shipments?status=lost".into(), None, "status"),
        case("get_call_stats", Method::GET, "/admin/v1/call-stats?group_by=appid".into(), ScopedList)
            .invalid("/admin/v1/call-stats?group_by=week".into(), None, "group_by"),
        case("get_call", Method::GET, format!("/admin/v1/calls/{}", w.call_id), OwnedRead)
            .missing(format!("/admin/v1/calls/{nobody}")),
        case("get_authorizer_health", Method::GET, format!("/admin/v1/authorizers/{appid}/health"), OwnedRead)
            .invalid(format!("/admin/v1/authorizers/{appid}/health?refresh=maybe"), None, "refresh")
            .missing("/admin/v1/authorizers/wx0000000000000000/health".into()),
    ]
}

/// Operations whose success is destructive run last, in this order.
const LAST: &[&str] = &[
    "revoke_api_key",
    "delete_webhook",
    "delete_tenant",
    "revoke_authorizer",
];

#[tokio::test]
async fn every_admin_endpoint_checks_credentials_roles_input_and_existence() {
    let app = TestApp::spawn().await;
    let admin = Admin::new(&app);
    let w = world(&app, &admin).await;
    let mut cases = cases(&w);

    // The table covers exactly the admin operations the gateway serves.
    let spec: Value = app
        .http
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let served: BTreeSet<String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.starts_with("/admin/"))
        .flat_map(|(_, item)| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str().map(str::to_owned))
        .collect();
    let walked: BTreeSet<String> = cases.iter().map(|c| c.op.to_owned()).collect();
    assert_eq!(
        served, walked,
        "every admin operation needs a row in this walk"
    );

    let root = app.admin_token.clone();
    let viewer = token(Role::PlatformViewer, None);
    let a_admin = token(Role::TenantAdmin, Some(&w.a));
    let b_admin = token(Role::TenantAdmin, Some(&w.b));
    let expired = jwt()
        .mint(
            "walker",
            Role::PlatformAdmin,
            None,
            chrono::Duration::hours(-2),
        )
        .unwrap();
    // Tenant B's administration key (a proxy-only key gets 403 everywhere).
    let b_key = app
        .create_api_key_with(&w.b, json!({"name": "b admin", "scopes": ALL_SCOPES}))
        .await;

    // A policy to delete, made here so its id is known.
    let policy = admin
        .ok(Method::PUT, "/admin/v1/rate-limit-policies", &root, Some(json!({
            "api_group": "raw", "dimension": "tenant", "window": "hour", "scope": "global", "max_calls": 5000
        })))
        .await;
    for c in &mut cases {
        c.path = c.path.replace("{policy}", policy["id"].as_str().unwrap());
    }

    let audit_before = admin.audit_len().await;
    let a_name_marker = "Tenant A";

    for c in &cases {
        let body = c.body.as_ref();
        // 401: no credentials, garbage, an expired token.
        for bad in [
            None,
            Some("garbage"),
            Some(expired.as_str()),
            Some("tpk_0000"),
        ] {
            let r = admin.send(&c.method, &c.path, bad, body).await;
            assert_eq!(r.status, 401, "{} with {bad:?}: {}", c.op, r.body);
            assert!(
                r.headers.contains_key("www-authenticate"),
                "{}: 401 without WWW-Authenticate",
                c.op
            );
            assert_eq!(
                r.headers["content-type"], "application/problem+json",
                "{}",
                c.op
            );
        }

        // 403 / 404 by role; another tenant's admin learns nothing.
        let outsider_status = |access: Access| match access {
            Access::OwnedRead | Access::OwnedWrite => 404,
            Access::ScopedList => 200,
            _ => 403,
        };
        for outsider in [b_admin.as_str(), b_key.as_str()] {
            let r = admin.send(&c.method, &c.path, Some(outsider), body).await;
            assert_eq!(
                r.status,
                outsider_status(c.access),
                "{} as tenant B: {}",
                c.op,
                r.body
            );
            let text = r.body.to_string();
            assert!(
                !text.contains(a_name_marker) && !text.contains(&w.a),
                "{} leaked tenant A to B: {text}",
                c.op
            );
            // (list_tenants has no tenant filter: its scoping is checked above.)
            if c.access == Access::ScopedList && c.op != "list_tenants" {
                let join = if c.path.contains('?') { '&' } else { '?' };
                let own = format!("{}{join}tenant_id={}", c.path, w.a);
                let r = admin.send(&c.method, &own, Some(outsider), None).await;
                assert_eq!(r.status, 403, "{} for tenant A as tenant B", c.op);
            }
        }
        if matches!(c.access, Access::PlatformRead | Access::PlatformWrite) {
            let r = admin.send(&c.method, &c.path, Some(&a_admin), body).await;
            assert_eq!(r.status, 403, "{} as tenant A's admin: {}", c.op, r.body);
        }
        if c.access.writes() {
            let r = admin.send(&c.method, &c.path, Some(&viewer), body).await;
            assert_eq!(r.status, 403, "{} as platform_viewer: {}", c.op, r.body);
        }

        // 400 naming the field.
        if let Some((path, bad_body, field)) = &c.invalid {
            let r = admin
                .send(&c.method, path, Some(&root), bad_body.as_ref())
                .await;
            assert_eq!(r.status, 400, "{} invalid: {}", c.op, r.body);
            assert_eq!(r.body["field"], *field, "{}: {}", c.op, r.body);
            assert_eq!(r.headers["content-type"], "application/problem+json");
        }
        // Every operation, with or without inputs of its own: a parameter
        // it does not define is a 400 naming it.
        let sep = if c.path.contains('?') { '&' } else { '?' };
        let typo = format!("{}{sep}limt=5", c.path);
        let r = admin
            .send(&c.method, &typo, Some(&root), c.body.as_ref())
            .await;
        assert_eq!(
            r.status, 400,
            "{} with an unknown parameter: {}",
            c.op, r.body
        );
        assert_eq!(r.body["field"], "limt", "{}: {}", c.op, r.body);
        // 404.
        if let Some(path) = &c.missing {
            let r = admin.send(&c.method, path, Some(&root), body).await;
            assert_eq!(r.status, 404, "{} missing: {}", c.op, r.body);
        }
    }
    // Nothing refused above changed anything.
    assert_eq!(
        admin.audit_len().await,
        audit_before,
        "a refused request wrote to the audit log"
    );

    // Success, with the role that suits the operation; destructive ones last.
    // (A minute on, so the forced refresh is past its cool-down after onboarding.)
    app.advance(61);
    let order = |op: &str| LAST.iter().position(|l| *l == op).unwrap_or(0);
    cases.sort_by_key(|c| order(c.op));
    for c in &cases {
        let who = match c.access {
            Access::PlatformRead => viewer.clone(),
            Access::PlatformWrite => root.clone(),
            // Tenant A's own admin does its own things.
            _ => a_admin.clone(),
        };
        let r = admin
            .send(&c.method, &c.path, Some(&who), c.body.as_ref())
            .await;
        assert!(
            (200..300).contains(&r.status),
            "{} succeeded: {} {}",
            c.op,
            r.status,
            r.body
        );
        if c.access == Access::ScopedList {
            let text = r.body.to_string();
            assert!(
                !text.contains(&w.b),
                "{}: tenant A's admin saw tenant B",
                c.op
            );
        }
    }
    // Each successful change was audited.
    let audit = admin
        .ok(Method::GET, "/admin/v1/audit-log?limit=200", &root, None)
        .await;
    let actions: BTreeSet<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "tenant.create",
        "tenant.update",
        "tenant.delete",
        "tenant.suspend",
        "tenant.resume",
        "api_key.create",
        "api_key.revoke",
        "onboarding_link.create",
        "onboarding_link.revoke",
        "authorizer.refresh_token",
        "authorizer.move",
        "authorizer.resync",
        "authorizer.revoke",
        "webhook.create",
        "webhook.update",
        "webhook.rotate_secret",
        "webhook.delete",
    ] {
        assert!(
            actions.contains(action),
            "no audit entry for {action}: {actions:?}"
        );
    }
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "authorizer.revoke")
        .unwrap();
    assert_eq!(entry["actor"], "walker");
    assert_eq!(entry["actor_role"], "tenant_admin");
    assert_eq!(entry["tenant_id"], w.a.as_str());

    // No response carried a secret, except the one response that handed it out.
    let seen = std::mem::take(&mut *admin.seen.lock().unwrap());
    for secret in &w.secrets {
        let holders: Vec<&str> = seen
            .iter()
            .filter(|e| e.body.contains(secret.as_str()))
            .map(|e| e.what.as_str())
            .collect();
        assert!(
            holders.iter().all(|h| h.starts_with("POST")
                && (h.contains("/api-keys →") || h.contains("/webhooks →"))),
            "a secret appeared in {holders:?}"
        );
    }
    for e in seen.iter() {
        let creates = e.what.starts_with("POST")
            && (e.what.contains("/api-keys →")
                || e.what.contains("/webhooks →")
                || e.what.contains("/rotate-secret →"));
        if !creates {
            assert!(
                !e.body.contains("tpk_") || e.body.contains("\"prefix\""),
                "key material in {}: {}",
                e.what,
                e.body
            );
            assert!(!e.body.contains("whsec_"), "webhook secret in {}", e.what);
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn suspension_and_revocation_stop_keys_at_once_on_every_replica() {
    let redis = std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .is_some();
    let app = TestApp::start(TestOptions {
        redis: true,
        ..TestOptions::default()
    })
    .await;
    let (tenant, key, appid) = app.onboarded_tenant("Suspendable").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let get_order = json!({"transaction_id": order.transaction_id});
    let path = "/wxa/sec/order/get_order";
    // A replica shares the database (and Redis, when there is one): it has
    // the key cached before the suspension.
    let replica = if redis {
        Some(app.spawn_replica().await)
    } else {
        None
    };
    let bases: Vec<url::Url> = std::iter::once(app.base.clone())
        .chain(replica.iter().map(|r| r.base.clone()))
        .collect();
    for base in &bases {
        assert_eq!(
            app.call(base, &key, &appid, path, &get_order, None)
                .await
                .status,
            200
        );
    }
    let r = app
        .admin_post(&format!("/admin/v1/tenants/{tenant}/suspend"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    // A replica hears of it through Redis: soon, and well before its cache
    // TTL (10 s) would hide a missed invalidation.
    let at_once = std::time::Duration::from_secs(2);
    let status_at = async |base: &url::Url| {
        let answer = app.call(base, &key, &appid, path, &get_order, None).await;
        answer.status
    };
    for base in &bases {
        let what = format!("suspended key refused at {base}");
        eventually(at_once, &what, async || status_at(base).await == 401).await;
    }
    // Its admins are locked out too.
    let tenant_admin = token(Role::TenantAdmin, Some(&tenant));
    let r = app
        .http
        .get(app.url(&format!("/admin/v1/tenants/{tenant}")))
        .bearer_auth(&tenant_admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .admin_post(&format!("/admin/v1/tenants/{tenant}/resume"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    for base in &bases {
        let what = format!("resumed key accepted at {base}");
        eventually(at_once, &what, async || status_at(base).await == 200).await;
    }
    // Revoking the key: refused at once everywhere.
    let keys: Value = app
        .admin_get(&format!("/admin/v1/tenants/{tenant}/api-keys"))
        .await
        .json()
        .await
        .unwrap();
    let key_id = keys["items"][0]["id"].as_str().unwrap();
    let r = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/api-keys/{key_id}/revoke"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    for base in &bases {
        let what = format!("revoked key refused at {base}");
        eventually(at_once, &what, async || status_at(base).await == 401).await;
    }
    if let Some(r) = replica {
        r.shutdown().await;
    }
    app.shutdown().await;
}

#[tokio::test]
async fn read_only_and_expiring_keys_and_tenant_self_service() {
    let app = TestApp::spawn().await;
    let admin = Admin::new(&app);
    let (tenant, _proxy_key, appid) = app.onboarded_tenant("Self service").await;
    let key = app
        .create_api_key_with(
            &tenant,
            json!({"name": "tenant admin", "scopes": ALL_SCOPES}),
        )
        .await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let ro = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            &key,
            Some(json!({"name": "dashboard", "scopes": ["proxy_read", "admin_read"]})),
        )
        .await;
    assert_eq!(ro["scopes"], json!(["proxy_read", "admin_read"]));
    let ro_key = ro["key"].as_str().unwrap();
    // Proxy: reads pass, writes are refused before WeChat.
    let read = app
        .call(
            &app.base,
            ro_key,
            &appid,
            "/wxa/sec/order/get_order",
            &json!({"transaction_id": order.transaction_id}),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let before = app.sim.call_count("/wxa/sec/order/upload_shipping_info");
    let write = app
        .call(
            &app.base,
            ro_key,
            &appid,
            "/wxa/sec/order/upload_shipping_info",
            &upload_body(&order.transaction_id, &order.openid, "SF1"),
            None,
        )
        .await;
    assert_eq!(write.status, 403, "{}", write.body);
    assert_eq!(
        app.sim.call_count("/wxa/sec/order/upload_shipping_info"),
        before
    );
    // Admin API: reads its tenant, changes nothing.
    let listed = admin
        .send(&Method::GET, "/admin/v1/authorizers", Some(ro_key), None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["items"][0]["appid"], appid.as_str());
    let r = admin
        .send(
            &Method::POST,
            &format!("/admin/v1/tenants/{tenant}/onboarding-links"),
            Some(ro_key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // A key with admin_write manages its own tenant.
    let link = admin
        .send(
            &Method::POST,
            &format!("/admin/v1/tenants/{tenant}/onboarding-links"),
            Some(&key),
            Some(&json!({})),
        )
        .await;
    assert_eq!(link.status, 201, "{}", link.body);

    // An expired key is refused (the clock of the database decides).
    let short = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            &key,
            Some(json!({"name": "short", "expires_in_secs": 60, "scopes": ALL_SCOPES})),
        )
        .await;
    let short_key = short["key"].as_str().unwrap();
    assert!(short["expires_at"].is_string());
    // A key cannot outlive itself through the keys it makes.
    let child = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            short_key,
            Some(json!({"name": "child"})),
        )
        .await;
    assert_eq!(child["expires_at"], short["expires_at"], "{child}");
    let ok = app
        .call(
            &app.base,
            short_key,
            &appid,
            "/wxa/sec/order/get_order",
            &json!({"transaction_id": order.transaction_id}),
            None,
        )
        .await;
    assert_eq!(ok.status, 200);
    expire_key(&app, short["id"].as_str().unwrap()).await;
    let refused = app
        .call(
            &app.base,
            short_key,
            &appid,
            "/wxa/sec/order/get_order",
            &json!({"transaction_id": order.transaction_id}),
            None,
        )
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    app.shutdown().await;
}

const ALL_SCOPES: [&str; 4] = ["proxy_read", "proxy_write", "admin_read", "admin_write"];

/// A proxy key (the default) is not a tenant admin; a key cannot mint a key
/// that can do more than itself; keys may be restricted to some appids;
/// revoking a key revokes every key it made; use is recorded.
#[tokio::test]
async fn key_scopes_appid_restrictions_and_revocation_cascade() {
    let app = TestApp::spawn().await;
    let admin = Admin::new(&app);
    let (tenant, proxy_key, appid) = app.onboarded_tenant("Scoped").await;
    // The default key proxies but administers nothing.
    for (method, path, body) in [
        (
            Method::POST,
            format!("/admin/v1/tenants/{tenant}/api-keys"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::POST,
            format!("/admin/v1/tenants/{tenant}/webhooks"),
            Some(json!({"url": "https://hooks.example.com/x"})),
        ),
        (
            Method::POST,
            format!("/admin/v1/authorizers/{appid}/revoke"),
            None,
        ),
        (Method::GET, "/admin/v1/authorizers".to_owned(), None),
    ] {
        let r = admin
            .send(&method, &path, Some(&proxy_key), body.as_ref())
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
    }
    assert_eq!(
        app.authorizers(Some(&tenant)).await["items"][0]["status"],
        "active",
        "not revoked by a proxy key"
    );
    // An admin key mints keys, but none with more than it has.
    let parent = app
        .create_api_key_with(
            &tenant,
            json!({"name": "admin", "scopes": ["admin_read", "admin_write", "proxy_read"]}),
        )
        .await;
    let r = admin
        .send(
            &Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            Some(&parent),
            Some(&json!({"name": "escalate", "scopes": ["proxy_write"]})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let child = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            &parent,
            Some(json!({"name": "child", "scopes": ["proxy_read"], "allowed_appids": ["wx00000000000000ff"]})),
        )
        .await;
    let child_key = child["key"].as_str().unwrap().to_owned();
    assert!(child["created_by_key_id"].is_string(), "{child}");
    let grandchild = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            &parent,
            Some(json!({"name": "grandchild", "scopes": ["proxy_read"]})),
        )
        .await;
    let grandchild_key = grandchild["key"].as_str().unwrap().to_owned();
    // The child is restricted to another appid: refused before WeChat.
    let order = app.sim.create_paid_order(NewOrder::default());
    let lookup = json!({"transaction_id": order.transaction_id});
    let r = app
        .call(
            &app.base,
            &child_key,
            &appid,
            "/wxa/sec/order/get_order",
            &lookup,
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = app
        .call(
            &app.base,
            &grandchild_key,
            &appid,
            "/wxa/sec/order/get_order",
            &lookup,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Use is recorded (in batches, off the request path).
    app.auth.store().flush_key_uses().await.unwrap();
    let seen = admin
        .ok(
            Method::GET,
            &format!(
                "/admin/v1/tenants/{tenant}/api-keys/{}",
                grandchild["id"].as_str().unwrap()
            ),
            &app.admin_token,
            None,
        )
        .await;
    assert!(seen["last_used_at"].is_string(), "{seen}");
    // Revoking the parent revokes what it made.
    let parent_id = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            &app.admin_token,
            None,
        )
        .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys/{parent_id}/revoke"),
            &app.admin_token,
            None,
        )
        .await;
    let r = app
        .call(
            &app.base,
            &grandchild_key,
            &appid,
            "/wxa/sec/order/get_order",
            &lookup,
            None,
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    // The deprecated names still create keys (as proxy scopes).
    let legacy = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{tenant}/api-keys"),
            &app.admin_token,
            Some(json!({"name": "legacy", "scopes": ["read", "write"]})),
        )
        .await;
    assert_eq!(legacy["scopes"], json!(["proxy_read", "proxy_write"]));
    app.shutdown().await;
}

#[tokio::test]
async fn paging_filters_force_delete_move_resync_and_rotation() {
    let app = TestApp::spawn().await;
    let admin = Admin::new(&app);
    let root = app.admin_token.clone();
    let (a, _key, appid) = app.onboarded_tenant("Pager 00").await;
    for i in 1..=6 {
        app.create_tenant(&format!("Pager {i:02}")).await;
    }
    // Cursor paging visits every tenant once, in creation order.
    let mut names = Vec::new();
    let mut cursor = None::<String>;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/tenants?limit=3&name=Pager&cursor={c}"),
            None => "/admin/v1/tenants?limit=3&name=Pager".to_owned(),
        };
        let page = admin.ok(Method::GET, &path, &root, None).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 3);
        names.extend(items.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = (0..=6).map(|i| format!("Pager {i:02}")).collect();
    assert_eq!(names, expected);
    let suspended = admin
        .ok(
            Method::GET,
            "/admin/v1/tenants?status=suspended",
            &root,
            None,
        )
        .await;
    assert_eq!(suspended["items"], json!([]));

    // Filters on authorizers.
    let by_set = admin
        .ok(
            Method::GET,
            "/admin/v1/authorizers?permission_set=142",
            &root,
            None,
        )
        .await;
    assert_eq!(by_set["items"].as_array().unwrap().len(), 1);
    let by_other_set = admin
        .ok(
            Method::GET,
            "/admin/v1/authorizers?permission_set=9999",
            &root,
            None,
        )
        .await;
    assert_eq!(by_other_set["items"], json!([]));
    let one = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/authorizers/{appid}"),
            &root,
            None,
        )
        .await;
    assert!(
        one["user_name"].as_str().unwrap().starts_with("gh_"),
        "{one}"
    );
    assert!(
        one["token"]["expires_in_secs"].as_i64().unwrap() > 0,
        "{one}"
    );
    assert!(!one.to_string().contains("access_token\":\""), "{one}");

    // Forced refreshes cool down for a minute (onboarding just refreshed).
    let r = admin
        .send(
            &Method::POST,
            &format!("/admin/v1/authorizers/{appid}/refresh-token"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    app.advance(61);
    let refreshed = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/authorizers/{appid}/refresh-token"),
            &root,
            None,
        )
        .await;
    assert!(
        refreshed["token"]["valid"].as_bool().unwrap(),
        "{refreshed}"
    );

    // Name filters ignore case and take `%` / `_` literally.
    let found = admin
        .ok(
            Method::GET,
            "/admin/v1/tenants?name=pAgEr%2001",
            &root,
            None,
        )
        .await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let none = admin
        .ok(Method::GET, "/admin/v1/tenants?name=Pager%25", &root, None)
        .await;
    assert_eq!(none["items"], json!([]), "{none}");

    // Re-sync picks up permission sets changed without a push.
    app.sim.authorize(&appid, vec![142, 45]);
    let synced = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/authorizers/{appid}/resync"),
            &root,
            None,
        )
        .await;
    assert_eq!(synced["permission_sets"], json!([45, 142]), "{synced}");

    // Delete refuses while the tenant owns Mini Programs; force leaves them unassigned.
    let r = admin
        .send(
            &Method::DELETE,
            &format!("/admin/v1/tenants/{a}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    let other = app.create_tenant("Receiver").await;
    let moved = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/authorizers/{appid}/move"),
            &root,
            Some(json!({"tenant_id": other})),
        )
        .await;
    assert_eq!(moved["tenant_id"], other.as_str());
    // Each tenant's log shows the move, never the other tenant's id.
    for (own, foreign) in [(&a, &other), (&other, &a)] {
        let log = admin
            .ok(
                Method::GET,
                &format!("/admin/v1/audit-log?tenant_id={own}"),
                &root,
                None,
            )
            .await;
        let moves: Vec<&Value> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "authorizer.move")
            .collect();
        assert_eq!(moves.len(), 1, "{log}");
        assert!(!moves[0].to_string().contains(foreign.as_str()), "{log}");
    }
    let deleted = admin
        .ok(
            Method::DELETE,
            &format!("/admin/v1/tenants/{a}"),
            &root,
            None,
        )
        .await;
    assert_eq!(deleted["unassigned_authorizers"], 0);
    let deleted = admin
        .ok(
            Method::DELETE,
            &format!("/admin/v1/tenants/{other}?force=true"),
            &root,
            None,
        )
        .await;
    assert_eq!(deleted["unassigned_authorizers"], 1);
    let orphan = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/authorizers/{appid}"),
            &root,
            None,
        )
        .await;
    assert!(orphan["tenant_id"].is_null(), "{orphan}");
    let r = admin
        .send(
            &Method::GET,
            &format!("/admin/v1/tenants/{a}"),
            Some(&root),
            None,
        )
        .await;
    assert_eq!(r.status, 404);

    // Webhook secret rotation: a new secret, the old one kept for the grace period.
    let t = app.create_tenant("Hooks").await;
    let created = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{t}/webhooks"),
            &root,
            Some(json!({"url": "https://hooks.example/x"})),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let first = created["secret"].as_str().unwrap().to_owned();
    assert!(first.starts_with("whsec_"));
    let rotated = admin
        .ok(
            Method::POST,
            &format!("/admin/v1/tenants/{t}/webhooks/{id}/rotate-secret"),
            &root,
            Some(json!({})),
        )
        .await;
    let second = rotated["secret"].as_str().unwrap();
    assert_ne!(first, second);
    assert!(rotated["previous_secret_expires_at"].is_string());
    let signing = app.auth.store().webhook_signing_secrets(id).await.unwrap();
    let signing: Vec<&str> = signing.iter().map(|s| s.expose()).collect();
    assert_eq!(signing, vec![second, first.as_str()]);
    let listed = admin
        .ok(
            Method::GET,
            &format!("/admin/v1/tenants/{t}/webhooks"),
            &root,
            None,
        )
        .await;
    assert!(!listed.to_string().contains("whsec_"));
    app.shutdown().await;
}

#[tokio::test]
async fn unsupported_methods_are_405_with_allow_and_unknown_query_parameters_400() {
    let app = TestApp::spawn().await;
    let r = app.admin_get("/admin/v1/tenants?stauts=active").await;
    assert_eq!(r.status(), 400);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["field"], "stauts", "{problem}");
    for (method, path, allow) in [
        (Method::PUT, "/admin/v1/tenants", "GET, POST"),
        (Method::POST, "/admin/v1/platform/status", "GET"),
        (Method::DELETE, "/healthz", "GET"),
        (Method::GET, "/v1/apps/wx1/wxa/sec/order/get_order", "POST"),
    ] {
        let r = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers()["allow"], allow, "{method} {path}");
    }
    app.shutdown().await;
}

/// Moves a key's expiry into the past, as time would (and drops this
/// instance's cached copy, as the cache TTL would).
async fn expire_key(app: &TestApp, key_id: &str) {
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
    use store::entity::api_key;
    // The test's own connection: tpgate's code reaches tables only through
    // `Store`'s methods.
    let db = sea_orm::Database::connect(app.config.database_url.as_str())
        .await
        .unwrap();
    api_key::Entity::update_many()
        .set(api_key::ActiveModel {
            expires_at: Set(Some(chrono::Utc::now() - chrono::Duration::seconds(1))),
            ..Default::default()
        })
        .filter(api_key::Column::Id.eq(key_id))
        .exec(&db)
        .await
        .unwrap();
    app.auth.store().forget_cached();
}

/// Events and audit entries do not grow forever: housekeeping deletes them
/// past their retention, except events still waiting for a delivery.
#[tokio::test]
async fn events_and_audit_entries_are_deleted_past_their_retention() {
    let app = TestApp::spawn().await;
    let (waiting_tenant, _, appid) = app.onboarded_tenant("Waiting").await;
    let r = app
        .admin_post(
            &format!("/admin/v1/tenants/{waiting_tenant}/webhooks"),
            json!({ "url": "https://hooks.example.com/x" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let quiet = app.create_tenant("Quiet").await;
    let store = app.auth.store();
    for (tenant, key) in [(&waiting_tenant, "w"), (&quiet, "q")] {
        store
            .record_event(&store::events::NewEvent {
                tenant_id: Some(tenant.clone().into()),
                authorizer_appid: Some(appid.clone().into()),
                event_type: "trade_manage_remind_shipping".into(),
                data: json!({}),
                dedupe_key: format!("retention:{key}"),
                occurred_at: app.clock.now(),
                order_note: None,
            })
            .await
            .unwrap();
    }
    let shared = &app;
    let count = |tenant: &str| {
        let path = format!("/admin/v1/events?tenant_id={tenant}&type=trade_manage_remind_shipping");
        async move {
            let v: Value = shared.admin_get(&path).await.json().await.unwrap();
            v["items"].as_array().unwrap().len()
        }
    };
    assert_eq!((count(&waiting_tenant).await, count(&quiet).await), (1, 1));
    let retention = tpgate::workers::RetentionSettings::default();
    tpgate::workers::housekeep(&app.auth, retention, &app.config.call_log).await;
    assert_eq!(
        (count(&waiting_tenant).await, count(&quiet).await),
        (1, 1),
        "young"
    );

    app.clock.advance(400 * 86_400);
    tpgate::workers::housekeep(&app.auth, retention, &app.config.call_log).await;
    assert_eq!(count(&waiting_tenant).await, 1, "still being delivered");
    assert_eq!(count(&quiet).await, 0);
    let audit: Value = app
        .admin_get("/admin/v1/audit-log")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"], json!([]), "{audit}");
    app.shutdown().await;
}

/// `authorization.revoked` has one payload shape whoever revoked: WeChat's
/// `unauthorized` push and an operator through the admin API.
#[tokio::test]
async fn both_revocations_give_webhooks_one_payload_shape() {
    let app = TestApp::spawn().await;
    let (tenant, _, by_wechat) = app.onboarded_tenant("Revoked twice").await;
    let by_operator = "wx00000000000000dd";
    app.sim
        .set_next_authorization(by_operator, vec![18, 45, 142]);
    let link = app.create_link(&tenant).await;
    assert_eq!(app.follow_onboarding(&link).await.0, 200);

    let pushed = app.sim.push_unauthorized(&by_wechat).await.unwrap();
    assert_eq!(pushed.status, 200);
    let r = app
        .admin_post(
            &format!("/admin/v1/authorizers/{by_operator}/revoke"),
            json!({ "reason": "merchant left" }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let events: Value = app
        .admin_get(&format!(
            "/admin/v1/events?tenant_id={tenant}&type=authorization.revoked"
        ))
        .await
        .json()
        .await
        .unwrap();
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{events}");
    let keys = |e: &Value| {
        e["data"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&items[0]), keys(&items[1]), "{events}");
    let by: BTreeSet<&str> = items
        .iter()
        .map(|e| e["data"]["by"].as_str().unwrap())
        .collect();
    assert_eq!(by, BTreeSet::from(["operator", "wechat"]));
    app.shutdown().await;
}
