use std::time::Duration;

use store::Secret;
use url::Url;

/// The platform's WeChat identity and where WeChat lives.
#[derive(Debug, Clone)]
pub struct ComponentConfig {
    pub appid: String,
    pub secret: Secret,
    /// 消息校验 Token.
    pub token: Secret,
    /// 消息加解密 Key (43 chars).
    pub encoding_aes_key: Secret,
    /// The previous key, kept during a key rotation.
    pub previous_encoding_aes_key: Option<Secret>,
    /// `https://api.weixin.qq.com` (or the simulator).
    pub api_base: Url,
    /// `https://mp.weixin.qq.com` (or the simulator): the PC authorization page host.
    pub mp_base: Url,
    /// `https://open.weixin.qq.com` (or the simulator): the mobile
    /// authorization page host (`/wxaopen/safe/bindcomponent`).
    pub open_base: Url,
    /// Refresh tokens this long before they expire (default 10 min).
    pub refresh_margin: Duration,
    /// Timeout of each WeChat HTTP call.
    pub http_timeout: Duration,
    /// A push's signed `timestamp` must be within this of now, and its
    /// `CreateTime` no later than now plus this (default 5 min).
    pub push_window: Duration,
    pub tokens: TokenSettings,
}

/// How tokens are kept fresh and coordinated across replicas. Defaults suit
/// production; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    /// How long a refresh lease lasts without renewal: it is renewed every
    /// third of this while held, so a replica that died mid-refresh blocks
    /// others at most this long, however slow WeChat is.
    pub lease_ttl: Duration,
    /// How long a caller waits for another replica's refresh before giving
    /// up with a 503.
    pub lease_wait: Duration,
    /// Pause between looks at a lease another replica holds (jittered ±50 %).
    pub lease_poll: Duration,
    /// A ticket older than this means pushes stopped: tpgate asks WeChat to
    /// restart them (WeChat pushes every 10 minutes).
    pub ticket_stale_after: Duration,
    /// At most one api_start_push_ticket per this interval, across replicas.
    pub ticket_push_request_interval: Duration,
    /// Lifetime WeChat gives access tokens (7200 s); sizes the sweep's budget.
    pub token_lifetime: Duration,
    /// The sweep keeps tokens warm for authorizers used within this window.
    pub sweep_active_window: Duration,
    /// The sweep never refreshes a token younger than this.
    pub sweep_min_token_age: Duration,
    /// How often the sweep runs.
    pub sweep_interval: Duration,
    /// Refreshes the sweep runs at once.
    pub sweep_concurrency: usize,
    /// At most one forced refresh (after WeChat rejects a token) per token
    /// version per this interval: the platform's token quota is shared by
    /// every tenant.
    pub forced_refresh_interval: Duration,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            lease_ttl: Duration::from_secs(5),
            lease_wait: Duration::from_secs(25),
            lease_poll: Duration::from_millis(100),
            ticket_stale_after: Duration::from_secs(20 * 60),
            ticket_push_request_interval: Duration::from_secs(5 * 60),
            token_lifetime: Duration::from_secs(7200),
            sweep_active_window: Duration::from_secs(24 * 3600),
            sweep_min_token_age: Duration::from_secs(10 * 60),
            sweep_interval: Duration::from_secs(30),
            sweep_concurrency: 8,
            forced_refresh_interval: Duration::from_secs(60),
        }
    }
}
