//! Tokens across replicas: exactly one refresh per authorizer per lifetime,
//! nothing lost when a refresh dies before its commit, 61023 recovery,
//! the ticket's durability and readiness, revocation, duplicate pushes.
use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};
use store::{
    authorizers::{AuthorizerStatus, STATUS_ACTIVE},
    coord::LeaseBackend,
    events,
};
use tenant_auth::{AuthError, TenantAuth, TicketCheck};
use wechat_sim::{NewOrder, Simulator};

use crate::helpers::{TestApp, TestOptions};

const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
const COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
const QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";
const AUTHORIZER_LIST: &str = "/cgi-bin/component/api_get_authorizer_list";
const AUTHORIZER_INFO: &str = "/cgi-bin/component/api_get_authorizer_info";
const START_PUSH_TICKET: &str = "/cgi-bin/component/api_start_push_ticket";
const GET_ORDER: &str = "/wxa/sec/order/get_order";

/// WeChat's token lifetime and tpgate's default refresh margin.
const LIFETIME: i64 = 7200;
const MARGIN: i64 = 600;

/// `n` Mini Programs authorize the platform (via `authorized` pushes).
async fn authorize_many(app: &TestApp, n: usize) -> Vec<String> {
    let mut appids = Vec::with_capacity(n);
    for i in 0..n {
        let appid = format!("wx{:016x}", 0xa000 + i);
        let outcome = app
            .sim
            .push_authorized("authorized", &appid, None)
            .await
            .unwrap();
        assert_eq!((outcome.status, outcome.body.as_str()), (200, "success"));
        appids.push(appid);
    }
    appids
}

/// 32 concurrent callers on `auth`, each asking once for every appid's token
/// (starting at different appids); every token must be one WeChat accepts.
fn callers(
    auth: &TenantAuth,
    sim: &Simulator,
    appids: &Arc<Vec<String>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..32)
        .map(|k| {
            let (auth, sim, appids) = (auth.clone(), sim.clone(), appids.clone());
            tokio::spawn(async move {
                for i in 0..appids.len() {
                    let appid = &appids[(i + k) % appids.len()];
                    let access = auth
                        .authorizer_access_token(appid)
                        .await
                        .unwrap_or_else(|e| panic!("token for {appid}: {e}"));
                    assert!(
                        sim.authorizer_token_valid(appid, access.token.expose()),
                        "{appid}: a token WeChat no longer accepts was handed out"
                    );
                }
            })
        })
        .collect()
}

