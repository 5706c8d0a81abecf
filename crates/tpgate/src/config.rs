//! Configuration: defaults, then a TOML file (`--config` / `TPGATE_CONFIG`),
//! then `TPGATE_*` environment variables (`__` separates nesting, e.g.
//! `TPGATE_COMPONENT__APPID`). Any variable may instead be given as
//! `<NAME>_FILE` pointing at a file holding the value (Kubernetes secret
//! mounts), e.g. `TPGATE_SEALING_KEY_FILE=/run/secrets/sealing-key`. A list
//! is given by env in brackets, e.g. `TPGATE_SEALING_PREVIOUS_KEYS='[k1, k2]'`
//! (a bare value is not a list; quote items holding commas: `["a,b"]`).
//!
//! | key | env | meaning |
//! |---|---|---|
//! | `listen` | `TPGATE_LISTEN` | address to bind, default `0.0.0.0:8080` |
//! | `ops_listen` | `TPGATE_OPS_LISTEN` | the ops listener (`/healthz`, `/readyz`, `/metrics`, `/docs`), default `0.0.0.0:9090`; never route it from an Ingress |
//! | `http.header_read_timeout_secs` / `.body_read_timeout_secs` / `.idle_timeout_secs` | `TPGATE_HTTP__…` | every listener closes a connection whose headers take longer than this (20), whose body takes longer (30), or that sits idle (60) |
//! | `http.trusted_proxies` | `TPGATE_HTTP__TRUSTED_PROXIES` | addresses or CIDRs of your load balancers / Ingress (by env a bracketed list, `[10.0.0.0/8]`): only from them is `X-Forwarded-For` believed for the client address (onboarding throttles); default none |
//! | `onboarding.starts_per_link_per_minute` / `.requests_per_address_per_minute` / `.completions_per_visit` | `TPGATE_ONBOARDING__…` | throttles of the merchant pages: authorization starts (each an `api_create_preauthcode`) per link (10/min), requests per client address (60/min), completion attempts per visit (5 per 10 min); 0 switches one off |
//! | `public_base_url` | `TPGATE_PUBLIC_BASE_URL` | how merchants and WeChat reach tpgate (onboarding links, redirect_uri) |
//! | `database_url` | `TPGATE_DATABASE_URL` | `postgres://…` or `sqlite://file?mode=rwc`; default `sqlite://tpgate.db?mode=rwc` |
//! | `redis_url` | `TPGATE_REDIS_URL` | optional; refresh locks use Redis when given, else a DB lease (still safe across replicas on one Postgres) |
//! | `redis_key_prefix` | `TPGATE_REDIS_KEY_PREFIX` | prefix of every Redis key (default `tpgate`), to share one Redis between deployments |
//! | `sealing_key` | `TPGATE_SEALING_KEY` | base64 32-byte key sealing secrets at rest (required) |
//! | `sealing_previous_keys` | `TPGATE_SEALING_PREVIOUS_KEYS` | older keys still accepted for opening, during rotation |
//! | `component.appid` / `.secret` / `.token` / `.encoding_aes_key` / `.previous_encoding_aes_key` | `TPGATE_COMPONENT__…` | the third-party platform's credentials from the Open Platform console |
//! | `wechat.api_base` / `.mp_base` / `.open_base` | `TPGATE_WECHAT__…` | WeChat's hosts: APIs, the PC authorization page, the mobile one (the simulator in tests/sandbox) |
//! | `wechat.timeout_secs` / `.refresh_margin_secs` | | per-call timeout (10); refresh tokens this early (600) |
//! | `wechat.push_window_secs` | `TPGATE_WECHAT__PUSH_WINDOW_SECS` | a push's signed `timestamp` must be within this of now, its `CreateTime` no later than now + this (300); outside → 400, nothing applied |
//! | `admin.jwt_secret` / `.jwt_issuer` / `.jwt_audience` | `TPGATE_ADMIN__…` | HS256 secret (≥ 32 bytes; optional when public keys are set) and expected `iss`/`aud` |
//! | `admin.jwt_public_key_files` | `TPGATE_ADMIN__JWT_PUBLIC_KEY_FILES` | PEM public keys (RSA or Ed25519) for RS256/EdDSA tokens; by env a bracketed list, `[/keys/a.pem, /keys/b.pem]` |
//! | `admin.jwks_path` / `.jwks_url` / `.jwks_refresh_secs` | `TPGATE_ADMIN__JWKS_PATH` / `__JWKS_URL` / `__JWKS_REFRESH_SECS` | a JWKS file read at start; a JWKS URL fetched at start (start fails if it cannot be), then every `jwks_refresh_secs` (300) and, at most every 30 s, when a token names an unknown `kid` |
//! | `tokens.lease_ttl_secs` / `.lease_wait_secs` | `TPGATE_TOKENS__…` | refresh lease lifetime (5; renewed every third of it while held, so a replica killed mid-refresh blocks others at most this long) and how long callers wait for another replica's refresh (25; at least twice `wechat.timeout_secs`) |
//! | `tokens.ticket_stale_after_secs` / `.ticket_push_request_interval_secs` | | ask WeChat to restart ticket pushes when the ticket is older than this (1200), at most once per interval (300) |
//! | `tokens.forced_refresh_interval_secs` | | after WeChat rejects a token (40001/40014/42001), at most one forced refresh per token version per this interval (60); within it the call gets 503 with `Retry-After` |
//! | `tokens.sweep_interval_secs` / `.sweep_active_window_secs` / `.sweep_min_token_age_secs` / `.sweep_concurrency` | | background refresh: tick (30), who counts as active (86400), youngest token refreshed (600), parallel refreshes (8) |
//! | `proxy.read_retries` / `.retry_min_delay_ms` | `TPGATE_PROXY__…` | retries of a read after `-1`, a busy code or a timeout (2), first backoff (100 ms, doubling, jittered) |
//! | `proxy.cache_ttl_secs` | | how long a replica trusts a cached API key or authorizer (10); writes on the same replica apply at once |
//! | `proxy.idempotency_ttl_secs` / `.idempotency_wait_secs` | | how long an `Idempotency-Key` answer is kept (86400), and how long a concurrent repeat waits for it (10) |
//! | `proxy.permission_sets` | | overrides of the permission map: a WeChat path, or a prefix ending in `/`, to the funcscope ids allowing it, e.g. `{"/wxa/sec/order/" = [142]}` |
//! | `webhooks.timeout_secs` / `.poll_interval_ms` / `.batch` / `.concurrency` | `TPGATE_WEBHOOKS__…` | per-attempt timeout (10), how often to look for due deliveries (1000), claimed per round (64), sent at once (16) |
//! | `webhooks.retry_schedule_secs` / `.disable_after_failures` / `.disable_after_failing_secs` | | delays between attempts (10 s … 8 h, 11 retries over ~32 h, then dead-lettered); an endpoint is disabled after this many consecutive failed attempts (100) spread over at least this long (86400) |
//! | `webhooks.retention_days` | | delivered and dead deliveries are deleted after this many days (30); events stay and can be replayed |
//! | `webhooks.max_endpoints_per_tenant` / `.replays_per_tenant_per_hour` | | endpoints a tenant may create (20: each event is one delivery per endpoint), replay requests per tenant per hour (20; 0 = no limit) |
//! | `webhooks.allow_private_targets` | `TPGATE_WEBHOOKS__ALLOW_PRIVATE_TARGETS` | deliver to any address and port: loopback and private addresses too, and ports outside `allowed_ports` or in `denied_ports` (local receivers often take random high ports) (default `false`: tenants' URLs may only reach public addresses on allowed ports, against SSRF; the sandbox sets `true`) |
//! | `webhooks.allowed_ports` / `.denied_ports` | `TPGATE_WEBHOOKS__ALLOWED_PORTS` / `__DENIED_PORTS` | the ports a delivery may use (the URL's, else its scheme's default): allowed and not denied; items are ports or inclusive ranges, in TOML `[80, 443, "1024-65535"]`, by env a bracketed list `[80, 443, 1024-65535]`. Default allowed: `[80, 443, "1024-65535"]`; default denied: well-known ports of internal services (databases, caches, queues, cluster and container APIs, proxies, remote administration; the list is `webhooks::target::INTERNAL_SERVICE_PORTS` and the README) — setting `denied_ports` replaces that whole list |
//! | `webhooks.proxy_url` | `TPGATE_WEBHOOKS__PROXY_URL` | send deliveries through this `http://` or `https://` proxy (credentials may be in the URL). Default none: deliveries connect directly and `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` are ignored for them. With a proxy, tpgate still checks ports and IP literals but cannot see the address a name leads to: enforce egress rules (public addresses only) at the proxy |
//! | `retention.events_days` / `.audit_days` | `TPGATE_RETENTION__…` | events (with their finished deliveries; not those still being delivered) are deleted after 90 days, audit entries after 365 (0 = keep forever); expired onboarding visits are deleted within the hour, finished deliveries after `webhooks.retention_days` |
//! | `background_tasks` | `TPGATE_BACKGROUND_TASKS` | run the ticket watchdog and the refresh sweep (default `true`) |
//! | `migrate_on_start` | `TPGATE_MIGRATE_ON_START` | `serve` applies pending migrations before listening (default `true`); `false` when a separate `tpgate migrate` (the Helm hook) does it, so pods can use a database user without DDL rights — `/readyz` is 503 until the schema is current |
//! | `shutdown_drain_secs` | `TPGATE_SHUTDOWN_DRAIN_SECS` | after SIGTERM, how long in-flight requests may finish (default 25; keep it below Kubernetes' grace period) |
//! | `log_format` | `TPGATE_LOG_FORMAT` | `text` (default) or `json` |
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use store::Secret;
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// `/healthz`, `/readyz`, `/metrics`, `/docs`: never on the public port.
    pub ops_listen: SocketAddr,
    pub http: HttpSettings,
    pub onboarding: OnboardingSettings,
    pub retention: RetentionSettings,
    pub public_base_url: Url,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    #[serde(skip_serializing, default)]
    pub sealing_key: Option<Secret>,
    #[serde(skip_serializing, default, deserialize_with = "store::secret::list")]
    pub sealing_previous_keys: Vec<Secret>,
    pub component: ComponentSettings,
    pub wechat: WechatSettings,
    pub admin: AdminSettings,
    pub tokens: TokenSettings,
    pub proxy: ProxyConfig,
    pub webhooks: WebhookConfig,
    pub background_tasks: bool,
    pub migrate_on_start: bool,
    pub shutdown_drain_secs: u64,
    pub log_format: LogFormat,
}

