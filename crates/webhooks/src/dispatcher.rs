//! The delivery worker: claim due deliveries, send them, record outcomes.
use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::Utc;
use store::{
    Store, StoreError,
    deliveries::{AttemptOutcome, DisablePolicy, DueDelivery},
};
use tokio::{sync::watch, task::JoinSet};

use crate::{
    RetrySchedule, payload, signature,
    target::{self, PortPolicy, PortRange, Refused},
};

/// An endpoint's signing secrets for a round, or why they could not be read.
type SigningSecrets = Result<Arc<Vec<store::Secret>>, String>;

/// How often finished deliveries past their retention are deleted.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// The `webhooks.*` configuration section, read as written (each duration
/// in the unit its name says); the accessors give the values in use.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatcherSettings {
    /// Per attempt: connect, send, and the receiver's answer.
    pub timeout_secs: u64,
    /// How often to look for due deliveries when there were none.
    pub poll_interval_ms: u64,
    /// Deliveries claimed per round.
    pub batch: u64,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// Delays between attempts; after the last, the delivery is dead.
    pub retry_schedule_secs: Vec<u64>,
    /// An endpoint is disabled after this many consecutive failed
    /// attempts…
    pub disable_after_failures: u32,
    /// …spread over at least this long.
    pub disable_after_failing_secs: u64,
    /// Deliver to any address and port (a laptop, tests: receivers on
    /// loopback, often on random high ports that may be in the port
    /// deny-list); off in production: see [`crate::target`].
    pub allow_private_targets: bool,
    /// The ports deliveries may use (unless `allow_private_targets`):
    /// allowed and not denied.
    pub allowed_ports: Vec<PortRange>,
    pub denied_ports: Vec<PortRange>,
    /// Send deliveries through this HTTP(S) proxy. Without one, deliveries
    /// connect directly and `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` are
    /// ignored (a proxy from the environment would leave the address check
    /// seeing only the proxy).
    pub proxy_url: Option<reqwest::Url>,
    /// Delivered and dead deliveries are deleted after this many days
    /// (their events stay and can be replayed).
    pub retention_days: u64,
    /// Endpoints a tenant may have (each event is one delivery per
    /// endpoint). Enforced by the admin API, configured with the rest.
    pub max_endpoints_per_tenant: u64,
    /// Replay requests a tenant may make per hour (0: no limit); enforced
    /// by the admin API.
    pub replays_per_tenant_per_hour: u64,
}

impl Default for DispatcherSettings {
    fn default() -> Self {
        let ports = PortPolicy::default();
        Self {
            timeout_secs: 10,
            poll_interval_ms: 1000,
            batch: 64,
            concurrency: 16,
            retry_schedule_secs: crate::schedule::DEFAULT_DELAYS_SECS.to_vec(),
            disable_after_failures: 100,
            disable_after_failing_secs: 24 * 3600,
            allow_private_targets: false,
            allowed_ports: ports.allowed,
            denied_ports: ports.denied,
            proxy_url: None,
            retention_days: 30,
            max_endpoints_per_tenant: 20,
            replays_per_tenant_per_hour: 20,
        }
    }
}

// Floors keep a zero in the configuration from stalling or spinning the
// dispatcher.
impl DispatcherSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    pub fn batch(&self) -> u64 {
        self.batch.max(1)
    }

    pub fn concurrency(&self) -> usize {
        self.concurrency.max(1)
    }

    pub fn schedule(&self) -> RetrySchedule {
        RetrySchedule::from_secs(&self.retry_schedule_secs)
    }

    pub fn disable_policy(&self) -> DisablePolicy {
        DisablePolicy {
            after_failures: self.disable_after_failures.max(1),
            after_failing_for: Duration::from_secs(self.disable_after_failing_secs),
        }
    }

    pub fn port_policy(&self) -> PortPolicy {
        PortPolicy {
            allowed: self.allowed_ports.clone(),
            denied: self.denied_ports.clone(),
        }
    }

    pub fn retention(&self) -> Duration {
        Duration::from_secs(self.retention_days.max(1).saturating_mul(86_400))
    }
}

/// Why the delivery client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("webhooks.proxy_url must be an http:// or https:// URL")]
    ProxyScheme,
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    transport: Transport,
    settings: Arc<DispatcherSettings>,
    /// Built once from `retry_schedule_secs`, not per failed attempt.
    schedule: Arc<RetrySchedule>,
}

impl Dispatcher {
    pub fn new(store: Store, settings: DispatcherSettings) -> Result<Self, BuildError> {
        Ok(Self {
            store,
            transport: Transport::new(&settings)?,
            schedule: Arc::new(settings.schedule()),
            settings: Arc::new(settings),
        })
    }

