//! `wechat-sim`: the simulator on its own, e.g. against a tpgate started
//! separately. Every option also reads a `WECHAT_SIM_*` variable; defaults
//! are [`SimConfig::sandbox`]'s. Logs go to stderr (`RUST_LOG` filters them);
//! Ctrl-C stops it.
use clap::Parser;
use tracing_subscriber::EnvFilter;
use wechat_sim::{SimConfig, Simulator};

#[derive(Parser)]
#[command(
    name = "wechat-sim",
    about = "A faithful in-memory WeChat (api.weixin.qq.com + the authorization page) for tpgate tests and sandboxes"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "WECHAT_SIM_LISTEN", default_value = "127.0.0.1:8081")]
    listen: String,
    /// The gateway's authorization-event URL, e.g. http://127.0.0.1:8080/wechat/component/events
    #[arg(long, env = "WECHAT_SIM_GATEWAY_EVENTS_URL")]
    gateway_events_url: Option<String>,
    /// The gateway's message-and-event URL for Mini Programs, `$APPID$` standing for the appid,
    /// e.g. http://127.0.0.1:8080/wechat/apps/$APPID$/events
    #[arg(long, env = "WECHAT_SIM_GATEWAY_APP_EVENTS_URL")]
    gateway_app_events_url: Option<String>,
    /// The third-party platform's appid.
    #[arg(long, env = "WECHAT_SIM_COMPONENT_APPID")]
    component_appid: Option<String>,
    /// The platform's AppSecret.
    #[arg(long, env = "WECHAT_SIM_COMPONENT_SECRET")]
    component_secret: Option<String>,
    /// Message token (消息校验 Token).
    #[arg(long, env = "WECHAT_SIM_TOKEN")]
    token: Option<String>,
    /// EncodingAESKey: 43 characters of [A-Za-z0-9].
    #[arg(long, env = "WECHAT_SIM_ENCODING_AES_KEY")]
    encoding_aes_key: Option<String>,
}

impl Args {
    fn config(self) -> SimConfig {
        let mut config = SimConfig::sandbox();
        config.gateway_events_url = self.gateway_events_url;
        config.gateway_app_events_url = self.gateway_app_events_url;
        if let Some(v) = self.component_appid {
            config.component_appid = v;
        }
        if let Some(v) = self.component_secret {
            config.component_secret = v;
        }
        if let Some(v) = self.token {
            config.token = v;
        }
        if let Some(v) = self.encoding_aes_key {
            config.encoding_aes_key = v;
        }
        config
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,wechat_sim=debug")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let listen = args.listen.clone();
    let config = args.config();
    wxcrypt::MsgCrypt::new(
        &config.token,
        &config.encoding_aes_key,
        &config.component_appid,
    )
    .map_err(|e| anyhow::anyhow!("--encoding-aes-key: {e}"))?;
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {listen}: {e} (pick another with --listen)")
    })?;
    tracing::info!(
        listen = %listener.local_addr()?,
        component.appid = %config.component_appid,
        gateway.events_url = config.gateway_events_url.as_deref().unwrap_or("(none; set one with POST /sim/gateway)"),
        gateway.app_events_url = config.gateway_app_events_url.as_deref().unwrap_or("(none; set one with POST /sim/gateway)"),
        "wechat-sim listening"
    );
    wechat_sim::serve(listener, Simulator::new(config), async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C: shutting down");
    })
    .await?;
    Ok(())
}
