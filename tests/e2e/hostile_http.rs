//! What a hostile client can do at the HTTP layer: bodies without a length
//! over HTTP/2 (h2c prior knowledge) and chunked HTTP/1.1 ones, slow or
//! never-finished headers and bodies, idle connections, and the ops routes
//! on the public port.
use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, TestOptions};

/// A body of `total` bytes made lazily in 64 KiB chunks, counting what the
/// client was allowed to send: nothing declares its length.
fn endless_body(total: usize, sent: Arc<AtomicUsize>) -> reqwest::Body {
    let chunk = bytes_chunk();
    let chunks = total / chunk.len();
    reqwest::Body::wrap_stream(futures_util::stream::iter((0..chunks).map(move |_| {
        sent.fetch_add(chunk.len(), Ordering::Relaxed);
        Ok::<_, std::io::Error>(chunk.clone())
    })))
}

fn bytes_chunk() -> Vec<u8> {
    b"<xml><Encrypt>"
        .iter()
        .copied()
        .cycle()
        .take(64 * 1024)
        .collect()
}

/// Every route class, with its limit.
fn routes(app: &TestApp) -> Vec<(&'static str, url::Url)> {
    vec![
        ("push", app.url("/wechat/component/events?timestamp=1&nonce=n&msg_signature=s&encrypt_type=aes&signature=s")),
        ("app push", app.url("/wechat/apps/wx0123456789abcdef/events?timestamp=1&nonce=n&msg_signature=s&encrypt_type=aes&signature=s")),
        ("admin", app.url("/admin/v1/tenants")),
        ("proxy", app.url("/v1/apps/wx0123456789abcdef/wxa/sec/order/get_order")),
        ("raw", app.url("/v1/apps/wx0123456789abcdef/raw/wxa/whatever")),
    ]
}

async fn assert_413(resp: reqwest::Response, what: &str, sent: &AtomicUsize) {
    assert_eq!(resp.status(), 413, "{what}");
    assert_eq!(
        resp.headers()["content-type"],
        "application/problem+json",
        "{what}"
    );
    let body = resp.text().await.unwrap();
    assert!(body.len() < 1024, "{what}: nothing echoed: {body}");
    // The server stopped reading at its limit; flow control (HTTP/2) or
    // the socket buffers (HTTP/1.1) bound what the client got to push.
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < 16 * 1024 * 1024, "{what}: {sent} bytes taken");
}

