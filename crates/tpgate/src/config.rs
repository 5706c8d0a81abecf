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
//! | `redis_url` | `TPGATE_REDIS_URL` | optional; `redis://…` (one server) or `redis+cluster://[:pw@]node1:6379,node2:6379` (a Redis Cluster); refresh locks use Redis when given, else a DB lease (still safe across replicas on one Postgres) |
//! | `redis_key_prefix` | `TPGATE_REDIS_KEY_PREFIX` | prefix of every Redis key (default `tpgate`), to share one Redis between deployments |
//! | `event_batch_max` | `TPGATE_EVENT_BATCH_MAX` | events (pushes, authorization changes) stored concurrently share one transaction, up to this many (64; 1 = one transaction each); each push is still acknowledged only once its transaction committed |
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
//! | `proxy.couriers_refresh_secs` / `.couriers_retry_secs` | | WeChat's courier lists (`get_delivery_list`, the helper's `delivery/getall`) are fetched again when older than this (86400), a failed fetch tried again after this (300) |
//! | `webhooks.timeout_secs` / `.poll_interval_ms` / `.batch` / `.concurrency` | `TPGATE_WEBHOOKS__…` | per-attempt timeout (10), how often to look for due deliveries (1000), claimed per round (64), sent at once (16) |
//! | `webhooks.retry_schedule_secs` / `.disable_after_failures` / `.disable_after_failing_secs` | | delays between attempts (10 s … 8 h, 11 retries over ~32 h, then dead-lettered); an endpoint is disabled after this many consecutive failed attempts (100) spread over at least this long (86400) |
//! | `webhooks.retention_days` | | delivered and dead deliveries are deleted after this many days (30); events stay and can be replayed |
//! | `webhooks.max_endpoints_per_tenant` / `.replays_per_tenant_per_hour` | | endpoints a tenant may create (20: each event is one delivery per endpoint), replay requests per tenant per hour (20; 0 = no limit) |
//! | `webhooks.allow_private_targets` | `TPGATE_WEBHOOKS__ALLOW_PRIVATE_TARGETS` | deliver to any address and port: loopback and private addresses too, and ports outside `allowed_ports` or in `denied_ports` (local receivers often take random high ports) (default `false`: tenants' URLs may only reach public addresses on allowed ports, against SSRF; the sandbox sets `true`) |
//! | `webhooks.allowed_ports` / `.denied_ports` | `TPGATE_WEBHOOKS__ALLOWED_PORTS` / `__DENIED_PORTS` | the ports a delivery may use (the URL's, else its scheme's default): allowed and not denied; items are ports or inclusive ranges, in TOML `[80, 443, "1024-65535"]`, by env a bracketed list `[80, 443, 1024-65535]`. Default allowed: `[80, 443, "1024-65535"]`; default denied: well-known ports of internal services (databases, caches, queues, cluster and container APIs, proxies, remote administration; the list is `webhooks::target::INTERNAL_SERVICE_PORTS` and the README) — setting `denied_ports` replaces that whole list |
//! | `webhooks.proxy_url` | `TPGATE_WEBHOOKS__PROXY_URL` | send deliveries through this `http://` or `https://` proxy (credentials may be in the URL). Default none: deliveries connect directly and `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` are ignored for them. With a proxy, tpgate still checks ports and IP literals but cannot see the address a name leads to: enforce egress rules (public addresses only) at the proxy |
//! | `retention.events_days` / `.audit_days` | `TPGATE_RETENTION__…` | events (with their finished deliveries; not those still being delivered), finished durable shipments and shipped or closed orders are deleted after 90 days, audit entries after 365 (0 = keep forever); expired onboarding visits are deleted within the hour, finished deliveries after `webhooks.retention_days` |
//! | `call_log.enabled` | `TPGATE_CALL_LOG__ENABLED` | record every call to WeChat (request id, API, outcome, errcode, latency) in the database, for the admin API's call views (default `true`; the call metrics are kept either way) |
//! | `call_log.queue_capacity` / `.batch_size` | `TPGATE_CALL_LOG__…` | calls waiting to be written (10000; beyond it calls are dropped and counted in `tpgate_call_log_dropped_total`, never waited on), calls per insert (200) |
//! | `call_log.retention_days` | | recorded calls are deleted by housekeeping after this many days (14; at least 1) |
//! | `call_log.max_body_bytes` | | when a tenant captures bodies, the largest request and response body kept per call (16384 bytes each way, tokens removed) |
//! | `console.idle_timeout_secs` / `.session_lifetime_secs` | `TPGATE_CONSOLE__…` | a console session unused for this long ends (1800, 60–86400); every session ends this long after sign-in (43200, 300–2592000), sooner when the JWT or API key it was opened with expires |
//! | `wechat_host.enabled` / `.listen` | `TPGATE_WECHAT_HOST__…` | serve the WeChat-compatible host (`/cgi-bin/token`, `/cgi-bin/stable_token` and the APIs at their WeChat paths with `?access_token=`; docs/migrating-sdk-code.md) (default `true`), on the main listener or, with `listen` (e.g. `0.0.0.0:8443`), on a listener of its own only |
//! | `shipments.retry_for_secs` / `.first_retry_secs` / `.max_retry_secs` | `TPGATE_SHIPMENTS__…` | a durable shipment (`POST /v1/apps/{appid}/shipments`) is retried for this long after it was accepted (86400), first after this delay (10 s), doubling up to this one (600 s), jittered |
//! | `shipments.poll_interval_ms` / `.batch` / `.concurrency` / `.lease_secs` | | how often each replica looks for due shipments (1000), claimed per round (32), sent at once (4), how long a claim holds one (120; longer than an attempt) |
//! | `reconciliation.enabled` / `.interval_secs` / `.window_hours` | `TPGATE_RECONCILIATION__…` | reconcile every active, trade-managed Mini Program's unshipped orders (`get_order_list`, order_state 1) (true), each once per interval (3600, spread over it by appid), over orders paid in the last `window_hours` (336) |
//! | `reconciliation.max_calls_per_run` / `.page_size` / `.overdue_after_hours` | | the call budget of one Mini Program's run (10 pages), the page size (100), ages after payment announced as `shipping.overdue` ([24, 48]) |
//! | `reconciliation.tick_secs` / `.batch` / `.concurrency` | | how often each replica looks for due runs and overdue orders (30), runs claimed per tick (64), made at once (4) |
//! | `wechat_host.token_lifetime_secs` / `.grace_secs` | | lifetime of its tokens (7200, as WeChat's; 300–86400); how long a token keeps working after a newer one is issued for the same key and Mini Program (300; at most 3600) |
//! | `background_tasks` | `TPGATE_BACKGROUND_TASKS` | run the background workers: the ticket watchdog, the refresh sweep, the webhook dispatcher, the shipments worker, reconciliation and housekeeping (default `true`; see `workers`) |
//! | `migrate_on_start` | `TPGATE_MIGRATE_ON_START` | `serve` applies pending migrations before listening (default `true`); `false` when a separate `tpgate migrate` (the Helm hook) does it, so pods can use a database user without DDL rights — `/readyz` is 503 until the schema is current |
//! | `shutdown_drain_secs` | `TPGATE_SHUTDOWN_DRAIN_SECS` | after SIGTERM, how long in-flight requests may finish (default 25; keep it below Kubernetes' grace period) |
//! | `log_format` | `TPGATE_LOG_FORMAT` | `text` (default) or `json` |
use std::{net::SocketAddr, path::Path, time::Duration};

