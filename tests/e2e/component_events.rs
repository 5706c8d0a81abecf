//! The authorization-event URL: valid pushes are stored, every kind of bad
//! push is rejected with a clear 4xx and stores nothing.
use serde_json::Value;
use wxcrypt::MsgCrypt;

use crate::helpers::TestApp;

async fn ticket_present(app: &TestApp) -> bool {
    let ready: Value = app
        .http
        .get(app.ops_url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["component_verify_ticket"]["present"] == true
}

/// Now, as WeChat's `timestamp` (pushes outside a window of it are refused).
fn now() -> String {
    chrono::Utc::now().timestamp().to_string()
}

fn ticket_xml(appid: &str) -> String {
    ticket_xml_at(appid, &now(), "ticket@@@forged")
}

fn ticket_xml_at(appid: &str, create_time: &str, ticket: &str) -> String {
    format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{create_time}</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>"
    )
}

async fn push_at(
    app: &TestApp,
    timestamp: &str,
    query_signature: Option<&str>,
    body: &str,
    signature: &str,
) -> (u16, String) {
    let sig = query_signature.unwrap_or(signature);
    let resp = app
        .http
        .post(app.url(&format!(
            "/wechat/component/events?timestamp={timestamp}&nonce=42&encrypt_type=aes&msg_signature={sig}"
        )))
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn bad_pushes_are_rejected_and_store_nothing() {
    let app = TestApp::spawn().await;
    let c = &app.sim_config;
    // One timestamp for sealing and sending: a second boundary between
    // the two would make even the genuine push's signature wrong.
    let ts = now();
    let crypt = MsgCrypt::new(&c.token, &c.encoding_aes_key, &c.component_appid).unwrap();
    let (body, sig) = crypt.seal_push(
        Some(("AppId", &c.component_appid)),
        &ticket_xml(&c.component_appid),
        &ts,
        "42",
    );

    // Wrong msg_signature.
    let (status, text) = push_at(
        &app,
        &ts,
        Some("0000000000000000000000000000000000000000"),
        &body,
        &sig,
    )
    .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("-40001"), "{text}");

    // Truncated Encrypt (signed correctly, so only decryption can catch it).
    let encrypt = wxcrypt::extract_encrypt(&body).unwrap();
    let truncated = &encrypt[..encrypt.len() - 7];
    let truncated_sig = wxcrypt::msg_signature(&c.token, &ts, "42", truncated);
    let truncated_body = format!(
        "<xml><AppId><![CDATA[{}]]></AppId><Encrypt><![CDATA[{truncated}]]></Encrypt></xml>",
        c.component_appid
    );
    let (status, text) = push_at(&app, &ts, None, &truncated_body, &truncated_sig).await;
    assert_eq!(status, 400, "{text}");

    // AppId mismatch in the encrypted trailer.
    let other = MsgCrypt::new(&c.token, &c.encoding_aes_key, "wx9999999999999999").unwrap();
    let (other_body, other_sig) = other.seal_push(
        Some(("AppId", "wx9999999999999999")),
        &ticket_xml(&c.component_appid),
        &ts,
        "42",
    );
    let (status, text) = push_at(&app, &ts, None, &other_body, &other_sig).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("-40005"), "{text}");

    // Inner AppId of another component, with a valid envelope.
    let (inner_body, inner_sig) = crypt.seal_push(
        Some(("AppId", &c.component_appid)),
        &ticket_xml("wx9999999999999999"),
        &ts,
        "42",
    );
    let (status, text) = push_at(&app, &ts, None, &inner_body, &inner_sig).await;
    assert_eq!(status, 400, "{text}");

    // Not XML at all.
    let (status, text) = push_at(&app, &ts, None, "{\"json\": true}", &sig).await;
    assert_eq!(status, 400, "{text}");

    // Missing query parameters.
    let resp = app
        .http
        .post(app.url("/wechat/component/events"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    assert!(
        !ticket_present(&app).await,
        "nothing may be stored from a bad push"
    );

    // The genuine push is accepted and stored.
    let (status, text) = push_at(&app, &ts, None, &body, &sig).await;
    assert_eq!((status, text.as_str()), (200, "success"));
    assert!(ticket_present(&app).await);
    app.shutdown().await;
}

#[tokio::test]
async fn unauthorized_push_revokes_and_stops_proxying() {
    let app = TestApp::spawn().await;
    let (_, key, appid) = app.onboarded_tenant("acme").await;
    let outcome = app.sim.push_unauthorized(&appid).await.unwrap();
    assert_eq!((outcome.status, outcome.body.as_str()), (200, "success"));
    let list: Value = app.authorizers(None).await;
    assert_eq!(list["items"][0]["status"], "revoked");
    let (status, problem) = app
        .proxy(
            &key,
            &appid,
            "get_order",
            &serde_json::json!({"transaction_id": "x"}),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    assert_eq!(app.sim.call_count("/wxa/sec/order/get_order"), 0);
    app.shutdown().await;
}

#[tokio::test]
async fn authorized_push_binds_the_visit_tenant() {
    let app = TestApp::spawn().await;
    app.push_ticket().await;
    let tenant = app.create_tenant("acme").await;
    let link = app.create_link(&tenant).await;
    // Start a visit (creates the pre_auth_code), but let the push complete it.
    let location = app.wechat_page_for(&link).await;
    let pre_auth_code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "pre_auth_code")
        .unwrap()
        .1
        .into_owned();
    let appid = "wx00000000000000bb";
    let outcome = app
        .sim
        .push_authorized("authorized", appid, Some(&pre_auth_code))
        .await
        .unwrap();
    assert_eq!(
        (outcome.status, outcome.body.as_str()),
        (200, "success"),
        "{}",
        outcome.body
    );
    let list: Value = app.authorizers(Some(&tenant)).await;
    assert_eq!(list["items"][0]["appid"], appid);
    // Retried push: idempotent.
    let again = app
        .sim
        .push_authorized("authorized", appid, Some(&pre_auth_code))
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    let list: Value = app.authorizers(None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    app.shutdown().await;
}

async fn ticket_age(app: &TestApp) -> Value {
    let ready: Value = app
        .http
        .get(app.ops_url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["component_verify_ticket"].clone()
}

#[tokio::test]
async fn replayed_stale_and_far_future_pushes_change_nothing() {
    let app = TestApp::spawn().await;
    let c = &app.sim_config;
    let crypt = MsgCrypt::new(&c.token, &c.encoding_aes_key, &c.component_appid).unwrap();
    let seal =
        |xml: &str, ts: &str| crypt.seal_push(Some(("AppId", &c.component_appid)), xml, ts, "42");
    let at = |offset: i64| (chrono::Utc::now().timestamp() + offset).to_string();

    // A correctly signed push whose signed timestamp is 10 minutes old
    // (a capture replayed later) is refused.
    let old = at(-600);
    let (body, sig) = seal(
        &ticket_xml_at(&c.component_appid, &old, "ticket@@@old"),
        &old,
    );
    let (status, text) = push_at(&app, &old, None, &body, &sig).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("timestamp"), "{text}");
    // So is one signed for 10 minutes ahead.
    let ahead = at(600);
    let (body, sig) = seal(
        &ticket_xml_at(&c.component_appid, &ahead, "ticket@@@ahead"),
        &ahead,
    );
    assert_eq!(push_at(&app, &ahead, None, &body, &sig).await.0, 400);
    // A fresh signature over a far-future CreateTime (which would block
    // every later ticket) is refused too.
    let ts = now();
    let (body, sig) = seal(
        &ticket_xml_at(&c.component_appid, &at(86_400 * 365), "ticket@@@future"),
        &ts,
    );
    let (status, text) = push_at(&app, &ts, None, &body, &sig).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("CreateTime"), "{text}");
    assert!(!ticket_present(&app).await, "nothing stored");

    // A genuine ticket, two minutes old, is stored ...
    let created = at(-120);
    let xml = ticket_xml_at(&c.component_appid, &created, "ticket@@@real");
    let ts = now();
    let (body, sig) = seal(&xml, &ts);
    assert_eq!(push_at(&app, &ts, None, &body, &sig).await.0, 200);
    let first = ticket_age(&app).await;
    assert_eq!(first["present"], true, "{first}");
    // ... and the same push repeated (same CreateTime, fresh signature)
    // is acknowledged without making the ticket look younger. Deliberate:
    // a second passes, so that it would.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ts = now();
    let (body, sig) = seal(&xml, &ts);
    let (status, text) = push_at(&app, &ts, None, &body, &sig).await;
    assert_eq!((status, text.as_str()), (200, "success"));
    let second = ticket_age(&app).await;
    assert!(
        second["age_secs"].as_i64() >= first["age_secs"].as_i64().map(|a| a + 1),
        "a repeat must not extend the ticket: {first} then {second}"
    );
    app.shutdown().await;
}
