//! Onboarding as a merchant meets it, against a simulator that refuses what
//! WeChat refuses: the link opened with no `Referer` (from an email or a
//! chat) shows a landing page whose button reaches WeChat's page with the
//! page's origin as `Referer`; the phone's WeChat gets the mobile page;
//! WeChat's redirect and its `authorized` push are applied once in either
//! order; and what an attacker or a bad day can do to the links (quota,
//! re-completion, guessed codes, used or suspended links) is refused.
use serde_json::{Value, json};
use url::Url;
use wechat_sim::AuthorizedPush;

use crate::helpers::{TestApp, TestOptions, landing_form, origin_of};

const PREAUTHCODE: &str = "/cgi-bin/component/api_create_preauthcode";
const QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";

async fn link_with(app: &TestApp, tenant: &str, body: Value) -> Url {
    let resp = app
        .admin_post(
            &format!("/admin/v1/tenants/{tenant}/onboarding-links"),
            body,
        )
        .await;
    assert_eq!(resp.status(), 201);
    Url::parse(resp.json::<Value>().await.unwrap()["url"].as_str().unwrap()).unwrap()
}

/// The query of WeChat's page URL as pairs.
fn query(url: &str) -> Vec<(String, String)> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn has(pairs: &[(String, String)], key: &str) -> bool {
    pairs.iter().any(|(k, _)| k == key)
}

#[tokio::test]
async fn a_link_opened_without_referer_reaches_wechat_from_the_landing_page() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("Acme 商城").await;
    let link = app.create_link(&tenant).await;

    // Opened 20 times, previewed by chat apps: no WeChat call, no visit.
    for _ in 0..20 {
        let landing = app
            .http
            .get(link.clone())
            .header("accept-language", "zh-CN,zh;q=0.9")
            .send()
            .await
            .unwrap();
        assert_eq!(landing.status(), 200);
        assert_eq!(landing.headers()["referrer-policy"], "origin");
        let html = landing.text().await.unwrap();
        assert!(html.contains("前往授权"), "{html}");
        assert!(html.contains("Acme 商城") && html.contains("142"), "{html}");
        assert!(html.contains("<meta name=referrer content=origin>"));
    }
    assert_eq!(app.sim.call_count(PREAUTHCODE), 0);

    // WeChat's PC page refuses a visit without a Referer on the domain ...
    let page = app.wechat_page_for(&link).await;
    let refused = app.http.get(&page).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let text = refused.text().await.unwrap();
    assert!(text.contains("授权入口页所在域名：空"), "{text}");
    let elsewhere = app
        .http
        .get(&page)
        .header("referer", "https://evil.example.com/x")
        .send()
        .await
        .unwrap();
    assert!(
        elsewhere
            .text()
            .await
            .unwrap()
            .contains("授权入口页所在域名：evil.example.com")
    );
    // ... and the landing page's button gets through (a fresh visit).
    let (status, html) = app.follow_onboarding(&link).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("has authorized the platform"), "{html}");
    // Only one of auth_type and biz_appid is sent, never both.
    let pairs = query(&page);
    assert!(has(&pairs, "auth_type") && !has(&pairs, "biz_appid"));
    let pinned = link_with(
        &app,
        &tenant,
        json!({ "biz_appid": "wx00000000000000cc", "auth_type": 2 }),
    )
    .await;
    let pairs = query(&app.wechat_page_for(&pinned).await);
    assert!(has(&pairs, "biz_appid") && !has(&pairs, "auth_type"));
    app.shutdown().await;
}

