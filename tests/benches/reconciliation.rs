//! Benchmark: reconciliation of 1 000 trade-managed Mini Programs with 200
//! unshipped orders each, over one simulated hour, then the pending-order
//! queries operators make.
//!
//! ```sh
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! BENCH_REDIS_URL=redis://127.0.0.1:6379 \
//! cargo bench -p tpgate-tests --bench reconciliation
//! # other sizes: BENCH_MINI_PROGRAMS=200 BENCH_PENDING=50
//! ```
//!
//! tpgate runs with its background workers (reconciliation ticking every
//! second) against the in-process simulator over real HTTP; the simulated
//! clock moves a minute per step. Printed: `get_order_list` calls per
//! simulated minute (max, mean), runs per Mini Program in the hour, the
//! largest run against the budget (`reconciliation.max_calls_per_run`),
//! the pending orders found, and the latency of `GET
//! /admin/v1/shipping/pending` (by Mini Program; by tenant with a minimum
//! age) and of the health view, p50/p99 over 300 requests each.
use std::time::{Duration, Instant};

use admin_api::{JwtConfig, Role};
use chrono::Duration as ChronoDuration;
use store::{Secret, authorizers::Authorization, trade_management::TradeManagementFetch};
use tenant_auth::Clock;
use tpgate_tests::{Harness, JWT_SECRET, TestDb};
use wechat_sim::NewOrder;

