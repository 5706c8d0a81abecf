//! The queue between the calls and the database, and its writer.
use std::{
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use store::{Store, calls::NewCall};
use tokio::sync::{Notify, Semaphore, mpsc};

use crate::request::RequestScope;

/// `call_log.*` in the config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallLogSettings {
    /// Record calls at all (metrics are kept either way).
    pub enabled: bool,
    /// Calls waiting to be written; beyond it they are dropped and counted.
    pub queue_capacity: usize,
    /// Calls per insert.
    pub batch_size: usize,
    /// Days a call is kept.
    pub retention_days: u32,
    /// Largest body kept when a tenant captures bodies (bytes, each way).
    pub max_body_bytes: usize,
}

impl Default for CallLogSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            queue_capacity: 10_000,
            batch_size: 200,
            retention_days: 14,
            max_body_bytes: 16 * 1024,
        }
    }
}

impl CallLogSettings {
    pub fn retention(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.retention_days.max(1)))
    }
}

/// Where calls go: a bounded queue in front of the writer (or nowhere when
/// the log is off). Cheap to clone.
#[derive(Clone, Debug)]
pub struct CallLog {
    queue: Option<mpsc::Sender<NewCall>>,
    /// Tells the writer to stop taking calls (see [`CallLog::close`]).
    close: Arc<Notify>,
    max_body_bytes: usize,
    /// When the last "queue full" warning was logged (unix seconds).
    last_full_warning: Arc<AtomicI64>,
}

impl CallLog {
    /// A log that records nothing.
    pub fn disabled() -> Self {
        Self {
            queue: None,
            close: Arc::default(),
            max_body_bytes: 0,
            last_full_warning: Arc::default(),
        }
    }

    /// The log and its writer, which runs until every handle is dropped and
    /// the queue is drained.
    pub fn start(store: Store, settings: &CallLogSettings) -> (Self, tokio::task::JoinHandle<()>) {
        if !settings.enabled {
            return (Self::disabled(), tokio::spawn(async {}));
        }
        let (tx, rx) = mpsc::channel(settings.queue_capacity.max(1));
        let close = Arc::new(Notify::new());
        let writer = tokio::spawn(write_batches(
            store,
            rx,
            settings.batch_size.max(1),
            close.clone(),
        ));
        (
            Self {
                queue: Some(tx),
                close,
                max_body_bytes: settings.max_body_bytes,
                last_full_warning: Arc::default(),
            },
            writer,
        )
    }

    /// Stops taking calls: the writer writes what is queued, then ends,
    /// even while clones of this log are still alive (a shutting-down
    /// server cannot know every task holding one). Calls offered afterwards
    /// are dropped and counted.
    pub fn close(&self) {
        self.close.notify_one();
    }

    pub fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Records a call: into the current request's scope (written when the
    /// request ends, with its status), else straight to the queue.
    pub fn record(&self, mut call: NewCall) {
        let scope = RequestScope::current();
        if let Some(scope) = &scope {
            scope.attribute(&mut call);
        }
        crate::metrics::observe(&call);
        if self.queue.is_none() {
            return;
        }
        match scope {
            Some(scope) => scope.push(call),
            None => self.submit([call]),
        }
    }

    /// Queues calls without waiting: when the queue is full they are dropped
    /// and counted, and a warning is logged at most once a minute.
    pub fn submit(&self, calls: impl IntoIterator<Item = NewCall>) {
        let Some(queue) = &self.queue else { return };
        let mut dropped = 0u64;
        let mut closed = false;
        for call in calls {
            match queue.try_send(call) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => dropped += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    dropped += 1;
                    closed = true;
                }
            }
        }
        if closed {
            // Shutting down: not a full queue, nothing to warn about.
            ::metrics::counter!("tpgate_call_log_dropped_total").increment(dropped);
        } else if dropped > 0 {
            ::metrics::counter!("tpgate_call_log_dropped_total").increment(dropped);
            let now = chrono::Utc::now().timestamp();
            let last = self.last_full_warning.load(Ordering::Relaxed);
            if now - last >= 60
                && self
                    .last_full_warning
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(
                    dropped,
                    "the call log's queue is full; calls are dropped (see tpgate_call_log_dropped_total)"
                );
            }
        }
    }
}

/// How long the writer waits for a batch to fill once a call arrives.
const LINGER: Duration = Duration::from_millis(50);

/// Batches written at once: while one insert waits on the database, the
/// next batch fills and goes. One writer at a time kept up with ~6 000
/// calls/s on the proxy bench, below what one replica serves.
const WRITERS: u32 = 4;