/// Webhook delivery; see `webhooks::DispatcherSettings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub timeout_secs: u64,
    pub poll_interval_ms: u64,
    pub batch: u64,
    pub concurrency: usize,
    /// Delays between attempts; after the last, the delivery is dead.
    pub retry_schedule_secs: Vec<u64>,
    pub disable_after_failures: u32,
    pub disable_after_failing_secs: u64,
    /// Deliver to any address and port, loopback and private ones too
    /// (off: SSRF protection).
    pub allow_private_targets: bool,
    /// Ports deliveries may use: allowed and not denied.
    pub allowed_ports: Vec<webhooks::target::PortRange>,
    pub denied_ports: Vec<webhooks::target::PortRange>,
    /// Deliveries through this proxy; none: direct, proxy variables ignored.
    pub proxy_url: Option<Url>,
    /// Days finished deliveries are kept.
    pub retention_days: u64,
    /// Endpoints a tenant may have (each push writes one delivery per endpoint).
    pub max_endpoints_per_tenant: u64,
    /// Replay requests (one event or many) a tenant may make per hour.
    pub replays_per_tenant_per_hour: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        let d = webhooks::DispatcherSettings::default();
        Self {
            timeout_secs: d.timeout.as_secs(),
            poll_interval_ms: u64::try_from(d.poll_interval.as_millis()).unwrap_or(1000),
            batch: d.batch,
            concurrency: d.concurrency,
            retry_schedule_secs: vec![
                10, 30, 120, 600, 1800, 3600, 7200, 14_400, 28_800, 28_800, 28_800,
            ],
            disable_after_failures: d.disable.after_failures,
            disable_after_failing_secs: d.disable.after_failing_for.as_secs(),
            allow_private_targets: d.allow_private_targets,
            allowed_ports: d.ports.allowed,
            denied_ports: d.ports.denied,
            proxy_url: d.proxy,
            retention_days: d.retention.as_secs() / 86400,
            max_endpoints_per_tenant: 20,
            replays_per_tenant_per_hour: 20,
        }
    }
}

