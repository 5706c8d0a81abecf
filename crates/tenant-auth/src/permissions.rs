//! Permission sets (funcscope_category ids) a Mini Program can grant. Names
//! from WeChat's permission-set page (protocol.md §8), for humans.

/// 小程序开发与数据分析: also allows the shipping-management APIs.
pub const DEVELOPMENT: i64 = 18;
/// 微信物流服务: logistics APIs.
pub const LOGISTICS: i64 = 45;
/// 小程序发货管理服务: the shipping-information management APIs.
pub const SHIPPING_MANAGEMENT: i64 = 142;

/// The sets that allow the `/wxa/sec/order/*` APIs (either is enough).
pub const SHIPPING_SETS: &[i64] = &[SHIPPING_MANAGEMENT, DEVELOPMENT];

pub fn name(id: i64) -> &'static str {
    match id {
        17 => "Mini Program code (获取小程序码)",
        18 => "Development and data analysis (小程序开发与数据分析)",
        19 => "Customer service (客服管理)",
        25 => "Open Platform account management (开放平台账号管理)",
        30 => "Basic information (基本信息管理)",
        31 => "Verified name check (认证名称检测)",
        40 => "Plugin management (插件管理)",
        45 => "WeChat logistics (微信物流服务)",
        49 => "Cloud development (云开发)",
        51 => "Same-city delivery (即时配送)",
        52 => "Live streaming (直播)",
        65 => "Advertising (广告)",
        76 => "Violations and complaints (违规与交易投诉)",
        142 => "Shipping information management (小程序发货管理服务)",
        171 => "Receive Mini Program messages (消息与事件)",
        _ => "Other permission set",
    }
}
