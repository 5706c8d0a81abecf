//! `tpgate sandbox`: the whole product on a laptop in one command.
//!
//! Starts the WeChat simulator and the gateway (SQLite, in-process
//! coordination) side by side, wires them to each other, lets the simulator
//! push a verify ticket (and every 10 minutes after, as WeChat does), creates
//! a demo tenant, API key, onboarding link and paid demo orders, then prints
//! and writes (`tpgate-sandbox.json`) what to do next.
//!
//! The simulator keeps its state in memory, so the sandbox database is
//! recreated on every start: tokens stored by an earlier run would mean
//! nothing to a fresh simulator.
use std::{net::SocketAddr, path::PathBuf, time::Duration};

use admin_api::{JwtConfig, Role, jwt::PublicKeys};
use anyhow::Context;
use serde::Serialize;
use store::{Sealer, Secret, onboarding::NewLink};
use tenant_auth::Clock;
use tokio::sync::oneshot;
use url::Url;
use wechat_sim::{NewOrder, SimConfig, Simulator};

use crate::{Application, Config};

#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Interface to bind both servers on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Gateway port (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Simulator port (0 = any free port).
    #[arg(long, default_value_t = 8081)]
    pub sim_port: u16,
    /// Ops port: /readyz, /metrics, /docs (0 = any free port).
    #[arg(long, default_value_t = 8082)]
    pub ops_port: u16,
    /// SQLite file for the sandbox (deleted and recreated at start).
    #[arg(long, default_value = "tpgate-sandbox.db")]
    pub db: PathBuf,
    /// Where to write the summary JSON.
    #[arg(long, default_value = "tpgate-sandbox.json")]
    pub out: PathBuf,
}

/// What a newcomer needs next; also written to `tpgate-sandbox.json`.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    pub base_url: String,
    pub simulator_url: String,
    /// The ops listener: `/readyz`, `/metrics`, `/docs`.
    pub ops_url: String,
    pub admin_token: String,
    /// Signs a browser into the operator console as platform_admin (once,
    /// within 10 minutes; `tpgate console-login` makes more).
    pub console_url: String,
    pub tenant_id: String,
    pub api_key: String,
    pub onboarding_url: String,
    /// The Mini Program the simulator's authorization page will authorize.
    pub authorizer_appid: String,
    pub demo_orders: Vec<DemoOrder>,
    pub next_steps: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoOrder {
    pub transaction_id: String,
    pub payer_openid: String,
}

/// A running sandbox. Dropping `stop` (or sending on it) stops both servers.
pub struct RunningSandbox {
    pub info: SandboxInfo,
    pub simulator: Simulator,
    stop: Option<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Loops forever; aborted on stop.
    ticket_pusher: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSandbox {
    pub async fn stop(mut self) {
        if let Some(pusher) = self.ticket_pusher.take() {
            pusher.abort();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    }
}

fn remove_if_exists(path: &std::path::Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("removing old sandbox database {}", path.display()))
        }
    }
}

/// A gateway configuration whose WeChat is the simulator described by
/// `sim_config` at `sim_url` (fresh random sealing key). Used by the sandbox
/// and the end-to-end tests.
/// The simulator's configuration for a gateway at `gateway_url`: pushes go
/// there, and its host is the platform's authorization domain (WeChat's
/// 授权发起页域名), which the authorization page checks.
pub fn sim_config_for(gateway_url: &Url) -> SimConfig {
    let mut sim_config = SimConfig::sandbox();
    sim_config.gateway_events_url = Some(format!("{gateway_url}wechat/component/events"));
    sim_config.gateway_app_events_url = Some(format!("{gateway_url}wechat/apps/$APPID$/events"));
    sim_config.authorization_domain = gateway_url.host_str().map(str::to_owned);
    sim_config
}

pub fn config_for_simulator(
    sim_config: &SimConfig,
    gateway_url: &Url,
    sim_url: &Url,
    database_url: String,
    jwt_secret: &str,
) -> Config {
    let mut config = Config {
        public_base_url: gateway_url.clone(),
        database_url,
        sealing_key: Some(Sealer::generate_key().into()),
        ..Config::default()
    };
    config.component.appid = sim_config.component_appid.clone();
    config.component.secret = sim_config.component_secret.as_str().into();
    config.component.token = sim_config.token.as_str().into();
    config.component.encoding_aes_key = sim_config.encoding_aes_key.as_str().into();
    config.wechat.api_base = sim_url.clone();
    config.wechat.mp_base = sim_url.clone();
    config.wechat.open_base = sim_url.clone();
    config.admin.jwt_secret = Some(jwt_secret.into());
    // Probes and metrics on loopback, on any free port (the sandbox picks one).
    config.ops_listen = SocketAddr::from(([127, 0, 0, 1], 0));
    // Receivers on a laptop (and in tests) are on loopback.
    config.webhooks.allow_private_targets = true;
    config
}

