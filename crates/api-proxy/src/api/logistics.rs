//! Logistics: the logistics-query plugin (seeds 000, 002), applying for it
//! (`/wxa/plugin`), and the logistics helper's waybill lifecycle (物流助手:
//! seeds 001, 003 and WeChat's current pages).
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Header, Path},
    payload::Json,
};
use problem::Problem;
use wechat_api::{
    couriers::{GetDeliveryListRequest, GetDeliveryListResponse},
    logistics::{
        AddWaybillOrderRequest, AddWaybillOrderResponse, BatchGetWaybillOrderRequest,
        BatchGetWaybillOrderResponse, CancelWaybillOrderRequest, CancelWaybillOrderResponse,
        GetAllAccountResponse, GetAllDeliveryResponse, GetPathRequest, GetPathResponse,
        GetWaybillOrderRequest, GetWaybillOrderResponse, ManagePluginRequest, ManagePluginResponse,
        QueryTraceRequest, QueryTraceResponse, TraceWaybillRequest, TraceWaybillResponse,
        UpdateWaybillGoodsRequest,
    },
    shipping::WechatAck,
};

use super::{ApiTags, typed, typed_get};
use crate::{ProxyState, TenantApiKey, answer::Answer, catalog, wechat_json::WechatJson};

pub struct LogisticsApi;

