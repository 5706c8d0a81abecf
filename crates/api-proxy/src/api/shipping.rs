//! Shipping-information management (`/wxa/sec/order/*`, seed 004).
use poem::web::Data;
use poem_openapi::{
    OpenApi,
    param::{Header, Path},
    payload::Json,
};
use problem::Problem;
use wechat_api::shipping::{
    GetOrderListRequest, GetOrderListResponse, GetOrderRequest, GetOrderResponse,
    IsTradeManagedResponse, NotifyConfirmReceiveRequest, OpSpecialOrderRequest,
    SetMsgJumpPathRequest, TradeManagedRequest, TradeManagementConfirmationResponse,
    UploadCombinedShippingInfoRequest, UploadShippingInfoRequest, WechatAck,
};

use super::{ApiTags, typed, typed_watched};
use crate::{
    ProxyState, TenantApiKey, answer::Answer, catalog, reshipment, wechat_json::WechatJson,
};

pub struct ShippingApi;

#[OpenApi(prefix_path = "/v1/apps")]
impl ShippingApi {
    /// Upload shipping information for a payment order
    ///
    /// WeChat's `upload_shipping_info`, body in WeChat's shape. Checked locally against the seed rules first (a 400 names the field and the errcode it prevents). A payment order may be re-shipped once; the third upload is a 409 with `wechat_errcode` 10060003. Never retried automatically; send an `Idempotency-Key` to make repeats safe.
    #[oai(
        path = "/:appid/wxa/sec/order/upload_shipping_info",
        method = "post",
        operation_id = "upload_shipping_info",
        tag = "ApiTags::Shipping"
    )]
    async fn upload_shipping_info(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        /// `true` confirms a re-shipment: a second upload for a payment order tpgate already uploaded, which spends its one re-shipment. Without it such an upload is a 409 `reshipment_requires_confirmation` (unless the tenant switched the guard off), whatever the Idempotency-Key. A confirmed re-shipment's answer carries `Tpgate-Reshipment: last`.
        #[oai(name = "Tpgate-Confirm-Reshipment")]
        confirm_reshipment: Header<Option<String>>,
        body: Json<WechatJson<UploadShippingInfoRequest>>,
    ) -> Result<Answer<WechatAck>, Problem> {
        let mut body = body.0;
        let filled =
            reshipment::fill_upload_time(&mut body.typed, &mut body.raw, state.auth.clock().now());
        let confirmed = reshipment::confirms(confirm_reshipment.0.as_deref());
        let shipment = reshipment::shipment_of(&body.typed, confirmed);
        let answer = typed_watched(
            &state,
            &auth.0,
            &appid,
            catalog::UPLOAD_SHIPPING_INFO,
            body,
            idempotency_key.0,
            shipment,
        )
        .await?;
        Ok(match filled {
            Some(at) => answer.with_headers(vec![(reshipment::FILLED_UPLOAD_TIME_HEADER, at)]),
            None => answer,
        })
    }

    /// Upload shipping information for a combined payment order
    ///
    /// WeChat's `upload_combined_shipping_info`: the main order and its sub-orders, each sub-order with the same order-number type as the main order and no sub-order twice. Never retried automatically; send an `Idempotency-Key` to make repeats safe.
    #[oai(
        path = "/:appid/wxa/sec/order/upload_combined_shipping_info",
        method = "post",
        operation_id = "upload_combined_shipping_info",
        tag = "ApiTags::Shipping"
    )]
    async fn upload_combined_shipping_info(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<UploadCombinedShippingInfoRequest>>,
    ) -> Result<Answer<WechatAck>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::UPLOAD_COMBINED_SHIPPING_INFO,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Get a payment order's shipping state
    ///
    /// WeChat's `get_order`: by `transaction_id`, or `merchant_id` + `merchant_trade_no`. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/wxa/sec/order/get_order",
        method = "post",
        operation_id = "get_order",
        tag = "ApiTags::Shipping"
    )]
    async fn get_order(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<GetOrderRequest>>,
    ) -> Result<Answer<GetOrderResponse>, Problem> {
        typed(&state, &auth.0, &appid, catalog::GET_ORDER, body.0, None).await
    }

    /// List payment orders
    ///
    /// WeChat's `get_order_list`, filtered by payment time, order state or payer; page with `last_index` while `has_more` is true. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/wxa/sec/order/get_order_list",
        method = "post",
        operation_id = "get_order_list",
        tag = "ApiTags::Shipping"
    )]
    async fn get_order_list(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<GetOrderListRequest>>,
    ) -> Result<Answer<GetOrderListResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::GET_ORDER_LIST,
            body.0,
            None,
        )
        .await
    }

    /// Remind the user to confirm receipt
    ///
    /// WeChat's `notify_confirm_receive`: once per order, only after express shipping, with `received_time` after the shipping time. Never retried automatically.
    #[oai(
        path = "/:appid/wxa/sec/order/notify_confirm_receive",
        method = "post",
        operation_id = "notify_confirm_receive",
        tag = "ApiTags::Shipping"
    )]
    async fn notify_confirm_receive(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<NotifyConfirmReceiveRequest>>,
    ) -> Result<Answer<WechatAck>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::NOTIFY_CONFIRM_RECEIVE,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Set the jump path of shipping messages
    ///
    /// WeChat's `set_msg_jump_path`: the Mini Program page that shipping and confirm-receipt messages open.
    #[oai(
        path = "/:appid/wxa/sec/order/set_msg_jump_path",
        method = "post",
        operation_id = "set_msg_jump_path",
        tag = "ApiTags::Shipping"
    )]
    async fn set_msg_jump_path(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<SetMsgJumpPathRequest>>,
    ) -> Result<Answer<WechatAck>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::SET_MSG_JUMP_PATH,
            body.0,
            idempotency_key.0,
        )
        .await
    }

    /// Is the shipping-management service open for a Mini Program
    ///
    /// WeChat's `is_trade_managed`. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/wxa/sec/order/is_trade_managed",
        method = "post",
        operation_id = "is_trade_managed",
        tag = "ApiTags::Shipping"
    )]
    async fn is_trade_managed(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<TradeManagedRequest>>,
    ) -> Result<Answer<IsTradeManagedResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::IS_TRADE_MANAGED,
            body.0,
            None,
        )
        .await
    }

    /// Has the Mini Program completed trade-management confirmation
    ///
    /// WeChat's `is_trade_management_confirmation_completed`. Retried on `-1` and timeouts.
    #[oai(
        path = "/:appid/wxa/sec/order/is_trade_management_confirmation_completed",
        method = "post",
        operation_id = "is_trade_management_confirmation_completed",
        tag = "ApiTags::Shipping"
    )]
    async fn is_trade_management_confirmation_completed(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        body: Json<WechatJson<TradeManagedRequest>>,
    ) -> Result<Answer<TradeManagementConfirmationResponse>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
            body.0,
            None,
        )
        .await
    }

    /// Report a special shipment (pre-sale or test order)
    ///
    /// WeChat's `opspecialorder`: type 1 (pre-sale) needs `delay_to` 15 to 330 days after payment; type 2 (test order) takes none. Never retried automatically.
    #[oai(
        path = "/:appid/wxa/sec/order/opspecialorder",
        method = "post",
        operation_id = "opspecialorder",
        tag = "ApiTags::Shipping"
    )]
    async fn opspecialorder(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// The authorized Mini Program's appid.
        appid: Path<String>,
        /// Makes repeats safe: the first answer is stored for 24 h and replayed; the same key with another body is a 422.
        #[oai(name = "Idempotency-Key")]
        idempotency_key: Header<Option<String>>,
        body: Json<WechatJson<OpSpecialOrderRequest>>,
    ) -> Result<Answer<WechatAck>, Problem> {
        typed(
            &state,
            &auth.0,
            &appid,
            catalog::OPSPECIALORDER,
            body.0,
            idempotency_key.0,
        )
        .await
    }
}
