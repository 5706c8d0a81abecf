//! Benchmark: the authorizer token sweep with 100 000 authorizers over
//! simulated hours (`BENCH_HOURS`, default 4: two token lifetimes).
//!
//! ```sh
//! cargo bench -p tpgate-tests --bench token_sweep
//! # on Postgres + Redis, other sizes, the other starting point:
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! BENCH_REDIS_URL=redis://127.0.0.1:6379 BENCH_AUTHORIZERS=100000 \
//! BENCH_SCENARIO=spread cargo bench -p tpgate-tests --bench token_sweep
//! ```
//!
//! Scenarios (`BENCH_SCENARIO`): `together` (default, the worst case: every
//! token was issued at the same moment, as after a mass onboarding or an
//! outage) and `spread` (expiries uniform over the lifetime).
//!
//! Each simulated 30 s tick runs one sweep against the in-process WeChat
//! simulator over real HTTP and the real database, then both clocks move on.
//! Printed: api_authorizer_token calls per simulated minute (max, mean, and
//! their ratio, after the first token lifetime — the target is ≤ 1.2 — and
//! over the whole run), ticks on which any token was inside the refresh
//! margin (the target is none), and the process's
//! resident memory at each stage (the simulator's 100 000 accounts live in
//! the same process; "tpgate's share" is measured after the simulator was
//! seeded).
use std::time::Instant;

use chrono::Duration as ChronoDuration;
use store::{Secret, authorizers::Authorization};
use tenant_auth::Clock;
use tpgate_tests::{Harness, TestDb};

const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
const TICK_SECS: i64 = 30;
/// WeChat's token lifetime, and the margin tpgate refreshes within.
const LIFETIME_SECS: i64 = 7200;
const MARGIN_SECS: i64 = 600;

