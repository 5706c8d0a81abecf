//! [`SimConfig`]: who the simulated platform is and how it behaves.
use std::time::Duration;

/// Default [`SimConfig::remind_shipping_after`]: 48 h (seed 004 IX:
/// "when the order has not been shipped for more than 48 hours"; counted
/// from payment as the 运营规范 puts it: "用户支付成功后,商家需要按约定发货时效进行发货,
/// 如无特殊约定普通商品需要在48小时内发货", quoted in community doc
/// developers.weixin.qq.com/community/develop/doc/000e0ceb08434876387499ead65400).
pub const REMIND_SHIPPING_AFTER: Duration = Duration::from_secs(48 * 3600);
/// Default [`SimConfig::auto_confirm_after`]: 10 days (see the field).
pub const AUTO_CONFIRM_AFTER: Duration = Duration::from_secs(10 * 24 * 3600);

/// The simulated third-party platform's identity and behaviour.
///
/// The gateway under test must be configured with the same `component_appid`,
/// `component_secret`, `token` and `encoding_aes_key`, exactly as a real
/// platform is configured with what the Open Platform console shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The third-party platform's appid (`wx` + 16 hex).
    pub component_appid: String,
    /// The platform's AppSecret (`component_appsecret` / `component_secret`).
    pub component_secret: String,
    /// Message token (消息校验 Token), used in `signature` and `msg_signature`.
    pub token: String,
    /// EncodingAESKey: 43 characters of `[A-Za-z0-9]`.
    pub encoding_aes_key: String,
    /// Where component pushes go (the 授权事件接收 URL), e.g.
    /// `http://127.0.0.1:8080/wechat/component/events`. `None`: pushes fail
    /// with [`crate::SimError::NoGateway`].
    pub gateway_events_url: Option<String>,
    /// Where Mini Program messages and events go (the 消息与事件接收 URL), a
    /// template in which `$APPID$` stands for the authorizer appid, e.g.
    /// `http://127.0.0.1:8080/wechat/apps/$APPID$/events` (protocol.md §10).
    /// `None`: app pushes fail with [`crate::SimError::NoAppGateway`].
    pub gateway_app_events_url: Option<String>,
    /// How long WeChat waits for each answer to an app push before it gives
    /// up on that try and retries (WeChat: 5 s). Tests shorten it.
    pub app_push_timeout: Duration,
    /// The Mini Program an authorization-page visit authorizes when neither
    /// `set_next_authorization` nor `biz_appid` says otherwise.
    pub default_authorizer_appid: String,
    /// Permission sets (funcscope_category ids) an authorization grants by
    /// default: 18 (development), 45 (logistics), 142 (shipping management).
    pub default_func_ids: Vec<i64>,
    /// Lifetime of every component and authorizer access token, in seconds
    /// (WeChat: 7200).
    pub token_ttl_secs: i64,
    /// Whether api_authorizer_token issues a new refresh token each time (the
    /// previous one then works for 5 more minutes). WeChat normally echoes
    /// the same one; this exercises the rotation path.
    pub rotate_refresh_tokens: bool,
    /// Calls a day each logistics-plugin API (`trace_waybill`, `query_trace`,
    /// `update_waybill_goods`) accepts from one appid before answering
    /// 9300513 (seed 000: 100 000). Days start at midnight Asia/Shanghai.
    pub logistics_appid_daily_quota: u64,
    /// Calls a day each logistics-plugin API accepts for one user (openid)
    /// of an appid before answering 9300513 (seed 000: 100).
    pub logistics_user_daily_quota: u64,
    /// How many times `update_waybill_goods` may change a waybill's goods;
    /// the next change is 9300560 (WeChat does not publish its limit).
    pub max_waybill_goods_updates: u32,
    /// The platform's 授权发起页域名 (authorization domain, a host name).
    /// When set, the authorization pages refuse, as WeChat does, a visit
    /// whose `Referer` is missing or on another host, and a `redirect_uri`
    /// on another host. `None` (only for unit tests of other things):
    /// no check.
    pub authorization_domain: Option<String>,
    /// Whether and when an approved authorization page also pushes
    /// `authorized` (or `updateauthorized`) to the gateway, as WeChat does.
    pub authorized_push: AuthorizedPush,
    /// How long a paid order may stay pending shipment, on the sim clock,
    /// before WeChat pushes `trade_manage_remind_shipping` for it, once
    /// (seed 004 IX: "when the order has not been shipped for more than 48
    /// hours"). The seed scopes it to "Once shipped Weixin Mini Program"
    /// (Mini Programs that have shipped before), which the simulator does not
    /// check: every Mini Program's orders get it. Checked whenever the sim
    /// clock is advanced. `None`: never.
    pub remind_shipping_after: Option<Duration>,
    /// How long after an order ships (the simulator recording its first
    /// complete upload, sim clock) receipt is confirmed automatically: the
    /// order moves to state 3 and `trade_manage_order_settlement` is pushed
    /// with `confirm_receive_method` 2. Ten days: WeChat's settlement rule
    /// for express shipments as platforms relay it ("快递物流:资金将于订单发货
    /// 后的第10天,系统自动确认收货后结算", CRMEB's summary of the 交易类小程序
    /// 运营规范, doc.crmeb.com/crmebjavalandmer/crmebjavamerv15/11827; the
    /// same page gives 2 days for same-city, pick-up and virtual shipments,
    /// which the simulator does not tell apart). WeChat's community says the
    /// same: "若使用快递物流,且用户未主动确认收货,结算时间为T+10(T为发货时间)",
    /// "若使用自提/同城配送/虚拟发货 … T+2" (an answer marked "本回答由AI生成",
    /// developers.weixin.qq.com/community/develop/doc/000688fc08c0380dcae3bb84562000).
    /// Checked whenever the sim clock is advanced. `None`: never.
    pub auto_confirm_after: Option<Duration>,
    /// Whether an order's first complete shipment pushes
    /// `trade_manage_order_settlement` with `estimated_settlement_time`
    /// (seed 004 IX: pushed "when the order is completed and shipped").
    pub settlement_push_on_shipping: bool,
}

