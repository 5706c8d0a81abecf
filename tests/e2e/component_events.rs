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

fn ticket_xml(appid: &str) -> String {
    format!(
        "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>1700000000</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@forged]]></ComponentVerifyTicket></xml>"
    )
}

async fn push(
    app: &TestApp,
    query_signature: Option<&str>,
    body: &str,
    signature: &str,
) -> (u16, String) {
    let sig = query_signature.unwrap_or(signature);
    let resp = app
        .http
        .post(app.url(&format!(
            "/wechat/component/events?timestamp=1700000000&nonce=42&encrypt_type=aes&msg_signature={sig}"
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
    let crypt = MsgCrypt::new(&c.token, &c.encoding_aes_key, &c.component_appid).unwrap();
    let (body, sig) = crypt.seal_push(
        Some(("AppId", &c.component_appid)),
        &ticket_xml(&c.component_appid),
        "1700000000",
        "42",
    );

    // Wrong msg_signature.
    let (status, text) = push(
        &app,
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
    let truncated_sig = wxcrypt::msg_signature(&c.token, "1700000000", "42", truncated);
    let truncated_body = format!(
        "<xml><AppId><![CDATA[{}]]></AppId><Encrypt><![CDATA[{truncated}]]></Encrypt></xml>",
        c.component_appid
    );
    let (status, text) = push(&app, None, &truncated_body, &truncated_sig).await;
    assert_eq!(status, 400, "{text}");

    // AppId mismatch in the encrypted trailer.
    let other = MsgCrypt::new(&c.token, &c.encoding_aes_key, "wx9999999999999999").unwrap();
    let (other_body, other_sig) = other.seal_push(
        Some(("AppId", "wx9999999999999999")),
        &ticket_xml(&c.component_appid),
        "1700000000",
        "42",
    );
    let (status, text) = push(&app, None, &other_body, &other_sig).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("-40005"), "{text}");

    // Inner AppId of another component, with a valid envelope.
    let (inner_body, inner_sig) = crypt.seal_push(
        Some(("AppId", &c.component_appid)),
        &ticket_xml("wx9999999999999999"),
        "1700000000",
        "42",
    );
    let (status, text) = push(&app, None, &inner_body, &inner_sig).await;
    assert_eq!(status, 400, "{text}");

    // Not XML at all.
    let (status, text) = push(&app, None, "{\"json\": true}", &sig).await;
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
    let (status, text) = push(&app, None, &body, &sig).await;
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
    let resp = app.http.get(link).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
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
