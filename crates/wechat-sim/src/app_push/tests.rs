use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::json;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};
use wechat_api::shipping::{OrderShipping, OrderShippingItem};

use super::*;
use crate::{NewOrder, SimConfig};
use wxcrypt::MsgCrypt;

/// One request as the stand-in gateway received it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Received {
    /// Path and query, as on the request line.
    target: String,
    content_type: Option<String>,
    body: String,
}

/// What the stand-in gateway does with the n-th request.
#[derive(Clone, Copy)]
enum Answer {
    Reply(u16, &'static str),
    /// Keep the connection open and never answer.
    Hang,
}

/// A raw HTTP/1.1 stand-in gateway: records every request and answers the
/// n-th with `answers[n]` (the last one repeats). Raw, so that hanging and
/// counting requests are exact. Returns the URL template of its events URL.
async fn gateway(answers: Vec<Answer>) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let template = format!(
        "http://{}/wechat/apps/$APPID$/events",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(answers);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (tx, seen, answers) = (tx.clone(), seen.clone(), answers.clone());
            tokio::spawn(serve_connection(stream, tx, seen, answers));
        }
    });
    (template, rx)
}

async fn serve_connection(
    mut stream: TcpStream,
    tx: mpsc::UnboundedSender<Received>,
    seen: Arc<AtomicUsize>,
    answers: Arc<Vec<Answer>>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let n = seen.fetch_add(1, Ordering::SeqCst);
        let _ = tx.send(request);
        match answers[n.min(answers.len() - 1)] {
            Answer::Reply(status, body) => {
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(response.as_bytes()).await.is_err() {
                    return;
                }
            }
            Answer::Hang => std::future::pending::<()>().await,
        }
    }
}

/// Reads one request (headers, then a Content-Length body); `None` when the
/// client closed the connection.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Received> {
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[header_end..header_end + length]).into_owned();
    let content_type = header("content-type");
    buf.drain(..header_end + length);
    Some(Received {
        target,
        content_type,
        body,
    })
}

fn sim_with(template: &str, timeout: Duration) -> Simulator {
    let mut config = SimConfig::sandbox();
    config.gateway_app_events_url = Some(template.to_owned());
    config.app_push_timeout = timeout;
    Simulator::new(config)
}

fn crypt(sim: &Simulator) -> MsgCrypt {
    let c = sim.config();
    MsgCrypt::new(&c.token, &c.encoding_aes_key, &c.component_appid).unwrap()
}

fn param(target: &str, name: &str) -> String {
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} missing from {target}"))
}

/// Element names of a flat `<xml>…</xml>` message, in order.
fn element_names(xml: &str) -> Vec<String> {
    let inner = xml
        .strip_prefix("<xml>")
        .and_then(|x| x.strip_suffix("</xml>"))
        .expect("an <xml> message");
    let mut names = Vec::new();
    let mut rest = inner;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>').unwrap();
        let name = &after[..end];
        let close = format!("</{name}>");
        let close_at = after.find(&close).expect("a closing tag");
        names.push(name.to_owned());
        rest = &after[close_at + close.len()..];
    }
    names
}

