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
    /// `https://mp.weixin.qq.com` (or the simulator): the authorization page host.
    pub mp_base: Url,
    /// Refresh tokens this long before they expire (default 10 min).
    pub refresh_margin: Duration,
    /// Timeout of each WeChat HTTP call.
    pub http_timeout: Duration,
}
