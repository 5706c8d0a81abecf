//! A tpgate replica in its own process, for tests that must kill one with
//! SIGKILL (nothing released, no destructor run), which an in-process
//! instance cannot show. The same `Application` as `tpgate serve`; the
//! configuration comes as JSON in `REPLICA_CONFIG` (secrets are never
//! serialized, so they come in their own variables) and it listens on
//! `REPLICA_LISTEN`.
use tenant_auth::Clock;
use tpgate::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let var = |name: &str| std::env::var(name).map_err(|_| anyhow::anyhow!("{name} is not set"));
    let mut config: Config = serde_json::from_str(&var("REPLICA_CONFIG")?)?;
    config.sealing_key = Some(var("REPLICA_SEALING_KEY")?.into());
    config.component.secret = var("REPLICA_COMPONENT_SECRET")?.into();
    config.component.token = var("REPLICA_COMPONENT_TOKEN")?.into();
    config.component.encoding_aes_key = var("REPLICA_COMPONENT_AES_KEY")?.into();
    config.admin.jwt_secret = Some(var("REPLICA_JWT_SECRET")?.into());
    config.validate_for_serve()?;
    let listener = std::net::TcpListener::bind(var("REPLICA_LISTEN")?)?;
    let app = Application::build(&config, Some(listener), Clock::system()).await?;
    app.run_until_stopped(std::future::pending::<()>()).await?;
    Ok(())
}