    /// Delivers until `stop` turns true; a round in progress (its requests
    /// in flight) finishes first, so a shutdown loses no attempt's outcome.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut purged_at: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            if purged_at.is_none_or(|t| t.elapsed() >= PURGE_INTERVAL) {
                purged_at = Some(tokio::time::Instant::now());
                self.purge_finished().await;
            }
            let busy = match self.deliver_due(&stop).await {
                Ok(n) => n as u64 >= self.settings.batch(),
                Err(e) => {
                    tracing::warn!(error = %e, "webhook deliveries could not be claimed; retrying");
                    false
                }
            };
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll_interval()) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Deletes finished deliveries past their retention (any replica may;
    /// deleting twice is harmless).
    pub async fn purge_finished(&self) {
        let retention = chrono::Duration::from_std(self.settings.retention())
            .unwrap_or(chrono::Duration::days(30));
        match self
            .store
            .purge_finished_deliveries(Utc::now() - retention)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "finished webhook deliveries purged"),
            Err(e) => tracing::warn!(error = %e, "could not purge finished webhook deliveries"),
        }
    }

    /// One round: claims due deliveries and sends them. Returns how many
    /// were claimed. Once `stop` turns true no new send starts: those in
    /// flight finish and record their outcome, the rest are given back.
    pub async fn deliver_due(&self, stop: &watch::Receiver<bool>) -> Result<usize, StoreError> {
        // The lease outlives the round's worst case, so no other worker
        // takes a delivery still being sent.
        let rounds = self
            .settings
            .batch()
            .div_ceil(self.settings.concurrency() as u64);
        let lease = self.settings.timeout() * (rounds as u32 + 2);
        let due = self
            .store
            .claim_due_deliveries(Utc::now(), self.settings.batch(), lease)
            .await?;
        let n = due.len();
        // Each endpoint's secrets are read (and unsealed) once a round, not
        // once per delivery.
        let mut secrets: HashMap<String, SigningSecrets> = HashMap::new();
        for d in &due {
            let id = &d.delivery.endpoint_id;
            if !secrets.contains_key(id) {
                let read = self
                    .store
                    .webhook_signing_secrets(id)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string());
                secrets.insert(id.clone(), read);
            }
        }
        let mut tasks = JoinSet::new();
        let mut unsent = Vec::new();
        for d in due {
            while tasks.len() >= self.settings.concurrency() {
                tasks.join_next().await;
            }
            if *stop.borrow() {
                unsent.push(d.delivery.id);
                continue;
            }
            let this = self.clone();
            let keys = secrets
                .get(&d.delivery.endpoint_id)
                .cloned()
                .unwrap_or_else(|| Err("signing secrets not read".into()));
            tasks.spawn(async move { this.deliver(d, keys).await });
        }
        while tasks.join_next().await.is_some() {}
        if let Err(e) = self.store.release_claims(&unsent).await {
            tracing::warn!(error = %e, "could not give back unsent webhook deliveries; they are due again when their lease ends");
        }
        Ok(n)
    }

    async fn deliver(&self, due: DueDelivery, secrets: SigningSecrets) {
        let outcome = self.attempt(&due, &secrets).await;
        let result = match &outcome {
            AttemptOutcome::Delivered { .. } => "delivered",
            AttemptOutcome::Failed {
                retry_at: Some(_), ..
            } => "retry",
            AttemptOutcome::Failed { retry_at: None, .. } => "dead",
        };
        ::metrics::counter!("tpgate_webhook_attempts_total", "result" => result).increment(1);
        if let AttemptOutcome::Failed {
            error, retry_at, ..
        } = &outcome
        {
            tracing::info!(
                webhook.id = %due.delivery.endpoint_id,
                delivery.id = %due.delivery.id,
                event.id = %due.event.id,
                attempt = due.delivery.attempts + 1,
                retry_at = ?retry_at,
                error = %error,
                "webhook delivery failed"
            );
        }
        if let Err(e) = self
            .store
            .finish_attempt(
                &due.delivery.id,
                due.delivery.lease_until_ms,
                &due.delivery.endpoint_id,
                &outcome,
                &self.settings.disable_policy(),
            )
            .await
        {
            // The lease ends and another round sends it again: at least once.
            tracing::warn!(error = %e, delivery.id = %due.delivery.id, "could not record a webhook attempt");
        }
    }

    async fn attempt(&self, due: &DueDelivery, secrets: &SigningSecrets) -> AttemptOutcome {
        let attempts = u32::try_from(due.delivery.attempts).unwrap_or(0) + 1;
        let failed = |status_code: Option<u16>, error: String| AttemptOutcome::Failed {
            status_code,
            error,
            retry_at: self.schedule.next_attempt(attempts, Utc::now()),
        };
        // Before anything else (no secret unsealed, no body signed for a
        // target that is refused anyway).
        if let Err(refused) = self.transport.check(&due.endpoint_url) {
            log_refused(due, &refused);
            return failed(None, refused.to_string());
        }
        let secrets = match secrets {
            Ok(s) => s,
            Err(e) => return failed(None, format!("signing secret unavailable: {e}")),
        };
        let secrets: Vec<&str> = secrets.iter().map(|s| s.expose()).collect();
        let body = payload::body(&due.event);
        let signature = signature::header_value(&secrets, Utc::now().timestamp(), &body);
        let sent = self
            .transport
            .post(&due.endpoint_url, |request| {
                request
                    .header("Content-Type", "application/json")
                    .header(signature::HEADER, signature)
                    .header("Tpgate-Event-Id", due.event.id.as_str())
                    .header("Tpgate-Event-Type", &due.event.event_type)
                    .header("Tpgate-Delivery-Id", &due.delivery.id)
                    .body(body)
            })
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => AttemptOutcome::Delivered {
                status_code: resp.status().as_u16(),
            },
            Ok(resp) => failed(
                Some(resp.status().as_u16()),
                format!("receiver answered {}", resp.status()),
            ),
            Err(NoAnswer::Refused(refused)) => {
                log_refused(due, &refused);
                failed(None, refused.to_string())
            }
            Err(NoAnswer::Failed(message)) => failed(None, message),
        }
    }
}