/// Resident and peak memory of this process, in MiB (Linux).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("BENCH_AUTHORIZERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let scenario = std::env::var("BENCH_SCENARIO").unwrap_or_else(|_| "together".into());
    let hours: i64 = std::env::var("BENCH_HOURS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let (rss_start, _) = memory_mib();

    let mut stack = tpgate_tests::start_simulator(|_| {}).await?;
    let mut config = stack.gateway_config(Harness::Bench);
    config.background_tasks = false;
    // Dropped on every way out, `?` included.
    let mut db = TestDb::for_config(Harness::Bench, &mut config).await;
    let backend = db.backend();
    let clock = Clock::system();
    let mut gateway = stack.start_gateway(&config, clock.clone()).await?;
    let auth = gateway.auth.clone();
    let sim = &stack.sim;
    sim.push_ticket().await?;
    let (rss_ready, _) = memory_mib();

    // WeChat knows the n accounts...
    let refresh_tokens: Vec<(String, String)> = (0..n)
        .map(|i| {
            let appid = format!("wx{:016x}", i);
            let token = sim.authorize_with_refresh_token(&appid, vec![18, 45, 142]);
            (appid, token)
        })
        .collect();
    let (rss_sim_seeded, _) = memory_mib();

    // ...and tpgate holds their authorizations.
    let seeding = Instant::now();
    let now = clock.now();
    let lifetime = LIFETIME_SECS;
    let mut tasks = tokio::task::JoinSet::new();
    for (chunk_no, chunk) in refresh_tokens.chunks(n.div_ceil(8).max(1)).enumerate() {
        let store = auth.store().clone();
        let chunk = chunk.to_vec();
        let scenario = scenario.clone();
        tasks.spawn(async move {
            for (i, (appid, refresh)) in chunk.into_iter().enumerate() {
                let index = (chunk_no * 1_000_003 + i) as i64;
                let expires_in = match scenario.as_str() {
                    "spread" => (index * 7919) % lifetime,
                    _ => lifetime,
                };
                let auth = Authorization {
                    appid,
                    refresh_token: Secret::new(refresh),
                    access_token: Some((
                        Secret::new("seeded-access-token"),
                        now + ChronoDuration::seconds(expires_in),
                    )),
                    funcscopes: [18, 45, 142].into_iter().collect(),
                };
                store.store_authorization(None, &auth, None).await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    drop(refresh_tokens);
    let seeding = seeding.elapsed();
    let (rss_db_seeded, _) = memory_mib();

    // Simulated hours of sweeps.
    let started = Instant::now();
    let ticks = hours * 3600 / TICK_SECS;
    let mut per_tick = Vec::with_capacity(ticks as usize);
    let mut in_margin_ticks = 0;
    let mut last_calls = 0u64;
    for _ in 0..ticks {
        auth.sweep_authorizer_tokens().await?;
        let calls = sim.call_count(AUTHORIZER_TOKEN);
        per_tick.push(calls - last_calls);
        last_calls = calls;
        // After the sweep, no token may be inside the margin.
        let now = clock.now();
        let in_margin = auth
            .store()
            .authorizers_to_refresh(
                now + ChronoDuration::seconds(MARGIN_SECS),
                now - ChronoDuration::days(1),
                1,
            )
            .await?;
        if !in_margin.is_empty() {
            in_margin_ticks += 1;
        }
        clock.advance(TICK_SECS);
        sim.advance_clock(TICK_SECS);
    }
    let sweep_wall = started.elapsed();
    let (rss_end, peak) = memory_mib();

    let per_minute: Vec<u64> = per_tick.chunks(2).map(|c| c.iter().sum()).collect();
    let total: u64 = per_minute.iter().sum();
    let spread = |minutes: &[u64]| {
        let max = minutes.iter().copied().max().unwrap_or(0);
        let mean = minutes.iter().sum::<u64>() as f64 / minutes.len().max(1) as f64;
        let ratio = if mean > 0.0 { max as f64 / mean } else { 0.0 };
        (max, mean, ratio)
    };
    let (max, mean, ratio) = spread(&per_minute);
    let first_lifetime = usize::try_from(LIFETIME_SECS / 60).unwrap_or(0);
    let (after_max, after_mean, after_ratio) =
        spread(per_minute.get(first_lifetime..).unwrap_or(&[]));
    let errors_61023 = sim.error_count(AUTHORIZER_TOKEN, 61023);
    println!(
        "token sweep benchmark: {n} authorizers, scenario `{scenario}`, {backend}, Redis {}",
        config.redis_url.is_some()
    );
    println!("  seeding the database: {:.1} s", seeding.as_secs_f64());
    println!(
        "  simulated {hours} h ({ticks} ticks of {TICK_SECS} s) in {:.1} s wall",
        sweep_wall.as_secs_f64()
    );
    println!(
        "  api_authorizer_token calls per simulated minute after the first lifetime: max {after_max}, mean {after_mean:.1}, max/mean {after_ratio:.2} ({}: target ≤ 1.2)",
        if after_ratio > 0.0 && after_ratio <= 1.2 {
            "PASS"
        } else {
            "FAIL"
        }
    );
    println!(
        "  over the whole run: {total} calls; per minute max {max}, mean {mean:.1}, max/mean {ratio:.2}"
    );
    println!(
        "  ticks after which a token was inside the {MARGIN_SECS} s margin: {in_margin_ticks} ({}); 61023 answers: {errors_61023}",
        if in_margin_ticks == 0 { "PASS" } else { "FAIL" }
    );
    println!(
        "  memory (RSS MiB): start {rss_start:.0}, tpgate+sim ready {rss_ready:.0}, sim seeded {rss_sim_seeded:.0}, db seeded {rss_db_seeded:.0}, after sweep {rss_end:.0}, peak {peak:.0}; tpgate's share after seeding the simulator: {:.0}",
        rss_end - rss_sim_seeded
    );
    let histogram: Vec<String> = per_minute
        .chunks(10)
        .map(|c| c.iter().sum::<u64>().to_string())
        .collect();
    println!("  calls per 10 simulated minutes: {}", histogram.join(" "));
    gateway.stop().await;
    db.drop_now().await;
    Ok(())
}