fn shipped_order() -> ShippingOrder {
    ShippingOrder {
        transaction_id: "4200001234202401010000000001".into(),
        merchant_id: "1900000109".into(),
        sub_merchant_id: "1900000110".into(),
        merchant_trade_no: "T-1".into(),
        description: "Socks".into(),
        paid_amount: 100,
        openid: "oUser".into(),
        trade_create_time: 1_700_000_000,
        pay_time: 1_700_000_000,
        order_state: 2,
        in_complaint: false,
        shipping: Some(OrderShipping {
            shipping_list: vec![
                OrderShippingItem {
                    upload_time: 1_700_000_500,
                    ..Default::default()
                },
                OrderShippingItem {
                    upload_time: 1_700_000_900,
                    ..Default::default()
                },
            ],
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn the_push_decrypts_to_the_seed_fields_and_verifies() {
    let (template, mut received) = gateway(vec![Answer::Reply(200, "success")]).await;
    let sim = sim_with(&template, Duration::from_secs(5));
    let appid = "wx0123456789abcdef";
    let created = sim.create_paid_order(NewOrder {
        appid: Some(appid.into()),
        ..Default::default()
    });
    let order = sim.order(&created.transaction_id).unwrap();
    let event = AppEvent::remind_shipping_for(&order);

    let outcome = sim.push_app_event(appid, &event).await.unwrap();
    assert!(outcome.acknowledged);
    assert_eq!(outcome.attempts.len(), 1);
    let got = received.recv().await.unwrap();
    assert_eq!(got.body, outcome.message.body);
    assert_eq!(got.content_type.as_deref(), Some("text/xml"));
    assert!(
        got.target
            .starts_with(&format!("/wechat/apps/{appid}/events?")),
        "{}",
        got.target
    );

    // The envelope names the Mini Program as api_get_authorizer_info does.
    let gh = "gh_456789abcdef";
    assert_eq!(original_id(appid), gh);
    assert!(got.body.starts_with(&format!(
        "<xml><ToUserName><![CDATA[{gh}]]></ToUserName><Encrypt>"
    )));

    // Query: both signatures, WeChat's way.
    let config = sim.config();
    let (ts, nonce) = (param(&got.target, "timestamp"), param(&got.target, "nonce"));
    assert_eq!(param(&got.target, "encrypt_type"), "aes");
    assert_eq!(param(&got.target, "openid"), system_openid(appid));
    assert_eq!(
        param(&got.target, "signature"),
        wxcrypt::msg_signature(&config.token, &ts, &nonce, "")
    );
    let encrypt = wxcrypt::extract_encrypt(&got.body).unwrap();
    let crypt = crypt(&sim);
    crypt
        .verify_signature(&param(&got.target, "msg_signature"), &ts, &nonce, &encrypt)
        .unwrap();
    // `decrypt` also checks the trailer is the component appid, not the Mini Program's.
    let plain = crypt.decrypt(&encrypt).unwrap();
    assert_eq!(plain.appid, config.component_appid);

    let create_time: i64 = ts.parse().unwrap();
    let from = system_openid(appid);
    assert!(from.starts_with('o') && from.len() == 28, "{from}");
    assert_eq!(
        plain.message,
        format!(
            "<xml><ToUserName><![CDATA[{gh}]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
             <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
             <Event><![CDATA[trade_manage_remind_shipping]]></Event>\
             <transaction_id><![CDATA[{}]]></transaction_id><merchant_id><![CDATA[{}]]></merchant_id>\
             <sub_merchant_id><![CDATA[]]></sub_merchant_id><merchant_trade_no><![CDATA[{}]]></merchant_trade_no>\
             <pay_time>{}</pay_time><msg><![CDATA[{REMIND_SHIPPING_MSG}]]></msg></xml>",
            order.transaction_id, order.merchant_id, order.merchant_trade_no, order.pay_time
        )
    );
    assert_eq!(plain.message, outcome.message.plaintext);
    assert_eq!(outcome.message.create_time, create_time);
}

#[test]
fn settlement_events_carry_the_fields_of_their_moment() {
    let sim = sim_with("http://127.0.0.1:9/apps/$APPID$", Duration::from_secs(5));
    let order = shipped_order();
    let common = [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Event",
        "transaction_id",
        "merchant_id",
        "sub_merchant_id",
        "merchant_trade_no",
        "pay_time",
        "shipped_time",
    ];

    let on_shipping = AppEvent::order_settlement_for(&order, false);
    let message = sim
        .seal_app_event("wx0123456789abcdef", &on_shipping)
        .unwrap();
    let mut expected: Vec<&str> = common.to_vec();
    expected.push("estimated_settlement_time");
    assert_eq!(element_names(&message.plaintext), expected);
    assert!(
        message
            .plaintext
            .contains("<shipped_time>1700000900</shipped_time>")
    );
    assert!(message.plaintext.contains(&format!(
        "<estimated_settlement_time>{}</estimated_settlement_time>",
        1_700_000_900 + ESTIMATED_SETTLEMENT_DELAY_SECS
    )));
    assert!(
        message
            .plaintext
            .contains("<sub_merchant_id><![CDATA[1900000110]]></sub_merchant_id>")
    );

    let on_settlement = AppEvent::order_settlement_for(&order, true);
    let message = sim
        .seal_app_event("wx0123456789abcdef", &on_settlement)
        .unwrap();
    let mut expected: Vec<&str> = common.to_vec();
    expected.extend([
        "confirm_receive_method",
        "confirm_receive_time",
        "settlement_time",
    ]);
    assert_eq!(element_names(&message.plaintext), expected);
    assert!(
        message
            .plaintext
            .contains("<confirm_receive_method>2</confirm_receive_method>")
    );

    let access = sim
        .seal_app_event("wx0123456789abcdef", &AppEvent::remind_access_api())
        .unwrap();
    assert_eq!(
        element_names(&access.plaintext),
        [
            "ToUserName",
            "FromUserName",
            "CreateTime",
            "MsgType",
            "Event",
            "msg"
        ]
    );
    assert!(
        access
            .plaintext
            .contains("<Event><![CDATA[trade_manage_remind_access_api]]></Event>")
    );
}

#[tokio::test]
async fn two_failures_then_success_is_three_identical_requests() {
    let (template, mut received) = gateway(vec![
        Answer::Reply(500, "oops"),
        Answer::Reply(500, ""),
        Answer::Reply(200, "success"),
    ])
    .await;
    let sim = sim_with(&template, Duration::from_secs(5));
    let outcome = sim
        .push_app_event("wx0123456789abcdef", &AppEvent::remind_access_api())
        .await
        .unwrap();

    assert!(outcome.acknowledged);
    let answers: Vec<_> = outcome
        .attempts
        .iter()
        .map(|a| match a {
            PushAttempt::Answered { status, body, .. } => (*status, body.as_str()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(answers, [(500, "oops"), (500, ""), (200, "success")]);
    assert_eq!(
        outcome
            .attempts
            .iter()
            .map(PushAttempt::acknowledged)
            .collect::<Vec<_>>(),
        [false, false, true]
    );

    let first = received.recv().await.unwrap();
    for _ in 1..3 {
        assert_eq!(received.recv().await.unwrap(), first, "a retry differs");
    }
    assert!(received.try_recv().is_err(), "no fourth request");
    assert_eq!(first.body, outcome.message.body);
}

#[tokio::test]
async fn a_gateway_that_never_answers_gets_three_tries_each_cut_at_the_timeout() {
    let (template, mut received) = gateway(vec![Answer::Hang]).await;
    let timeout = Duration::from_millis(200);
    let sim = sim_with(&template, timeout);
    let started = std::time::Instant::now();
    let outcome = sim
        .push_app_event("wx0123456789abcdef", &AppEvent::remind_access_api())
        .await
        .unwrap();
    let took = started.elapsed();

    assert!(!outcome.acknowledged);
    assert_eq!(outcome.attempts.len(), APP_PUSH_TRIES as usize);
    for attempt in &outcome.attempts {
        match attempt {
            PushAttempt::TimedOut { elapsed_ms } => {
                assert!((190..2000).contains(elapsed_ms), "{elapsed_ms} ms")
            }
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
    assert!(
        took >= timeout * 3 && took < Duration::from_secs(5),
        "{took:?}"
    );
    let first = received.recv().await.unwrap();
    for _ in 1..3 {
        assert_eq!(received.recv().await.unwrap(), first);
    }
}

#[tokio::test]
async fn once_makes_one_try_and_a_message_can_be_sent_again_as_a_duplicate() {
    let (template, mut received) =
        gateway(vec![Answer::Reply(503, ""), Answer::Reply(200, "")]).await;
    let sim = sim_with(&template, Duration::from_secs(5));
    let event = AppEvent::order_settlement_for(&shipped_order(), true);

    let once = sim
        .push_app_event_once("wx0123456789abcdef", &event)
        .await
        .unwrap();
    assert!(!once.acknowledged);
    assert_eq!(once.attempts.len(), 1);

    // The duplicate: byte for byte the same request, here acknowledged by
    // an empty 200 (which WeChat accepts like `success`).
    sim.advance_clock(60);
    let again = sim.deliver_app_push(&once.message, APP_PUSH_TRIES).await;
    assert!(again.acknowledged);
    assert_eq!(again.attempts.len(), 1);
    let (a, b) = (
        received.recv().await.unwrap(),
        received.recv().await.unwrap(),
    );
    assert_eq!(a, b);
    assert_eq!(again.message.create_time, once.message.create_time);
}

#[tokio::test]
async fn an_unreachable_gateway_is_three_failed_tries_not_an_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sim = sim_with(
        &format!("http://127.0.0.1:{port}/apps/$APPID$"),
        Duration::from_secs(2),
    );
    let outcome = sim
        .push_app_event("wx0123456789abcdef", &AppEvent::remind_access_api())
        .await
        .unwrap();
    assert!(!outcome.acknowledged);
    assert_eq!(outcome.attempts.len(), 3);
    assert!(
        outcome
            .attempts
            .iter()
            .all(|a| matches!(a, PushAttempt::Failed { .. })),
        "{:?}",
        outcome.attempts
    );
}

#[test]
fn configuration_and_input_errors() {
    let sim = Simulator::new(SimConfig::sandbox());
    assert!(matches!(
        sim.seal_app_event("wx0123456789abcdef", &AppEvent::remind_access_api()),
        Err(SimError::NoAppGateway)
    ));
    sim.set_gateway_app_events_url("http://127.0.0.1:9/apps/$APPID$/events");
    for appid in ["", "wx/../x", "wx?a=b", "wx 1", &"w".repeat(65)] {
        assert!(
            matches!(
                sim.seal_app_event(appid, &AppEvent::remind_access_api()),
                Err(SimError::InvalidAppid(_))
            ),
            "{appid:?}"
        );
    }
    let bad_field = AppEvent::Other {
        event: "x".into(),
        fields: vec![("a><b".into(), "1".into())],
    };
    assert!(matches!(
        sim.seal_app_event("wx0123456789abcdef", &bad_field),
        Err(SimError::InvalidEvent(_))
    ));
    let no_name = AppEvent::Other {
        event: String::new(),
        fields: vec![],
    };
    assert!(matches!(
        sim.seal_app_event("wx0123456789abcdef", &no_name),
        Err(SimError::InvalidEvent(_))
    ));
    sim.set_gateway_app_events_url("not a url $APPID$");
    assert!(matches!(
        sim.seal_app_event("wx0123456789abcdef", &AppEvent::remind_access_api()),
        Err(SimError::InvalidGatewayUrl { .. })
    ));
}

#[test]
fn other_events_write_numbers_bare_and_text_as_cdata() {
    let sim = sim_with("http://127.0.0.1:9/apps/$APPID$", Duration::from_secs(5));
    let event = AppEvent::Other {
        event: "wxa_custom".into(),
        fields: vec![
            ("count".into(), "007".into()),
            ("note".into(), "a]]>b".into()),
            ("neg".into(), "-3".into()),
        ],
    };
    let plain = sim
        .seal_app_event("wx0123456789abcdef", &event)
        .unwrap()
        .plaintext;
    assert!(plain.ends_with(
        "<Event><![CDATA[wxa_custom]]></Event><count>007</count>\
         <note><![CDATA[a]]]]><![CDATA[>b]]></note><neg>-3</neg></xml>"
    ));
}

#[test]
fn events_round_trip_through_json_in_the_xml_shape() {
    let typed = json!({
        "event": "trade_manage_remind_shipping",
        "transaction_id": "42",
        "merchant_id": "1900000109",
        "sub_merchant_id": "",
        "merchant_trade_no": "T-1",
        "pay_time": 1_700_000_000,
        "msg": "ship it",
    });
    let event: AppEvent = serde_json::from_value(typed.clone()).unwrap();
    assert!(matches!(
        event,
        AppEvent::RemindShipping {
            pay_time: 1_700_000_000,
            ..
        }
    ));
    assert_eq!(serde_json::to_value(&event).unwrap(), typed);

    let settlement = json!({
        "event": "trade_manage_order_settlement",
        "transaction_id": "42",
        "merchant_id": "1",
        "sub_merchant_id": "",
        "merchant_trade_no": "T-1",
        "pay_time": 1,
        "shipped_time": 2,
        "estimated_settlement_time": 3,
    });
    let event: AppEvent = serde_json::from_value(settlement.clone()).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), settlement);

    let other = json!({"event": "debug_demo", "fields": [["debug_str", "hello world"]]});
    let event: AppEvent = serde_json::from_value(other.clone()).unwrap();
    assert_eq!(
        event,
        AppEvent::Other {
            event: "debug_demo".into(),
            fields: vec![("debug_str".into(), "hello world".into())],
        }
    );
    assert_eq!(serde_json::to_value(&event).unwrap(), other);

    // A known event missing a field is refused, not taken for `Other`.
    assert!(
        serde_json::from_value::<AppEvent>(json!({"event": "trade_manage_remind_shipping"}))
            .is_err()
    );
}

#[test]
fn system_openids_are_28_characters_whatever_the_appid() {
    for appid in [
        "wx0123456789abcdef",
        "wx1",
        "",
        "wx应用应用应用应用应用应用应用应用应用应用应用应用",
    ] {
        let openid = system_openid(appid);
        assert_eq!(openid.chars().count(), 28, "{openid}");
        assert!(openid.starts_with("oSYS"));
    }
    assert_eq!(
        system_openid("wx0123456789abcdef"),
        "oSYS0123456789abcdef00000000"
    );
}

#[test]
fn acknowledgement_is_200_with_success_or_nothing() {
    let answered = |status, body: &str| PushAttempt::Answered {
        status,
        body: body.into(),
        elapsed_ms: 1,
    };
    assert!(answered(200, "success").acknowledged());
    assert!(answered(200, "").acknowledged());
    assert!(!answered(200, "ok").acknowledged());
    assert!(!answered(500, "success").acknowledged());
    assert!(!answered(204, "").acknowledged());
    assert!(!PushAttempt::TimedOut { elapsed_ms: 1 }.acknowledged());
}

// === the pushes the simulator sends on its own ===

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;

/// The next request the stand-in gateway got, decrypted.
async fn next_push(sim: &Simulator, received: &mut mpsc::UnboundedReceiver<Received>) -> String {
    let got = tokio::time::timeout(Duration::from_secs(5), received.recv())
        .await
        .expect("a push within 5 s")
        .expect("the gateway is up");
    let encrypt = wxcrypt::extract_encrypt(&got.body).unwrap();
    crypt(sim).decrypt(&encrypt).unwrap().message
}

/// An express upload of `order` as the merchant's own system makes it.
fn upload_body(order: &crate::SimOrder) -> serde_json::Value {
    json!({
        "order_key": {"order_number_type": 2, "transaction_id": order.transaction_id},
        "logistics_type": 1, "delivery_mode": 1,
        "shipping_list": [{"tracking_no": "STO1", "express_company": "STO", "item_desc": "袜子*1"}],
        "upload_time": "2022-12-15T13:29:35.120+08:00",
        "payer": {"openid": order.openid}
    })
}

#[tokio::test]
async fn an_unshipped_order_is_reminded_once_48_hours_after_payment() {
    let (template, mut received) = gateway(vec![Answer::Reply(200, "success")]).await;
    let sim = sim_with(&template, Duration::from_secs(5));
    let cli = poem::test::TestClient::new(sim.endpoint());
    let created = sim.create_paid_order(NewOrder::default());
    let order = sim.order(&created.transaction_id).unwrap();

    assert!(sim.advance_clock_and_push(47 * HOUR).await.is_empty());
    let advanced = cli
        .post("/sim/clock/advance")
        .body_json(&json!({"seconds": HOUR}))
        .send()
        .await;
    advanced.assert_status_is_ok();
    let advanced: serde_json::Value = advanced.json().await.value().deserialize();
    let pushes = advanced["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), 1, "{advanced}");
    assert_eq!(pushes[0]["acknowledged"], true);
    let plain = next_push(&sim, &mut received).await;
    assert_eq!(pushes[0]["message"]["plaintext"], plain.as_str());
    assert!(plain.contains("<Event><![CDATA[trade_manage_remind_shipping]]></Event>"));
    assert!(plain.contains(&format!(
        "<transaction_id><![CDATA[{}]]></transaction_id>",
        order.transaction_id
    )));
    assert!(plain.contains(&format!("<pay_time>{}</pay_time>", order.pay_time)));

    // Once: later clock moves push nothing more for it.
    assert!(sim.advance_clock_and_push(48 * HOUR).await.is_empty());
    sim.advance_clock(HOUR);
    assert!(sim.push_queued_app_events().await.is_empty());
    assert!(received.try_recv().is_err(), "a second reminder");
    assert!(
        sim.order_extras(&order.transaction_id)
            .unwrap()
            .pushes
            .remind_shipping
            .is_some()
    );

    // Switched off over HTTP, a new order is not reminded; a shorter age
    // reminds sooner.
    cli.post("/sim/order-events")
        .body_json(&json!({"remind_shipping_after_secs": null}))
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    let shown: serde_json::Value = cli
        .get("/sim/order-events")
        .send()
        .await
        .json()
        .await
        .value()
        .deserialize();
    assert_eq!(
        shown,
        json!({"remind_shipping_after_secs": null, "auto_confirm_after_secs": 864000, "settlement_push_on_shipping": true})
    );
    let quiet = sim.create_paid_order(NewOrder::default());
    assert!(sim.advance_clock_and_push(3 * DAY).await.is_empty());
    cli.post("/sim/order-events")
        .body_json(&json!({"remind_shipping_after_secs": 60}))
        .send()
        .await
        .assert_status(poem::http::StatusCode::NO_CONTENT);
    let pushes = sim.advance_clock_and_push(1).await;
    assert_eq!(pushes.len(), 1);
    assert!(pushes[0].message.plaintext.contains(&quiet.transaction_id));
    next_push(&sim, &mut received).await;
    cli.post("/sim/order-events")
        .body_json(&json!({"remind_after": 60}))
        .send()
        .await
        .assert_status(poem::http::StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn shipping_and_the_buyers_receipt_each_push_the_settlement_once() {
    let (template, mut received) = gateway(vec![Answer::Reply(200, "success")]).await;
    let sim = sim_with(&template, Duration::from_secs(5));
    let cli = poem::test::TestClient::new(sim.endpoint());
    let appid = sim.config().default_authorizer_appid;
    let created = sim.create_paid_order(NewOrder::default());
    let tx = created.transaction_id.clone();

    // Not shipped yet: the buyer cannot confirm; unknown orders are 404.
    let early = cli
        .post(format!("/sim/orders/{tx}/confirm-receipt"))
        .send()
        .await;
    early.assert_status(poem::http::StatusCode::CONFLICT);
    cli.post("/sim/orders/nope/confirm-receipt")
        .send()
        .await
        .assert_status(poem::http::StatusCode::NOT_FOUND);

    // Shipping pushes the estimate, in the background, once.
    let shipped_at = sim.now();
    sim.upload_shipping_directly(&appid, &upload_body(&created))
        .unwrap();
    let on_shipping = next_push(&sim, &mut received).await;
    assert!(on_shipping.contains("<Event><![CDATA[trade_manage_order_settlement]]></Event>"));
    let estimate = format!(
        "<estimated_settlement_time>{}</estimated_settlement_time>",
        shipped_at + ESTIMATED_SETTLEMENT_DELAY_SECS
    );
    let estimate_later = format!(
        "<estimated_settlement_time>{}</estimated_settlement_time>",
        shipped_at + 1 + ESTIMATED_SETTLEMENT_DELAY_SECS
    );
    assert!(
        on_shipping.contains(&estimate) || on_shipping.contains(&estimate_later),
        "{on_shipping}"
    );
    assert!(!on_shipping.contains("confirm_receive_method"));
    let mut reship = upload_body(&created);
    reship["upload_time"] = json!("2022-12-15T14:29:35.120+08:00");
    sim.upload_shipping_directly(&appid, &reship).unwrap();

    // The buyer confirms: state 3 and the settlement, method 1.
    sim.advance_clock(DAY);
    let confirmed = cli
        .post(format!("/sim/orders/{tx}/confirm-receipt"))
        .send()
        .await;
    confirmed.assert_status_is_ok();
    let confirmed: serde_json::Value = confirmed.json().await.value().deserialize();
    assert_eq!(confirmed["order"]["order_state"], 3);
    let pushes = confirmed["pushes"].as_array().unwrap();
    assert_eq!(pushes.len(), 1, "{confirmed}");
    let settled = next_push(&sim, &mut received).await;
    assert_eq!(pushes[0]["message"]["plaintext"], settled.as_str());
    let now = sim.now();
    assert!(settled.contains(&format!(
        "<confirm_receive_method>{CONFIRM_RECEIVE_MANUAL}</confirm_receive_method>"
    )));
    assert!(
        settled.contains(&format!("<settlement_time>{now}</settlement_time>"))
            || settled.contains(&format!("<settlement_time>{}</settlement_time>", now - 1)),
        "{settled}"
    );
    assert!(!settled.contains("estimated_settlement_time"));

    // Once: confirming again is refused, and automatic receipt does not
    // come for a confirmed order.
    cli.post(format!("/sim/orders/{tx}/confirm-receipt"))
        .send()
        .await
        .assert_status(poem::http::StatusCode::CONFLICT);
    assert!(sim.advance_clock_and_push(20 * DAY).await.is_empty());
    assert!(received.try_recv().is_err(), "a third push");
}

#[tokio::test]
async fn receipt_is_confirmed_automatically_10_days_after_shipping_once() {
    let (template, mut received) = gateway(vec![Answer::Reply(200, "success")]).await;
    let sim = sim_with(&template, Duration::from_secs(5));
    let appid = sim.config().default_authorizer_appid;
    let created = sim.create_paid_order(NewOrder::default());
    let shipped_at = sim.now();
    sim.upload_shipping_directly(&appid, &upload_body(&created))
        .unwrap();
    next_push(&sim, &mut received).await;

    assert!(sim.advance_clock_and_push(10 * DAY - HOUR).await.is_empty());
    assert_eq!(sim.order(&created.transaction_id).unwrap().order_state, 2);
    let pushes = sim.advance_clock_and_push(2 * HOUR).await;
    assert_eq!(pushes.len(), 1);
    let settled = next_push(&sim, &mut received).await;
    assert_eq!(pushes[0].message.plaintext, settled);
    assert!(settled.contains(&format!(
        "<confirm_receive_method>{CONFIRM_RECEIVE_AUTO}</confirm_receive_method>"
    )));
    let due = |at: i64| {
        format!(
            "<confirm_receive_time>{at}</confirm_receive_time><settlement_time>{at}</settlement_time>"
        )
    };
    let at = shipped_at + 10 * DAY;
    assert!(
        settled.contains(&due(at)) || settled.contains(&due(at + 1)),
        "{settled}"
    );
    assert_eq!(sim.order(&created.transaction_id).unwrap().order_state, 3);
    assert_eq!(
        sim.order_extras(&created.transaction_id)
            .unwrap()
            .receipt
            .map(|r| r.confirm_receive_method),
        Some(CONFIRM_RECEIVE_AUTO)
    );

    assert!(sim.advance_clock_and_push(30 * DAY).await.is_empty());
    assert!(received.try_recv().is_err(), "a third push");
}
