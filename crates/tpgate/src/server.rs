//! The connection loop every listener runs (public and ops).
//!
//! poem's `Server` cannot bound how long a client takes to send its
//! headers: hyper's `header_read_timeout` needs a timer, which poem does not
//! give it, and its idle timeout also cuts a request that is merely waiting
//! on WeChat. So tpgate accepts and serves connections itself, with
//! hyper-util as poem does, adding:
//! - a **header-read timeout** (HTTP/1; hyper's own, with a Tokio timer);
//! - an **idle timeout**: a connection with no request in flight and no
//!   bytes moved for that long is closed (a silent HTTP/2 connection too);
//! - the body-read timeout lives with the body limit
//!   ([`crate::body_limit`]), which bounds every body as a stream;
//! - graceful shutdown: stop accepting, let in-flight requests finish
//!   within the drain, then drop what is left.
use std::{
    convert::Infallible,
    io,
    pin::Pin,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
};
use poem::{
    Addr, Endpoint,
    endpoint::BoxEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};

use crate::config::HttpSettings;

/// Serves `endpoint` on `listener` until `shutdown` turns true, then drains
/// for at most `drain`. Each connection is bounded by the time limits of
/// `http` (header read, idle).
pub async fn serve(
    listener: TcpListener,
    endpoint: Arc<BoxEndpoint<'static>>,
    http: Arc<HttpSettings>,
    mut shutdown: watch::Receiver<bool>,
    drain: Duration,
) {
    let local = listener.local_addr().ok();
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        match accepted {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().ok().or(local);
                connections.spawn(serve_connection(
                    stream,
                    local,
                    remote,
                    endpoint.clone(),
                    http.clone(),
                    shutdown.clone(),
                ));
            }
            // Out of file descriptors and the like: back off, keep serving.
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "connections still busy after the drain; closing them"
        );
        connections.abort_all();
    }
}

async fn serve_connection(
    stream: TcpStream,
    local: Option<std::net::SocketAddr>,
    remote: std::net::SocketAddr,
    endpoint: Arc<BoxEndpoint<'static>>,
    http: Arc<HttpSettings>,
    mut shutdown: watch::Receiver<bool>,
) {
    let idle_timeout = http.idle_timeout();
    let activity = Arc::new(Activity::new());
    let service = hyper::service::service_fn({
        let activity = activity.clone();
        move |req: hyper::Request<hyper::body::Incoming>| {
            let endpoint = endpoint.clone();
            let in_flight = InFlight::start(activity.clone());
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(local.map(Addr::SocketAddr).unwrap_or_default()),
                    RemoteAddr(Addr::SocketAddr(remote)),
                    Scheme::HTTP,
                ));
                let resp = endpoint.get_response(req).await;
                drop(in_flight);
                Ok::<hyper::Response<_>, Infallible>(resp.into())
            }
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(http.header_read_timeout());
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_pending_accept_reset_streams(Some(20));
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let conn = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(conn);
    let mut check = tokio::time::interval(check_period(idle_timeout));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = check.tick() => {
                if activity.idle_for() >= idle_timeout {
                    tracing::debug!(%remote, "closing an idle connection");
                    return;
                }
            }
        }
    }
    // Shutting down: finish what is in flight, accept nothing new. The
    // server's drain bounds how long this may take.
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

fn check_period(idle: Duration) -> Duration {
    (idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1))
}

/// Milliseconds since a process-wide origin: a cheap clock for the atomics.
fn now_ms() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    let origin = *ORIGIN.get_or_init(Instant::now);
    u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What the idle check reads: when bytes last moved, and how many requests
/// are being answered (a request waiting on WeChat is not idle).
struct Activity {
    last_io_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            last_io_ms: AtomicU64::new(now_ms()),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        self.last_io_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        let last = self.last_io_ms.load(Ordering::Relaxed);
        Duration::from_millis(now_ms().saturating_sub(last))
    }
}

/// Counts a request as in flight until dropped (also when its future is).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A socket that records when it last moved bytes.
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