impl WebhookConfig {
    pub fn settings(&self) -> webhooks::DispatcherSettings {
        webhooks::DispatcherSettings {
            poll_interval: Duration::from_millis(self.poll_interval_ms.max(10)),
            batch: self.batch.max(1),
            concurrency: self.concurrency.max(1),
            timeout: Duration::from_secs(self.timeout_secs.max(1)),
            schedule: webhooks::RetrySchedule::from_secs(&self.retry_schedule_secs),
            disable: store::deliveries::DisablePolicy {
                after_failures: self.disable_after_failures.max(1),
                after_failing_for: Duration::from_secs(self.disable_after_failing_secs),
            },
            allow_private_targets: self.allow_private_targets,
            ports: webhooks::target::PortPolicy {
                allowed: self.allowed_ports.clone(),
                denied: self.denied_ports.clone(),
            },
            proxy: self.proxy_url.clone(),
            retention: Duration::from_secs(self.retention_days.max(1) * 86400),
        }
    }
}

/// The tenant proxy; see `api_proxy::ProxySettings` for meanings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    pub read_retries: usize,
    pub retry_min_delay_ms: u64,
    pub cache_ttl_secs: u64,
    pub idempotency_ttl_secs: u64,
    pub idempotency_wait_secs: u64,
    #[serde(default)]
    pub permission_sets: std::collections::BTreeMap<String, Vec<i64>>,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        let d = api_proxy::ProxySettings::default();
        Self {
            read_retries: d.read_retries,
            retry_min_delay_ms: u64::try_from(d.retry_min_delay.as_millis()).unwrap_or(100),
            cache_ttl_secs: store::DEFAULT_CACHE_TTL.as_secs(),
            idempotency_ttl_secs: d.idempotency_ttl.as_secs(),
            idempotency_wait_secs: d.idempotency_wait.as_secs(),
            permission_sets: Default::default(),
        }
    }
}