/// Two instances on one database (and one Redis, when `redis`), 50
/// authorizers entering the refresh margin, 32 callers per instance, for
/// the rest of the new tokens' usable lifetime: WeChat sees exactly one
/// api_authorizer_token per authorizer, one component token, no 61023.
async fn exactly_one_refresh_per_lifetime(redis: bool) {
    let app = TestApp::start(TestOptions {
        redis,
        ..TestOptions::default()
    })
    .await;
    app.push_ticket().await;
    let appids = Arc::new(authorize_many(&app, 50).await);
    let replica = app.spawn_replica().await;
    let component_calls = app.sim.call_count(COMPONENT_TOKEN);

    // Every token (and the component token) is now inside the margin.
    app.advance(LIFETIME - MARGIN + 60);
    let step = 1200;
    let mut elapsed = 0;
    // Callers keep coming until just before the new tokens enter the margin.
    while elapsed + step < LIFETIME - MARGIN - 60 {
        let mut tasks = callers(&app.auth, &app.sim, &appids);
        tasks.extend(callers(&replica.auth, &app.sim, &appids));
        for t in tasks {
            t.await.unwrap();
        }
        app.advance(step);
        elapsed += step;
    }

    for appid in appids.iter() {
        assert_eq!(
            app.sim.authorizer_token_calls(appid),
            1,
            "{appid}: api_authorizer_token calls in one lifetime"
        );
    }
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 0);
    assert_eq!(app.sim.call_count(COMPONENT_TOKEN), component_calls + 1);
    replica.shutdown().await;
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_refresh_each_token_exactly_once() {
    exactly_one_refresh_per_lifetime(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_without_redis_refresh_each_token_exactly_once() {
    exactly_one_refresh_per_lifetime(false).await;
}

#[tokio::test]
async fn leases_use_redis_when_configured_and_the_database_otherwise() {
    let app = TestApp::spawn().await;
    let store = app.auth.store();
    let expected = if std::env::var("TEST_REDIS_URL").is_ok_and(|u| !u.is_empty()) {
        LeaseBackend::Redis
    } else {
        LeaseBackend::Database
    };
    let ttl = Duration::from_millis(500);
    let lease = store.try_lease("test", ttl).await.unwrap().expect("free");
    assert_eq!(lease.backend(), expected);
    assert!(
        store.try_lease("test", ttl).await.unwrap().is_none(),
        "held"
    );
    lease.release().await;
    let lease = store
        .try_lease("test", ttl)
        .await
        .unwrap()
        .expect("released");
    lease.abandon();
    assert!(store.try_lease("test", ttl).await.unwrap().is_none());
    // Deliberate: past the lease's TTL.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        store.try_lease("test", ttl).await.unwrap().is_some(),
        "an abandoned lease expires"
    );
    app.shutdown().await;
}

/// Gets `appid`'s token from `app` and checks that WeChat accepts it.
async fn assert_usable_token(app: &TestApp, appid: &str) {
    let access = app.auth.authorizer_access_token(appid).await.unwrap();
    assert!(
        app.sim.authorizer_token_valid(appid, access.token.expose()),
        "{appid}: a token WeChat does not accept"
    );
}

/// WeChat rotates refresh tokens here; a refresh "dies" after WeChat
/// answered and before the commit, still holding its lease.
async fn crashing_app() -> (TestApp, String) {
    let app = TestApp::start(TestOptions {
        sim: Box::new(|s| s.rotate_refresh_tokens = true),
        config: Box::new(|c| {
            c.wechat.timeout_secs = 1;
            c.tokens.lease_ttl_secs = 2;
            c.tokens.lease_wait_secs = 10;
        }),
        ..TestOptions::default()
    })
    .await;
    app.push_ticket().await;
    let appid = authorize_many(&app, 1).await.remove(0);
    app.advance(LIFETIME - MARGIN + 60);
    app.auth.faults().crash_before_commit(1);
    let err = app.auth.authorizer_access_token(&appid).await.unwrap_err();
    assert!(matches!(err, AuthError::InjectedCrash), "{err}");
    assert_eq!(app.sim.authorizer_token_calls(&appid), 1);
    (app, appid)
}

#[tokio::test]
async fn a_refresh_that_dies_before_commit_loses_no_refresh_token() {
    let (app, appid) = crashing_app().await;
    // The next refresh waits out the dead holder's lease, then uses the
    // refresh token still stored (WeChat's previous one, within its grace).
    assert_usable_token(&app, &appid).await;
    assert_eq!(app.sim.authorizer_token_calls(&appid), 2);
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 0);
    // The rotated token was committed: a lifetime later it refreshes again.
    app.advance(LIFETIME - MARGIN + 60);
    assert_usable_token(&app, &appid).await;
    assert_eq!(app.sim.authorizer_token_calls(&appid), 3);
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn a_lost_refresh_token_is_recovered_from_the_authorizer_list() {
    let (app, appid) = crashing_app().await;
    // Past the old refresh token's grace: WeChat answers 61023, and the
    // current one comes back from api_get_authorizer_list.
    app.advance(400);
    assert_usable_token(&app, &appid).await;
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 1);
    assert_eq!(app.sim.call_count(AUTHORIZER_LIST), 1);
    assert_eq!(app.sim.authorizer_token_calls(&appid), 3);
    let info = app.auth.store().authorizer(&appid).await.unwrap().unwrap();
    assert_eq!(info.status, AuthorizerStatus::Active);
    app.shutdown().await;
}