#[tokio::test]
async fn the_phone_wechat_client_gets_the_mobile_page_and_others_the_pc_page() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    let phone_wechat = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN";
    let desktop_wechat = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0 Safari/537.36 MicroMessenger/7.0.20.1781(0x6700143B) NetType/WIFI WindowsWechat(0x63090a13)";
    let phone_browser = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
    for (ua, mobile) in [
        (phone_wechat, true),
        (desktop_wechat, false),
        (phone_browser, false),
    ] {
        let html = app
            .http
            .get(link.clone())
            .header("user-agent", ua)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let (action, fields) = landing_form(&html);
        let expected = if mobile { "mobile" } else { "pc" };
        assert!(
            fields.iter().any(|(k, v)| k == "page" && v == expected),
            "{ua}: {fields:?}"
        );
        let resp = app
            .http
            .post(link.join(&action).unwrap())
            .header("user-agent", ua)
            .header("referer", origin_of(&link))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("page={expected}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        let location = resp.headers()["location"].to_str().unwrap().to_owned();
        if mobile {
            assert!(
                location.contains("/wxaopen/safe/bindcomponent?action=bindcomponent&no_scan=1&"),
                "{location}"
            );
            assert!(location.ends_with("#wechat_redirect"), "{location}");
        } else {
            assert!(
                location.contains("/cgi-bin/componentloginpage?"),
                "{location}"
            );
        }
    }
    app.shutdown().await;
}

/// WeChat both redirects with `auth_code` and pushes `authorized`, in no
/// set order: whichever comes first applies it, the other changes nothing.
#[tokio::test]
async fn the_redirect_and_the_push_apply_the_authorization_once_in_either_order() {
    for timing in [
        AuthorizedPush::BeforeRedirect,
        AuthorizedPush::AfterRedirect,
        AuthorizedPush::Off,
    ] {
        let app = TestApp::spawn_with(move |s| s.authorized_push = timing).await;
        app.push_ticket().await;
        let tenant = app.create_tenant("acme").await;
        let link = app.create_link(&tenant).await;
        let (status, html) = app.follow_onboarding(&link).await;
        assert_eq!(status, 200, "{timing:?}: {html}");
        assert!(html.contains("wx0123456789abcdef"), "{timing:?}: {html}");
        // Deliberate: let a late push land (it must change nothing, so
        // nothing observable marks it).
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(app.sim.call_count(QUERY_AUTH), 1, "{timing:?}");
        let list = app.authorizers(Some(&tenant)).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{timing:?}");
        let events: Value = app
            .admin_get(&format!(
                "/admin/v1/events?tenant_id={tenant}&type=authorization.authorized"
            ))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            events["items"].as_array().map(Vec::len),
            Some(1),
            "{timing:?}: {events}"
        );
        app.shutdown().await;
    }
}

/// Where WeChat sends the browser back, for the visit behind `page`.
async fn approve(app: &TestApp, page: &str) -> String {
    let back = app
        .http
        .get(page)
        .header("referer", origin_of(&app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), 302, "{}", back.text().await.unwrap());
    back.headers()["location"].to_str().unwrap().to_owned()
}

async fn status_of(app: &TestApp, url: &str) -> (u16, String) {
    let resp = app.http.get(url).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn visits_complete_once_and_single_use_links_once() {
    let app = TestApp::spawn_with(|s| s.authorized_push = AuthorizedPush::Off).await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    // The merchant clicks twice (two tabs) before finishing either.
    let first_page = app.wechat_page_for(&link).await;
    let second_page = app.wechat_page_for(&link).await;
    let first = approve(&app, &first_page).await;
    let second = approve(&app, &second_page).await;
    let (status, html) = status_of(&app, &first).await;
    assert_eq!(status, 200, "{html}");
    // A reload of the result page shows the result again, at no cost.
    assert_eq!(status_of(&app, &first).await.0, 200);
    assert_eq!(app.sim.call_count(QUERY_AUTH), 1);
    // The same visit with another code: refused, WeChat not asked.
    let mut forged = Url::parse(&first).unwrap();
    let visit = forged
        .query_pairs()
        .find(|(k, _)| k == "visit")
        .unwrap()
        .1
        .into_owned();
    forged
        .query_pairs_mut()
        .clear()
        .append_pair("visit", &visit)
        .append_pair("auth_code", "queryauthcode@@@guessed");
    let (status, html) = status_of(&app, forged.as_str()).await;
    assert_eq!(status, 409, "{html}");
    // The single-use link's second visit: used up at the first completion.
    let (status, html) = status_of(&app, &second).await;
    assert_eq!(status, 410, "{html}");
    assert!(html.contains("already been used"), "{html}");
    assert_eq!(app.sim.call_count(QUERY_AUTH), 1);
    // And the link itself now says so.
    assert_eq!(app.http.get(link).send().await.unwrap().status(), 410);
    app.shutdown().await;
}

#[tokio::test]
async fn guessed_codes_are_throttled_per_visit() {
    let app = TestApp::spawn_with(|s| s.authorized_push = AuthorizedPush::Off).await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    let page = app.wechat_page_for(&link).await;
    let back = approve(&app, &page).await;
    let visit = Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "visit")
        .unwrap()
        .1
        .into_owned();
    let guess = |n: u32| {
        app.url(&format!(
            "/onboard/complete?visit={visit}&auth_code=guess{n}"
        ))
    };
    for n in 0..5 {
        let (status, _) = status_of(&app, guess(n).as_str()).await;
        assert_eq!(status, 502, "WeChat refuses a guessed code");
    }
    let (status, _) = status_of(&app, guess(5).as_str()).await;
    assert_eq!(status, 429);
    assert_eq!(app.sim.call_count(QUERY_AUTH), 5, "no call once throttled");
    app.shutdown().await;
}

