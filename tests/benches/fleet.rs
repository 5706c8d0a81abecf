//! Benchmark: tpgate's memory, start-up and admin listing with 100 000
//! authorized Mini Programs, tpgate and the WeChat simulator each in their
//! own process.
//!
//! ```sh
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! BENCH_REDIS_URL=redis://127.0.0.1:6379 \
//! cargo bench -p tpgate-tests --bench fleet
//! # other sizes and windows; an already built binary instead of building one:
//! # BENCH_MINI_PROGRAMS=20000 BENCH_TENANTS=20 BENCH_STEADY_SECS=60 BENCH_STARTS=3
//! # BENCH_TPGATE_BIN=target/release/tpgate
//! # no ANALYZE after seeding (the planner without statistics): BENCH_ANALYZE=0
//! ```
//!
//! `BENCH_DATABASE_URL` is required (the targets are Postgres ones): a
//! database of its own is created for the run (a copy of the migrated
//! template, see `support/test_db.rs`) and dropped at the end.
//! `BENCH_REDIS_URL` is optional (without it tpgate coordinates in
//! Postgres).
//!
//! What runs:
//! - the simulator in its own process: this bench binary started again
//!   with `FLEET_SIMULATOR=1` (the simulator library on a loopback port, as
//!   the `wechat-sim` binary serves it). It records the N accounts, has
//!   its own `api_authorizer_token` issue each an access token, and hands
//!   both tokens back on stdout: WeChat must know the tokens tpgate holds,
//!   and the simulator's `/sim` API has no way to add accounts;
//! - N authorizations over `BENCH_TENANTS` tenants (default 100) written
//!   through `store` (as tpgate writes them), with access tokens expiring
//!   uniformly 20 to 120 minutes ahead: the spread a running sweep keeps,
//!   so the sweep does its steady-state work (N × 30 s / 6000 s refreshes
//!   a tick) against the simulator; then `ANALYZE`, as autovacuum would
//!   after such a load (the printout says whether the server's autovacuum
//!   is on; `BENCH_ANALYZE=0` leaves the planner without statistics);
//! - the real `tpgate serve`, built with `cargo build --release -p tpgate
//!   --no-default-features` (as the Dockerfile builds it) unless
//!   `BENCH_TPGATE_BIN` names a binary, run from a copy in a directory of
//!   the run under the temporary directory, where it logs (the path is
//!   printed); configured by `TPGATE_*` variables, background tasks on,
//!   with the image's `MIMALLOC_PURGE_DELAY=0`.
//!
//! Printed: seeding times; start-up from spawn to the ops listener's
//! `/readyz` answering 200, `BENCH_STARTS` times (default 3; the last
//! instance stays up); the tpgate process's memory from
//! `/proc/<pid>/status` (VmRSS, with its anonymous and file-backed parts,
//! and VmHWM) at ready, over `BENCH_STEADY_SECS` (default 90) of background
//! work, and while paging; then the latency (p50/p99/max) of every request
//! of four cursor walks of `GET /admin/v1/authorizers` as a platform_admin
//! (all N at the default page size and at the largest, and every tenant's
//! at both). Last, a table of the targets with PASS/FAIL: RSS ≤ 100 MB
//! (10^6 bytes) over the background window and the paging, start-up ≤ 5 s
//! (slowest start), paging p99 ≤ 50 ms (worst walk).
use std::{
    io::{BufRead as _, Write as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use admin_api::{JwtConfig, Role};
use chrono::Duration as ChronoDuration;
use sea_orm::ConnectionTrait as _;
use store::{Sealer, Secret, Store, authorizers::Authorization};
use tpgate_tests::{Harness, JWT_SECRET, TestDb};
use url::Url;

const TARGET_RSS_MB: f64 = 100.0;
const TARGET_START_SECS: f64 = 5.0;
const TARGET_P99_MS: f64 = 50.0;
/// The admin API's default and largest page sizes (`admin_api::api::page`).
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;
const FUNCSCOPES: [i64; 3] = [18, 45, 142];
const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn appid(i: usize) -> String {
    format!("wx{i:016x}")
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// A port free on loopback now (tpgate binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The machine's 1-minute load average (other work skews the timings).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    if std::env::var_os("FLEET_SIMULATOR").is_some() {
        return runtime.block_on(simulator_process());
    }
    runtime.block_on(bench())
}

// === The simulator's process ===

/// One account as WeChat knows it and tpgate will hold it.
struct Account {
    appid: String,
    refresh_token: String,
    /// Issued by the simulator, so WeChat accepts it.
    access_token: String,
}

/// The simulator serving on loopback: writes `listening <url>`, then one
/// `<appid> <refresh token> <access token>` line per account, then `ready`;
/// serves until its stdin closes (the bench ended, however it ended).
///
/// The simulator issues access tokens only through its API, with a
/// component token, which takes a ticket it pushed: it pushes one to itself
/// (any answer will do), then asks for each account's token as tpgate
/// would.
async fn simulator_process() -> anyhow::Result<()> {
    let n = env_usize("FLEET_SIM_ACCOUNTS", 0);
    let gateway = Url::parse(&std::env::var("FLEET_SIM_GATEWAY")?)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    let sim = wechat_sim::Simulator::new(tpgate::sandbox::sim_config_for(&gateway));
    let config = sim.config();
    let stdin_closed = tokio::task::spawn_blocking(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    });
    let server = tokio::spawn(wechat_sim::serve(listener, sim.clone(), async {
        let _ = stdin_closed.await;
    }));

    sim.set_gateway_events_url(url.join("fleet/ticket-sink")?.as_str());
    let ticket = sim
        .push_ticket()
        .await?
        .ticket
        .ok_or_else(|| anyhow::anyhow!("no ticket pushed"))?;
    if let Some(events) = &config.gateway_events_url {
        sim.set_gateway_events_url(events);
    }
    let http = reqwest::Client::new();
    let answer: serde_json::Value = http
        .post(url.join("cgi-bin/component/api_component_token")?)
        .json(&serde_json::json!({
            "component_appid": config.component_appid,
            "component_appsecret": config.component_secret,
            "component_verify_ticket": ticket,
        }))
        .send()
        .await?
        .json()
        .await?;
    let component_token = answer["component_access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("api_component_token: {answer}"))?;
    let mut token_url = url.join("cgi-bin/component/api_authorizer_token")?;
    token_url
        .query_pairs_mut()
        .append_pair("component_access_token", component_token);

    let workers = 16;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let (sim, http, token_url) = (sim.clone(), http.clone(), token_url.clone());
        let component_appid = config.component_appid.clone();
        tasks.spawn(async move {
            let mut accounts = Vec::new();
            for i in (w..n).step_by(workers) {
                let appid = appid(i);
                let refresh_token = sim.authorize_with_refresh_token(&appid, FUNCSCOPES.to_vec());
                let answer: serde_json::Value = http
                    .post(token_url.clone())
                    .json(&serde_json::json!({
                        "component_appid": component_appid,
                        "authorizer_appid": appid,
                        "authorizer_refresh_token": refresh_token,
                    }))
                    .send()
                    .await?
                    .json()
                    .await?;
                let access_token = answer["authorizer_access_token"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("api_authorizer_token: {answer}"))?
                    .to_owned();
                accounts.push((
                    i,
                    Account {
                        appid,
                        refresh_token,
                        access_token,
                    },
                ));
            }
            anyhow::Ok(accounts)
        });
    }
    let mut accounts = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        accounts.extend(done??);
    }
    accounts.sort_by_key(|(i, _)| *i);
    {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        writeln!(out, "listening {url}")?;
        for (_, a) in &accounts {
            writeln!(out, "{} {} {}", a.appid, a.refresh_token, a.access_token)?;
        }
        writeln!(out, "ready")?;
        out.flush()?;
    }
    drop(accounts);
    server.await??;
    Ok(())
}

