//! Benchmark: the Mini Program event pipeline, from WeChat's encrypted push
//! to the tenant's webhook.
//!
//! ```sh
//! cargo bench -p tpgate-tests --bench webhook_pipeline
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   BENCH_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p tpgate-tests --bench webhook_pipeline
//! # knobs: BENCH_PUSHES (5000), BENCH_CONCURRENCY (16), BENCH_EVENTS (5000),
//! #   BENCH_WARMUP (200), BENCH_DELIVERY_TIMEOUT_SECS (180),
//! #   BENCH_DISPATCH ("1000:64:16,100:256:64": poll_ms:batch:concurrency per run),
//! #   BENCH_INGEST_ROUNDS (2), BENCH_INGEST_ONLY=1 (skip phase 2)
//! ```
//!
//! 1. **Ingest**: `BENCH_CONCURRENCY` clients POST `BENCH_PUSHES` distinct
//!    pushes, sealed beforehand by the simulator as WeChat seals them (one
//!    `trade_manage_order_settlement` per order), straight to
//!    `/wechat/apps/{appid}/events`, with `background_tasks = false`: each
//!    push is verified, decrypted, parsed and stored with its outbox row
//!    and what it says about its order (a `shipping_orders` row)
//!    (the tenant has one webhook endpoint), and nothing is delivered.
//!    Each round runs it with `event_batch_max` 1 (a transaction per push,
//!    as before group commit) and 64 (the default), side by side.
//! 2. **Delivery**: on a fresh gateway and database with the background
//!    tasks on, the same kind of load (`BENCH_EVENTS` pushes) while the
//!    webhook dispatcher delivers to a receiver in this process, which
//!    answers 200 and counts. Measured from the first push until the
//!    receiver has every event; every event id must arrive exactly once.
//!    Two runs per `BENCH_DISPATCH` entry: live (the endpoint enabled
//!    while the pushes come in) and backlog (pushed with the endpoint
//!    disabled, then enabled and timed from there: the dispatcher alone).
//!
//! Everything (gateway, simulator, clients, receiver) shares this process
//! and its cores, over real HTTP on loopback. Warm-up pushes (another event
//! type, sent before the endpoint exists, so never delivered) come first.
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use admin_api::{JwtConfig, Role};
use poem::{
    EndpointExt, Request, Route, Server, handler, http::StatusCode, listener::TcpAcceptor,
    web::Data,
};
use serde_json::{Value, json};
use store::{Store, events::EventFilter};
use tenant_auth::Clock;
use tokio::task::JoinSet;
use tpgate::config::Config;
use tpgate_tests::{Harness, Instance, TestDb};
use url::Url;
use wechat_sim::{AppEvent, AppPushMessage, NewOrder, Simulator};