use anyhow::{Context, bail};
use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};
use store::Secret;
use url::Url;

/// The whole configuration. A section a crate owns is that crate's settings
/// struct, read as is (`component`/`wechat`/`tokens`: tenant-auth, `admin`:
/// `admin_api::jwt::JwtSettings`, `proxy`: `api_proxy::ProxySettings`,
/// `webhooks`: `webhooks::DispatcherSettings`, `retention`:
/// `crate::workers::RetentionSettings`, `call_log`:
/// `call_log::CallLogSettings`, `console`: `console::ConsoleSettings`,
/// `wechat_host`: `api_proxy::wechat_host::WechatHostSettings`): a new setting is a field there and a
/// row in the table above (a test holds the two together).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// `/healthz`, `/readyz`, `/metrics`, `/docs`: never on the public port.
    pub ops_listen: SocketAddr,
    pub http: HttpSettings,
    pub onboarding: OnboardingSettings,
    pub retention: crate::workers::RetentionSettings,
    pub public_base_url: Url,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_key_prefix: String,
    pub event_batch_max: usize,
    #[serde(skip_serializing, default)]
    pub sealing_key: Option<Secret>,
    #[serde(skip_serializing, default, deserialize_with = "store::secret::list")]
    pub sealing_previous_keys: Vec<Secret>,
    pub component: tenant_auth::ComponentSettings,
    pub wechat: tenant_auth::WechatSettings,
    pub admin: admin_api::jwt::JwtSettings,
    pub tokens: tenant_auth::TokenSettings,
    pub proxy: api_proxy::ProxySettings,
    pub webhooks: webhooks::DispatcherSettings,
    pub call_log: call_log::CallLogSettings,
    pub console: console::ConsoleSettings,
    pub wechat_host: api_proxy::wechat_host::WechatHostSettings,
    pub shipments: api_proxy::shipments::ShipmentSettings,
    pub reconciliation: api_proxy::reconcile::ReconciliationSettings,
    pub background_tasks: bool,
    pub migrate_on_start: bool,
    pub shutdown_drain_secs: u64,
    pub log_format: LogFormat,
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