#[OpenApi(prefix_path = "/v1/apps")]
impl LogisticsApi {
    /// Register a waybill for tracking
    ///
    /// Logistics-query plugin `trace_waybill`: returns a new `waybill_token` (also for a waybill traced before) that the Mini Program passes to the plugin. Needs the plugin opened for the Mini Program (else 403 with `wechat_errcode` 48001; see `manage_plugin`). Counts against 100 000 calls/day per appid and 100/day per user (`openid`), the plugin's three APIs together. `trans_id` is optional.
    #[oai(
        path = "/:appid/cgi-bin/express/delivery/open_msg/trace_waybill",
        method = "post",
        operation_id = "trace_waybill",
        tag = "ApiTags::Logistics"
    )]
    async fn trace_waybill(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<TraceWaybillRequest>>,
    ) -> Result<Answer<TraceWaybillResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::TRACE_WAYBILL,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Query a tracked waybill
    ///
    /// Logistics-query plugin `query_trace` by `waybill_token`. Counts against the plugin's limits (per appid, and per user when `openid` is given). Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/delivery/open_msg/query_trace",
        method = "post",
        operation_id = "query_trace",
        tag = "ApiTags::Logistics"
    )]
    async fn query_trace(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<QueryTraceRequest>>,
    ) -> Result<Answer<QueryTraceResponse>, Problem> {
        typed(&state, &auth.0, &appid, catalog::QUERY_TRACE, body.0, None).await
    }

    /// List WeChat's couriers (运力 id)
    ///
    /// `get_delivery_list`: every courier code (`delivery_id`) and name that `upload_shipping_info`'s `express_company` and `trace_waybill`'s `delivery_id` take. tpgate keeps this list cached for its own checks (see `GET /v1/couriers`); this endpoint asks WeChat. Permission set 45, 120, 121 or 142. Body `{}`. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/delivery/open_msg/get_delivery_list",
        method = "post",
        operation_id = "get_delivery_list",
        tag = "ApiTags::Logistics"
    )]
    async fn get_delivery_list(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<GetDeliveryListRequest>>,
    ) -> Result<Answer<GetDeliveryListResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::GET_DELIVERY_LIST,
            body.0,
            None,
        )
        .await
    }

    /// Update a tracked waybill's goods
    ///
    /// Logistics-query plugin `update_waybill_goods`; WeChat allows a limited number of modifications (then 409 with `wechat_errcode` 9300560). Never retried automatically.
    #[oai(
        path = "/:appid/cgi-bin/express/delivery/open_msg/update_waybill_goods",
        method = "post",
        operation_id = "update_waybill_goods",
        tag = "ApiTags::Logistics"
    )]
    async fn update_waybill_goods(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<UpdateWaybillGoodsRequest>>,
    ) -> Result<Answer<WechatAck>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::UPDATE_WAYBILL_GOODS,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Get a waybill's track
    ///
    /// Logistics helper `logistics.getPath`: the track nodes of a waybill the helper's `order/add` created (a waybill registered with `trace_waybill` is the query plugin's: read it with `query_trace`). Permission set 45 or 71. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/business/path/get",
        method = "post",
        operation_id = "get_path",
        tag = "ApiTags::Logistics"
    )]
    async fn get_path(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<GetPathRequest>>,
    ) -> Result<Answer<GetPathResponse>, Problem> {
        typed(&state, &auth.0, &appid, catalog::GET_PATH, body.0, None).await
    }

    /// Get a waybill's print data
    ///
    /// Logistics helper `logistics.getOrder`: the print HTML (base64) and data of a waybill the helper's `order/add` created, by the merchant's `order_id` and `delivery_id`. Permission set 45 or 71. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/business/order/get",
        method = "post",
        operation_id = "get_waybill_order",
        tag = "ApiTags::Logistics"
    )]
    async fn get_waybill_order(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<GetWaybillOrderRequest>>,
    ) -> Result<Answer<GetWaybillOrderResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::GET_WAYBILL_ORDER,
            body.0,
            None,
        )
        .await
    }

    /// Create a waybill
    ///
    /// Logistics helper `logistics.addOrder`: books a courier for the merchant's `order_id` and returns the `waybill_id`; `path/get`, `order/get` and `order/cancel` then find it by `order_id`, `delivery_id` and `waybill_id`. Permission set 45 or 71. Never retried automatically.
    #[oai(
        path = "/:appid/cgi-bin/express/business/order/add",
        method = "post",
        operation_id = "add_waybill_order",
        tag = "ApiTags::Logistics"
    )]
    async fn add_waybill_order(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<AddWaybillOrderRequest>>,
    ) -> Result<Answer<AddWaybillOrderResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::ADD_WAYBILL_ORDER,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Cancel a waybill
    ///
    /// Logistics helper `logistics.cancelOrder`: cancels a waybill `order/add` created, before the courier collects it. Permission set 45 or 71. Never retried automatically.
    #[oai(
        path = "/:appid/cgi-bin/express/business/order/cancel",
        method = "post",
        operation_id = "cancel_waybill_order",
        tag = "ApiTags::Logistics"
    )]
    async fn cancel_waybill_order(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<CancelWaybillOrderRequest>>,
    ) -> Result<Answer<CancelWaybillOrderResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::CANCEL_WAYBILL_ORDER,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Get the print data of several waybills
    ///
    /// Logistics helper `logistics.batchGetOrder`: up to 100 waybills `order/add` created, each answered with its own errcode. Permission set 45 or 71. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/business/order/batchget",
        method = "post",
        operation_id = "batch_get_waybill_orders",
        tag = "ApiTags::Logistics"
    )]
    async fn batch_get_waybill_orders(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<BatchGetWaybillOrderRequest>>,
    ) -> Result<Answer<BatchGetWaybillOrderResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::BATCHGET_WAYBILL_ORDER,
            body.0,
            None,
        )
        .await
    }

    /// List the bound courier accounts
    ///
    /// Logistics helper `logistics.getAllAccount` (a WeChat `GET`): the courier accounts the Mini Program has bound, whose `biz_id` `order/add` takes. Permission set 45 or 71. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/business/account/getall",
        method = "get",
        operation_id = "list_logistics_accounts",
        tag = "ApiTags::Logistics"
    )]
    async fn list_logistics_accounts(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
    ) -> Result<Answer<GetAllAccountResponse>, Problem> {
        typed_get(&state, &auth.0, &appid, catalog::ACCOUNT_GETALL).await
    }

    /// List the helper's couriers
    ///
    /// Logistics helper `logistics.getAllDelivery` (a WeChat `GET`): the couriers the helper supports, with their `delivery_id` (JD Logistics is `JDL`). Permission set 45 or 71. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/cgi-bin/express/business/delivery/getall",
        method = "get",
        operation_id = "list_logistics_deliveries",
        tag = "ApiTags::Logistics"
    )]
    async fn list_logistics_deliveries(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
    ) -> Result<Answer<GetAllDeliveryResponse>, Problem> {
        typed_get(&state, &auth.0, &appid, catalog::DELIVERY_GETALL).await
    }

    /// Apply for, list or remove a plugin
    ///
    /// Plugin management `/wxa/plugin`: `apply` for the logistics-query plugin (`plugin_appid` `wx9ad912bf20548d92`) opens `trace_waybill`, `query_trace` and `update_waybill_goods` for the Mini Program; also `list`, `unbind`, `update`. Permission set 40. Never retried automatically.
    #[oai(
        path = "/:appid/wxa/plugin",
        method = "post",
        operation_id = "manage_plugin",
        tag = "ApiTags::Logistics"
    )]
    async fn manage_plugin(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<ManagePluginRequest>>,
    ) -> Result<Answer<ManagePluginResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::MANAGE_PLUGIN,
            body.0,
            idempotency_key.0,
        )
        .await
    }
}