/// A child process, killed (if still running) when dropped.
struct Process {
    child: Child,
}

impl Process {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM (tpgate's graceful shutdown), then SIGKILL after `grace`.
    async fn terminate(&mut self, grace: Duration) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()?;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("warning: pid {} ignored SIGTERM; killing it", self.pid());
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the simulator's process; returns it, its URL and the accounts.
async fn start_simulator(n: usize, gateway: &Url) -> anyhow::Result<(Process, Url, Vec<Account>)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env("FLEET_SIMULATOR", "1")
        .env("FLEET_SIM_ACCOUNTS", n.to_string())
        .env("FLEET_SIM_GATEWAY", gateway.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let process = Process { child };
    let (url, accounts) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut next = || -> anyhow::Result<String> {
            lines
                .next()
                .ok_or_else(|| anyhow::anyhow!("the simulator's process ended early"))?
                .map_err(Into::into)
        };
        let first = next()?;
        let url = first
            .strip_prefix("listening ")
            .ok_or_else(|| anyhow::anyhow!("the simulator said {first:?}"))?;
        let url = Url::parse(url)?;
        let mut accounts = Vec::with_capacity(n);
        loop {
            let line = next()?;
            if line == "ready" {
                break;
            }
            let mut fields = line.split(' ').map(str::to_owned);
            let (Some(appid), Some(refresh_token), Some(access_token)) =
                (fields.next(), fields.next(), fields.next())
            else {
                anyhow::bail!("the simulator said {line:?}");
            };
            accounts.push(Account {
                appid,
                refresh_token,
                access_token,
            });
        }
        anyhow::Ok((url, accounts))
    })
    .await??;
    anyhow::ensure!(
        accounts.len() == n,
        "the simulator recorded {} accounts",
        accounts.len()
    );
    Ok((process, url, accounts))
}