const ORDER_LIST: &str = "/wxa/sec/order/get_order_list";
const STEP_SECS: i64 = 60;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env("BENCH_MINI_PROGRAMS", 1000);
    let per_app = env("BENCH_PENDING", 200);
    let budget = 10u32;

    let mut stack = tpgate_tests::start_simulator(|c| {
        // Reminders and settlement pushes are not what is measured.
        c.remind_shipping_after = None;
        c.auto_confirm_after = None;
        c.settlement_push_on_shipping = false;
    })
    .await?;
    let mut config = stack.gateway_config(Harness::Bench);
    config.background_tasks = true;
    config.reconciliation.tick_secs = 1;
    config.reconciliation.interval_secs = 3600;
    config.reconciliation.max_calls_per_run = budget;
    config.reconciliation.page_size = 100;
    config.reconciliation.batch = 200;
    config.reconciliation.concurrency = 8;
    config.call_log.enabled = false;
    let mut db = TestDb::for_config(Harness::Bench, &mut config).await;
    let backend = db.backend();
    let clock = Clock::system();
    let gateway = stack.start_gateway(&config, clock.clone()).await?;
    let auth = gateway.auth.clone();
    let store = auth.store().clone();
    let sim = &stack.sim;
    sim.push_ticket().await?;

    // n Mini Programs of 10 tenants, trade-managed, each with `per_app`
    // paid orders waiting for shipment at WeChat.
    let seeding = Instant::now();
    let mut tenants = Vec::new();
    for t in 0..10 {
        tenants.push(store.create_tenant(&format!("bench-{t}")).await?.id);
    }
    let now = clock.now();
    let mut appids = Vec::with_capacity(n);
    for i in 0..n {
        let appid = format!("wx{i:016x}");
        let refresh = sim.authorize_with_refresh_token(&appid, vec![18, 45, 142]);
        store
            .store_authorization(
                Some(&tenants[i % tenants.len()]),
                &Authorization {
                    appid: appid.clone(),
                    refresh_token: Secret::new(refresh),
                    access_token: None,
                    funcscopes: [18, 45, 142].into_iter().collect(),
                },
                None,
            )
            .await?;
        store
            .claim_trade_management_fetch(&appid, now, ChronoDuration::days(1))
            .await?;
        store
            .save_trade_management(
                &appid,
                now,
                TradeManagementFetch::Fetched {
                    is_trade_managed: true,
                    confirmation_completed: true,
                },
            )
            .await?;
        for _ in 0..per_app {
            sim.create_paid_order(NewOrder {
                appid: Some(appid.clone()),
                ..NewOrder::default()
            });
        }
        appids.push(appid);
    }
    let seeding = seeding.elapsed();

    // One simulated hour, a minute per step. The first tick schedules every
    // Mini Program at its offset in the hour.
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut per_minute = Vec::new();
    let mut last = sim.call_count(ORDER_LIST);
    for _ in 0..60 {
        clock.advance(STEP_SECS);
        sim.advance_clock(STEP_SECS);
        // Two ticks: the due runs are claimed and made.
        tokio::time::sleep(Duration::from_millis(2200)).await;
        let calls = sim.call_count(ORDER_LIST);
        per_minute.push(calls - last);
        last = calls;
    }
    let hour_wall = started.elapsed();
    let total: u64 = per_minute.iter().sum();
    let mean = total as f64 / per_minute.len() as f64;
    let max = *per_minute.iter().max().unwrap_or(&0);

    // What each Mini Program's run cost, from the schedule.
    let filter = store::shipping_orders::ShippingOrderFilter {
        state: Some(store::shipping_orders::OrderTrack::Pending),
        ..Default::default()
    };
    let mut found = 0usize;
    let mut after: Option<(i64, String, String)> = None;
    loop {
        let page = store
            .list_shipping_orders(
                &filter,
                after.as_ref().map(|(p, a, t)| (*p, a.as_str(), t.as_str())),
                1000,
            )
            .await?;
        found += page.len();
        match page.last() {
            Some(last) if page.len() == 1000 => {
                after = Some((
                    last.order.pay_time,
                    last.appid.clone(),
                    last.order.transaction_id.clone(),
                ))
            }
            _ => break,
        }
    }
    let counts = store
        .count_pending_orders(&appids.iter().map(String::as_str).collect::<Vec<_>>())
        .await?;
    let complete = counts
        .values()
        .filter(|c| c.pending as usize == per_app)
        .count();

    // Operators' queries.
    let jwt = JwtConfig {
        issuer: "tpgate".into(),
        audience: "tpgate-admin".into(),
        hs256_secret: Some(Secret::new(JWT_SECRET)),
        public_keys: admin_api::jwt::PublicKeys::none(),
    };
    let token = jwt.mint("bench", Role::PlatformAdmin, None, ChronoDuration::hours(1))?;
    let http = reqwest::Client::new();
    let base = stack.gateway_url.clone();
    let measure = async |what: &str, path: &dyn Fn(usize) -> String| -> anyhow::Result<()> {
        let mut ms = Vec::new();
        for i in 0..300 {
            let t = Instant::now();
            let resp = http
                .get(base.join(&path(i))?)
                .bearer_auth(&token)
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 200, "{what}: {}", resp.status());
            resp.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "  {what:<44} p50 {:6.2} ms   p99 {:6.2} ms",
            percentile(&ms, 0.5),
            percentile(&ms, 0.99)
        );
        Ok(())
    };

    println!("reconciliation: {n} Mini Programs x {per_app} unshipped orders, {backend}");
    println!("  seeding                                      {seeding:.1?}");
    println!("  one simulated hour                           {hour_wall:.1?} wall");
    println!(
        "  get_order_list calls in the hour             {total} ({:.2} per Mini Program; budget {budget} per run)",
        total as f64 / n as f64
    );
    println!(
        "  per simulated minute                         max {max}, mean {mean:.1}, max/mean {:.2}",
        max as f64 / mean.max(1e-9)
    );
    println!(
        "  pending orders found                         {found} of {}",
        n * per_app
    );
    println!("  Mini Programs with all their orders found    {complete} of {n}");
    measure("GET /admin/v1/shipping/pending?appid=…", &|i| {
        format!(
            "admin/v1/shipping/pending?appid={}&limit=50",
            appids[i * 7 % n]
        )
    })
    .await?;
    measure("GET …/pending?tenant_id=…&min_age_hours=0", &|i| {
        format!(
            "admin/v1/shipping/pending?tenant_id={}&min_age_hours=0&limit=50",
            tenants[i % tenants.len()]
        )
    })
    .await?;
    measure("GET /admin/v1/shipping/pending (all)", &|_| {
        "admin/v1/shipping/pending?limit=200".to_owned()
    })
    .await?;
    measure("GET /admin/v1/authorizers/{appid}/health", &|i| {
        format!("admin/v1/authorizers/{}/health", appids[i * 13 % n])
    })
    .await?;
    drop(gateway);
    db.drop_now().await;
    Ok(())
}
