//! WeChat's paths, one constant each, used by the proxy's catalog, the
//! simulator's routes and tenant-auth's calls: one source for each path.

// Component (third-party platform) APIs, protocol.md §4–§7.
pub const START_PUSH_TICKET: &str = "/cgi-bin/component/api_start_push_ticket";
pub const COMPONENT_TOKEN: &str = "/cgi-bin/component/api_component_token";
pub const CREATE_PREAUTHCODE: &str = "/cgi-bin/component/api_create_preauthcode";
pub const QUERY_AUTH: &str = "/cgi-bin/component/api_query_auth";
pub const AUTHORIZER_TOKEN: &str = "/cgi-bin/component/api_authorizer_token";
pub const AUTHORIZER_LIST: &str = "/cgi-bin/component/api_get_authorizer_list";
pub const AUTHORIZER_INFO: &str = "/cgi-bin/component/api_get_authorizer_info";

// Shipping-information management (seeds 001–004).
pub const UPLOAD_SHIPPING_INFO: &str = "/wxa/sec/order/upload_shipping_info";
pub const GET_ORDER: &str = "/wxa/sec/order/get_order";
pub const UPLOAD_COMBINED_SHIPPING_INFO: &str = "/wxa/sec/order/upload_combined_shipping_info";
pub const GET_ORDER_LIST: &str = "/wxa/sec/order/get_order_list";
pub const NOTIFY_CONFIRM_RECEIVE: &str = "/wxa/sec/order/notify_confirm_receive";
pub const SET_MSG_JUMP_PATH: &str = "/wxa/sec/order/set_msg_jump_path";
pub const IS_TRADE_MANAGED: &str = "/wxa/sec/order/is_trade_managed";
pub const IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED: &str =
    "/wxa/sec/order/is_trade_management_confirmation_completed";
pub const OP_SPECIAL_ORDER: &str = "/wxa/sec/order/opspecialorder";

// The logistics-query plugin (物流查询插件).
pub const TRACE_WAYBILL: &str = "/cgi-bin/express/delivery/open_msg/trace_waybill";
pub const QUERY_TRACE: &str = "/cgi-bin/express/delivery/open_msg/query_trace";
/// The couriers a Mini Program may name (`express_company`).
pub const GET_DELIVERY_LIST: &str = "/cgi-bin/express/delivery/open_msg/get_delivery_list";
pub const UPDATE_WAYBILL_GOODS: &str = "/cgi-bin/express/delivery/open_msg/update_waybill_goods";

// The logistics helper (物流助手).
pub const GET_PATH: &str = "/cgi-bin/express/business/path/get";
pub const GET_WAYBILL_ORDER: &str = "/cgi-bin/express/business/order/get";
pub const ADD_WAYBILL_ORDER: &str = "/cgi-bin/express/business/order/add";
pub const CANCEL_WAYBILL_ORDER: &str = "/cgi-bin/express/business/order/cancel";
pub const BATCHGET_WAYBILL_ORDER: &str = "/cgi-bin/express/business/order/batchget";
pub const ACCOUNT_GETALL: &str = "/cgi-bin/express/business/account/getall";
pub const DELIVERY_GETALL: &str = "/cgi-bin/express/business/delivery/getall";

// Plugin management, and the authorization pages (mp.weixin.qq.com and
// open.weixin.qq.com).
pub const MANAGE_PLUGIN: &str = "/wxa/plugin";
/// PC authorization page (mp.weixin.qq.com).
pub const LOGIN_PAGE: &str = "/cgi-bin/componentloginpage";
/// Mobile authorization page, as the older doc and wechatpy spell it (mp.weixin.qq.com).
pub const MOBILE_PAGE: &str = "/safe/bindcomponent";
/// Mobile authorization page, as WxJava and the current doc spell it (open.weixin.qq.com).
pub const MOBILE_PAGE_WXAOPEN: &str = "/wxaopen/safe/bindcomponent";

/// Every WeChat API path above (not the authorization pages): what the
/// call log and its metrics name by path.
pub const API_PATHS: &[&str] = &[
    START_PUSH_TICKET,
    COMPONENT_TOKEN,
    CREATE_PREAUTHCODE,
    QUERY_AUTH,
    AUTHORIZER_TOKEN,
    AUTHORIZER_LIST,
    AUTHORIZER_INFO,
    UPLOAD_SHIPPING_INFO,
    GET_ORDER,
    UPLOAD_COMBINED_SHIPPING_INFO,
    GET_ORDER_LIST,
    NOTIFY_CONFIRM_RECEIVE,
    SET_MSG_JUMP_PATH,
    IS_TRADE_MANAGED,
    IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
    OP_SPECIAL_ORDER,
    TRACE_WAYBILL,
    QUERY_TRACE,
    GET_DELIVERY_LIST,
    UPDATE_WAYBILL_GOODS,
    GET_PATH,
    GET_WAYBILL_ORDER,
    ADD_WAYBILL_ORDER,
    CANCEL_WAYBILL_ORDER,
    BATCHGET_WAYBILL_ORDER,
    ACCOUNT_GETALL,
    DELIVERY_GETALL,
    MANAGE_PLUGIN,
];