/// api_get_authorizer_list shows some accounts without their refresh token;
/// api_get_authorizer_info carries it too (authorization_info), so 61023 is
/// recovered from there.
#[tokio::test]
async fn a_refresh_token_missing_from_the_list_is_recovered_from_the_authorizer_info() {
    let app = TestApp::spawn().await;
    let (_tenant, _key, appid) = app.onboarded_tenant("acme").await;
    app.sim.rotate_refresh_token(&appid, false, true);
    app.advance(LIFETIME - MARGIN + 60);
    let info_calls = app.sim.call_count(AUTHORIZER_INFO);

    assert_usable_token(&app, &appid).await;
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 1);
    assert_eq!(app.sim.call_count(AUTHORIZER_LIST), 1);
    assert_eq!(app.sim.call_count(AUTHORIZER_INFO), info_calls + 1);
    assert_eq!(app.sim.authorizer_token_calls(&appid), 2);
    let info = app.auth.store().authorizer(&appid).await.unwrap().unwrap();
    assert_eq!(info.status, AuthorizerStatus::Active);
    // The recovered token was stored: the next lifetime refreshes with it.
    app.advance(LIFETIME - MARGIN + 60);
    assert_usable_token(&app, &appid).await;
    assert_eq!(app.sim.error_count(AUTHORIZER_TOKEN, 61023), 1);
    app.shutdown().await;
}

