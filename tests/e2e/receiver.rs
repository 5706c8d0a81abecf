//! A tenant's webhook receiver for tests: records every delivery, and can be
//! told to fail (answer 500) or to be gone (connections refused).
use std::sync::{Arc, Mutex};

use poem::{
    EndpointExt, Request, Response, Route, Server, handler, http::StatusCode,
    listener::TcpListener, web::Data,
};
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub event_id: String,
    pub body: Vec<u8>,
    pub json: Value,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    /// Answer 500 to the next `failing` requests.
    failing: u32,
    /// Requests answered 500 so far.
    failed: u32,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    stop: Arc<Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
    port: u16,
}

#[handler]
async fn receive(req: &Request, body: Vec<u8>, Data(inner): Data<&Arc<Mutex<Inner>>>) -> Response {
    let mut inner = inner.lock().unwrap();
    if inner.failing > 0 {
        inner.failing -= 1;
        inner.failed += 1;
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .finish();
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    inner.received.push(Received {
        signature: header("tpgate-signature"),
        event_id: header("tpgate-event-id"),
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body,
    });
    Response::builder().status(StatusCode::OK).finish()
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let r = Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            inner: Arc::default(),
            stop: Arc::default(),
            port,
        };
        r.serve().await;
        r
    }

    async fn serve(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        *self.stop.lock().unwrap() = Some(tx);
        let app = Route::new()
            .at("/hook", poem::post(receive))
            .data(self.inner.clone());
        let listener = TcpListener::bind(format!("127.0.0.1:{}", self.port));
        tokio::spawn(async move {
            let _ = Server::new(listener)
                .run_with_graceful_shutdown(
                    app,
                    async {
                        let _ = rx.await;
                    },
                    Some(std::time::Duration::from_millis(100)),
                )
                .await;
        });
        // Until it accepts.
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Connections are refused until [`Receiver::come_back`].
    pub async fn go_away(&self) {
        if let Some(stop) = self.stop.lock().unwrap().take() {
            let _ = stop.send(());
        }
        let refused = async || {
            let addr = ("127.0.0.1", self.port);
            tokio::net::TcpStream::connect(addr).await.is_err()
        };
        let within = std::time::Duration::from_secs(5);
        crate::helpers::eventually(within, "the receiver stops listening", refused).await;
    }

    pub async fn come_back(&self) {
        self.serve().await;
    }

    pub fn fail_next(&self, n: u32) {
        self.inner.lock().unwrap().failing = n;
    }

    pub fn failed(&self) -> u32 {
        self.inner.lock().unwrap().failed
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits up to `secs` for at least `n` deliveries.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let got = self.received();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}
