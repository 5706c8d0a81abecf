//! The call log's read side over HTTP: `GET /admin/v1/calls` (filters,
//! paging, tenant scoping, component-level errmsgs for platform roles
//! only), `GET /admin/v1/calls/{id}`, a Mini Program's health (calls, error
//! rate, last error, token, missing permission sets, rate-limit usage,
//! trade-management state fetched once, cached and refreshed on demand),
//! the platform status figures, and the tenant's body-capture switch.
use std::time::Duration;

use admin_api::Role;
use chrono::Utc;
use serde_json::{Value, json};
use store::calls::{CallOutcome, NewCall};
use wechat_sim::NewOrder;

use crate::helpers::{TestApp, eventually, jwt};

/// Text only the platform may read: a component-level errmsg naming the
/// platform's egress IP.
const EGRESS_IP: &str = "203.0.113.7";

fn token(role: Role, tenant: Option<&str>) -> String {
    jwt()
        .mint(
            "calls-e2e",
            role,
            tenant.map(str::to_owned),
            chrono::Duration::hours(1),
        )
        .unwrap()
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let resp = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// `GET path` that must succeed.
async fn ok(app: &TestApp, path: &str, token: &str) -> Value {
    let (status, body) = get(app, path, token).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let resp = app
        .http
        .patch(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A call to seed the log with.
fn call(tenant: Option<&str>, appid: Option<&str>, api: &str, outcome: CallOutcome) -> NewCall {
    let mut call = NewCall::new(api, outcome);
    call.tenant_id = tenant.map(Into::into);
    call.appid = appid.map(Into::into);
    call.status = Some(if outcome == CallOutcome::Ok { 200 } else { 400 });
    call.latency_ms = 42;
    call
}

fn with(mut call: NewCall, change: impl FnOnce(&mut NewCall)) -> NewCall {
    change(&mut call);
    call
}

/// The token refresh WeChat refused with a text naming the egress IP.
fn component_refusal(tenant: Option<&str>, appid: Option<&str>, request_id: &str) -> NewCall {
    with(
        call(
            tenant,
            appid,
            "/cgi-bin/component/api_authorizer_token",
            CallOutcome::WechatRefused,
        ),
        |c| {
            c.request_id = Some(request_id.into());
            c.errcode = Some(61004);
            c.errmsg = Some(format!(
                "access clientip {EGRESS_IP} is not registered rid: 6576d1e1-5b2a7c3d"
            ));
            c.rid = Some("6576d1e1-5b2a7c3d".into());
            c.component_level = true;
        },
    )
}

fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().expect("a page")
}

fn ids(page: &Value) -> Vec<&str> {
    items(page)
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn calls_are_listed_filtered_paged_and_scoped_to_their_tenant() {
    let app = TestApp::spawn().await;
    let (a, key, appid) = app.onboarded_tenant("Calls A").await;
    let b = app.create_tenant("Calls B").await;
    let root = app.admin_token.clone();
    let viewer = token(Role::PlatformViewer, None);
    let a_admin = token(Role::TenantAdmin, Some(&a));
    let b_admin = token(Role::TenantAdmin, Some(&b));
    let store = app.auth.store();

    // A real proxied call, recorded off the request path with its id.
    let order = app.sim.create_paid_order(NewOrder::default());
    let resp = app
        .http
        .post(app.url(&format!("/v1/apps/{appid}/wxa/sec/order/get_order")))
        .bearer_auth(&key)
        .header("X-Request-Id", "calls-real-1")
        .json(&json!({ "transaction_id": order.transaction_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut real = Value::Null;
    eventually(
        Duration::from_secs(10),
        "the proxied call is logged",
        async || {
            real = ok(&app, "/admin/v1/calls?request_id=calls-real-1", &root).await;
            !items(&real).is_empty()
        },
    )
    .await;
    let real = &items(&real)[0];
    assert_eq!(real["api"], "get_order", "{real}");
    assert_eq!(real["outcome"], "ok");
    assert_eq!(real["sent"], true);
    assert_eq!(real["tenant_id"], a.as_str());
    assert_eq!(real["appid"], appid.as_str());
    assert_eq!(real["status"], 200);

    // Seeded: two batches, so `since` / `until` can split them.
    let a_ok = with(
        call(Some(&a), Some(&appid), "get_order_list", CallOutcome::Ok),
        |c| {
            c.request_id = Some("calls-a-ok".into());
        },
    );
    let a_refused = with(
        call(
            Some(&a),
            Some(&appid),
            "upload_shipping_info",
            CallOutcome::WechatRefused,
        ),
        |c| {
            c.request_id = Some("calls-a-refused".into());
            c.errcode = Some(10060003);
            c.errmsg = Some("re-shipment used rid: 1a2b".into());
            c.rid = Some("1a2b".into());
            c.idempotency_key = Some("ship-1".into());
            c.attempt = 2;
            c.request_body = Some(r#"{"order_key":{"transaction_id":"42"}}"#.into());
            c.response_body = Some(r#"{"errcode":10060003}"#.into());
        },
    );
    store.insert_calls(vec![a_ok, a_refused]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let split = Utc::now();
    tokio::time::sleep(Duration::from_millis(5)).await;
    store
        .insert_calls(vec![
            component_refusal(Some(&a), Some(&appid), "calls-a-component"),
            with(
                call(
                    Some(&b),
                    Some("wxbbbbbbbbbbbbbbbb"),
                    "get_order",
                    CallOutcome::Invalid,
                ),
                |c| c.request_id = Some("calls-b".into()),
            ),
            // tpgate's own call, outside any tenant's request.
            component_refusal(None, None, "calls-platform"),
        ])
        .await
        .unwrap();

    let by_request = async |id: &str, token: &str| {
        let page = ok(&app, &format!("/admin/v1/calls?request_id={id}"), token).await;
        assert_eq!(items(&page).len(), 1, "{id}: {page}");
        items(&page)[0].clone()
    };
    // Every field of the seeded refusal.
    let refused = by_request("calls-a-refused", &root).await;
    for (field, want) in [
        ("tenant_id", json!(a)),
        ("appid", json!(appid)),
        ("api", json!("upload_shipping_info")),
        ("attempt", json!(2)),
        ("sent", json!(true)),
        ("outcome", json!("wechat_refused")),
        ("status", json!(400)),
        ("errcode", json!(10060003)),
        ("errmsg", json!("re-shipment used rid: 1a2b")),
        ("rid", json!("1a2b")),
        ("latency_ms", json!(42)),
        ("idempotency_key", json!("ship-1")),
        ("component_level", json!(false)),
        (
            "request_body",
            json!(r#"{"order_key":{"transaction_id":"42"}}"#),
        ),
        ("response_body", json!(r#"{"errcode":10060003}"#)),
    ] {
        assert_eq!(refused[field], want, "{field}: {refused}");
    }
    assert!(refused["occurred_at"].is_string() && refused["request_id"] == "calls-a-refused");

    // Component-level errmsgs: platform roles read them, tenants never do.
    for platform in [&root, &viewer] {
        let c = by_request("calls-a-component", platform).await;
        assert!(c["errmsg"].as_str().unwrap().contains(EGRESS_IP), "{c}");
    }
    let c = by_request("calls-a-component", &a_admin).await;
    assert!(c.get("errmsg").is_none(), "{c}");
    assert_eq!(
        (c["errcode"].as_i64(), c["component_level"].as_bool()),
        (Some(61004), Some(true))
    );
    let by_id = ok(
        &app,
        &format!("/admin/v1/calls/{}", c["id"].as_str().unwrap()),
        &a_admin,
    )
    .await;
    assert!(by_id.get("errmsg").is_none(), "{by_id}");
    assert!(!by_id.to_string().contains(EGRESS_IP));
    let by_id = ok(
        &app,
        &format!("/admin/v1/calls/{}", c["id"].as_str().unwrap()),
        &root,
    )
    .await;
    assert!(by_id["errmsg"].as_str().unwrap().contains(EGRESS_IP));

    // A tenant admin lists only its tenant's calls, whatever it asks for.
    let mine = ok(&app, "/admin/v1/calls?limit=200", &a_admin).await;
    assert!(items(&mine).len() >= 4, "{mine}");
    assert!(items(&mine).iter().all(|c| c["tenant_id"] == a.as_str()));
    assert!(!mine.to_string().contains(EGRESS_IP));
    let theirs = ok(&app, "/admin/v1/calls?limit=200", &b_admin).await;
    assert_eq!(
        items(&theirs)
            .iter()
            .map(|c| c["request_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["calls-b"]
    );
    let (status, _) = get(&app, &format!("/admin/v1/calls?tenant_id={a}"), &b_admin).await;
    assert_eq!(status, 403);
    // Another tenant's call, tpgate's own and an unknown id are one 404.
    let platform_own = by_request("calls-platform", &root).await;
    assert!(platform_own.get("tenant_id").is_none());
    for (id, who) in [
        (refused["id"].as_str().unwrap(), &b_admin),
        (platform_own["id"].as_str().unwrap(), &a_admin),
        ("00000000-0000-7000-8000-000000000000", &root),
    ] {
        let (status, body) = get(&app, &format!("/admin/v1/calls/{id}"), who).await;
        assert_eq!(status, 404, "{id}: {body}");
    }
    let own = ok(
        &app,
        &format!("/admin/v1/calls/{}", refused["id"].as_str().unwrap()),
        &a_admin,
    )
    .await;
    assert_eq!(own["id"], refused["id"]);

    // Filters.
    let query = |q: String| {
        let root = root.clone();
        let app = &app;
        async move { ok(app, &format!("/admin/v1/calls?{q}"), &root).await }
    };
    let refused_of_a = query(format!("tenant_id={a}&outcome=wechat_refused")).await;
    let mut got: Vec<&str> = items(&refused_of_a)
        .iter()
        .map(|c| c["request_id"].as_str().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ["calls-a-component", "calls-a-refused"]);
    let by_errcode = query("errcode=10060003".into()).await;
    assert_eq!(ids(&by_errcode), [refused["id"].as_str().unwrap()]);
    let by_api = query(format!("api=upload_shipping_info&appid={appid}")).await;
    assert_eq!(ids(&by_api), [refused["id"].as_str().unwrap()]);
    let by_appid = query("appid=wxbbbbbbbbbbbbbbbb".into()).await;
    assert_eq!(items(&by_appid).len(), 1);
    assert_eq!(items(&by_appid)[0]["outcome"], "invalid");
    assert_eq!(items(&by_appid)[0]["sent"], false);
    let split = split.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let encoded = split.replace('+', "%2B");
    let later = query(format!("tenant_id={a}&since={encoded}")).await;
    let mut later: Vec<&str> = items(&later)
        .iter()
        .map(|c| c["request_id"].as_str().unwrap())
        .collect();
    later.sort();
    assert_eq!(later, ["calls-a-component"]);
    let earlier = query(format!(
        "tenant_id={a}&api=upload_shipping_info&until={encoded}"
    ))
    .await;
    assert_eq!(items(&earlier).len(), 1);
    let none = query(format!("tenant_id={a}&api=get_order_list&since={encoded}")).await;
    assert!(items(&none).is_empty(), "{none}");

    // Newest first, one page at a time, every call once.
    let mut seen = Vec::new();
    let mut path = format!("/admin/v1/calls?tenant_id={a}&limit=1");
    loop {
        let page = ok(&app, &path, &a_admin).await;
        assert!(items(&page).len() <= 1);
        seen.extend(ids(&page).into_iter().map(str::to_owned));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/admin/v1/calls?tenant_id={a}&limit=1&cursor={cursor}"),
            None => break,
        }
    }
    let all: Vec<String> = ids(&mine).into_iter().map(str::to_owned).collect();
    assert_eq!(seen, all);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );

    // Bad filters name their field.
    let long = "x".repeat(65);
    for (q, field) in [
        ("outcome=lost".to_owned(), "outcome"),
        ("errcode=many".to_owned(), "errcode"),
        (format!("request_id={long}"), "request_id"),
        (format!("appid={long}"), "appid"),
        ("since=tuesday".to_owned(), "since"),
        (format!("since={encoded}&until={encoded}"), "until"),
        ("limit=0".to_owned(), "limit"),
        ("cursor=%25%25".to_owned(), "cursor"),
    ] {
        let (status, body) = get(&app, &format!("/admin/v1/calls?{q}"), &root).await;
        assert_eq!(
            (status, body["field"].as_str()),
            (400, Some(field)),
            "{q}: {body}"
        );
    }
    app.shutdown().await;
}

/// The Mini Program's calls in a health window, by API and outcome.
fn counted(window: &Value, api: &str, outcome: &str) -> Option<u64> {
    window["by_api"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["api"] == api && c["outcome"] == outcome)
        .map(|c| c["calls"].as_u64().unwrap())
}

#[tokio::test]
async fn a_mini_programs_health_shows_calls_errors_token_permissions_limits_and_trade_management() {
    let app = TestApp::spawn().await;
    let appid = app.sim_config.default_authorizer_appid.clone();
    // Shipping only: the logistics sets and plugin management are missing.
    app.sim.set_next_authorization(&appid, vec![142]);
    let (a, key, _) = app.onboarded_tenant("Health A").await;
    let b = app.create_tenant("Health B").await;
    let root = app.admin_token.clone();
    let viewer = token(Role::PlatformViewer, None);
    let a_admin = token(Role::TenantAdmin, Some(&a));
    let b_admin = token(Role::TenantAdmin, Some(&b));
    let health_path = format!("/admin/v1/authorizers/{appid}/health");
    app.sim.set_trade_managed(&appid, true);
    app.sim
        .set_trade_management_confirmation_completed(&appid, false);

    // A rate-limit policy of its own, and a proxied call it counts.
    let resp = app
        .admin_put(
            "/admin/v1/rate-limit-policies",
            json!({"api_group": "shipping", "dimension": "appid", "window": "day",
                   "scope": format!("appid:{appid}"), "max_calls": 50}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let order = app.sim.create_paid_order(NewOrder::default());
    let (status, body) = app
        .proxy(
            &key,
            &appid,
            "get_order",
            &json!({ "transaction_id": order.transaction_id }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The log writes off the request path: wait for the proxied call.
    let proxied = store::calls::CallFilter {
        appid: Some(appid.clone()),
        api: Some("get_order".into()),
        ..Default::default()
    };
    let store = app.auth.store().clone();
    eventually(
        Duration::from_secs(5),
        "the proxied call is recorded",
        async || {
            !store
                .list_calls(&proxied, None, 1)
                .await
                .unwrap()
                .is_empty()
        },
    )
    .await;

    // Calls of APIs the test does not call for real, so counts are exact.
    let seeded = |api: &str, outcome| call(Some(&a), Some(&appid), api, outcome);
    app.auth
        .store()
        .insert_calls(vec![
            seeded("notify_confirm_receive", CallOutcome::Ok),
            seeded("notify_confirm_receive", CallOutcome::Ok),
            seeded("notify_confirm_receive", CallOutcome::Ok),
            with(
                seeded("notify_confirm_receive", CallOutcome::WechatFailed),
                |c| {
                    c.errcode = Some(-1);
                    c.errmsg = Some("system error".into());
                },
            ),
            // Not sent: no part of the error rate.
            seeded("set_msg_jump_path", CallOutcome::Invalid),
            seeded("set_msg_jump_path", CallOutcome::RateLimited),
            // The latest error: component-level.
            component_refusal(Some(&a), Some(&appid), "health-component"),
        ])
        .await
        .unwrap();

    let health = ok(&app, &health_path, &root).await;
    assert_eq!(health["appid"], appid.as_str());
    assert_eq!(health["tenant_id"], a.as_str());
    assert_eq!(health["status"], "active");
    for window in ["last_hour", "last_24h"] {
        let w = &health[window];
        assert_eq!(counted(w, "notify_confirm_receive", "ok"), Some(3), "{w}");
        assert_eq!(
            counted(w, "notify_confirm_receive", "wechat_failed"),
            Some(1)
        );
        assert_eq!(counted(w, "set_msg_jump_path", "invalid"), Some(1));
        assert_eq!(counted(w, "set_msg_jump_path", "rate_limited"), Some(1));
        let (calls, sent, errors) = (
            w["calls"].as_u64().unwrap(),
            w["sent"].as_u64().unwrap(),
            w["errors"].as_u64().unwrap(),
        );
        // The seeded calls, and the real ones (onboarding, the proxied call).
        assert!(calls >= 7 && sent >= 6 && errors >= 2, "{w}");
        assert_eq!(
            calls - sent,
            2,
            "only the two refused locally were not sent: {w}"
        );
        let rate = w["error_rate"].as_f64().unwrap();
        assert!((rate - errors as f64 / sent as f64).abs() < 1e-9, "{w}");
    }
    let last = &health["last_error"];
    assert_eq!(last["errcode"], 61004, "{last}");
    assert_eq!(last["request_id"], "health-component");
    assert_eq!(last["rid"], "6576d1e1-5b2a7c3d");
    assert_eq!(last["outcome"], "wechat_refused");
    assert!(last["errmsg"].as_str().unwrap().contains(EGRESS_IP));
    let by_id = ok(
        &app,
        &format!("/admin/v1/calls/{}", last["id"].as_str().unwrap()),
        &root,
    )
    .await;
    assert_eq!(by_id["request_id"], "health-component");

    // The token's state, never the token.
    let token_state = &health["token"];
    assert_eq!(token_state["valid"], true, "{token_state}");
    assert!(token_state["expires_in_secs"].as_i64().unwrap() > 0);
    assert!(token_state["refreshed_at"].is_string());
    let access = app.auth.authorizer_access_token(&appid).await.unwrap();
    assert!(!health.to_string().contains(access.token.expose()));

    // Permission sets: granted, and what the proxied APIs lack.
    let granted: Vec<i64> = health["permission_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(granted, [142]);
    let missing = health["missing_permission_sets"].as_array().unwrap();
    let sets: Vec<Vec<i64>> = missing
        .iter()
        .map(|m| {
            m["any_of"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_i64().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(sets, [vec![45], vec![45, 71], vec![40]], "{missing:?}");
    assert!(
        missing[0]["apis"]
            .as_array()
            .unwrap()
            .contains(&json!("/cgi-bin/express/delivery/open_msg/trace_waybill"))
    );
    assert_eq!(missing[2]["apis"], json!(["/wxa/plugin"]));
    assert!(
        missing[2]["any_of"][0]["name"]
            .as_str()
            .unwrap()
            .contains("Plugin")
    );

    // Rate limits today: the proxied call against the appid's own policy.
    let limits = &health["rate_limits"];
    assert!(limits["date"].as_str().unwrap().len() == 10, "{limits}");
    let shipping = limits["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["api_group"] == "shipping")
        .unwrap();
    assert_eq!(shipping["appid_calls"], 1, "{limits}");
    let policy = |name: &str| {
        limits["policies"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {limits}"))
            .clone()
    };
    let own = policy("shipping-appid-day");
    assert_eq!(
        (
            &own["used"],
            &own["remaining"],
            &own["max_calls"],
            &own["scope"]
        ),
        (
            &json!(1),
            &json!(49),
            &json!(50),
            &json!(format!("appid:{appid}"))
        )
    );
    let per_user = policy("logistics_plugin-user-day");
    assert_eq!(per_user["max_calls"], 100);
    assert!(per_user.get("used").is_none(), "{per_user}");
    assert_eq!(policy("logistics_plugin-appid-day")["used"], 0);

    // Trade management: fetched once with the first look, then cached.
    let trade = health["trade_management"].clone();
    assert_eq!(trade["is_trade_managed"], true, "{trade}");
    assert_eq!(trade["confirmation_completed"], false);
    assert!(trade["fetched_at"].is_string() && trade.get("error").is_none());
    let asked = || app.sim.call_count("/wxa/sec/order/is_trade_managed");
    assert_eq!(asked(), 1);
    app.sim.set_trade_managed(&appid, false);
    let cached = ok(&app, &health_path, &a_admin).await;
    assert_eq!(cached["trade_management"], trade);
    assert_eq!(asked(), 1, "read from the cache");

    // The tenant's own view: its calls, no component-level errmsg.
    assert_eq!(cached["last_error"]["errcode"], 61004);
    assert!(cached["last_error"].get("errmsg").is_none(), "{cached}");
    assert!(!cached.to_string().contains(EGRESS_IP));
    assert_eq!(
        counted(&cached["last_hour"], "notify_confirm_receive", "ok"),
        Some(3)
    );
    // Another tenant's admin learns nothing; a viewer may not make tpgate ask.
    let (status, _) = get(&app, &health_path, &b_admin).await;
    assert_eq!(status, 404);
    let (status, _) = get(&app, &format!("{health_path}?refresh=true"), &viewer).await;
    assert_eq!(status, 403);
    let (status, _) = get(
        &app,
        "/admin/v1/authorizers/wx0000000000000000/health",
        &root,
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = get(&app, &format!("{health_path}?refresh=maybe"), &root).await;
    assert_eq!((status, body["field"].as_str()), (400, Some("refresh")));
    assert_eq!(asked(), 1);

    // On demand (tenant write), once the last ask is a minute old: asked now.
    app.advance(61);
    let refreshed = ok(&app, &format!("{health_path}?refresh=true"), &a_admin).await;
    let refreshed = &refreshed["trade_management"];
    assert_eq!(refreshed["is_trade_managed"], false, "{refreshed}");
    assert!(refreshed["fetched_at"].as_str() > trade["fetched_at"].as_str());
    assert_eq!(asked(), 2);
    // Not twice within a minute, however often asked.
    let again = ok(&app, &format!("{health_path}?refresh=true"), &root).await;
    assert_eq!(&again["trade_management"], refreshed);
    assert_eq!(asked(), 2);

    // A day on, the next look asks again.
    app.advance(86_400 + 60);
    app.push_ticket().await;
    app.sim
        .set_trade_management_confirmation_completed(&appid, true);
    let next_day = ok(&app, &health_path, &viewer).await;
    assert_eq!(
        next_day["trade_management"]["confirmation_completed"], true,
        "{next_day}"
    );
    assert_eq!(asked(), 3);

    // A forced refresh (an operator's) is shown apart from scheduled ones.
    assert!(
        next_day.get("last_forced_refresh_at").is_none(),
        "{next_day}"
    );
    app.advance(61);
    let resp = app
        .http
        .post(app.url(&format!("/admin/v1/authorizers/{appid}/refresh-token")))
        .bearer_auth(&root)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let forced = ok(&app, &health_path, &a_admin).await;
    assert!(forced["last_forced_refresh_at"].is_string(), "{forced}");
    app.shutdown().await;
}

#[tokio::test]
async fn platform_status_counts_calls_errors_failing_webhooks_and_waiting_deliveries() {
    // No onboarding: the only calls are the seeded ones.
    let app = TestApp::spawn().await;
    let root = app.admin_token.clone();
    let viewer = token(Role::PlatformViewer, None);
    let status_path = "/admin/v1/platform/status";
    let before = ok(&app, status_path, &viewer).await;
    assert_eq!(before["calls"]["last_hour"]["calls"], 0, "{before}");
    assert!(before["calls"]["last_hour"].get("error_rate").is_none());
    assert_eq!(before["failing_mini_programs"], json!([]));
    assert_eq!(before["failing_webhooks"]["total"], 0);
    assert_eq!(before["pending_deliveries"], 0);

    let tenant = app.create_tenant("Status T").await;
    let (worst, other) = ("wxaaaaaaaaaaaaaaa1", "wxaaaaaaaaaaaaaaa2");
    let seeded = |appid, outcome| call(Some(&tenant), Some(appid), "get_order", outcome);
    app.auth
        .store()
        .insert_calls(vec![
            seeded(worst, CallOutcome::WechatRefused),
            seeded(worst, CallOutcome::Timeout),
            seeded(worst, CallOutcome::WechatFailed),
            seeded(worst, CallOutcome::Ok),
            seeded(other, CallOutcome::WechatRefused),
            seeded(other, CallOutcome::Ok),
            seeded(other, CallOutcome::Ok),
            seeded(other, CallOutcome::Invalid),
            // Healthy: not listed.
            seeded("wxaaaaaaaaaaaaaaa3", CallOutcome::Ok),
        ])
        .await
        .unwrap();

    // A webhook disabled by an operator, with an event waiting for it.
    let resp = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/webhooks"),
            json!({"url": "https://hooks.example/status"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let hook_id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = patch(
        &app,
        &format!("/admin/v1/tenants/{tenant}/webhooks/{hook_id}"),
        &root,
        json!({"enabled": false}),
    )
    .await;
    assert_eq!(status, 200);
    app.auth
        .store()
        .record_event(&store::events::NewEvent {
            tenant_id: Some(tenant.clone().into()),
            authorizer_appid: Some(worst.into()),
            event_type: "trade_manage_remind_shipping".into(),
            data: json!({}),
            dedupe_key: "status-e2e".into(),
            occurred_at: Utc::now(),
            order_note: None,
        })
        .await
        .unwrap();

    let after = ok(&app, status_path, &viewer).await;
    for window in ["last_hour", "last_24h"] {
        let w = &after["calls"][window];
        assert_eq!(
            (&w["calls"], &w["sent"], &w["errors"]),
            (&json!(9), &json!(8), &json!(4)),
            "{window}: {w}"
        );
        assert_eq!(w["error_rate"], 0.5);
    }
    let failing = after["failing_mini_programs"].as_array().unwrap();
    let summary: Vec<(&str, u64, u64)> = failing
        .iter()
        .map(|f| {
            (
                f["appid"].as_str().unwrap(),
                f["errors"].as_u64().unwrap(),
                f["sent"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [(worst, 3, 4), (other, 1, 3)]);
    assert_eq!(failing[0]["error_rate"], 0.75);
    let hooks = &after["failing_webhooks"];
    assert_eq!(hooks["total"], 1, "{hooks}");
    assert_eq!(hooks["endpoints"][0]["id"], hook_id.as_str());
    assert_eq!(hooks["endpoints"][0]["tenant_id"], tenant.as_str());
    assert_eq!(hooks["endpoints"][0]["enabled"], false);
    assert!(hooks["endpoints"][0]["disabled_reason"].is_string());
    assert!(
        !hooks.to_string().contains("hooks.example"),
        "no URL: {hooks}"
    );
    assert_eq!(after["pending_deliveries"], 1);

    // Platform-wide figures: platform roles only.
    let (status, _) = get(&app, status_path, &token(Role::TenantAdmin, Some(&tenant))).await;
    assert_eq!(status, 403);
    ok(&app, status_path, &root).await;
    app.shutdown().await;
}

#[tokio::test]
async fn body_capture_is_switched_by_the_platform_in_the_tenant_patch_and_audited() {
    let app = TestApp::spawn().await;
    let root = app.admin_token.clone();
    let tenant = app.create_tenant("Capture T").await;
    let path = format!("/admin/v1/tenants/{tenant}");
    assert_eq!(ok(&app, &path, &root).await["capture_call_bodies"], false);

    // Platform write only: not a viewer, not the tenant's own admin.
    for who in [
        token(Role::PlatformViewer, None),
        token(Role::TenantAdmin, Some(&tenant)),
    ] {
        let (status, _) = patch(&app, &path, &who, json!({"capture_call_bodies": true})).await;
        assert_eq!(status, 403);
    }
    let (status, body) = patch(&app, &path, &root, json!({"capture_call_bodies": "yes"})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("capture_call_bodies")),
        "{body}"
    );
    let (status, body) = patch(&app, &path, &root, json!({})).await;
    assert_eq!(status, 400);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("capture_call_bodies"),
        "{body}"
    );
    assert_eq!(ok(&app, &path, &root).await["capture_call_bodies"], false);

    for on in [true, false] {
        let (status, body) = patch(&app, &path, &root, json!({"capture_call_bodies": on})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["capture_call_bodies"], on);
        assert_eq!(ok(&app, &path, &root).await["capture_call_bodies"], on);
    }
    let audit = ok(
        &app,
        &format!("/admin/v1/audit-log?tenant_id={tenant}&action=tenant.update"),
        &root,
    )
    .await;
    let switched: Vec<&Value> = items(&audit)
        .iter()
        .map(|e| &e["detail"]["capture_call_bodies"])
        .collect();
    // Newest first; the refused attempts left no entry.
    assert_eq!(switched, [&json!(false), &json!(true)], "{audit}");
    assert!(
        items(&audit)
            .iter()
            .all(|e| e["actor_role"] == "platform_admin")
    );
    app.shutdown().await;
}