impl ProxyConfig {
    pub fn settings(&self) -> api_proxy::ProxySettings {
        api_proxy::ProxySettings {
            read_retries: self.read_retries,
            retry_min_delay: Duration::from_millis(self.retry_min_delay_ms),
            idempotency_ttl: Duration::from_secs(self.idempotency_ttl_secs),
            idempotency_wait: Duration::from_secs(self.idempotency_wait_secs),
        }
    }
}

/// Token refresh coordination; see `tenant_auth::TokenSettings` for meanings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub lease_ttl_secs: u64,
    pub lease_wait_secs: u64,
    pub ticket_stale_after_secs: u64,
    pub ticket_push_request_interval_secs: u64,
    pub sweep_interval_secs: u64,
    pub sweep_active_window_secs: u64,
    pub sweep_min_token_age_secs: u64,
    pub sweep_concurrency: usize,
    pub forced_refresh_interval_secs: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let d = tenant_auth::TokenSettings::default();
        Self {
            lease_ttl_secs: d.lease_ttl.as_secs(),
            lease_wait_secs: d.lease_wait.as_secs(),
            ticket_stale_after_secs: d.ticket_stale_after.as_secs(),
            ticket_push_request_interval_secs: d.ticket_push_request_interval.as_secs(),
            sweep_interval_secs: d.sweep_interval.as_secs(),
            sweep_active_window_secs: d.sweep_active_window.as_secs(),
            sweep_min_token_age_secs: d.sweep_min_token_age.as_secs(),
            sweep_concurrency: d.sweep_concurrency,
            forced_refresh_interval_secs: d.forced_refresh_interval.as_secs(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ComponentSettings {
    pub appid: String,
    #[serde(skip_serializing, default)]
    pub secret: Secret,
    #[serde(skip_serializing, default)]
    pub token: Secret,
    #[serde(skip_serializing, default)]
    pub encoding_aes_key: Secret,
    #[serde(skip_serializing, default)]
    pub previous_encoding_aes_key: Option<Secret>,
}

/// Time limits of every listener (see `crate::server`, `crate::body_limit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    pub header_read_timeout_secs: u64,
    pub body_read_timeout_secs: u64,
    pub idle_timeout_secs: u64,
    /// Proxies (addresses or CIDRs) whose `X-Forwarded-For` is believed;
    /// from anyone else the peer address is the client.
    pub trusted_proxies: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            header_read_timeout_secs: 20,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 60,
            trusted_proxies: Vec::new(),
        }
    }
}