/// The allocator the tpgate binary ships with (`crates/tpgate/src/main.rs`):
/// the gateway in this process allocates as it does in production.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The measured event type; warm-up pushes use another.
const MEASURED: &str = "trade_manage_order_settlement";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p` quantile of `sorted` (ascending).
fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted
        .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

/// Dispatcher settings of one delivery run.
#[derive(Debug, Clone, Copy)]
struct Dispatch {
    poll_ms: u64,
    batch: u64,
    concurrency: usize,
}

fn dispatch_runs() -> Vec<Dispatch> {
    let spec = std::env::var("BENCH_DISPATCH")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "1000:64:16,100:256:64".to_owned());
    spec.split(',')
        .filter_map(|run| {
            let mut parts = run.trim().split(':').map(str::parse::<u64>);
            match (parts.next(), parts.next(), parts.next()) {
                (Some(Ok(poll_ms)), Some(Ok(batch)), Some(Ok(concurrency))) => Some(Dispatch {
                    poll_ms,
                    batch,
                    concurrency: usize::try_from(concurrency).unwrap_or(16),
                }),
                _ => {
                    eprintln!("BENCH_DISPATCH: ignoring {run:?} (want poll_ms:batch:concurrency)");
                    None
                }
            }
        })
        .collect()
}

/// A gateway in this process against its own simulator and database, with
/// one tenant whose Mini Program has authorized the platform.
struct Gateway {
    sim: Simulator,
    appid: String,
    tenant_id: String,
    store: Store,
    base: Url,
    admin_token: String,
    backend: &'static str,
    redis: bool,
    webhook_timeout_secs: u64,
    instance: Instance,
    db: TestDb,
    /// The simulator serves while this is held.
    _sim_stop: tokio::sync::oneshot::Sender<()>,
}

impl Gateway {
    async fn start(configure: impl FnOnce(&mut Config)) -> anyhow::Result<Self> {
        let mut stack = tpgate_tests::start_simulator(|_| {}).await?;
        let mut config = stack.gateway_config(Harness::Bench);
        config.shutdown_drain_secs = 1;
        configure(&mut config);
        let db = TestDb::for_config(Harness::Bench, &mut config).await;
        let admin_token = JwtConfig {
            issuer: config.admin.jwt_issuer.clone(),
            audience: config.admin.jwt_audience.clone(),
            hs256_secret: config.admin.hs256_secret(),
            public_keys: admin_api::jwt::PublicKeys::none(),
        }
        .mint(
            "bench",
            Role::PlatformAdmin,
            None,
            chrono::Duration::hours(1),
        )?;
        let instance = stack.start_gateway(&config, Clock::system()).await?;
        let store = instance.auth.store().clone();
        stack.sim.push_ticket().await?;

        let (tenant_id, appid) = stack.authorized_tenant(&store).await?;
        Ok(Self {
            sim: stack.sim,
            appid,
            tenant_id,
            store,
            base: stack.gateway_url,
            admin_token,
            backend: db.backend(),
            redis: config.redis_url.is_some(),
            webhook_timeout_secs: config.webhooks.timeout_secs,
            instance,
            db,
            _sim_stop: stack.sim_stop,
        })
    }

    /// `POST /admin/v1/tenants/{id}/webhooks`, every event type: its id.
    async fn create_endpoint(&self, http: &reqwest::Client, url: &str) -> anyhow::Result<String> {
        let r = http
            .post(
                self.base
                    .join(&format!("admin/v1/tenants/{}/webhooks", self.tenant_id))?,
            )
            .bearer_auth(&self.admin_token)
            .json(&json!({ "url": url, "description": "bench receiver" }))
            .send()
            .await?;
        let status = r.status();
        anyhow::ensure!(
            status == 201,
            "creating the webhook endpoint: {status} {}",
            r.text().await.unwrap_or_default()
        );
        let created: Value = r.json().await?;
        created["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow::anyhow!("no id in {created}"))
    }

    /// `PATCH /admin/v1/tenants/{id}/webhooks/{webhook_id} {"enabled": …}`.
    async fn set_endpoint_enabled(
        &self,
        http: &reqwest::Client,
        webhook_id: &str,
        enabled: bool,
    ) -> anyhow::Result<()> {
        let r = http
            .patch(self.base.join(&format!(
                "admin/v1/tenants/{}/webhooks/{webhook_id}",
                self.tenant_id
            ))?)
            .bearer_auth(&self.admin_token)
            .json(&json!({ "enabled": enabled }))
            .send()
            .await?;
        let status = r.status();
        anyhow::ensure!(
            status.is_success(),
            "updating the webhook endpoint: {status} {}",
            r.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// `n` pushes, each about a new paid order, sealed now (CPU, untimed).
    /// `measured`: the settlement event; else a shipping reminder (warm-up).
    fn seal(&self, n: usize, measured: bool) -> anyhow::Result<Vec<Push>> {
        (0..n)
            .map(|_| {
                let created = self.sim.create_paid_order(NewOrder::default());
                let order = self.sim.order(&created.transaction_id).ok_or_else(|| {
                    anyhow::anyhow!("the sim lost order {}", created.transaction_id)
                })?;
                let event = if measured {
                    AppEvent::order_settlement_for(&order, true)
                } else {
                    AppEvent::remind_shipping_for(&order)
                };
                Ok(Push {
                    transaction_id: created.transaction_id,
                    message: self.sim.seal_app_event(&self.appid, &event)?,
                })
            })
            .collect()
    }

    /// Ids of the stored events of the measured type.
    async fn stored_ids(&self, limit: u64) -> anyhow::Result<HashSet<String>> {
        let filter = EventFilter {
            tenant_id: Some(self.tenant_id.clone()),
            event_type: Some(MEASURED.to_owned()),
            ..EventFilter::default()
        };
        Ok(self
            .store
            .list_events(&filter, None, limit)
            .await?
            .into_iter()
            .map(|e| e.id.into_string())
            .collect())
    }

    /// Stops the gateway, then drops its database.
    async fn stop(mut self) {
        self.instance.stop().await;
        self.db.drop_now().await;
    }
}

struct Push {
    transaction_id: String,
    message: AppPushMessage,
}

/// One ingest run.
struct Ingest {
    pushes: usize,
    errors: usize,
    first_error: Option<String>,
    /// First push sent → last answer.
    elapsed: Duration,
    started: Instant,
    /// Of acknowledged pushes, ascending.
    latencies: Vec<Duration>,
    /// When each push was sent, by index.
    sent_at: Vec<Instant>,
}

impl Ingest {
    fn rate(&self) -> f64 {
        self.pushes as f64 / self.elapsed.as_secs_f64()
    }
}

/// `concurrency` clients POST every push once, as WeChat does (text/xml,
/// the sealed URL and body); acknowledged = 200 with body `success`.
async fn ingest(http: &reqwest::Client, pushes: &Arc<Vec<Push>>, concurrency: usize) -> Ingest {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (http, pushes, next) = (http.clone(), pushes.clone(), next.clone());
        workers.spawn(async move {
            // (index, sent at, latency, error)
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(push) = pushes.get(i) else { break };
                let sent = Instant::now();
                let answer = http
                    .post(&push.message.url)
                    .header(reqwest::header::CONTENT_TYPE, "text/xml")
                    .body(push.message.body.clone())
                    .send()
                    .await;
                let error = match answer {
                    Ok(r) => {
                        let status = r.status();
                        match r.text().await {
                            Ok(body) if status == 200 && body == "success" => None,
                            Ok(body) => Some(format!("{status} {body}")),
                            Err(e) => Some(e.to_string()),
                        }
                    }
                    Err(e) => Some(e.to_string()),
                };
                done.push((i, sent, sent.elapsed(), error));
            }
            done
        });
    }
    let mut sent_at = vec![started; pushes.len()];
    let mut latencies = Vec::with_capacity(pushes.len());
    let (mut errors, mut first_error) = (0, None);
    while let Some(done) = workers.join_next().await {
        for (i, sent, latency, error) in done.unwrap_or_default() {
            sent_at[i] = sent;
            match error {
                None => latencies.push(latency),
                Some(e) => {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Ingest {
        pushes: pushes.len(),
        errors,
        first_error,
        elapsed,
        started,
        latencies,
        sent_at,
    }
}

/// What the webhook receiver has seen.
#[derive(Default)]
struct Tally {
    requests: usize,
    /// Deliveries per event id (`Tpgate-Event-Id`).
    by_event: HashMap<String, u32>,
    /// First arrival per `data.transaction_id`, and how many arrived.
    by_transaction: HashMap<String, (Instant, u32)>,
    /// Distinct event ids after which `done_at` is set.
    target: usize,
    done_at: Option<Instant>,
}

type Shared = Arc<Mutex<Tally>>;

#[handler]
async fn hook(req: &Request, body: Vec<u8>, Data(tally): Data<&Shared>) -> StatusCode {
    let now = Instant::now();
    let event_id = req
        .headers()
        .get("tpgate-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let transaction_id = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["data"]["transaction_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut t = tally.lock().unwrap_or_else(|e| e.into_inner());
    t.requests += 1;
    *t.by_event.entry(event_id).or_default() += 1;
    t.by_transaction.entry(transaction_id).or_insert((now, 0)).1 += 1;
    if t.done_at.is_none() && t.target > 0 && t.by_event.len() >= t.target {
        t.done_at = Some(now);
    }
    StatusCode::OK
}

/// A tenant's webhook receiver: answers 200 to every `POST /hook` and counts.
async fn start_receiver() -> anyhow::Result<(String, Shared)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    listener.set_nonblocking(true)?;
    let acceptor = TcpAcceptor::from_tokio(tokio::net::TcpListener::from_std(listener)?)?;
    let tally = Shared::default();
    let app = Route::new()
        .at("/hook", poem::post(hook))
        .data(tally.clone());
    tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
    Ok((url, tally))
}

fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// Phase 1: pushes accepted per second, nothing delivered.
async fn phase_ingest(pushes: usize, warmup: usize, concurrency: usize) -> anyhow::Result<()> {
    let rounds: usize = env_or("BENCH_INGEST_ROUNDS", 2);
    println!();
    println!(
        "1. Pushes accepted per second: {pushes} pushes of {MEASURED}, {concurrency} concurrent clients, \
         background_tasks = false (ingest only: verify, decrypt, parse, store event + 1 outbox row + the order's settlement); \
         event_batch_max 1 (a transaction per push) and 64 (group commit) alternated, {rounds} rounds, \
         a fresh gateway and database per row, {warmup} warm-up pushes first"
    );
    println!();
    println!(
        "| backend  | redis | batch | pushes | clients | pushes/s | p50 ms | p99 ms | max ms | errors | stored | elapsed s |"
    );
    println!(
        "|----------|-------|------:|-------:|--------:|---------:|-------:|-------:|-------:|-------:|-------:|----------:|"
    );
    let mut rates: HashMap<usize, Vec<f64>> = HashMap::new();
    for _ in 0..rounds.max(1) {
        for batch in [1usize, 64] {
            let gw = Gateway::start(|c| {
                c.background_tasks = false;
                c.event_batch_max = batch;
            })
            .await?;
            let http = client(concurrency)?;
            let (receiver_url, _) = start_receiver().await?;
            let warm = Arc::new(gw.seal(warmup, false)?);
            let measured = Arc::new(gw.seal(pushes, true)?);
            ingest(&http, &warm, concurrency.min(warmup.max(1))).await;
            // Now every measured event also writes its outbox row.
            gw.create_endpoint(&http, &receiver_url).await?;
            let run = ingest(&http, &measured, concurrency).await;
            let stored = gw.stored_ids(pushes as u64 + 100).await?.len();
            println!(
                "| {:<8} | {:<5} | {batch:>5} | {:>6} | {:>7} | {:>8.0} | {:>6.2} | {:>6.2} | {:>6.1} | {:>6} | {:>6} | {:>9.2} |",
                gw.backend,
                if gw.redis { "on" } else { "off" },
                run.pushes,
                concurrency,
                run.rate(),
                ms(pct(&run.latencies, 0.50)),
                ms(pct(&run.latencies, 0.99)),
                ms(run.latencies.last().copied().unwrap_or_default()),
                run.errors,
                stored,
                run.elapsed.as_secs_f64()
            );
            if let Some(e) = &run.first_error {
                println!("   first error: {e}");
            }
            // Nothing lost: every accepted push is stored, once.
            if run.errors == 0 && stored != pushes {
                println!("   LOST: {pushes} accepted, {stored} stored");
            }
            rates.entry(batch).or_default().push(run.rate());
            gw.stop().await;
        }
    }
    let range = |batch: usize| {
        let r = &rates[&batch];
        let min = r.iter().copied().fold(f64::INFINITY, f64::min);
        let max = r.iter().copied().fold(0.0, f64::max);
        (min, max)
    };
    let ((one_min, one_max), (group_min, group_max)) = (range(1), range(64));
    println!(
        "   group commit / one transaction per push: {:.2}×–{:.2}× (pushes/s {group_min:.0}–{group_max:.0} against {one_min:.0}–{one_max:.0})",
        group_min / one_max,
        group_max / one_min
    );
    Ok(())
}

/// One delivery run's figures.
struct Delivery {
    settings: Dispatch,
    /// Ingested with the endpoint disabled, then enabled: the clock starts
    /// at the re-enable, so this measures the dispatcher alone.
    backlog: bool,
    events: usize,
    ingest: Ingest,
    /// First push (backlog: the re-enable) → the receiver has every event
    /// (None: timed out).
    all_delivered: Option<Duration>,
    /// Last push answered → the receiver has every event (live only).
    drain: Option<Duration>,
    delivered: usize,
    requests: usize,
    duplicates: usize,
    /// Stored events the receiver never got.
    missing: usize,
    /// Received ids the store does not have (should be 0).
    unknown: usize,
    /// Pushed orders never delivered, or delivered more than once.
    orders_missing: usize,
    orders_duplicated: usize,
    stored: usize,
    /// Push sent → first delivery of its event, ascending (live only).
    e2e: Vec<Duration>,
    timeout_secs: u64,
    backend: &'static str,
    redis: bool,
}

/// Phase 2: a fresh gateway with the dispatcher on. Live: the endpoint is
/// enabled while the pushes come in. Backlog: it is disabled during the
/// pushes (deliveries wait), then enabled.
async fn phase_delivery(
    settings: Dispatch,
    backlog: bool,
    events: usize,
    warmup: usize,
    concurrency: usize,
    deadline_secs: u64,
) -> anyhow::Result<Delivery> {
    let gw = Gateway::start(|c| {
        c.background_tasks = true;
        c.webhooks.poll_interval_ms = settings.poll_ms;
        c.webhooks.batch = settings.batch;
        c.webhooks.concurrency = settings.concurrency;
    })
    .await?;
    let http = client(concurrency)?;
    let (receiver_url, tally) = start_receiver().await?;
    let warm = Arc::new(gw.seal(warmup, false)?);
    let measured = Arc::new(gw.seal(events, true)?);
    ingest(&http, &warm, concurrency.min(warmup.max(1))).await;
    let endpoint = gw.create_endpoint(&http, &receiver_url).await?;
    if backlog {
        gw.set_endpoint_enabled(&http, &endpoint, false).await?;
    }
    tally.lock().unwrap_or_else(|e| e.into_inner()).target = events;

    let run = ingest(&http, &measured, concurrency).await;
    let last_ack = run.started + run.elapsed;
    let clock = if backlog {
        // Let the dispatcher go idle (its empty polls), as a backlog finds it.
        tokio::time::sleep(Duration::from_millis(settings.poll_ms * 2 + 100)).await;
        let enabled_at = Instant::now();
        gw.set_endpoint_enabled(&http, &endpoint, true).await?;
        enabled_at
    } else {
        run.started
    };
    let deadline = Instant::now() + Duration::from_secs(deadline_secs);
    let done_at = loop {
        if let Some(at) = tally.lock().unwrap_or_else(|e| e.into_inner()).done_at {
            break Some(at);
        }
        if Instant::now() >= deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // Late duplicates (e.g. a second claim of a delivered row) would show here.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let stored = gw.stored_ids(events as u64 * 2 + 100).await?;
    let t = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    let received: HashSet<&String> = t.by_event.keys().collect();
    // A backlog's deliveries wait on purpose: no end-to-end figure.
    let live = if backlog {
        &measured[..0]
    } else {
        &measured[..]
    };
    let mut e2e: Vec<Duration> = live
        .iter()
        .zip(&run.sent_at)
        .filter_map(|(push, sent)| {
            t.by_transaction
                .get(&push.transaction_id)
                .map(|(first, _)| first.saturating_duration_since(*sent))
        })
        .collect();
    e2e.sort_unstable();
    let orders = |f: &dyn Fn(u32) -> bool| {
        measured
            .iter()
            .filter(|p| f(t.by_transaction.get(&p.transaction_id).map_or(0, |e| e.1)))
            .count()
    };
    let delivery = Delivery {
        settings,
        backlog,
        events,
        all_delivered: done_at.map(|at| at.saturating_duration_since(clock)),
        drain: done_at
            .filter(|_| !backlog)
            .map(|at| at.saturating_duration_since(last_ack)),
        delivered: t.by_event.len(),
        requests: t.requests,
        duplicates: t.by_event.values().map(|n| *n as usize - 1).sum(),
        missing: stored.iter().filter(|id| !received.contains(id)).count(),
        unknown: received.iter().filter(|id| !stored.contains(**id)).count(),
        orders_missing: orders(&|n| n == 0),
        orders_duplicated: orders(&|n| n > 1),
        stored: stored.len(),
        e2e,
        timeout_secs: gw.webhook_timeout_secs,
        backend: gw.backend,
        redis: gw.redis,
        ingest: run,
    };
    gw.stop().await;
    Ok(delivery)
}

fn print_deliveries(runs: &[Delivery], concurrency: usize, warmup: usize) {
    if let Some(d) = runs.first() {
        println!(
            "   {}; Redis {}; one endpoint; the receiver answers 200 at once; {warmup} warm-up pushes first",
            d.backend,
            if d.redis { "on" } else { "off" }
        );
    }
    let secs =
        |x: Option<Duration>| x.map_or("timeout".to_owned(), |d| format!("{:.2}", d.as_secs_f64()));
    let rate = |d: &Delivery| {
        d.all_delivered.map_or("-".to_owned(), |t| {
            format!("{:.0}", d.events as f64 / t.as_secs_f64())
        })
    };
    println!();
    println!(
        "2a. Live: {concurrency} clients push while the dispatcher delivers; clock from the first push \
         (e2e = push sent → first webhook delivery of its event)"
    );
    println!();
    println!(
        "| poll ms | batch | conc | timeout s | events | ingest/s | ingest p99 ms | push errors | first push → all delivered s | delivered/s | after last ack s | e2e p50 ms | e2e p99 ms | delivered | requests | duplicates | missing | stored |"
    );
    println!(
        "|--------:|------:|-----:|----------:|-------:|---------:|--------------:|------------:|-----------------------------:|------------:|-----------------:|-----------:|-----------:|----------:|---------:|-----------:|--------:|-------:|"
    );
    for d in runs.iter().filter(|d| !d.backlog) {
        println!(
            "| {:>7} | {:>5} | {:>4} | {:>9} | {:>6} | {:>8.0} | {:>13.2} | {:>11} | {:>28} | {:>11} | {:>16} | {:>10.1} | {:>10.1} | {:>9} | {:>8} | {:>10} | {:>7} | {:>6} |",
            d.settings.poll_ms,
            d.settings.batch,
            d.settings.concurrency,
            d.timeout_secs,
            d.events,
            d.ingest.rate(),
            ms(pct(&d.ingest.latencies, 0.99)),
            d.ingest.errors,
            secs(d.all_delivered),
            rate(d),
            secs(d.drain),
            ms(pct(&d.e2e, 0.50)),
            ms(pct(&d.e2e, 0.99)),
            d.delivered,
            d.requests,
            d.duplicates,
            d.missing,
            d.stored,
        );
    }
    println!();
    println!(
        "2b. Backlog: the same pushes with the endpoint disabled (deliveries wait), then enabled; \
         clock from the PATCH enabling it (the dispatcher alone, no ingest competing)"
    );
    println!();
    println!(
        "| poll ms | batch | conc | timeout s | events | enable → all delivered s | delivered/s | delivered | requests | duplicates | missing | stored |"
    );
    println!(
        "|--------:|------:|-----:|----------:|-------:|-------------------------:|------------:|----------:|---------:|-----------:|--------:|-------:|"
    );
    for d in runs.iter().filter(|d| d.backlog) {
        println!(
            "| {:>7} | {:>5} | {:>4} | {:>9} | {:>6} | {:>24} | {:>11} | {:>9} | {:>8} | {:>10} | {:>7} | {:>6} |",
            d.settings.poll_ms,
            d.settings.batch,
            d.settings.concurrency,
            d.timeout_secs,
            d.events,
            secs(d.all_delivered),
            rate(d),
            d.delivered,
            d.requests,
            d.duplicates,
            d.missing,
            d.stored,
        );
    }
    println!();
    println!(
        "   duplicates = deliveries of an event id beyond its first; missing = stored events never received"
    );
    for d in runs {
        let name = format!(
            "{} poll {} / batch {} / conc {}",
            if d.backlog { "backlog" } else { "live" },
            d.settings.poll_ms,
            d.settings.batch,
            d.settings.concurrency
        );
        if d.orders_missing + d.orders_duplicated + d.unknown > 0 {
            println!(
                "   {name}: by order: {} never delivered, {} delivered more than once; {} received ids not in the store",
                d.orders_missing, d.orders_duplicated, d.unknown
            );
        }
        if let Some(e) = &d.ingest.first_error {
            println!("   {name}: first push error: {e}");
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pushes: usize = env_or("BENCH_PUSHES", 5000);
    let events: usize = env_or("BENCH_EVENTS", 5000);
    let warmup: usize = env_or("BENCH_WARMUP", 200);
    let concurrency: usize = env_or::<usize>("BENCH_CONCURRENCY", 16).max(1);
    let deadline_secs: u64 = env_or("BENCH_DELIVERY_TIMEOUT_SECS", 180);

    println!("Mini Program event pipeline (WeChat push → tpgate → tenant webhook)");
    phase_ingest(pushes, warmup, concurrency).await?;
    if std::env::var("BENCH_INGEST_ONLY").is_ok_and(|v| v == "1") {
        return Ok(());
    }

    println!();
    println!(
        "2. Delivery throughput: {events} pushes of {MEASURED} by {concurrency} clients, background_tasks = true, \
         a fresh gateway and database per row; webhook dispatcher per row (poll_interval_ms / batch / concurrency / timeout_secs)"
    );
    let mut runs = Vec::new();
    for settings in dispatch_runs() {
        for backlog in [false, true] {
            runs.push(
                phase_delivery(
                    settings,
                    backlog,
                    events,
                    warmup,
                    concurrency,
                    deadline_secs,
                )
                .await?,
            );
        }
    }
    print_deliveries(&runs, concurrency, warmup);
    Ok(())
}