// === tpgate's process ===

/// `target/release/tpgate` as the Dockerfile builds it, or
/// `BENCH_TPGATE_BIN`; and how long the build took.
fn tpgate_binary() -> anyhow::Result<(PathBuf, Option<Duration>)> {
    if let Some(bin) = std::env::var_os("BENCH_TPGATE_BIN").filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        anyhow::ensure!(
            bin.is_file(),
            "BENCH_TPGATE_BIN: {} is not a file",
            bin.display()
        );
        return Ok((bin, None));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building tpgate: cargo build --release -p tpgate --no-default-features");
    let started = Instant::now();
    let mut command = Command::new(cargo);
    // What cargo set for running this bench (`CARGO_MANIFEST_DIR`,
    // `CARGO_PKG_NAME`...) is not passed on: build scripts watch some of
    // these (ring's), and their dependants would be rebuilt each time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_"]
            .iter()
            .any(|p| name.starts_with(p))
            || [
                "CARGO_CRATE_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&name.as_str())
        {
            command.env_remove(name);
        }
    }
    let output = command
        .current_dir(&workspace)
        .args([
            "build",
            "--release",
            "-p",
            "tpgate",
            "--no-default-features",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()?;
    anyhow::ensure!(output.status.success(), "building tpgate failed");
    let built = started.elapsed();
    let exe = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "tpgate")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| anyhow::anyhow!("cargo named no tpgate executable"))?;
    Ok((exe, Some(built)))
}

/// How to start tpgate: the binary and its `TPGATE_*` environment.
struct Tpgate {
    bin: PathBuf,
    env: Vec<(String, String)>,
    log: PathBuf,
    ops: Url,
}

impl Tpgate {
    /// Spawns `tpgate serve` and waits for `/readyz` to answer 200 (at most
    /// 60 s); returns the process and the time from spawn to ready.
    async fn start(&self, http: &reqwest::Client) -> anyhow::Result<(Process, Duration)> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let mut command = Command::new(&self.bin);
        command.arg("serve");
        // Only the configuration given here (and tpgate's default log filter).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TPGATE_") {
                command.env_remove(name);
            }
        }
        command
            .env_remove("RUST_LOG")
            // As the image runs it (Dockerfile): memory goes back at once.
            .env("MIMALLOC_PURGE_DELAY", "0")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let started = Instant::now();
        let mut process = Process {
            child: command.spawn()?,
        };
        let readyz = self.ops.join("readyz")?;
        loop {
            if let Some(status) = process.child.try_wait()? {
                anyhow::bail!("tpgate exited ({status}); see {}", self.log.display());
            }
            let answer = http
                .get(readyz.clone())
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if matches!(&answer, Ok(r) if r.status() == 200) {
                return Ok((process, started.elapsed()));
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "tpgate not ready after 60 s; see {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A process's memory from `/proc/<pid>/status`, in MB (10^6 bytes).
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    rss: f64,
    anon: f64,
    file: f64,
    hwm: f64,
    threads: u64,
}

impl Memory {
    fn of(pid: u32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        };
        let mb = |name: &str| field(name).map(|kb| kb * 1024.0 / 1e6);
        Some(Memory {
            rss: mb("VmRSS:")?,
            anon: mb("RssAnon:").unwrap_or(0.0),
            file: mb("RssFile:").unwrap_or(0.0),
            hwm: mb("VmHWM:").unwrap_or(0.0),
            threads: field("Threads:").unwrap_or(0.0) as u64,
        })
    }

    fn line(&self) -> String {
        format!(
            "RSS {:6.1} MB (anon {:5.1}, file {:5.1}), VmHWM {:6.1} MB, {} threads",
            self.rss, self.anon, self.file, self.hwm, self.threads
        )
    }
}