/// When the authorization page's push is sent, relative to the browser's
/// redirect back with `auth_code`: WeChat gives no order, so tests pin each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizedPush {
    /// No push (a gateway that missed it; the redirect alone must do).
    Off,
    /// Pushed and acknowledged before the page redirects.
    BeforeRedirect,
    /// Pushed shortly after the page redirected.
    AfterRedirect,
}

impl SimConfig {
    /// Fixed demo values, shared by `tpgate sandbox`, the `wechat-sim` binary
    /// and tests. The key is the public WXBizMsgCrypt sample key: this
    /// configuration protects nothing and must never be used against WeChat.
    pub fn sandbox() -> Self {
        Self {
            component_appid: "wx5a5a5a5a5a5a5a5a".into(),
            component_secret: "sandbox-component-secret-0123456789".into(),
            token: "sandboxtoken".into(),
            encoding_aes_key: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG".into(),
            gateway_events_url: None,
            gateway_app_events_url: None,
            app_push_timeout: Duration::from_secs(5),
            default_authorizer_appid: "wx0123456789abcdef".into(),
            default_func_ids: vec![18, 45, 142],
            token_ttl_secs: 7200,
            rotate_refresh_tokens: false,
            logistics_appid_daily_quota: 100_000,
            logistics_user_daily_quota: 100,
            max_waybill_goods_updates: 3,
            authorization_domain: None,
            authorized_push: AuthorizedPush::AfterRedirect,
            remind_shipping_after: Some(REMIND_SHIPPING_AFTER),
            auto_confirm_after: Some(AUTO_CONFIRM_AFTER),
            settlement_push_on_shipping: true,
        }
    }
}

impl Default for SimConfig {
    /// Same as [`SimConfig::sandbox`].
    fn default() -> Self {
        Self::sandbox()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_values_are_well_formed() {
        let c = SimConfig::sandbox();
        assert!(c.component_appid.starts_with("wx") && c.component_appid.len() == 18);
        assert_eq!(c.encoding_aes_key.len(), 43);
        assert!(
            c.encoding_aes_key
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric())
        );
        wxcrypt::MsgCrypt::new(&c.token, &c.encoding_aes_key, &c.component_appid)
            .expect("the sandbox key is a valid EncodingAESKey");
    }
}