#[tokio::test]
async fn a_suspended_tenants_link_does_not_onboard() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    let page = app.wechat_page_for(&link).await;
    let r = app
        .admin_post(&format!("/admin/v1/tenants/{tenant}/suspend"), json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let landing = app.http.get(link.clone()).send().await.unwrap();
    assert_eq!(landing.status(), 410);
    assert!(landing.text().await.unwrap().contains("suspended"));
    let calls = app.sim.call_count(PREAUTHCODE);
    let click = app
        .http
        .post(link.join(&format!("{}/authorize", link.path())).unwrap())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("page=pc")
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), 410);
    assert_eq!(app.sim.call_count(PREAUTHCODE), calls);
    // A visit started before the suspension does not complete either.
    let back = approve(&app, &page).await;
    let (status, _) = status_of(&app, &back).await;
    assert_eq!(status, 410);
    assert_eq!(app.authorizers(Some(&tenant)).await["items"], json!([]));
    app.shutdown().await;
}

#[tokio::test]
async fn starts_are_throttled_per_link_and_requests_per_client_address() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| {
            c.onboarding.starts_per_link_per_minute = 3;
            c.onboarding.requests_per_address_per_minute = 8;
            // The test client is the "load balancer".
            c.http.trusted_proxies = vec!["127.0.0.1".into()];
        }),
        ..TestOptions::default()
    })
    .await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    let click = |from: &'static str| {
        app.http
            .post(link.join(&format!("{}/authorize", link.path())).unwrap())
            .header("x-forwarded-for", from)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("page=pc")
            .send()
    };
    for from in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        assert_eq!(click(from).await.unwrap().status(), 303);
    }
    let refused = click("198.51.100.4").await.unwrap();
    assert_eq!(refused.status(), 429, "per link");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(app.sim.call_count(PREAUTHCODE), 3);

    // Per address: 8 requests a minute, whatever the link.
    let landing = |from: &'static str| {
        app.http
            .get(link.clone())
            .header("x-forwarded-for", from)
            .send()
    };
    // 198.51.100.1 made one request (a click) already.
    for _ in 0..7 {
        assert_eq!(landing("198.51.100.1").await.unwrap().status(), 200);
    }
    assert_eq!(landing("198.51.100.1").await.unwrap().status(), 429);
    assert_eq!(landing("198.51.100.9").await.unwrap().status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| c.onboarding.requests_per_address_per_minute = 3),
        ..TestOptions::default()
    })
    .await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    for n in 0..3 {
        let r = app
            .http
            .get(link.clone())
            .header("x-forwarded-for", format!("203.0.113.{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = app
        .http
        .get(link.clone())
        .header("x-forwarded-for", "203.0.113.200")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "a made-up X-Forwarded-For buys nothing");
    app.shutdown().await;
}

#[tokio::test]
async fn expired_visits_are_purged() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    for _ in 0..3 {
        app.wechat_page_for(&link).await;
    }
    let store = app.auth.store();
    assert_eq!(
        store
            .purge_expired_onboarding_visits(app.clock.now())
            .await
            .unwrap(),
        0
    );
    app.clock.advance(3600);
    assert_eq!(
        store
            .purge_expired_onboarding_visits(app.clock.now())
            .await
            .unwrap(),
        3
    );
    app.shutdown().await;
}
