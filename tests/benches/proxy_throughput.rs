//! Benchmark: proxied `get_order` throughput and latency, against calling the
//! simulator directly, with the Redis limiter on; the call log's cost: the
//! same load through a gateway with the log on and one with it off,
//! alternated (`BENCH_ROUNDS`, default 2); and the WeChat-compatible host's:
//! the same call at `/wxa/sec/order/get_order?access_token=` (a tpgate
//! token) and at `/v1/apps/{appid}/…` (an API key), alternated
//! (`BENCH_HOST_ROUNDS`, default 2; 0 skips it).
//!
//! ```sh
//! BENCH_REDIS_URL=redis://127.0.0.1:6379 cargo bench -p tpgate-tests --bench proxy_throughput
//! # knobs: BENCH_SECONDS (10), BENCH_CONCURRENCY (32), BENCH_DATABASE_URL (Postgres; default SQLite)
//! ```
//!
//! Both sides run in this process with the client (2 cores here), over real
//! HTTP on loopback. The proxied path is the full gate: API key → tenant
//! (cached), authorizer (cached), permission set, seed rules, limiter (one
//! Redis script), token (cached), WeChat call, answer check.
use std::time::{Duration, Instant};

use tenant_auth::Clock;
use tokio::task::JoinSet;
use tpgate_tests::{Harness, TestDb};
use url::Url;
use wechat_sim::NewOrder;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    calls: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    fn report(&self, name: &str) {
        let mut l = self.latencies.clone();
        l.sort_unstable();
        let pct = |p: f64| {
            l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        println!(
            "{name:>8}: {:>8.0} calls/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} calls, {} errors, {:.1} s)",
            self.calls as f64 / self.elapsed.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.calls,
            self.errors,
            self.elapsed.as_secs_f64()
        );
    }
}

