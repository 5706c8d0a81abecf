//! `bare-proxy LISTEN UPSTREAM [DATABASE_URL]`: forwards every request to
//! `UPSTREAM` (`host:port`) over a keep-alive pool and answers with its
//! response, doing nothing else. It is the floor of tpgate's own stack
//! (tokio's multi-thread runtime, hyper's HTTP/1 server and client,
//! mimalloc): the side-by-side bench runs it beside nginx and tpgate, so
//! the gap between tpgate and nginx splits into what the stack costs and
//! what the gate adds.
//!
//! With `DATABASE_URL` (a database tpgate has migrated) it also records
//! each call in tpgate's call log, written as tpgate's writer writes it
//! (`Store::insert_calls`, batches of 200, four at once): the floor of a
//! proxy that keeps the call log, whatever its gate costs. Unlike tpgate's
//! log, which drops calls rather than hold them up, a call here waits for
//! room in the queue, so the floor is that of a log that keeps every call.
use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Instant};

use http_body_util::{BodyExt, Full};
use hyper::{
    Request, Response,
    body::{Bytes, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::{TokioExecutor, TokioIo},
};
use store::{
    Store,
    calls::{CallOutcome, NewCall},
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, mpsc},
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Upstream = Client<HttpConnector, Full<Bytes>>;

struct Proxy {
    client: Upstream,
    upstream: String,
    /// The call log's queue, when there is one.
    call_log: Option<mpsc::Sender<NewCall>>,
}

/// tpgate's call-log defaults: its queue, its batch and its writers.
const QUEUE: usize = 10_000;
const BATCH: usize = 200;
const WRITERS: usize = 4;

/// Writes the queue's calls in batches, [`WRITERS`] at once.
async fn write_log(store: Store, mut queue: mpsc::Receiver<NewCall>) {
    let writers = Arc::new(Semaphore::new(WRITERS));
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let calls = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        let Ok(permit) = writers.clone().acquire_owned().await else {
            return;
        };
        let store = store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.insert_calls(calls).await {
                eprintln!("bare-proxy: call log batch lost: {e}");
            }
            drop(permit);
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        return Err("usage: bare-proxy LISTEN_ADDR UPSTREAM_HOST:PORT [DATABASE_URL]".into());
    };
    let listen: SocketAddr = listen.parse()?;
    let call_log = match args.next() {
        Some(url) => {
            let store = Store::connect(&url, None, store::Sealer::for_testing()).await?;
            let (queue, calls) = mpsc::channel(QUEUE);
            tokio::spawn(write_log(store, calls));
            Some(queue)
        }
        None => None,
    };
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Upstream = Client::builder(TokioExecutor::new()).build(connector);
    // Shared, so a request costs one reference count, not a copy of the name.
    let proxy = Arc::new(Proxy {
        client,
        upstream,
        call_log,
    });
    let listener = TcpListener::bind(listen).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let proxy = proxy.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| forward(proxy.clone(), req));
            // A client that goes away mid-request ends its connection; nothing to report.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn forward(
    proxy: Arc<Proxy>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    let response = match relay(&proxy.client, &proxy.upstream, req).await {
        Ok(response) => response,
        Err(e) => {
            let mut response = Response::new(Full::new(Bytes::from(e.to_string())));
            *response.status_mut() = hyper::StatusCode::BAD_GATEWAY;
            response
        }
    };
    if let Some(queue) = &proxy.call_log {
        // The row a proxied get_order leaves in tpgate's log.
        let mut call = NewCall::new("get_order", CallOutcome::Ok);
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        call.request_id = Some(format!("bare-proxy-{seq:026}"));
        call.tenant_id = Some("0193a0b2-6d1e-7c3a-9f00-bare00000001".into());
        call.appid = Some("wx00000000000b0b0b".into());
        call.status = Some(response.status().as_u16());
        call.errcode = Some(0);
        call.errmsg = Some("ok".into());
        call.latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        // Waits for room: the log keeps every call (the writer only
        // ends with the process).
        let _ = queue.send(call).await;
    }
    Ok(response)
}

async fn relay(
    client: &Upstream,
    upstream: &str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Box<dyn std::error::Error + Send + Sync>> {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = format!("http://{upstream}{path}").parse()?;
    parts.headers.remove(hyper::header::HOST);
    let body = body.collect().await?.to_bytes();
    let answer = client
        .request(Request::from_parts(parts, Full::new(body)))
        .await?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Response::from_parts(parts, Full::new(body)))
}
