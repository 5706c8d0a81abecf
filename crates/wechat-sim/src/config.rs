/// The simulated platform's identity and behaviour.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub component_appid: String,
    pub component_secret: String,
    /// Message token (消息校验 Token).
    pub token: String,
    /// 43-char EncodingAESKey.
    pub encoding_aes_key: String,
    /// Where component pushes go, e.g. `http://127.0.0.1:8080/wechat/component/events`.
    pub gateway_events_url: Option<String>,
    /// The Mini Program an authorization page visit authorizes by default.
    pub default_authorizer_appid: String,
    /// Permission sets granted by default.
    pub default_func_ids: Vec<i64>,
    /// Lifetime of every access token (WeChat: 7200 s).
    pub token_ttl_secs: i64,
}

impl SimConfig {
    /// Fixed demo values, shared by the sandbox and tests.
    pub fn sandbox() -> Self {
        Self {
            component_appid: "wx5a5a5a5a5a5a5a5a".into(),
            component_secret: "sandbox-component-secret-0123456789".into(),
            token: "sandboxtoken".into(),
            encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
            gateway_events_url: None,
            default_authorizer_appid: "wx0123456789abcdef".into(),
            default_func_ids: vec![18, 45, 142],
            token_ttl_secs: 7200,
        }
    }
}