#[tokio::test]
async fn h2c_bodies_without_a_length_are_bounded_on_every_route() {
    let app = TestApp::spawn().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    for (what, url) in routes(&app) {
        let sent = Arc::new(AtomicUsize::new(0));
        let resp = h2
            .post(url)
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/json")
            .body(endless_body(64 * 1024 * 1024, sent.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert_eq!(resp.version(), reqwest::Version::HTTP_2);
        assert_413(resp, what, &sent).await;
    }
    // A small h2c body still works (the limit is not a ban on h2c).
    let resp = h2
        .post(app.url("/admin/v1/tenants"))
        .bearer_auth(&app.admin_token)
        .json(&serde_json::json!({ "name": "over-h2" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    app.shutdown().await;
}

#[tokio::test]
async fn chunked_bodies_over_the_limit_are_refused_on_every_route() {
    let app = TestApp::spawn().await;
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    for (what, url) in routes(&app) {
        let sent = Arc::new(AtomicUsize::new(0));
        let resp = h1
            .post(url)
            .bearer_auth(&app.admin_token)
            .header("content-type", "application/json")
            .body(endless_body(8 * 1024 * 1024, sent.clone()))
            .send()
            .await;
        // Over HTTP/1.1 the server may close while the client still writes;
        // either way it answered 413 or stopped the upload early.
        match resp {
            Ok(resp) => assert_413(resp, what, &sent).await,
            Err(e) => assert!(
                sent.load(Ordering::Relaxed) < 8 * 1024 * 1024,
                "{what}: {e:?}"
            ),
        }
    }
    app.shutdown().await;
}

/// Reads until the server closes; returns what it sent and how long it took.
async fn read_until_closed(
    stream: &mut tokio::net::TcpStream,
    within: Duration,
) -> (String, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => panic!(
                "connection still open after {within:?}; got {:?}",
                String::from_utf8_lossy(&out)
            ),
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn slow_headers_missing_bodies_and_idle_connections_are_closed() {
    let app = TestApp::start(TestOptions {
        config: Box::new(|c| {
            c.http.header_read_timeout_secs = 1;
            c.http.body_read_timeout_secs = 1;
            c.http.idle_timeout_secs = 2;
        }),
        ..TestOptions::default()
    })
    .await;
    let addr = format!("127.0.0.1:{}", app.base.port().unwrap());

    // Headers that never finish, trickled so the connection is never idle.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"POST /wechat/component/events HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        for _ in 0..20 {
            if slow.write_all(b"X-A: b\r\n").await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        false
    });
    assert!(
        tokio::time::timeout(Duration::from_secs(5), trickle)
            .await
            .expect("the trickle was cut within 5 s")
            .unwrap(),
        "the server closed the slow-header connection"
    );

    // A declared body that never arrives: 408, then closed.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(
            b"POST /admin/v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"na",
        )
        .await
        .unwrap();
    let (answer, took) = read_until_closed(&mut stalled, Duration::from_secs(6)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An idle HTTP/1.1 keep-alive connection (after one full request) is
    // closed: the next request's headers are late.
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (answer, took) = read_until_closed(&mut idle, Duration::from_secs(8)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < Duration::from_secs(6), "{took:?}");

    // An HTTP/2 connection that opens (preface, SETTINGS) and then idles is
    // closed after the idle timeout, not before.
    let mut h2 = tokio::net::TcpStream::connect(&addr).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let (_, took) = read_until_closed(&mut h2, Duration::from_secs(8)).await;
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "{took:?}"
    );

    // A connection that sends nothing at all.
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (_, took) = read_until_closed(&mut silent, Duration::from_secs(8)).await;
    assert!(took < Duration::from_secs(6), "{took:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn ops_routes_are_on_the_ops_listener_only() {
    let app = TestApp::spawn().await;
    for path in ["/readyz", "/metrics", "/docs"] {
        let public = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(public.status(), 404, "{path} on the public port");
        let ops = app.http.get(app.ops_url(path)).send().await.unwrap();
        assert!(ops.status() == 200 || ops.status() == 503, "{path} on ops");
    }
    let ready: Value = app
        .http
        .get(app.ops_url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], true, "{ready}");
    // Liveness answers on both (load balancers probe the public port).
    for url in [app.url("/healthz"), app.ops_url("/healthz")] {
        assert_eq!(app.http.get(url).send().await.unwrap().status(), 200);
    }
    // Nothing of the API on the ops port.
    let r = app
        .http
        .get(app.ops_url("/admin/v1/tenants"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.shutdown().await;
}

#[tokio::test]
async fn rejected_pushes_are_never_echoed() {
    let app = TestApp::spawn().await;
    let marker = "EchoedMarker";
    let bodies = [
        format!("<xml><{marker}>x</{marker}X></xml>"),
        format!("<xml><Encrypt>{}</Encrypt></xml>", marker.repeat(1000)),
        format!("{{\"Encrypt\": {marker}}}"),
        marker.repeat(3000),
    ];
    for url in [
        app.url("/wechat/component/events?timestamp=1&nonce=n&msg_signature=s"),
        app.url("/wechat/apps/wx0123456789abcdef/events?timestamp=1&nonce=n&msg_signature=s"),
    ] {
        for body in &bodies {
            let resp = app
                .http
                .post(url.clone())
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_client_error(), "{}", resp.status());
            let text = resp.text().await.unwrap();
            assert!(!text.contains(marker), "{url}: {text}");
            assert!(text.len() < 1024, "{text}");
        }
    }
    app.shutdown().await;
}