// At least a second each: a zero would close every connection at once.
impl HttpSettings {
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.header_read_timeout_secs.max(1))
    }

    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs.max(1))
    }

    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }

    pub fn body_limits(&self) -> BodyLimits {
        let read = self.body_read_timeout();
        BodyLimits {
            push: crate::body_limit::BodyLimit::new(64 * 1024, read),
            api: crate::body_limit::BodyLimit::new(256 * 1024, read),
            other: crate::body_limit::BodyLimit::new(8 * 1024, read),
        }
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
            retention: Default::default(),
            public_base_url: Url::parse("http://localhost:8080/").expect("valid default URL"),
            database_url: "sqlite://tpgate.db?mode=rwc".into(),
            redis_url: None,
            redis_key_prefix: "tpgate".into(),
            event_batch_max: 64,
            sealing_key: None,
            sealing_previous_keys: Vec::new(),
            component: Default::default(),
            wechat: Default::default(),
            admin: Default::default(),
            tokens: Default::default(),
            proxy: Default::default(),
            webhooks: Default::default(),
            call_log: Default::default(),
            console: Default::default(),
            wechat_host: Default::default(),
            shipments: Default::default(),
            reconciliation: Default::default(),
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
        Self::extract(figment)
    }

    /// The configuration `figment` holds (defaults underneath), normalised.
    fn extract(figment: Figment) -> anyhow::Result<Self> {
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
        self.console.validate().map_err(anyhow::Error::msg)?;
        self.wechat_host.validate().map_err(anyhow::Error::msg)?;
        self.reconciliation.validate().map_err(anyhow::Error::msg)?;
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

    /// What tenant-auth runs with: three sections of this configuration.
    pub fn component_config(&self) -> tenant_auth::ComponentConfig {
        tenant_auth::ComponentConfig {
            component: self.component.clone(),
            wechat: self.wechat.clone(),
            tokens: self.tokens.clone(),
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
    use std::{collections::BTreeSet, path::PathBuf};

    use figment::value::{Dict, Value};

    use super::*;

    /// Defaults under `toml`, as `load` reads a file (without the
    /// environment, which a test cannot control).
    fn from_toml(toml: &str) -> anyhow::Result<Config> {
        Config::extract(
            Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml)),
        )
    }

    /// Every key of the table in this module's doc, once, none left at its
    /// default.
    const EVERY_KEY: &str = r#"
        listen = "127.0.0.1:18080"
        ops_listen = "127.0.0.1:19090"
        public_base_url = "https://gw.example.com/base"
        database_url = "postgres://tpgate@db/tpgate"
        redis_url = "redis://redis:6379"
        redis_key_prefix = "tp-test"
        event_batch_max = 32
        sealing_key = "c2VhbGluZw=="
        sealing_previous_keys = ["b2xk"]
        background_tasks = false
        migrate_on_start = false
        shutdown_drain_secs = 7
        log_format = "json"

        [http]
        header_read_timeout_secs = 21
        body_read_timeout_secs = 31
        idle_timeout_secs = 61
        trusted_proxies = ["10.0.0.0/8"]

        [onboarding]
        starts_per_link_per_minute = 11
        requests_per_address_per_minute = 61
        completions_per_visit = 6

        [component]
        appid = "wxcomponent"
        secret = "component-secret"
        token = "0123"
        encoding_aes_key = "aes-key"
        previous_encoding_aes_key = "old-aes-key"

        [wechat]
        api_base = "https://api.example.com/wx"
        mp_base = "https://mp.example.com/"
        open_base = "https://open.example.com/"
        timeout_secs = 11
        refresh_margin_secs = 601
        push_window_secs = 301

        [admin]
        jwt_secret = "0123456789abcdef0123456789abcdef"
        jwt_issuer = "issuer"
        jwt_audience = "audience"
        jwt_public_key_files = ["/keys/a.pem"]
        jwks_path = "/keys/jwks.json"
        jwks_url = "https://idp.example.com/jwks"
        jwks_refresh_secs = 301

        [tokens]
        lease_ttl_secs = 6
        lease_wait_secs = 26
        ticket_stale_after_secs = 1201
        ticket_push_request_interval_secs = 302
        forced_refresh_interval_secs = 62
        sweep_interval_secs = 31
        sweep_active_window_secs = 86401
        sweep_min_token_age_secs = 603
        sweep_concurrency = 9

        [proxy]
        read_retries = 3
        retry_min_delay_ms = 101
        cache_ttl_secs = 12
        idempotency_ttl_secs = 86402
        idempotency_wait_secs = 13
        permission_sets = { "/wxa/sec/order/" = [142] }
        couriers_refresh_secs = 3600
        couriers_retry_secs = 60

        [webhooks]
        timeout_secs = 14
        poll_interval_ms = 5
        batch = 0
        concurrency = 17
        retry_schedule_secs = [1, 2]
        disable_after_failures = 0
        disable_after_failing_secs = 3600
        retention_days = 31
        max_endpoints_per_tenant = 21
        replays_per_tenant_per_hour = 0
        allow_private_targets = true
        allowed_ports = [443, "8000-8999"]
        denied_ports = [8080]
        proxy_url = "http://egress.internal:3128"

        [retention]
        events_days = 91
        audit_days = 0

        [call_log]
        enabled = false
        queue_capacity = 101
        batch_size = 11
        retention_days = 15
        max_body_bytes = 1025

        [console]
        idle_timeout_secs = 601
        session_lifetime_secs = 3601

        [wechat_host]
        enabled = false
        listen = "127.0.0.1:18443"
        token_lifetime_secs = 3600
        grace_secs = 60

        [shipments]
        retry_for_secs = 3601
        first_retry_secs = 11
        max_retry_secs = 601
        poll_interval_ms = 1001
        batch = 33
        concurrency = 5
        lease_secs = 121

        [reconciliation]
        enabled = false
        interval_secs = 1801
        window_hours = 49
        max_calls_per_run = 3
        page_size = 51
        overdue_after_hours = [12, 36]
        tick_secs = 11
        batch = 7
        concurrency = 2
    "#;

    /// `a` and `a.b` for every key in `dict`; a section's values are not
    /// looked into (`proxy.permission_sets` is one key).
    fn keys(dict: &Dict) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (key, value) in dict {
            match value {
                Value::Dict(_, section) => {
                    out.extend(section.keys().map(|k| format!("{key}.{k}")));
                }
                _ => {
                    out.insert(key.clone());
                }
            }
        }
        out
    }

    /// The keys in the first column of the table in this module's doc
    /// (`.b` after `a.x` is `a.b`).
    fn documented_keys() -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for row in include_str!("config.rs").lines() {
            let Some(row) = row.strip_prefix("//! | `") else {
                continue;
            };
            let cell = row.split(" | ").next().unwrap_or_default();
            let mut section = String::new();
            for key in cell.split(" / ") {
                let key = key.trim().trim_matches('`');
                if let Some(rest) = key.strip_prefix('.') {
                    out.insert(format!("{section}.{rest}"));
                } else {
                    section = key.split('.').next().unwrap_or_default().to_owned();
                    out.insert(key.to_owned());
                }
            }
        }
        out
    }

    #[test]
    fn the_documented_keys_are_exactly_the_configuration() {
        let every: Dict = Figment::from(Toml::string(EVERY_KEY)).extract().unwrap();
        let every = keys(&every);
        assert_eq!(
            documented_keys(),
            every,
            "the doc table and EVERY_KEY differ"
        );
        // Every setting is in EVERY_KEY: the serialized defaults (secrets
        // are never serialized) and the secrets.
        let defaults: Dict = Figment::from(Serialized::defaults(Config::default()))
            .extract()
            .unwrap();
        let mut settings = keys(&defaults);
        settings.extend(SECRET_KEYS.iter().map(|k| k.to_string()));
        settings.insert("sealing_previous_keys".into());
        let undocumented: Vec<_> = settings.difference(&every).collect();
        assert!(
            undocumented.is_empty(),
            "not in the doc table: {undocumented:?}"
        );
    }

    #[test]
    fn a_file_with_every_documented_key_parses() {
        let c = from_toml(EVERY_KEY).unwrap();
        c.validate_for_serve().unwrap();
        assert_eq!(c.listen.port(), 18080);
        assert_eq!(c.ops_listen.port(), 19090);
        // Base URLs gain their trailing `/`.
        assert_eq!(c.public_base_url.as_str(), "https://gw.example.com/base/");
        assert_eq!(c.wechat.api_base.as_str(), "https://api.example.com/wx/");
        assert_eq!(c.redis_key_prefix, "tp-test");
        assert_eq!(c.event_batch_max, 32);
        assert_eq!(c.sealing_previous_keys.len(), 1);
        assert!(!c.background_tasks && !c.migrate_on_start);
        assert_eq!(c.shutdown_drain_secs, 7);
        assert_eq!(c.log_format, LogFormat::Json);

        assert_eq!(c.http.header_read_timeout(), Duration::from_secs(21));
        assert_eq!(c.http.body_read_timeout(), Duration::from_secs(31));
        assert_eq!(c.http.idle_timeout(), Duration::from_secs(61));
        assert_eq!(c.onboarding.completions_per_visit, 6);

        // Secrets as written (`0123`, not the number 123).
        let auth = c.component_config();
        assert_eq!(auth.component.appid, "wxcomponent");
        assert_eq!(auth.component.token.expose(), "0123");
        assert_eq!(
            auth.component
                .previous_encoding_aes_key
                .as_ref()
                .map(Secret::expose),
            Some("old-aes-key")
        );
        assert_eq!(auth.wechat.timeout(), Duration::from_secs(11));
        assert_eq!(auth.wechat.refresh_margin(), Duration::from_secs(601));
        assert_eq!(auth.wechat.push_window_secs, 301);
        assert_eq!(auth.tokens.lease_ttl(), Duration::from_secs(6));
        assert_eq!(auth.tokens.lease_wait(), Duration::from_secs(26));
        assert_eq!(auth.tokens.ticket_stale_after(), Duration::from_secs(1201));
        assert_eq!(
            auth.tokens.ticket_push_request_interval(),
            Duration::from_secs(302)
        );
        assert_eq!(
            auth.tokens.forced_refresh_interval(),
            Duration::from_secs(62)
        );
        assert_eq!(auth.tokens.sweep_interval(), Duration::from_secs(31));
        assert_eq!(
            auth.tokens.sweep_active_window(),
            Duration::from_secs(86401)
        );
        assert_eq!(auth.tokens.sweep_min_token_age(), Duration::from_secs(603));
        assert_eq!(auth.tokens.sweep_concurrency, 9);

        assert!(c.admin.hs256_secret().is_some());
        assert_eq!(c.admin.jwt_issuer, "issuer");
        assert_eq!(c.admin.jwt_audience, "audience");
        assert_eq!(c.admin.jwt_public_key_files, [PathBuf::from("/keys/a.pem")]);
        assert_eq!(c.admin.jwks_path, Some(PathBuf::from("/keys/jwks.json")));
        assert_eq!(c.admin.jwks_refresh(), Duration::from_secs(301));

        assert_eq!(c.proxy.read_retries, 3);
        assert_eq!(c.proxy.retry_min_delay(), Duration::from_millis(101));
        assert_eq!(c.proxy.cache_ttl(), Duration::from_secs(12));
        assert_eq!(c.proxy.idempotency_ttl(), Duration::from_secs(86402));
        assert_eq!(c.proxy.idempotency_wait(), Duration::from_secs(13));
        assert_eq!(c.proxy.permission_sets["/wxa/sec/order/"], [142]);

        let w = &c.webhooks;
        assert_eq!(w.timeout(), Duration::from_secs(14));
        // Floors: a zero or tiny value neither stalls nor spins.
        assert_eq!(w.poll_interval(), Duration::from_millis(10));
        assert_eq!(w.batch(), 1);
        assert_eq!(w.disable_policy().after_failures, 1);
        assert_eq!(
            w.disable_policy().after_failing_for,
            Duration::from_secs(3600)
        );
        assert_eq!(w.concurrency(), 17);
        assert_eq!(w.schedule().attempts(), 3);
        assert_eq!(w.retention(), Duration::from_secs(31 * 86_400));
        assert_eq!(
            (w.max_endpoints_per_tenant, w.replays_per_tenant_per_hour),
            (21, 0)
        );
        assert!(w.allow_private_targets);
        let ports = w.port_policy();
        assert!(
            ports.allows(443) && ports.allows(8500) && !ports.allows(8080) && !ports.allows(80)
        );
        assert_eq!(
            w.proxy_url.as_ref().map(Url::as_str),
            Some("http://egress.internal:3128/")
        );

        assert_eq!(c.retention.events(), Some(Duration::from_secs(91 * 86_400)));
        assert_eq!(c.retention.audit(), None, "0 keeps forever");

        assert_eq!(
            c.call_log,
            call_log::CallLogSettings {
                enabled: false,
                queue_capacity: 101,
                batch_size: 11,
                retention_days: 15,
                max_body_bytes: 1025,
            }
        );
        assert_eq!(
            (c.console.idle_timeout_secs, c.console.session_lifetime_secs),
            (601, 3601)
        );
        assert_eq!(
            c.wechat_host,
            api_proxy::wechat_host::WechatHostSettings {
                enabled: false,
                listen: Some("127.0.0.1:18443".parse().unwrap()),
                token_lifetime_secs: 3600,
                grace_secs: 60,
            }
        );
        assert_eq!(
            c.shipments,
            api_proxy::shipments::ShipmentSettings {
                retry_for_secs: 3601,
                first_retry_secs: 11,
                max_retry_secs: 601,
                poll_interval_ms: 1001,
                batch: 33,
                concurrency: 5,
                lease_secs: 121,
            }
        );
        assert_eq!(
            c.reconciliation,
            api_proxy::reconcile::ReconciliationSettings {
                enabled: false,
                interval_secs: 1801,
                window_hours: 49,
                max_calls_per_run: 3,
                page_size: 51,
                overdue_after_hours: vec![12, 36],
                tick_secs: 11,
                batch: 7,
                concurrency: 2,
            }
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let sections = [
            "http",
            "onboarding",
            "retention",
            "component",
            "wechat",
            "admin",
            "tokens",
            "proxy",
            "webhooks",
            "call_log",
            "console",
            "wechat_host",
            "shipments",
            "reconciliation",
        ];
        for toml in std::iter::once("nonsense = 1".to_owned())
            .chain(sections.iter().map(|s| format!("[{s}]\nnonsense = 1")))
        {
            let e = format!("{:#}", from_toml(&toml).unwrap_err());
            assert!(e.contains("unknown field: found `nonsense`"), "{toml}: {e}");
        }
        // The error lists what is allowed.
        let e = format!(
            "{:#}",
            from_toml("[webhooks]\nretry_schedule = [1]").unwrap_err()
        );
        assert!(e.contains("`retry_schedule_secs`"), "{e}");
    }

    fn with_admin(change: impl FnOnce(&mut admin_api::jwt::JwtSettings)) -> anyhow::Result<()> {
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
