//! Set-up shared by the benches: a database (Postgres when
//! `BENCH_DATABASE_URL` is set, else a temporary SQLite file) and the
//! simulator serving on loopback, with the gateway's listener bound.
use sea_orm::{ConnectionTrait, Database};
use url::Url;
use wechat_sim::{SimConfig, Simulator};

/// A fresh database URL.
pub async fn database_url() -> anyhow::Result<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            let name = format!("tpgate_bench_{id}");
            Database::connect(admin_url.as_str())
                .await?
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await?;
            let mut url = Url::parse(&admin_url)?;
            url.set_path(&format!("/{name}"));
            Ok(url.to_string())
        }
        _ => Ok(format!(
            "sqlite://{}?mode=rwc",
            std::env::temp_dir()
                .join(format!("tpgate-bench-{id}.db"))
                .display()
        )),
    }
}

/// The simulator, serving; and the gateway's bound listener.
pub struct Stack {
    pub sim: Simulator,
    pub sim_config: SimConfig,
    pub sim_url: Url,
    pub gateway_url: Url,
    pub gateway_listener: std::net::TcpListener,
}

pub async fn start_simulator() -> anyhow::Result<Stack> {
    let gateway_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let sim_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let gateway_url = Url::parse(&format!("http://{}/", gateway_listener.local_addr()?))?;
    let sim_url = Url::parse(&format!("http://{}/", sim_listener.local_addr()?))?;
    let mut sim_config = SimConfig::sandbox();
    sim_config.gateway_events_url = Some(gateway_url.join("wechat/component/events")?.to_string());
    sim_config.gateway_app_events_url = Some(format!("{gateway_url}wechat/apps/$APPID$/events"));
    let sim = Simulator::new(sim_config.clone());
    sim_listener.set_nonblocking(true)?;
    tokio::spawn(wechat_sim::serve(
        tokio::net::TcpListener::from_std(sim_listener)?,
        sim.clone(),
        std::future::pending(),
    ));
    Ok(Stack {
        sim,
        sim_config,
        sim_url,
        gateway_url,
        gateway_listener,
    })
}

/// tpgate's config against the simulator, on a fresh database (and Redis
/// when `BENCH_REDIS_URL` is set), with the backend's name for the report.
pub async fn config(
    sim_config: &SimConfig,
    gateway_url: &Url,
    sim_url: &Url,
) -> anyhow::Result<(tpgate::config::Config, &'static str)> {
    let database_url = database_url().await?;
    let backend = if database_url.starts_with("postgres") {
        "Postgres"
    } else {
        "SQLite"
    };
    let mut config = tpgate::sandbox::config_for_simulator(
        sim_config,
        gateway_url,
        sim_url,
        database_url,
        "bench-jwt-secret-bench-jwt-secret-0123456789",
    );
    config.redis_url = std::env::var("BENCH_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty());
    config.redis_key_prefix = format!("tpgate-bench-{}", uuid::Uuid::new_v4().simple());
    Ok((config, backend))
}