/// The reason a target was refused, for operators only (the tenant sees
/// [`target::UNREACHABLE`]).
fn log_refused(due: &DueDelivery, refused: &Refused) {
    tracing::warn!(
        webhook.id = %due.delivery.endpoint_id,
        delivery.id = %due.delivery.id,
        reason = %refused.detail(),
        "webhook target refused"
    );
}

/// Why a request got no answer.
#[derive(Debug)]
enum NoAnswer {
    /// The target is not allowed (or its name cannot be resolved): the
    /// tenant sees only [`target::UNREACHABLE`].
    Refused(Refused),
    /// Anything else (connection refused, timeout, TLS, …), with its causes,
    /// without the URL.
    Failed(String),
}

/// The delivery HTTP client and the checks made before it connects.
#[derive(Clone)]
struct Transport {
    http: reqwest::Client,
    /// `None`: any address and port (`allow_private_targets`).
    ports: Option<Arc<PortPolicy>>,
}

impl Transport {
    fn new(settings: &DispatcherSettings) -> Result<Self, BuildError> {
        let mut http = reqwest::Client::builder();
        match &settings.proxy_url {
            // Never a proxy from the environment: the address check would
            // see only the proxy's address.
            None => {
                http = http.no_proxy();
                if !settings.allow_private_targets {
                    http = http.dns_resolver(Arc::new(target::PublicOnlyResolver));
                }
            }
            // An operator's explicit proxy. Target names are then resolved by
            // the proxy, not here: tpgate cannot see the address a delivery
            // finally reaches, so the operator must enforce egress rules
            // (public addresses, allowed ports) at the proxy. Ports and IP
            // literals are still checked here; the resolver is the default
            // one, as the only name it resolves is the proxy's own (often an
            // internal one).
            Some(url) => {
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(BuildError::ProxyScheme);
                }
                http = http.proxy(reqwest::Proxy::all(url.as_str())?);
            }
        }
        let http = http
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout().min(Duration::from_secs(5)))
            // A redirect is an answer to fix at the receiver, not to follow
            // with a signed body to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("tpgate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            ports: (!settings.allow_private_targets).then(|| Arc::new(settings.port_policy())),
        })
    }

    /// What can be checked before connecting: scheme, port, IP literal.
    fn check(&self, url: &str) -> Result<(), Refused> {
        match &self.ports {
            Some(ports) => target::check_url(url, ports),
            None => Ok(()),
        }
    }

    /// POSTs to `url` (checked first) the request `build` makes.
    async fn post(
        &self,
        url: &str,
        build: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, NoAnswer> {
        self.check(url).map_err(NoAnswer::Refused)?;
        build(self.http.post(url)).send().await.map_err(no_answer)
    }
}

