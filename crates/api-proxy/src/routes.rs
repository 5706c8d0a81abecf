//! The proxied WeChat APIs as data: path, permission sets, whether it writes.
//! Operators will be able to override the sets (admin API); these are the
//! documented defaults (DESIGN.md "Permission sets").
use tenant_auth::permissions::SHIPPING_SETS;

#[derive(Debug, Clone, Copy)]
pub struct WechatRoute {
    /// WeChat's path, also the suffix of ours under `/v1/apps/{appid}`.
    pub path: &'static str,
    /// Holding any one of these funcscope ids allows the call.
    pub allowed_sets: &'static [i64],
    /// Writes are never retried blindly: a payment order has one re-shipment.
    pub is_write: bool,
}

pub const UPLOAD_SHIPPING_INFO: WechatRoute = WechatRoute {
    path: "/wxa/sec/order/upload_shipping_info",
    allowed_sets: SHIPPING_SETS,
    is_write: true,
};

pub const GET_ORDER: WechatRoute = WechatRoute {
    path: "/wxa/sec/order/get_order",
    allowed_sets: SHIPPING_SETS,
    is_write: false,
};