/// How long records that would otherwise grow forever are kept, in days
/// (0: forever). Deleted hourly by the housekeeping task.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Events (with their finished deliveries); events still waiting for
    /// a delivery are kept.
    pub events_days: u64,
    /// The admin audit log.
    pub audit_days: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self {
            events_days: 90,
            audit_days: 365,
        }
    }
}

impl RetentionSettings {
    pub fn housekeeping(&self) -> crate::workers::Retention {
        let days = |d: u64| (d > 0).then(|| Duration::from_secs(d.saturating_mul(86_400)));
        crate::workers::Retention {
            events: days(self.events_days),
            audit: days(self.audit_days),
        }
    }
}

/// Throttles of the merchant-facing onboarding pages (each click can cost
/// an `api_create_preauthcode`, each completion an `api_query_auth`, on
/// the platform's quota that every tenant shares).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingSettings {
    /// Authorization starts (button clicks) per link per minute.
    pub starts_per_link_per_minute: u64,
    /// Onboarding requests of any kind per client address per minute.
    pub requests_per_address_per_minute: u64,
    /// Completion attempts per visit per 10 minutes.
    pub completions_per_visit: u64,
}

impl Default for OnboardingSettings {
    fn default() -> Self {
        Self {
            starts_per_link_per_minute: 10,
            requests_per_address_per_minute: 60,
            completions_per_visit: 5,
        }
    }
}

/// Per-route body limits: WeChat's pushes are small; admin and proxy bodies
/// (the largest is a combined shipment) stay under 256 KiB; everything else
/// (GET routes) needs next to nothing.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub push: crate::body_limit::BodyLimit,
    pub api: crate::body_limit::BodyLimit,
    pub other: crate::body_limit::BodyLimit,
}

