//! The configuration sections tenant-auth owns: `component.*`, `wechat.*`
//! and `tokens.*`, read as written (each duration in the unit its name
//! says); the accessors give the values in use.
use std::time::Duration;

use serde::{Deserialize, Serialize};
use store::Secret;
use url::Url;

/// Pause between looks at a lease another replica holds (jittered ±50 %).
pub(crate) const LEASE_POLL: Duration = Duration::from_millis(100);

/// Lifetime WeChat gives access tokens; sizes the sweep's budget.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(7200);

/// Everything [`crate::TenantAuth`] is configured with.
#[derive(Debug, Clone, Default)]
pub struct ComponentConfig {
    pub component: ComponentSettings,
    pub wechat: WechatSettings,
    pub tokens: TokenSettings,
}

/// The platform's WeChat identity (`component.*`), from the Open Platform
/// console. Secrets are never serialized.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComponentSettings {
    pub appid: String,
    #[serde(skip_serializing)]
    pub secret: Secret,
    /// 消息校验 Token.
    #[serde(skip_serializing)]
    pub token: Secret,
    /// 消息加解密 Key (43 chars).
    #[serde(skip_serializing)]
    pub encoding_aes_key: Secret,
    /// The previous key, kept during a key rotation (empty counts as unset,
    /// so a deployment template may leave the variable empty).
    #[serde(skip_serializing)]
    pub previous_encoding_aes_key: Option<Secret>,
}

/// Where WeChat lives and how long to give it (`wechat.*`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WechatSettings {
    /// `https://api.weixin.qq.com/` (or the simulator).
    pub api_base: Url,
    /// `https://mp.weixin.qq.com/` (or the simulator): the PC authorization
    /// page host.
    pub mp_base: Url,
    /// `https://open.weixin.qq.com/` (or the simulator): the mobile
    /// authorization page host (`/wxaopen/safe/bindcomponent`).
    pub open_base: Url,
    /// Timeout of each WeChat HTTP call.
    pub timeout_secs: u64,
    /// Refresh tokens this long before they expire.
    pub refresh_margin_secs: u64,
    /// A push's signed `timestamp` must be within this of now, and its
    /// `CreateTime` no later than now plus this.
    pub push_window_secs: u64,
}

impl Default for WechatSettings {
    fn default() -> Self {
        let url = |u: &str| Url::parse(u).expect("valid default URL");
        Self {
            api_base: url("https://api.weixin.qq.com/"),
            mp_base: url("https://mp.weixin.qq.com/"),
            open_base: url("https://open.weixin.qq.com/"),
            timeout_secs: 10,
            refresh_margin_secs: 600,
            push_window_secs: 300,
        }
    }
}

impl WechatSettings {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn refresh_margin(&self) -> Duration {
        Duration::from_secs(self.refresh_margin_secs)
    }
}

/// How tokens are kept fresh and coordinated across replicas (`tokens.*`).
/// Defaults suit production; tests shorten the waits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// How long a refresh lease lasts without renewal: it is renewed every
    /// third of this while held, so a replica that died mid-refresh blocks
    /// others at most this long, however slow WeChat is.
    pub lease_ttl_secs: u64,
    /// How long a caller waits for another replica's refresh before giving
    /// up with a 503.
    pub lease_wait_secs: u64,
    /// A ticket older than this means pushes stopped: tpgate asks WeChat to
    /// restart them (WeChat pushes every 10 minutes).
    pub ticket_stale_after_secs: u64,
    /// At most one api_start_push_ticket per this interval, across replicas.
    pub ticket_push_request_interval_secs: u64,
    /// How often the sweep runs.
    pub sweep_interval_secs: u64,
    /// The sweep keeps tokens warm for authorizers used within this window.
    pub sweep_active_window_secs: u64,
    /// The sweep never refreshes a token younger than this.
    pub sweep_min_token_age_secs: u64,
    /// Refreshes the sweep runs at once.
    pub sweep_concurrency: usize,
    /// At most one forced refresh (after WeChat rejects a token) per token
    /// version per this interval: the platform's token quota is shared by
    /// every tenant.
    pub forced_refresh_interval_secs: u64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self {
            lease_ttl_secs: 5,
            lease_wait_secs: 25,
            ticket_stale_after_secs: 20 * 60,
            ticket_push_request_interval_secs: 5 * 60,
            sweep_interval_secs: 30,
            sweep_active_window_secs: 24 * 3600,
            sweep_min_token_age_secs: 10 * 60,
            sweep_concurrency: 8,
            forced_refresh_interval_secs: 60,
        }
    }
}

impl TokenSettings {
    pub fn lease_ttl(&self) -> Duration {
        Duration::from_secs(self.lease_ttl_secs)
    }

    pub fn lease_wait(&self) -> Duration {
        Duration::from_secs(self.lease_wait_secs)
    }

    pub fn ticket_stale_after(&self) -> Duration {
        Duration::from_secs(self.ticket_stale_after_secs)
    }

    pub fn ticket_push_request_interval(&self) -> Duration {
        Duration::from_secs(self.ticket_push_request_interval_secs)
    }

    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs)
    }

    pub fn sweep_active_window(&self) -> Duration {
        Duration::from_secs(self.sweep_active_window_secs)
    }

    pub fn sweep_min_token_age(&self) -> Duration {
        Duration::from_secs(self.sweep_min_token_age_secs)
    }

    pub fn forced_refresh_interval(&self) -> Duration {
        Duration::from_secs(self.forced_refresh_interval_secs)
    }
}