/// `concurrency` workers POST `body` to `url` (with `bearer` when given) for `seconds`.
async fn load(
    url: Url,
    bearer: Option<String>,
    body: serde_json::Value,
    concurrency: usize,
    seconds: u64,
) -> Run {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (http, url, bearer, body) = (http.clone(), url.clone(), bearer.clone(), body.clone());
        workers.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let mut req = http.post(url.clone()).json(&body);
                if let Some(b) = &bearer {
                    req = req.bearer_auth(b);
                }
                let ok = match req.send().await {
                    // WeChat's success, on either surface (the host answers
                    // its refusals with HTTP 200 too).
                    Ok(r) => {
                        r.status().is_success()
                            && r.bytes()
                                .await
                                .is_ok_and(|b| b.windows(12).any(|w| w == b"\"errcode\":0,"))
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    while let Some(Ok((l, e))) = workers.join_next().await {
        latencies.extend(l);
        errors += e;
    }
    Run {
        calls: latencies.len(),
        errors,
        elapsed: start.elapsed(),
        latencies,
    }
}

/// One gateway (with its own simulator and database), set up for the
/// load: the proxied URL, the key, the body, and the direct URL.
struct Target {
    stack: tpgate_tests::Stack,
    gateway: tpgate_tests::Instance,
    db: TestDb,
    proxied: Url,
    direct: Url,
    /// The same call on the WeChat-compatible host, with a tpgate token.
    root: Url,
    key: String,
    body: serde_json::Value,
}

async fn target(call_log: bool) -> anyhow::Result<Target> {
    let mut stack = tpgate_tests::start_simulator(|_| {}).await?;
    let mut config = stack.gateway_config(Harness::Bench);
    config.background_tasks = false;
    config.call_log.enabled = call_log;
    // Dropped on every way out, `?` included.
    let db = TestDb::for_config(Harness::Bench, &mut config).await;
    let gateway = stack.start_gateway(&config, Clock::system()).await?;
    let auth = gateway.auth.clone();
    stack.sim.push_ticket().await?;

    // One tenant, one key, one authorized Mini Program, one paid order.
    let store = auth.store().clone();
    let (tenant_id, appid) = stack.authorized_tenant(&store).await?;
    let (_, key) = store
        .create_api_key(&tenant_id, &store::api_keys::NewApiKey::named("bench"))
        .await?;
    let order = stack.sim.create_paid_order(NewOrder::default());
    let body = serde_json::json!({ "transaction_id": order.transaction_id });
    let token = auth.authorizer_access_token(&appid).await?.token;
    let proxied = stack
        .gateway_url
        .join(&format!("v1/apps/{appid}/wxa/sec/order/get_order"))?;
    let mut direct = stack.sim_url.join("wxa/sec/order/get_order")?;
    direct
        .query_pairs_mut()
        .append_pair("access_token", token.expose());
    let issued: serde_json::Value = reqwest::get(stack.gateway_url.join(&format!(
        "cgi-bin/token?grant_type=client_credential&appid={appid}&secret={}",
        key.expose()
    ))?)
    .await?
    .json()
    .await?;
    let host_token = issued["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no WeChat-host token: {issued}"))?;
    let mut root = stack.gateway_url.join("wxa/sec/order/get_order")?;
    root.query_pairs_mut()
        .append_pair("access_token", host_token);
    // Warm the paths (connections, caches).
    load(root.clone(), None, body.clone(), 4, 1).await;
    load(direct.clone(), None, body.clone(), 4, 1).await;
    load(
        proxied.clone(),
        Some(key.expose().to_owned()),
        body.clone(),
        4,
        1,
    )
    .await;
    Ok(Target {
        stack,
        gateway,
        db,
        proxied,
        direct,
        root,
        key: key.expose().to_owned(),
        body,
    })
}

impl Target {
    async fn proxied(&self, concurrency: usize, seconds: u64) -> Run {
        load(
            self.proxied.clone(),
            Some(self.key.clone()),
            self.body.clone(),
            concurrency,
            seconds,
        )
        .await
    }

    async fn stop(mut self) {
        self.gateway.stop().await;
        self.db.drop_now().await;
        drop(self.stack);
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = env_or("BENCH_SECONDS", 10);
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    // Rounds of call log off / on, alternated so drift hits both alike.
    let rounds: usize = env_or("BENCH_ROUNDS", 2);

    let logged = target(true).await?;
    let unlogged = target(false).await?;
    println!(
        "get_order, {concurrency} concurrent clients, {seconds} s each; {}, limiter on {}",
        logged.db.backend(),
        if std::env::var("BENCH_REDIS_URL").is_ok_and(|u| !u.is_empty()) {
            "Redis"
        } else {
            "in-process counters (set BENCH_REDIS_URL for Redis)"
        }
    );
    let d = load(
        logged.direct.clone(),
        None,
        logged.body.clone(),
        concurrency,
        seconds,
    )
    .await;
    d.report("direct");
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Each side goes first every other round, so drift favours neither.
        for logged_now in [round % 2 == 1, round % 2 == 0] {
            if logged_now {
                let p = logged.proxied(concurrency, seconds).await;
                p.report("log on");
                on.push(p.rate());
            } else {
                let p = unlogged.proxied(concurrency, seconds).await;
                p.report("log off");
                off.push(p.rate());
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "call log on / off throughput: {:.3} (per round: {})",
        mean(&on) / mean(&off),
        on.iter()
            .zip(&off)
            .map(|(a, b)| format!("{:.3}", a / b))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let written = logged
        .gateway
        .auth
        .store()
        .list_calls(&store::calls::CallFilter::default(), None, 1)
        .await?;
    println!(
        "calls recorded with the log on: {}",
        if written.is_empty() {
            "none (!)"
        } else {
            "yes"
        }
    );
    let host_rounds: usize = env_or("BENCH_HOST_ROUNDS", 2);
    let (mut root, mut v1) = (Vec::new(), Vec::new());
    for round in 0..host_rounds {
        for root_now in [round % 2 == 1, round % 2 == 0] {
            if root_now {
                let p = load(
                    logged.root.clone(),
                    None,
                    logged.body.clone(),
                    concurrency,
                    seconds,
                )
                .await;
                p.report("host");
                root.push(p.rate());
            } else {
                let p = logged.proxied(concurrency, seconds).await;
                p.report("v1");
                v1.push(p.rate());
            }
        }
    }
    if host_rounds > 0 {
        println!(
            "WeChat host / v1 throughput: {:.3} (per round: {})",
            mean(&root) / mean(&v1),
            root.iter()
                .zip(&v1)
                .map(|(a, b)| format!("{:.3}", a / b))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    logged.stop().await;
    unlogged.stop().await;
    Ok(())
}