impl HttpSettings {
    pub fn connection_limits(&self) -> crate::server::ConnectionLimits {
        crate::server::ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
        }
    }

    pub fn body_limits(&self) -> BodyLimits {
        let read = Duration::from_secs(self.body_read_timeout_secs.max(1));
        BodyLimits {
            push: crate::body_limit::BodyLimit::new(64 * 1024, read),
            api: crate::body_limit::BodyLimit::new(256 * 1024, read),
            other: crate::body_limit::BodyLimit::new(8 * 1024, read),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatSettings {
    pub api_base: Url,
    pub mp_base: Url,
    pub open_base: Url,
    pub timeout_secs: u64,
    pub refresh_margin_secs: u64,
    pub push_window_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    #[serde(skip_serializing, default)]
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    #[serde(default)]
    pub jwt_public_key_files: Vec<PathBuf>,
    pub jwks_path: Option<PathBuf>,
    pub jwks_url: Option<Url>,
    pub jwks_refresh_secs: u64,
}

impl AdminSettings {
    /// The HS256 secret, if one is set (an empty value counts as unset, so a
    /// deployment template may leave the variable empty).
    pub fn hs256_secret(&self) -> Option<Secret> {
        self.jwt_secret.clone().filter(|s| !s.expose().is_empty())
    }

    pub fn public_key_sources(&self) -> admin_api::jwt::PublicKeySources {
        admin_api::jwt::PublicKeySources {
            pem_files: self.jwt_public_key_files.clone(),
            jwks_file: self.jwks_path.clone(),
            jwks_url: self.jwks_url.clone(),
            jwks_refresh: Duration::from_secs(self.jwks_refresh_secs),
        }
    }

    fn has_public_keys(&self) -> bool {
        !self.jwt_public_key_files.is_empty() || self.jwks_path.is_some() || self.jwks_url.is_some()
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".parse().expect("valid default address"),
            ops_listen: "0.0.0.0:9090".parse().expect("valid default address"),
            http: HttpSettings::default(),
            onboarding: OnboardingSettings::default(),
            retention: RetentionSettings::default(),
            public_base_url: Url::parse("http://localhost:8080/").expect("valid default URL"),
            database_url: "sqlite://tpgate.db?mode=rwc".into(),
            redis_url: None,
            redis_key_prefix: "tpgate".into(),
            sealing_key: None,
            sealing_previous_keys: Vec::new(),
            component: ComponentSettings::default(),
            wechat: WechatSettings {
                api_base: Url::parse("https://api.weixin.qq.com/").expect("valid default URL"),
                mp_base: Url::parse("https://mp.weixin.qq.com/").expect("valid default URL"),
                open_base: Url::parse("https://open.weixin.qq.com/").expect("valid default URL"),
                timeout_secs: 10,
                refresh_margin_secs: 600,
                push_window_secs: 300,
            },
            admin: AdminSettings {
                jwt_secret: None,
                jwt_issuer: "tpgate".into(),
                jwt_audience: "tpgate-admin".into(),
                jwt_public_key_files: Vec::new(),
                jwks_path: None,
                jwks_url: None,
                jwks_refresh_secs: 300,
            },
            tokens: TokenSettings::default(),
            proxy: ProxyConfig::default(),
            webhooks: WebhookConfig::default(),
            background_tasks: true,
            migrate_on_start: true,
            shutdown_drain_secs: 25,
            log_format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Loads defaults ← file ← environment (incl. `*_FILE` indirections).
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                bail!("config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(
            Env::prefixed("TPGATE_")
                .split("__")
                // `_FILE` variables are read below; `TPGATE_CONFIG` names the
                // file above. Env keys keep their case: compare lower-cased.
                .filter(|k| {
                    let k = k.as_str().to_ascii_lowercase();
                    !k.ends_with("_file") && k != "config" && !is_secret_key(&k.replace("__", "."))
                }),
        );
        // Secrets as written: figment would read `0123` as the number 123.
        for (key, value) in secret_variables() {
            figment = figment.merge(Serialized::default(&key, value));
        }
        for (key, value) in file_indirections()? {
            if is_secret_key(&key) {
                figment = figment.merge(Serialized::default(&key, value));
                continue;
            }
            // Parsed like an environment value, so `[a, b]` in a file is a
            // list (e.g. TPGATE_SEALING_PREVIOUS_KEYS_FILE).
            let value: figment::value::Value = value
                .parse()
                .unwrap_or_else(|never: std::convert::Infallible| match never {});
            figment = figment.merge(Serialized::default(&key, value));
        }
        let config: Config = figment.extract().context(
            "invalid configuration (see `tpgate --help` and the table in config.rs / README)",
        )?;
        config.normalised()
    }

    /// Base URLs must end in `/` for `Url::join` to keep their path.
    fn normalised(mut self) -> anyhow::Result<Self> {
        for url in [
            &mut self.public_base_url,
            &mut self.wechat.api_base,
            &mut self.wechat.mp_base,
            &mut self.wechat.open_base,
        ] {
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
        }
        Ok(self)
    }

    /// Checks what `serve` needs, naming the setting to fix.
    pub fn validate_for_serve(&self) -> anyhow::Result<()> {
        let c = &self.component;
        for (name, value) in [
            (
                "component.appid (TPGATE_COMPONENT__APPID)",
                c.appid.as_str(),
            ),
            (
                "component.secret (TPGATE_COMPONENT__SECRET)",
                c.secret.expose(),
            ),
            (
                "component.token (TPGATE_COMPONENT__TOKEN)",
                c.token.expose(),
            ),
            (
                "component.encoding_aes_key (TPGATE_COMPONENT__ENCODING_AES_KEY)",
                c.encoding_aes_key.expose(),
            ),
        ] {
            if value.trim().is_empty() {
                bail!("{name} is not set: copy it from the WeChat Open Platform console");
            }
        }
        if self
            .sealing_key
            .as_ref()
            .is_none_or(|k| k.expose().trim().is_empty())
        {
            bail!(
                "sealing_key (TPGATE_SEALING_KEY) is not set: generate one with `tpgate gen-key` and keep it safe; losing it loses every stored refresh token"
            );
        }
        if self.tokens.lease_ttl_secs < 2 {
            bail!(
                "tokens.lease_ttl_secs ({}) must be at least 2: the lease is renewed every third of it while held",
                self.tokens.lease_ttl_secs
            );
        }
        if self.tokens.lease_wait_secs < 2 * self.wechat.timeout_secs {
            bail!(
                "tokens.lease_wait_secs ({}) must be at least twice wechat.timeout_secs ({}): a refresh by another replica may make two WeChat calls",
                self.tokens.lease_wait_secs,
                self.wechat.timeout_secs
            );
        }
        if self.tokens.sweep_interval_secs == 0 {
            bail!("tokens.sweep_interval_secs must be at least 1");
        }
        self.validate_admin_keys()?;
        Ok(())
    }

    /// Admin tokens need an HS256 secret, public keys, or both.
    fn validate_admin_keys(&self) -> anyhow::Result<()> {
        let admin = &self.admin;
        match admin.hs256_secret() {
            Some(s) if s.expose().len() < 32 => bail!(
                "admin.jwt_secret (TPGATE_ADMIN__JWT_SECRET) is shorter than 32 bytes: use a longer one (e.g. `tpgate gen-key`)"
            ),
            Some(_) => {}
            None if admin.has_public_keys() => {}
            None => bail!(
                "admin tokens cannot be verified: set admin.jwt_secret (TPGATE_ADMIN__JWT_SECRET, at least 32 bytes, e.g. `tpgate gen-key`) for HS256, and/or public keys for RS256/EdDSA with admin.jwt_public_key_files, admin.jwks_path or admin.jwks_url (TPGATE_ADMIN__JWT_PUBLIC_KEY_FILES, TPGATE_ADMIN__JWKS_PATH, TPGATE_ADMIN__JWKS_URL)"
            ),
        }
        if let Some(url) = &admin.jwks_url
            && !matches!(url.scheme(), "https" | "http")
        {
            bail!("admin.jwks_url (TPGATE_ADMIN__JWKS_URL) must be an http(s) URL");
        }
        if admin.jwks_refresh_secs == 0 {
            bail!("admin.jwks_refresh_secs (TPGATE_ADMIN__JWKS_REFRESH_SECS) must be at least 1");
        }
        Ok(())
    }

    /// The sealer from `sealing_key` and `sealing_previous_keys`.
    pub fn sealer(&self) -> anyhow::Result<store::Sealer> {
        store::Sealer::from_base64(
            self.sealing_key.as_ref().map(Secret::expose).unwrap_or_default(),
            &self.sealing_previous_keys,
        )
        .context("sealing_key / sealing_previous_keys (TPGATE_SEALING_KEY, TPGATE_SEALING_PREVIOUS_KEYS)")
    }

    pub fn component_config(&self) -> tenant_auth::ComponentConfig {
        let t = &self.tokens;
        tenant_auth::ComponentConfig {
            appid: self.component.appid.clone(),
            secret: self.component.secret.clone(),
            token: self.component.token.clone(),
            encoding_aes_key: self.component.encoding_aes_key.clone(),
            previous_encoding_aes_key: self
                .component
                .previous_encoding_aes_key
                .clone()
                .filter(|k| !k.expose().is_empty()),
            api_base: self.wechat.api_base.clone(),
            mp_base: self.wechat.mp_base.clone(),
            open_base: self.wechat.open_base.clone(),
            refresh_margin: Duration::from_secs(self.wechat.refresh_margin_secs),
            http_timeout: Duration::from_secs(self.wechat.timeout_secs),
            push_window: Duration::from_secs(self.wechat.push_window_secs),
            tokens: tenant_auth::TokenSettings {
                lease_ttl: Duration::from_secs(t.lease_ttl_secs),
                lease_wait: Duration::from_secs(t.lease_wait_secs),
                ticket_stale_after: Duration::from_secs(t.ticket_stale_after_secs),
                ticket_push_request_interval: Duration::from_secs(
                    t.ticket_push_request_interval_secs,
                ),
                sweep_interval: Duration::from_secs(t.sweep_interval_secs),
                sweep_active_window: Duration::from_secs(t.sweep_active_window_secs),
                sweep_min_token_age: Duration::from_secs(t.sweep_min_token_age_secs),
                sweep_concurrency: t.sweep_concurrency,
                forced_refresh_interval: Duration::from_secs(t.forced_refresh_interval_secs),
                ..tenant_auth::TokenSettings::default()
            },
        }
    }
}

/// The settings holding one secret each, taken verbatim from the
/// environment (the list `sealing_previous_keys` is parsed, but its errors
/// never quote it: see `store::secret::list`).
const SECRET_KEYS: &[&str] = &[
    "sealing_key",
    "component.secret",
    "component.token",
    "component.encoding_aes_key",
    "component.previous_encoding_aes_key",
    "admin.jwt_secret",
];

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key)
}