/// A send error as the tenant may see it: the resolver's refusal as
/// [`target::UNREACHABLE`] alone, whatever wraps it; anything else with its
/// causes appended, but no URL (nor credentials in it).
fn no_answer(e: reqwest::Error) -> NoAnswer {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return NoAnswer::Refused(refused.clone());
        }
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    NoAnswer::Failed(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(change: impl FnOnce(&mut DispatcherSettings)) -> Transport {
        let mut settings = DispatcherSettings {
            timeout_secs: 5,
            ..DispatcherSettings::default()
        };
        change(&mut settings);
        Transport::new(&settings).unwrap()
    }

    async fn tenant_text(t: &Transport, url: &str) -> String {
        match t.post(url, |r| r.body("{}")).await {
            Ok(resp) => format!("answered {}", resp.status()),
            Err(NoAnswer::Refused(r)) => {
                assert!(!r.detail().is_empty());
                r.to_string()
            }
            Err(NoAnswer::Failed(m)) => m,
        }
    }

    #[tokio::test]
    async fn every_refusal_reads_the_same_to_the_tenant() {
        let t = transport(|_| {});
        for url in [
            // An existing internal name, an unknown one.
            "http://localhost:8080/hook",
            "http://no-such-host.invalid:8080/hook",
            "https://no-such-host.invalid/hook",
            // Private and special addresses, literal.
            "http://127.0.0.1:8080/hook",
            "http://10.0.0.1/hook",
            "http://[::1]:8080/hook",
            "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
            "http://[2002:a00:1::]/hook",
            // Ports not allowed.
            "http://localhost:6379/",
            "https://hooks.example.com:6379/",
            "https://8.8.8.8:22/",
            // Not http(s).
            "ftp://hooks.example.com/",
        ] {
            assert_eq!(tenant_text(&t, url).await, target::UNREACHABLE, "{url}");
        }
    }

    #[tokio::test]
    async fn allow_private_targets_lifts_address_and_port_checks() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let _ = conn.read(&mut buf).await;
            conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
        });
        let url = format!("http://localhost:{port}/hook");
        let guarded = transport(|_| {});
        assert_eq!(tenant_text(&guarded, &url).await, target::UNREACHABLE);
        let open = transport(|s| {
            s.allow_private_targets = true;
            // Even a port on the deny-list.
            s.denied_ports = vec![target::PortRange::single(port)];
        });
        assert_eq!(tenant_text(&open, &url).await, "answered 204 No Content");
        server.await.unwrap();
    }

    /// Run by [`proxies_from_the_environment_are_ignored`] in a child process
    /// with proxy variables set (a test cannot set its own environment).
    #[tokio::test]
    async fn env_proxy_child() {
        if std::env::var_os("TPGATE_TEST_ENV_PROXY_CHILD").is_none() {
            return;
        }
        // Through the proxy this would be the proxy's answer (or a timeout):
        // directly, the name does not resolve.
        let t = transport(|s| s.timeout_secs = 3);
        assert_eq!(
            tenant_text(&t, "http://hooks.example.invalid/x").await,
            target::UNREACHABLE
        );
    }

    #[test]
    fn proxies_from_the_environment_are_ignored() {
        let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
        let mut child = std::process::Command::new(std::env::current_exe().unwrap());
        child
            .args([
                "--exact",
                "dispatcher::tests::env_proxy_child",
                "--nocapture",
            ])
            .env("TPGATE_TEST_ENV_PROXY_CHILD", "1")
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        for var in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            child
                .env(var, &proxy_url)
                .env(var.to_lowercase(), &proxy_url);
        }
        let out = child.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        proxy.set_nonblocking(true).unwrap();
        assert!(proxy.accept().is_err(), "the delivery went to the proxy");
    }

    #[tokio::test]
    async fn an_explicit_proxy_is_used_and_must_be_http() {
        // A "proxy" answering every request itself: the delivery reaches it
        // although the target's name does not exist.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy: reqwest::Url = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = conn.read(&mut buf).await.unwrap();
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            conn.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            head
        });
        let t = transport(|s| s.proxy_url = Some(proxy));
        assert_eq!(
            tenant_text(&t, "http://hooks.example.invalid/x").await,
            "answered 204 No Content"
        );
        let head = server.await.unwrap();
        assert!(
            head.starts_with("POST http://hooks.example.invalid/x "),
            "{head}"
        );
        // Ports and literals are still checked before the proxy is asked.
        assert_eq!(
            tenant_text(&t, "http://hooks.example.invalid:6379/x").await,
            target::UNREACHABLE
        );
        assert_eq!(
            tenant_text(&t, "http://169.254.169.254/latest").await,
            target::UNREACHABLE
        );
        let socks = DispatcherSettings {
            proxy_url: Some("socks5://proxy.internal:1080".parse().unwrap()),
            ..DispatcherSettings::default()
        };
        assert!(matches!(
            Transport::new(&socks),
            Err(BuildError::ProxyScheme)
        ));
    }
}
