//! Logistics: the logistics-query plugin (seeds 000, 002) and the logistics
//! helper (seeds 001, 003).
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Header, Path},
    payload::Json,
};
use problem::Problem;
use wechat_api::{
    logistics::{
        GetPathRequest, GetPathResponse, GetWaybillOrderRequest, GetWaybillOrderResponse,
        QueryTraceRequest, QueryTraceResponse, TraceWaybillRequest, TraceWaybillResponse,
        UpdateWaybillGoodsRequest,
    },
    shipping::WechatAck,
};

use super::{ApiTags, typed};
use crate::{ProxyState, TenantApiKey, answer::Answer, catalog, passthrough::WechatJson};

pub struct LogisticsApi;

#[OpenApi(prefix_path = "/v1/apps")]
impl LogisticsApi {
    /// Register a waybill for tracking
    ///
    /// Logistics-query plugin `trace_waybill`: returns the `waybill_token` the Mini Program passes to the plugin. Counts against 100 000 calls/day per appid and 100/day per user (`openid`).
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
    /// Logistics helper `logistics.getPath`: the waybill's track nodes. Retried on `-1` and timeouts.
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
    /// Logistics helper `logistics.getOrder`: the waybill's print HTML (base64) and data. Retried on `-1` and timeouts.
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
}