/// Samples `pid`'s memory every `every` until stopped; keeps the largest RSS.
struct Sampler {
    max: Arc<Mutex<Memory>>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    fn start(pid: u32, every: Duration) -> Sampler {
        let max = Arc::new(Mutex::new(Memory::default()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let keep = max.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => return,
                }
                if let Some(m) = Memory::of(pid) {
                    let mut max = keep.lock().unwrap_or_else(|p| p.into_inner());
                    if m.rss > max.rss {
                        *max = m;
                    }
                }
            }
        });
        Sampler { max, stop, task }
    }

    /// The sample with the largest RSS.
    async fn finish(self) -> Memory {
        let _ = self.stop.send(());
        let _ = self.task.await;
        *self.max.lock().unwrap_or_else(|p| p.into_inner())
    }
}

// === The admin listing ===

/// One cursor walk's request latencies, in ms.
struct Walk {
    name: String,
    items: usize,
    ms: Vec<f64>,
}

impl Walk {
    fn p(&self, p: f64) -> f64 {
        percentile(&self.ms, p)
    }
}

/// Pages through `GET /admin/v1/authorizers?{query}` with the cursor;
/// checks the appids come once each, in order. Returns the number of items
/// and each request's latency (send to body read), in ms.
async fn walk(
    http: &reqwest::Client,
    base: &Url,
    token: &str,
    query: &str,
) -> anyhow::Result<(usize, Vec<f64>)> {
    let mut ms = Vec::new();
    let mut items = 0usize;
    let mut last: Option<String> = None;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = base.join("admin/v1/authorizers")?;
        url.set_query((!query.is_empty()).then_some(query));
        if let Some(c) = &cursor {
            url.query_pairs_mut().append_pair("cursor", c);
        }
        let t = Instant::now();
        let resp = http.get(url).bearer_auth(token).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(
            status == 200,
            "{query}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        let page: serde_json::Value = serde_json::from_slice(&body)?;
        let page_items = page["items"]
            .as_array()
            .ok_or_else(|| anyhow::anyhow!("{query}: no items"))?;
        for item in page_items {
            let id = item["appid"].as_str().unwrap_or_default().to_owned();
            anyhow::ensure!(
                last.as_ref().is_none_or(|l| *l < id),
                "{query}: {id} after {last:?}"
            );
            last = Some(id);
        }
        items += page_items.len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok((items, ms)),
        }
    }
}

// === The bench ===

