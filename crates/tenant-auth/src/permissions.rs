//! Permission sets (funcscope_category ids) a Mini Program can grant. Names
//! from WeChat's permission-set page (protocol.md §8), for humans.

/// 小程序开发与数据分析: also allows the shipping-management APIs.
pub const DEVELOPMENT: i64 = 18;
/// 微信物流服务: logistics APIs.
pub const LOGISTICS: i64 = 45;
/// 小程序发货管理服务: the shipping-information management APIs.
pub const SHIPPING_MANAGEMENT: i64 = 142;
/// 插件管理: `/wxa/plugin` (applying for a plugin such as the
/// logistics-query plugin).
pub const PLUGIN_MANAGEMENT: i64 = 40;
/// 标准版交易组件 订单物流售后: also allows the logistics helper's APIs.
pub const TRADE_COMPONENT_ORDERS: i64 = 71;
/// 购物订单: with 121, the shopping-order APIs; also allows get_delivery_list.
pub const SHOPPING_ORDERS: i64 = 120;
/// 购物订单 (the second set WeChat's shopping-order pages list, "120、121").
pub const SHOPPING_ORDERS_2: i64 = 121;

/// The sets that allow the `/wxa/sec/order/*` APIs (either is enough).
pub const SHIPPING_SETS: &[i64] = &[SHIPPING_MANAGEMENT, DEVELOPMENT];
/// The sets that allow the logistics-query plugin's APIs (`trace_waybill`,
/// `query_trace`, `update_waybill_goods`): WeChat's pages list only 45.
pub const LOGISTICS_PLUGIN_SETS: &[i64] = &[LOGISTICS];
/// The sets that allow the logistics helper's APIs (物流助手: `order/add`,
/// `order/cancel`, `order/get`, `order/batchget`, `path/get`,
/// `account/getall`, `delivery/getall`): WeChat's pages list "45、71".
pub const LOGISTICS_HELPER_SETS: &[i64] = &[LOGISTICS, TRADE_COMPONENT_ORDERS];
/// The sets that allow `get_delivery_list`: WeChat's page lists "45、
/// 120-121、142".
pub const DELIVERY_LIST_SETS: &[i64] = &[
    LOGISTICS,
    SHOPPING_ORDERS,
    SHOPPING_ORDERS_2,
    SHIPPING_MANAGEMENT,
];
/// The set that allows `/wxa/plugin`.
pub const PLUGIN_MANAGEMENT_SETS: &[i64] = &[PLUGIN_MANAGEMENT];

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
        71 => {
            "Standard transaction component: orders, logistics, after-sales (标准版交易组件 订单物流售后)"
        }
        76 => "Violations and complaints (违规与交易投诉)",
        120 | 121 => "Shopping orders (购物订单)",
        142 => "Shipping information management (小程序发货管理服务)",
        171 => "Receive Mini Program messages (消息与事件)",
        _ => "Other permission set",
    }
}