pub async fn start(args: &SandboxArgs) -> anyhow::Result<RunningSandbox> {
    let bind = |port: u16| -> anyhow::Result<std::net::TcpListener> {
        let addr: SocketAddr = format!("{}:{port}", args.host)
            .parse()
            .with_context(|| format!("--host {} is not an IP address", args.host))?;
        std::net::TcpListener::bind(addr)
            .with_context(|| format!("port {port} is taken; pick another with --port / --sim-port"))
    };
    let gateway_listener = bind(args.port)?;
    let sim_listener = bind(args.sim_port)?;
    let ops_addr = bind(args.ops_port)?.local_addr()?;
    let gateway_url = Url::parse(&format!("http://{}/", gateway_listener.local_addr()?))?;
    let sim_url = Url::parse(&format!("http://{}/", sim_listener.local_addr()?))?;

    let sim_config = sim_config_for(&gateway_url);
    let simulator = Simulator::new(sim_config.clone());
    // The demo Mini Program uses the logistics-query plugin, as a real one
    // must before trace_waybill and the other plugin APIs work (48001).
    simulator.set_logistics_plugin(&sim_config.default_authorizer_appid, true);

    for suffix in ["", "-wal", "-shm"] {
        let mut path = args.db.clone().into_os_string();
        path.push(suffix);
        remove_if_exists(std::path::Path::new(&path))?;
    }
    let jwt_secret = Sealer::generate_key();
    let config = config_for_simulator(
        &sim_config,
        &gateway_url,
        &sim_url,
        format!("sqlite://{}?mode=rwc", args.db.display()),
        &jwt_secret,
    );
    let config = Config {
        ops_listen: ops_addr,
        ..config
    };
    config.validate_for_serve()?;

    let app = Application::build(&config, Some(gateway_listener), Clock::system()).await?;
    let ops_url = Url::parse(&format!("http://{}:{}/", ops_addr.ip(), app.ops_port()))?;
    let store = app.state().auth.store().clone();

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (sim_stop_tx, sim_stop_rx) = oneshot::channel::<()>();
    let mut tasks = Vec::new();
    let sim_listener = tokio::net::TcpListener::from_std({
        sim_listener.set_nonblocking(true)?;
        sim_listener
    })?;
    let sim_for_server = simulator.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = wechat_sim::serve(sim_listener, sim_for_server, async {
            let _ = sim_stop_rx.await;
        })
        .await
        {
            tracing::error!(error = %e, "simulator stopped with an error");
        }
    }));
    tasks.push(tokio::spawn(async move {
        let _ = app
            .run_until_stopped(async {
                let _ = stop_rx.await;
                let _ = sim_stop_tx.send(());
            })
            .await;
    }));

    // WeChat pushes a ticket every 10 minutes; so does the sandbox.
    let first = simulator
        .push_ticket()
        .await
        .context("simulator could not push the first ticket")?;
    anyhow::ensure!(
        first.status == 200 && first.body == "success",
        "the gateway refused the simulator's ticket push: HTTP {} {}",
        first.status,
        first.body
    );
    let pusher = simulator.clone();
    let ticket_pusher = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = pusher.push_ticket().await {
                tracing::warn!(error = %e, "sandbox ticket push failed");
            }
        }
    });

    let tenant = store.create_tenant("demo").await?;
    let (_, api_key) = store
        .create_api_key(&tenant.id, &store::api_keys::NewApiKey::named("sandbox"))
        .await?;
    let (_, link_token) = store
        .create_onboarding_link(NewLink {
            tenant_id: tenant.id.clone().into(),
            auth_type: 2,
            biz_appid: None,
            single_use: false,
            expires_at: chrono::Utc::now() + chrono::Duration::days(30),
        })
        .await?;
    let onboarding_url = gateway_url.join(&format!("onboard/{}", link_token.expose()))?;
    let admin_token = JwtConfig {
        issuer: config.admin.jwt_issuer.clone(),
        audience: config.admin.jwt_audience.clone(),
        hs256_secret: Some(Secret::new(jwt_secret)),
        public_keys: PublicKeys::none(),
    }
    .mint(
        "sandbox",
        Role::PlatformAdmin,
        None,
        chrono::Duration::days(30),
    )?;

    let console_url = console::sign_in_link(
        &store,
        &gateway_url,
        &store::console_sessions::ConsoleIdentity {
            role: Role::PlatformAdmin.as_str().to_owned(),
            subject: "sandbox".into(),
            tenant_id: None,
            api_key_id: None,
            via: store::console_sessions::SignedInVia::Link,
        },
    )
    .await?;
    let demo_orders: Vec<DemoOrder> = (0..3)
        .map(|_| {
            let order = simulator.create_paid_order(NewOrder::default());
            DemoOrder {
                transaction_id: order.transaction_id,
                payer_openid: order.openid,
            }
        })
        .collect();
    let authorizer_appid = sim_config.default_authorizer_appid.clone();
    let curl = upload_curl(&gateway_url, &api_key, &authorizer_appid, &demo_orders[0]);
    let get_order_step = format!(
        "3. Look at the order:\ncurl -sS -X POST '{gateway_url}v1/apps/{authorizer_appid}/wxa/sec/order/get_order' \\\n  -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n  -d '{{\"transaction_id\": \"{tx}\"}}'",
        key = api_key.expose(),
        tx = demo_orders[0].transaction_id
    );
    let info = SandboxInfo {
        base_url: gateway_url.to_string(),
        simulator_url: sim_url.to_string(),
        ops_url: ops_url.to_string(),
        admin_token,
        console_url: console_url.to_string(),
        tenant_id: tenant.id.into(),
        api_key: api_key.expose().to_owned(),
        onboarding_url: onboarding_url.to_string(),
        authorizer_appid: authorizer_appid.clone(),
        demo_orders,
        next_steps: vec![
            format!(
                "1. Open the onboarding link in a browser and press 前往授权 (Go to authorization); or, without a browser: curl -sL -e '{gateway_url};auto' -d page=pc '{onboarding_url}/authorize'. The simulated WeChat authorizes at once and shows the granted permission sets."
            ),
            format!("2. Upload shipping info for a demo order:\n{curl}"),
            get_order_step,
            format!(
                "4. Open the operator console (signed in as platform_admin; the link works once, for 10 minutes): {console_url}"
            ),
            format!(
                "5. Existing WeChat SDK code: set its API host to {gateway_url} and use the API key as the Mini Program's secret (docs/migrating-sdk-code.md); its token request is:\ncurl -sS '{gateway_url}cgi-bin/token?grant_type=client_credential&appid={authorizer_appid}&secret={key}'",
                key = api_key.expose()
            ),
            format!(
                "6. Explore the API: {ops_url}docs (admin calls need: Authorization: Bearer <admin_token>); readiness and metrics at {ops_url}readyz and {ops_url}metrics"
            ),
        ],
    };
    Ok(RunningSandbox {
        info,
        simulator,
        stop: Some(stop_tx),
        tasks,
        ticket_pusher: Some(ticket_pusher),
    })
}