/// `TPGATE_COMPONENT__TOKEN=…` → (`component.token`, the value as written).
fn secret_variables() -> Vec<(String, String)> {
    std::env::vars()
        .filter_map(|(name, value)| {
            let key = name
                .strip_prefix("TPGATE_")?
                .to_lowercase()
                .replace("__", ".");
            is_secret_key(&key).then_some((key, value))
        })
        .collect()
}

/// `TPGATE_A__B_FILE=/path` → (`a.b`, contents of /path, trailing newline trimmed).
fn file_indirections() -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (name, path) in std::env::vars() {
        let Some(rest) = name.strip_prefix("TPGATE_") else {
            continue;
        };
        let Some(key) = rest.strip_suffix("_FILE") else {
            continue;
        };
        let value = std::fs::read_to_string(&path)
            .with_context(|| format!("{name} points at {path}, which cannot be read"))?;
        out.push((
            key.to_lowercase().replace("__", "."),
            value.trim_end_matches(['\n', '\r']).to_owned(),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_admin(change: impl FnOnce(&mut AdminSettings)) -> anyhow::Result<()> {
        let mut config = Config::default();
        change(&mut config.admin);
        config.validate_admin_keys()
    }

    #[test]
    fn admin_tokens_need_a_secret_or_public_keys() {
        let none = with_admin(|_| {}).unwrap_err().to_string();
        assert!(
            none.contains("admin.jwt_secret") && none.contains("admin.jwks_url"),
            "{none}"
        );
        // An empty secret is no secret.
        assert!(with_admin(|a| a.jwt_secret = Some(Secret::default())).is_err());
        let short = with_admin(|a| a.jwt_secret = Some("short".into()))
            .unwrap_err()
            .to_string();
        assert!(short.contains("shorter than 32 bytes"), "{short}");
        // Still an error when public keys are configured too.
        assert!(
            with_admin(|a| {
                a.jwt_secret = Some("short".into());
                a.jwks_path = Some("jwks.json".into());
            })
            .is_err()
        );
        with_admin(|a| a.jwt_secret = Some("x".repeat(32).into())).unwrap();
        with_admin(|a| a.jwt_public_key_files = vec!["k.pem".into()]).unwrap();
        with_admin(|a| a.jwks_path = Some("jwks.json".into())).unwrap();
        with_admin(|a| a.jwks_url = Some("https://idp.example/jwks".parse().unwrap())).unwrap();
        assert!(
            with_admin(|a| a.jwks_url = Some("file:///etc/jwks.json".parse().unwrap())).is_err()
        );
        assert!(
            with_admin(|a| {
                a.jwks_path = Some("jwks.json".into());
                a.jwks_refresh_secs = 0;
            })
            .is_err()
        );
    }
}