/// Writes what the queue holds, up to `batch` calls per insert and
/// [`WRITERS`] inserts at once, until every sender is gone or `close` is
/// notified (then what is queued is still written, and the writer ends
/// once every insert has). A failed insert drops that batch (counted): the
/// log must never hold calls up.
async fn write_batches(
    store: Store,
    mut rx: mpsc::Receiver<NewCall>,
    batch: usize,
    close: Arc<Notify>,
) {
    let writers = Arc::new(Semaphore::new(WRITERS as usize));
    let mut buffer = Vec::with_capacity(batch);
    loop {
        let received = tokio::select! {
            n = rx.recv_many(&mut buffer, batch) => n,
            () = close.notified() => {
                // No new calls; `recv_many` drains the rest, then gives 0.
                rx.close();
                continue;
            }
        };
        if received == 0 {
            break;
        }
        // Gather more for a moment: one insert of many rows costs the
        // database far less than many inserts of a few (measured on the
        // proxy bench: log on/off throughput 0.91 before, 0.93–0.94 after).
        let deadline = tokio::time::Instant::now() + LINGER;
        while buffer.len() < batch {
            let room = batch - buffer.len();
            tokio::select! {
                n = rx.recv_many(&mut buffer, room) => if n == 0 { break },
                () = tokio::time::sleep_until(deadline) => break,
                () = close.notified() => rx.close(),
            }
        }
        let calls = std::mem::replace(&mut buffer, Vec::with_capacity(batch));
        let Ok(permit) = writers.clone().acquire_owned().await else {
            break;
        };
        let store = store.clone();
        tokio::spawn(async move {
            write(&store, calls).await;
            drop(permit);
        });
    }
    // Every insert still running ends before the writer does.
    let _ = writers.acquire_many(WRITERS).await;
}

/// One insert of `calls`, counted as written or dropped.
async fn write(store: &Store, calls: Vec<NewCall>) {
    let n = calls.len() as u64;
    match tokio::time::timeout(Duration::from_secs(10), store.insert_calls(calls)).await {
        Ok(Ok(())) => ::metrics::counter!("tpgate_call_log_written_total").increment(n),
        Ok(Err(e)) => {
            ::metrics::counter!("tpgate_call_log_dropped_total").increment(n);
            tracing::warn!(error = %e, calls = n, "could not write calls to the call log");
        }
        Err(_) => {
            ::metrics::counter!("tpgate_call_log_dropped_total").increment(n);
            tracing::warn!(calls = n, "writing to the call log timed out");
        }
    }
}

#[cfg(test)]
mod tests {

    use store::{Sealer, calls::CallFilter, calls::CallOutcome};

    use super::*;
    use crate::request::RequestId;

    fn call(api: &str) -> NewCall {
        let mut call = NewCall::new(api, CallOutcome::Ok);
        call.appid = Some("wx1".into());
        call.latency_ms = 1;
        call
    }

    async fn store() -> Store {
        let store = Store::connect("sqlite::memory:", None, Sealer::for_testing())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[tokio::test]
    async fn calls_outside_a_request_are_written_and_inside_wait_for_its_end() {
        let store = store().await;
        let (log, writer) = CallLog::start(store.clone(), &CallLogSettings::default());
        log.record(call("/background"));
        let scope = RequestScope::new(RequestId::from_caller(Some("r1")));
        scope.run(async { log.record(call("/in-request")) }).await;
        log.submit(scope.finish(502));
        drop(log);
        writer.await.unwrap();
        let rows = store
            .list_calls(&CallFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2);
        let in_request = rows.iter().find(|r| r.call.api == "/in-request").unwrap();
        assert_eq!(in_request.call.request_id.as_deref(), Some("r1"));
        assert_eq!(in_request.call.status, Some(502));
        let background = rows.iter().find(|r| r.call.api == "/background").unwrap();
        assert_eq!(background.call.request_id, None);
    }

    #[tokio::test]
    async fn closing_writes_what_is_queued_while_clones_live_on() {
        let store = store().await;
        let (log, writer) = CallLog::start(store.clone(), &CallLogSettings::default());
        let elsewhere = log.clone();
        log.submit([call("/queued"), call("/queued-too")]);
        log.close();
        tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("the writer ends although a clone lives")
            .unwrap();
        elsewhere.submit([call("/late")]);
        let rows = store
            .list_calls(&CallFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "the queued calls, not the late one");
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_waiting() {
        let store = store().await;
        let settings = CallLogSettings {
            queue_capacity: 2,
            ..Default::default()
        };
        // No writer is polled while we submit (current-thread runtime), so
        // the queue really fills.
        let (log, writer) = CallLog::start(store.clone(), &settings);
        let started = std::time::Instant::now();
        log.submit((0..1000).map(|i| call(&format!("/{i}"))));
        assert!(started.elapsed() < Duration::from_millis(200));
        drop(log);
        writer.await.unwrap();
        let rows = store
            .list_calls(&CallFilter::default(), None, 2000)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "the queue's capacity, the rest dropped");
    }

    #[tokio::test]
    async fn a_disabled_log_records_nothing() {
        let store = store().await;
        let settings = CallLogSettings {
            enabled: false,
            ..Default::default()
        };
        let (log, writer) = CallLog::start(store.clone(), &settings);
        assert!(!log.is_enabled());
        log.record(call("/x"));
        writer.await.unwrap();
        let rows = store
            .list_calls(&CallFilter::default(), None, 10)
            .await
            .unwrap();
        assert!(rows.is_empty());
    }
}