/// The upload_shipping_info body the printed curl sends for `order`.
pub fn demo_upload_body(order: &DemoOrder) -> serde_json::Value {
    serde_json::json!({
        "order_key": {"order_number_type": 2, "transaction_id": order.transaction_id},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [{"tracking_no": "SF1234567890", "express_company": "SF", "item_desc": "Demo item *1", "contact": {"receiver_contact": "189****1234"}}],
        "upload_time": chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("valid offset")).to_rfc3339(),
        "payer": {"openid": order.payer_openid},
    })
}

/// The ready-to-run curl for the first proxied call.
pub fn upload_curl(base: &Url, api_key: &Secret, appid: &str, order: &DemoOrder) -> String {
    let body = demo_upload_body(order);
    format!(
        "curl -sS -X POST '{base}v1/apps/{appid}/wxa/sec/order/upload_shipping_info' \\\n  -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \\\n  -d '{body}'",
        key = api_key.expose()
    )
}

pub async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let sandbox = start(&args).await?;
    let info = &sandbox.info;
    std::fs::write(&args.out, serde_json::to_vec_pretty(info)?)
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("\ntpgate sandbox is running (Ctrl-C to stop)\n");
    println!("  gateway        {}", info.base_url);
    println!("  WeChat (sim)   {}", info.simulator_url);
    println!("  ops            {} (readyz, metrics, docs)", info.ops_url);
    println!("  tenant         {}", info.tenant_id);
    println!("  API key        {}", info.api_key);
    println!("  admin token    {}", info.admin_token);
    println!("  console        {}", info.console_url);
    println!("  onboarding     {}", info.onboarding_url);
    println!(
        "  demo orders    {}",
        info.demo_orders
            .iter()
            .map(|o| o.transaction_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("\nNext steps:\n");
    for step in &info.next_steps {
        println!("{step}\n");
    }
    println!("(all of this is also in {})", args.out.display());
    let _ = tokio::signal::ctrl_c().await;
    println!("stopping…");
    sandbox.stop().await;
    Ok(())
}
