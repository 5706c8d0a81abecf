//! The WeChat simulator serving on loopback, and tpgate instances against it.
use std::time::Duration;

use store::{Secret, Store, authorizers::Authorization};
use tenant_auth::{Clock, TenantAuth};
use tokio::sync::oneshot;
use tpgate::{Application, Config};
use url::Url;
use wechat_sim::{SimConfig, Simulator};

use crate::Harness;

/// The simulator, serving; and the gateway's listener, bound first because
/// the simulator pushes to its URL.
pub struct Stack {
    pub sim: Simulator,
    pub sim_config: SimConfig,
    pub sim_url: Url,
    pub gateway_url: Url,
    /// Taken by [`Stack::start_gateway`].
    gateway_listener: Option<std::net::TcpListener>,
    /// The simulator serves until this is sent to or dropped.
    pub sim_stop: oneshot::Sender<()>,
}

/// Starts the simulator (configured as `tpgate sandbox` does, then
/// `customise`d) on a free loopback port. Needs a Tokio runtime.
pub async fn start_simulator(customise: impl FnOnce(&mut SimConfig)) -> anyhow::Result<Stack> {
    let gateway_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let sim_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let gateway_url = Url::parse(&format!("http://{}/", gateway_listener.local_addr()?))?;
    let sim_url = Url::parse(&format!("http://{}/", sim_listener.local_addr()?))?;

    let mut sim_config = tpgate::sandbox::sim_config_for(&gateway_url);
    customise(&mut sim_config);
    let sim = Simulator::new(sim_config.clone());
    sim_listener.set_nonblocking(true)?;
    let (sim_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(wechat_sim::serve(
        tokio::net::TcpListener::from_std(sim_listener)?,
        sim.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    Ok(Stack {
        sim,
        sim_config,
        sim_url,
        gateway_url,
        gateway_listener: Some(gateway_listener),
        sim_stop,
    })
}

impl Stack {
    /// tpgate's configuration against this simulator, with Redis when the
    /// harness's variable is set; no database yet (see
    /// [`crate::TestDb::for_config`], once the configuration is final).
    pub fn gateway_config(&self, harness: Harness) -> Config {
        let mut config = tpgate::sandbox::config_for_simulator(
            &self.sim_config,
            &self.gateway_url,
            &self.sim_url,
            String::new(),
            crate::JWT_SECRET,
        );
        config.redis_url = harness.redis_url();
        // Runs share one Redis: keep their leases and counters apart.
        config.redis_key_prefix = format!(
            "tpgate-{}-{}",
            harness.name(),
            uuid::Uuid::new_v4().simple()
        );
        config
    }

    /// Starts tpgate on the gateway's listener (once).
    pub async fn start_gateway(
        &mut self,
        config: &Config,
        clock: Clock,
    ) -> anyhow::Result<Instance> {
        let listener = self
            .gateway_listener
            .take()
            .ok_or_else(|| anyhow::anyhow!("the gateway was already started"))?;
        Instance::start(config, listener, clock).await
    }

    /// A tenant whose Mini Program (the simulator's default authorizer)
    /// has authorized the platform, written straight to `store`: for runs
    /// that measure something other than onboarding. Returns the tenant's
    /// id and the appid.
    pub async fn authorized_tenant(&self, store: &Store) -> anyhow::Result<(String, String)> {
        let tenant = store.create_tenant("bench").await?;
        let appid = self.sim_config.default_authorizer_appid.clone();
        let scopes = vec![18, 45, 142];
        let refresh = self
            .sim
            .authorize_with_refresh_token(&appid, scopes.clone());
        store
            .store_authorization(
                Some(&tenant.id),
                &Authorization {
                    appid: appid.clone(),
                    refresh_token: Secret::new(refresh),
                    access_token: None,
                    funcscopes: scopes.into_iter().collect(),
                },
                None,
            )
            .await?;
        Ok((tenant.id.into(), appid))
    }
}

/// A running tpgate. Dropping it starts its graceful shutdown without
/// waiting; [`Instance::stop`] waits.
pub struct Instance {
    pub auth: TenantAuth,
    /// The ops listener (`/readyz`, `/metrics`, `/docs`).
    pub ops: Url,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Instance {
    /// Builds tpgate (migrating if configured to) and serves on `listener`.
    pub async fn start(
        config: &Config,
        listener: std::net::TcpListener,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let app = Application::build(config, Some(listener), clock).await?;
        let auth = app.state().auth.clone();
        let ops = Url::parse(&format!("http://127.0.0.1:{}/", app.ops_port()))?;
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = app
                .run_until_stopped(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            auth,
            ops,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// Stops it and waits (up to 30 s) for the graceful shutdown.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(30), server).await;
        }
    }
}
