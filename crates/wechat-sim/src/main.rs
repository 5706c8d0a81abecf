//! `wechat-sim`: run the simulator on its own (e.g. against a tpgate started separately).
use clap::Parser;
use wechat_sim::{SimConfig, Simulator};

#[derive(Parser)]
#[command(
    name = "wechat-sim",
    about = "A faithful in-memory WeChat for tpgate tests and sandboxes"
)]
struct Args {
    #[arg(long, env = "WECHAT_SIM_LISTEN", default_value = "127.0.0.1:8081")]
    listen: String,
    /// tpgate's authorization-event URL, e.g. http://127.0.0.1:8080/wechat/component/events
    #[arg(long, env = "WECHAT_SIM_GATEWAY_EVENTS_URL")]
    gateway_events_url: Option<String>,
    #[arg(long, env = "WECHAT_SIM_COMPONENT_APPID")]
    component_appid: Option<String>,
    #[arg(long, env = "WECHAT_SIM_COMPONENT_SECRET")]
    component_secret: Option<String>,
    #[arg(long, env = "WECHAT_SIM_TOKEN")]
    token: Option<String>,
    #[arg(long, env = "WECHAT_SIM_ENCODING_AES_KEY")]
    encoding_aes_key: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let args = Args::parse();
    let mut config = SimConfig::sandbox();
    config.gateway_events_url = args.gateway_events_url;
    if let Some(v) = args.component_appid {
        config.component_appid = v;
    }
    if let Some(v) = args.component_secret {
        config.component_secret = v;
    }
    if let Some(v) = args.token {
        config.token = v;
    }
    if let Some(v) = args.encoding_aes_key {
        config.encoding_aes_key = v;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    tracing::info!(listen = %args.listen, component.appid = %config.component_appid, "wechat-sim listening");
    wechat_sim::serve(listener, Simulator::new(config), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