async fn bench() -> anyhow::Result<()> {
    let n = env_usize("BENCH_MINI_PROGRAMS", 100_000);
    let tenant_count = env_usize("BENCH_TENANTS", 100).max(1);
    let steady_secs = env_usize("BENCH_STEADY_SECS", 90) as u64;
    let starts = env_usize("BENCH_STARTS", 3).max(1);
    anyhow::ensure!(
        std::env::var(Harness::Bench.database_var()).is_ok_and(|u| !u.is_empty()),
        "set BENCH_DATABASE_URL to a Postgres server's admin URL, e.g. \
         postgres://postgres@127.0.0.1:5432/postgres (a database is created for the run and dropped)"
    );
    let redis_url = Harness::Bench.redis_url();
    let (built_bin, built) = tokio::task::spawn_blocking(tpgate_binary).await??;
    // A copy of its own: a build running meanwhile (cargo replaces
    // target/release/tpgate) must not change the binary between starts.
    let run_id = uuid::Uuid::new_v4().simple().to_string();
    let run_dir = std::env::temp_dir().join(format!("tpgate-fleet-{run_id}"));
    std::fs::create_dir_all(&run_dir)?;
    let bin = run_dir.join("tpgate");
    std::fs::copy(&built_bin, &bin)?;

    // The database, migrated (from the template), dropped on every way out.
    let (database_url, mut db) = TestDb::fresh(Harness::Bench, true).await;
    let db_name = db
        .postgres()
        .map(|p| p.name().to_owned())
        .unwrap_or_default();

    // WeChat, in its own process, knowing the n accounts.
    let listen = format!("127.0.0.1:{}", free_port()?);
    let ops_listen = format!("127.0.0.1:{}", free_port()?);
    let gateway = Url::parse(&format!("http://{listen}/"))?;
    let ops = Url::parse(&format!("http://{ops_listen}/"))?;
    let sim_seeding = Instant::now();
    let (mut sim_process, sim_url, accounts) = start_simulator(n, &gateway).await?;
    let sim_seeding = sim_seeding.elapsed();

    // tpgate's database holding their authorizations.
    let sealing_key = Sealer::generate_key();
    let store =
        Store::connect(&database_url, None, Sealer::from_base64(&sealing_key, &[])?).await?;
    let seeding = Instant::now();
    let mut tenants = Vec::with_capacity(tenant_count);
    for t in 0..tenant_count {
        tenants.push(store.create_tenant(&format!("fleet-{t}")).await?.id);
    }
    let now = chrono::Utc::now();
    let accounts = Arc::new(accounts);
    let tenants = Arc::new(tenants);
    let writers = 16;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let (store, accounts, tenants) = (store.clone(), accounts.clone(), tenants.clone());
        tasks.spawn(async move {
            for i in (w..accounts.len()).step_by(writers) {
                let account = &accounts[i];
                // Uniform over 20–120 min ahead: the sweep's steady state.
                let expires_in = 1200 + (i as i64 * 7919) % 6000;
                store
                    .store_authorization(
                        Some(&tenants[i % tenants.len()]),
                        &Authorization {
                            appid: account.appid.clone(),
                            refresh_token: Secret::new(account.refresh_token.clone()),
                            access_token: Some((
                                Secret::new(account.access_token.clone()),
                                now + ChronoDuration::seconds(expires_in),
                            )),
                            funcscopes: FUNCSCOPES.into_iter().collect(),
                        },
                        None,
                    )
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let seeding = seeding.elapsed();
    drop(store);

    // Table statistics, as autovacuum would gather them after such a load
    // (unless BENCH_ANALYZE=0: then the planner has none where autovacuum
    // is off).
    let analyze = std::env::var("BENCH_ANALYZE").as_deref() != Ok("0");
    let conn = sea_orm::Database::connect(&database_url).await?;
    let autovacuum = conn
        .query_one_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SHOW autovacuum",
        ))
        .await?
        .map(|row| row.try_get_by_index::<String>(0))
        .transpose()?
        .unwrap_or_default();
    let analyzed = Instant::now();
    if analyze {
        conn.execute_unprepared("ANALYZE").await?;
    }
    let analyzed = analyzed.elapsed();
    conn.close().await?;

    let sim = wechat_sim::SimConfig::sandbox();
    let mut env: Vec<(String, String)> = vec![
        ("TPGATE_LISTEN".into(), listen.clone()),
        ("TPGATE_OPS_LISTEN".into(), ops_listen.clone()),
        ("TPGATE_PUBLIC_BASE_URL".into(), gateway.to_string()),
        ("TPGATE_DATABASE_URL".into(), database_url.clone()),
        ("TPGATE_SEALING_KEY".into(), sealing_key),
        (
            "TPGATE_COMPONENT__APPID".into(),
            sim.component_appid.clone(),
        ),
        (
            "TPGATE_COMPONENT__SECRET".into(),
            sim.component_secret.clone(),
        ),
        ("TPGATE_COMPONENT__TOKEN".into(), sim.token.clone()),
        (
            "TPGATE_COMPONENT__ENCODING_AES_KEY".into(),
            sim.encoding_aes_key.clone(),
        ),
        ("TPGATE_WECHAT__API_BASE".into(), sim_url.to_string()),
        ("TPGATE_WECHAT__MP_BASE".into(), sim_url.to_string()),
        ("TPGATE_WECHAT__OPEN_BASE".into(), sim_url.to_string()),
        ("TPGATE_ADMIN__JWT_SECRET".into(), JWT_SECRET.into()),
        ("TPGATE_BACKGROUND_TASKS".into(), "true".into()),
    ];
    if let Some(redis) = &redis_url {
        env.push(("TPGATE_REDIS_URL".into(), redis.clone()));
        env.push((
            "TPGATE_REDIS_KEY_PREFIX".into(),
            format!("tpgate-bench-{run_id}"),
        ));
    }
    let tpgate = Tpgate {
        bin: bin.clone(),
        env,
        log: run_dir.join("tpgate.log"),
        ops,
    };
    let http = reqwest::Client::new();

    // Start-ups. The first one's tpgate gets the verify ticket (kept in the
    // database for the next ones); the last one stays up.
    let load_before = load_average();
    let mut start_times = Vec::new();
    let mut at_ready = Memory::default();
    let mut running = None;
    for s in 0..starts {
        let (mut process, took) = tpgate.start(&http).await?;
        start_times.push(took.as_secs_f64());
        at_ready = Memory::of(process.pid()).unwrap_or_default();
        if s == 0 {
            let pushed = http.post(sim_url.join("sim/push/ticket")?).send().await?;
            anyhow::ensure!(pushed.status() == 200, "ticket push: {}", pushed.status());
        }
        if s + 1 == starts {
            running = Some(process);
        } else {
            process.terminate(Duration::from_secs(35)).await?;
        }
    }
    let mut process = running.ok_or_else(|| anyhow::anyhow!("no start"))?;
    let pid = process.pid();

    // Background work: the sweep (with its refreshes at the simulator),
    // reconciliation, housekeeping, the watchdog...
    let calls = async || -> anyhow::Result<u64> {
        let counts: serde_json::Value = http
            .get(sim_url.join("sim/calls")?)
            .send()
            .await?
            .json()
            .await?;
        Ok(counts[AUTHORIZER_TOKEN].as_u64().unwrap_or(0))
    };
    let refreshes_before = calls().await?;
    let sampler = Sampler::start(pid, Duration::from_millis(250));
    let mut timeline = Vec::new();
    let background = Instant::now();
    for second in 1..=steady_secs {
        let until = Duration::from_secs(second);
        tokio::time::sleep(until.saturating_sub(background.elapsed())).await;
        if second % 15 == 0 || second == steady_secs {
            let m = Memory::of(pid).unwrap_or_default();
            timeline.push(format!("{second} s: {:.1}", m.rss));
        }
    }
    let steady_max = sampler.finish().await;
    let after_background = Memory::of(pid).unwrap_or_default();
    let refreshes = calls().await? - refreshes_before;

    // The listing, as an operator pages through it.
    let jwt = JwtConfig {
        issuer: "tpgate".into(),
        audience: "tpgate-admin".into(),
        hs256_secret: Some(Secret::new(JWT_SECRET)),
        public_keys: admin_api::jwt::PublicKeys::none(),
    };
    let token = jwt.mint(
        "fleet-bench",
        Role::PlatformAdmin,
        None,
        ChronoDuration::hours(2),
    )?;
    let sampler = Sampler::start(pid, Duration::from_millis(100));
    let mut walks = Vec::new();
    for (name, query) in [
        (format!("all, default page ({DEFAULT_PAGE})"), String::new()),
        (
            format!("all, limit={MAX_PAGE}"),
            format!("limit={MAX_PAGE}"),
        ),
    ] {
        let (items, mut ms) = walk(&http, &gateway, &token, &query).await?;
        anyhow::ensure!(items == n, "{name}: {items} of {n} authorizers");
        ms.sort_by(f64::total_cmp);
        walks.push(Walk { name, items, ms });
    }
    for (name, limit) in [
        (format!("each tenant, default page ({DEFAULT_PAGE})"), None),
        (format!("each tenant, limit={MAX_PAGE}"), Some(MAX_PAGE)),
    ] {
        let mut all = Vec::new();
        let mut items = 0;
        for (t, tenant) in tenants.iter().enumerate() {
            let mut query = format!("tenant_id={tenant}");
            if let Some(limit) = limit {
                query.push_str(&format!("&limit={limit}"));
            }
            let (found, ms) = walk(&http, &gateway, &token, &query).await?;
            let expected = (0..n).filter(|i| i % tenant_count == t).count();
            anyhow::ensure!(found == expected, "tenant {tenant}: {found} of {expected}");
            items += found;
            all.extend(ms);
        }
        all.sort_by(f64::total_cmp);
        walks.push(Walk {
            name,
            items,
            ms: all,
        });
    }
    let paging_max = sampler.finish().await;
    let after_paging = Memory::of(pid).unwrap_or_default();
    let load_after = load_average();
    process.terminate(Duration::from_secs(35)).await?;
    drop(sim_process.child.stdin.take());
    sim_process.terminate(Duration::from_secs(10)).await?;
    db.drop_now().await;
    std::fs::remove_file(&bin)?;

    // The report.
    let backend = db.backend();
    println!(
        "fleet: {n} Mini Programs over {tenant_count} tenants, {backend} (database {db_name}), Redis {}",
        if redis_url.is_some() { "yes" } else { "no" }
    );
    println!(
        "  {} cores; load average {load_before} before the start-ups, {load_after} after the paging",
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    println!(
        "  tpgate: {}{}; log {}",
        built_bin.display(),
        built.map_or(String::new(), |b| format!(
            " (cargo build {:.0} s)",
            b.as_secs_f64()
        )),
        tpgate.log.display()
    );
    println!(
        "  seeding: simulator accounts {:.1} s (own process); tenants + authorizations in the database {:.1} s ({:.0} a second)",
        sim_seeding.as_secs_f64(),
        seeding.as_secs_f64(),
        n as f64 / seeding.as_secs_f64()
    );
    let fmt_secs: Vec<String> = start_times.iter().map(|s| format!("{s:.2} s")).collect();
    let slowest = start_times.iter().copied().fold(0.0, f64::max);
    let fastest = start_times.iter().copied().fold(f64::MAX, f64::min);
    println!(
        "  table statistics: {}; the server's autovacuum is {autovacuum}",
        if analyze {
            format!("ANALYZE after seeding ({:.1} s)", analyzed.as_secs_f64())
        } else {
            "no ANALYZE (BENCH_ANALYZE=0)".to_owned()
        }
    );
    println!(
        "  start-up, spawn to /readyz 200: {} (min {fastest:.2} s, max {slowest:.2} s)",
        fmt_secs.join(", ")
    );
    println!("  memory of the tpgate process (MB = 10^6 bytes):");
    println!("    at ready (last start)            {}", at_ready.line());
    println!(
        "    largest sample, {steady_secs} s background   {}",
        steady_max.line()
    );
    println!(
        "    after the background window      {}",
        after_background.line()
    );
    println!("    largest sample, paging           {}", paging_max.line());
    println!(
        "    after paging                     {}",
        after_paging.line()
    );
    println!("    RSS over the window: {}", timeline.join(", "));
    println!(
        "  background window: {refreshes} api_authorizer_token calls at the simulator (sweep refreshes; {:.0} a tick of 30 s expected)",
        (n as f64 * 30.0 / 6000.0).ceil()
    );
    println!("  GET /admin/v1/authorizers (platform_admin; latency = send to body read):");
    println!(
        "    {:<34} {:>8} {:>8} {:>9} {:>9} {:>9} {:>8}",
        "walk", "requests", "items", "p50 ms", "p99 ms", "max ms", "total s"
    );
    for w in &walks {
        println!(
            "    {:<34} {:>8} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>8.1}",
            w.name,
            w.ms.len(),
            w.items,
            w.p(0.5),
            w.p(0.99),
            w.ms.last().copied().unwrap_or(0.0),
            w.ms.iter().sum::<f64>() / 1000.0
        );
    }

    let steady_rss = [steady_max, after_background, paging_max, after_paging]
        .iter()
        .map(|m| m.rss)
        .fold(0.0, f64::max);
    let worst_p99 = walks.iter().map(|w| w.p(0.99)).fold(0.0, f64::max);
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!("  targets:");
    println!(
        "    {:<58} {:>22}  {}",
        format!("tpgate RSS ≤ {TARGET_RSS_MB:.0} MB steady (background + paging, largest)"),
        format!("{steady_rss:.1} MB"),
        verdict(steady_rss <= TARGET_RSS_MB)
    );
    println!(
        "    {:<58} {:>22}  {}",
        format!("start-up to ready ≤ {TARGET_START_SECS:.0} s (slowest of {starts})"),
        format!("{slowest:.2} s"),
        verdict(slowest <= TARGET_START_SECS)
    );
    println!(
        "    {:<58} {:>22}  {}",
        format!("GET /admin/v1/authorizers p99 ≤ {TARGET_P99_MS:.0} ms (worst walk)"),
        format!("{worst_p99:.2} ms"),
        verdict(worst_p99 <= TARGET_P99_MS)
    );
    Ok(())
}