#[tokio::test]
async fn an_unrecoverable_refresh_token_stops_wechat_calls_and_tells_the_tenant() {
    let app = TestApp::spawn().await;
    let (tenant, _key, appid) = app.onboarded_tenant("acme").await;
    // Neither the list nor the info shows the new refresh token.
    app.sim.rotate_refresh_token(&appid, false, false);
    app.advance(LIFETIME - MARGIN + 60);
    let info_calls = app.sim.call_count(AUTHORIZER_INFO);

    let err = app.auth.authorizer_access_token(&appid).await.unwrap_err();
    assert!(
        matches!(&err, AuthError::AuthorizerInactive { status, .. } if *status == AuthorizerStatus::ReauthorizationRequired),
        "{err}"
    );
    assert_eq!(app.sim.authorizer_token_calls(&appid), 1);
    assert_eq!(app.sim.call_count(AUTHORIZER_LIST), 1);
    assert_eq!(app.sim.call_count(AUTHORIZER_INFO), info_calls + 1);
    // No retry loop: WeChat is not called again for it.
    for _ in 0..3 {
        assert!(app.auth.authorizer_access_token(&appid).await.is_err());
    }
    assert_eq!(app.sim.authorizer_token_calls(&appid), 1);
    let events = app
        .auth
        .store()
        .list_events(
            &store::events::EventFilter {
                tenant_id: Some(tenant.to_string()),
                event_type: Some(events::REAUTHORIZATION_REQUIRED.to_string()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].authorizer_appid.as_deref(), Some(appid.as_str()));

    // Authorizing again restores it, under the same tenant.
    let outcome = app
        .sim
        .push_authorized("authorized", &appid, None)
        .await
        .unwrap();
    assert_eq!(outcome.body, "success");
    let info = app.auth.store().authorizer(&appid).await.unwrap().unwrap();
    assert_eq!(
        (info.status.as_str(), info.tenant_id.as_deref()),
        (STATUS_ACTIVE, Some(tenant.as_str()))
    );
    app.auth.authorizer_access_token(&appid).await.unwrap();
    app.shutdown().await;
}

async fn readyz(base: &url::Url) -> (u16, Value) {
    let resp = reqwest::get(base.join("readyz").unwrap()).await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn the_ticket_is_requested_when_missing_survives_restarts_and_gates_readiness() {
    let mut app = TestApp::spawn().await;
    // No ticket yet: reported, but a fresh deployment is still ready.
    let (status, body) = readyz(&app.ops).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["component_verify_ticket"]["present"], false);
    assert_eq!(body["component_verify_ticket"]["stale"], true);

    // Needing a token without a ticket asks WeChat to push one, once.
    let err = app.auth.component_access_token().await.unwrap_err();
    assert!(matches!(err, AuthError::NoTicket), "{err}");
    assert_eq!(app.sim.call_count(START_PUSH_TICKET), 1);
    assert_eq!(
        app.auth.ensure_ticket().await.unwrap(),
        TicketCheck::PushRecentlyRequested
    );
    assert_eq!(app.sim.call_count(START_PUSH_TICKET), 1);
    let mut waited = 0;
    while !app.auth.ticket_status().await.unwrap().valid {
        assert!(
            waited < 50,
            "WeChat's push after api_start_push_ticket never arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(app.auth.ensure_ticket().await.unwrap(), TicketCheck::Fresh);

    // A restarted instance uses the stored ticket without a new push.
    app.stop_instance().await;
    let restarted = app.spawn_replica().await;
    restarted.auth.component_access_token().await.unwrap();
    assert_eq!(app.sim.call_count(START_PUSH_TICKET), 1);
    let (status, body) = readyz(&restarted.ops).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["component_verify_ticket"]["valid"], true);
    let metrics = reqwest::get(restarted.ops.join("metrics").unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("tpgate_component_ticket_age_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tpgate_token_refreshes_total"),
        "{metrics}"
    );

    // Past its 12 h validity the instance is not ready, and asks again.
    app.clock.advance(12 * 3600 + 60);
    let (status, body) = readyz(&restarted.ops).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["component_verify_ticket"]["valid"], false);
    assert_eq!(
        restarted.auth.ensure_ticket().await.unwrap(),
        TicketCheck::PushRequested
    );
    assert_eq!(app.sim.call_count(START_PUSH_TICKET), 2);
    restarted.shutdown().await;
    app.shutdown().await;
}

#[tokio::test]
async fn revoked_authorizers_get_a_clear_403_without_wechat_until_they_authorize_again() {
    let app = TestApp::spawn().await;
    let (tenant, key, appid) = app.onboarded_tenant("acme").await;
    let order = app.sim.create_paid_order(NewOrder::default());
    let body = json!({ "transaction_id": order.transaction_id });
    let (status, answer) = app.proxy(&key, &appid, "get_order", &body).await;
    assert_eq!(status, 200, "{answer}");
    let calls = app.sim.call_count(GET_ORDER);

    let outcome = app.sim.push_unauthorized(&appid).await.unwrap();
    assert_eq!(outcome.body, "success");
    let (status, answer) = app.proxy(&key, &appid, "get_order", &body).await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["detail"].as_str().unwrap().contains("revoked"),
        "{answer}"
    );
    assert_eq!(app.sim.call_count(GET_ORDER), calls, "WeChat was called");
    let info = app.auth.store().authorizer(&appid).await.unwrap().unwrap();
    assert_eq!(info.status, AuthorizerStatus::Revoked);
    assert_eq!(info.access_token_expires_at, None, "tokens dropped");
    let revoked = app
        .auth
        .store()
        .list_events(
            &store::events::EventFilter {
                tenant_id: Some(tenant.to_string()),
                event_type: Some(events::REVOKED.to_string()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);

    let outcome = app
        .sim
        .push_authorized("authorized", &appid, None)
        .await
        .unwrap();
    assert_eq!(outcome.body, "success");
    let (status, answer) = app.proxy(&key, &appid, "get_order", &body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(app.sim.call_count(GET_ORDER), calls + 1);
    app.shutdown().await;
}

#[tokio::test]
async fn repeated_authorization_pushes_are_applied_once() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let appid = "wx1111222233334444";
    let first = app
        .sim
        .push_authorized("authorized", appid, None)
        .await
        .unwrap();
    assert_eq!(first.body, "success");
    for _ in 0..2 {
        // WeChat retries the same message when it saw no `success` in time.
        let again = app.sim.repeat_last_push().await.unwrap();
        assert_eq!((again.status, again.body.as_str()), (200, "success"));
    }
    assert_eq!(app.sim.call_count(QUERY_AUTH), 1);
    let store = app.auth.store();
    let authorized = store
        .list_events(
            &store::events::EventFilter {
                event_type: Some(events::AUTHORIZED.to_string()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(authorized.len(), 1);
    assert_eq!(authorized[0].data["funcscopes"], json!([18, 45, 142]));
    let info = store.authorizer(appid).await.unwrap().unwrap();
    // api_get_authorizer_info filled the profile.
    assert_eq!(info.user_name.as_deref(), Some("gh_222233334444"));
    assert!(info.principal_name.is_some());

    app.sim.push_unauthorized(appid).await.unwrap();
    app.sim.repeat_last_push().await.unwrap();
    let revoked = store
        .list_events(
            &store::events::EventFilter {
                event_type: Some(events::REVOKED.to_string()),
                ..Default::default()
            },
            None,
            10,
        )
        .await
        .unwrap();
    assert_eq!(revoked.len(), 1);
    let updated = store
        .list_events(&store::events::EventFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(updated.len(), 2, "{updated:?}");
    app.shutdown().await;
}
