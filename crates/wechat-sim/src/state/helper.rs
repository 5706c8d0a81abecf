//! The logistics helper (物流助手 / 批量下单, `/cgi-bin/express/business/*`),
//! with permission set 45 or 71: waybills created by `order/add` and read
//! back by `order/get`, `order/batchget` and `path/get`, cancelled by
//! `order/cancel`; the courier list (`delivery/getall`) and the Mini
//! Program's bound courier accounts (`account/getall`).
//!
//! # Waybills
//! `order/add` checks the rules (shared with the proxy through `wechat-api`),
//! that the courier is in [`DELIVERIES`] (9300503) and that `biz_id` is the
//! courier's cash code or an account the Mini Program bound with it (else
//! the courier refuses: 9300501), then that no waybill of the appid has the
//! same (`order_id`, `delivery_id`) (9300522 `this orderid is repeated`). It
//! issues a `waybill_id` and stores the waybill by (`order_id`,
//! `delivery_id`).
//!
//! Only those waybills exist here: `path/get` finds one by (`delivery_id`,
//! `waybill_id`), `order/get` and `order/cancel` by (`order_id`,
//! `delivery_id`) and, when given, `waybill_id`; anything else is 40199
//! `waybill_id not found`, also for a waybill registered with the query
//! plugin's `trace_waybill` (a different product; see `logistics`).
//!
//! The parcel travels on the sim clock like the plugin's ([`super::JOURNEY`]),
//! from `order/add`: once collected (1 h) it can no longer be cancelled
//! (9300506); a cancelled waybill answers `order_status` 1 and its track
//! ends with 400001 (order cancelled); cancelling twice is 9300524.
//!
//! # Sources
//! The APIs, their fields and the sets 45 and 71: WeChat's pages
//! `express/express-by-business/api_{addorder,cancelorder,getorder,
//! batchgetorder,getpath,getallaccount,getalldelivery}` (getall* are GET).
//! The errcodes 9300501, 9300503, 9300506, 9300522 and 9300524: the error
//! table of the same family's legacy pages (`logistics.addOrder`,
//! `logistics.cancelOrder`). 40199 for a waybill the helper does not know:
//! WeChat staff answers on `getPath` in the developer community. Where the
//! pages and the SDKs disagree (whether `shop`, contact names and cargo
//! dimensions are required) no rule is made: WeChat decides.
use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::Serialize;
use wechat_api::{
    Validate, errcode as ec,
    logistics::{
        AddWaybillOrderRequest, AddWaybillOrderResponse, BatchGetWaybillOrderRequest,
        BatchGetWaybillOrderResponse, CancelWaybillOrderRequest, CancelWaybillOrderResponse,
        DeliveryCompany, DeliveryService, GetAllAccountResponse, GetAllDeliveryResponse,
        GetPathRequest, GetPathResponse, GetWaybillOrderRequest, GetWaybillOrderResponse,
        LogisticsAccount, PathItem, WaybillDataItem, account_status, action_type, waybill_status,
    },
};

use super::{
    State, WxError, WxResult,
    logistics::{journey_status, journey_track},
};

/// Permission sets that allow the helper's APIs (WeChat's pages: "该接口所属
/// 的权限集 id 为:45、71"): either one.
pub const HELPER_FUNC_IDS: [i64; 2] = [45, 71];

/// The couriers the simulator knows, as (`delivery_id`, name, cash
/// `biz_id`): the helper's `delivery/getall`, and the names the query
/// plugin shows. JD Logistics is `JDL` in WeChat's lists, not `JD`.
pub const DELIVERIES: [(&str, &str, Option<&str>); 10] = [
    ("SF", "顺丰速运", Some("SF_CASH")),
    ("ZTO", "中通快递", None),
    ("YTO", "圆通速递", None),
    ("STO", "申通快递", None),
    ("YD", "韵达快递", None),
    ("JTSD", "极兔速递", None),
    ("EMS", "中国邮政速递物流", None),
    ("JDL", "京东物流", None),
    ("DHL", "DHL", None),
    ("KYSY", "跨越速运", None),
];

/// The courier account every Mini Program has bound in the simulator, as
/// (`delivery_id`, `biz_id`): `account/getall` lists it and `order/add`
/// accepts its `biz_id` (besides SF's cash code `SF_CASH`).
pub const BOUND_ACCOUNT: (&str, &str) = ("YTO", "YTO_SIM_ACCOUNT");

/// The name of a `delivery_id` of [`DELIVERIES`].
pub fn delivery_name(delivery_id: &str) -> Option<&'static str> {
    DELIVERIES
        .iter()
        .find(|(id, ..)| *id == delivery_id)
        .map(|(_, name, _)| *name)
}

/// A helper waybill as the simulator holds it (for tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SimHelperWaybill {
    pub appid: String,
    pub order_id: String,
    pub delivery_id: String,
    pub waybill_id: String,
    pub biz_id: String,
    pub openid: Option<String>,
    /// `order/add` time (sim clock).
    pub created_at: i64,
    /// `order/cancel` time, if cancelled.
    pub cancelled_at: Option<i64>,
    /// The waybill status on the journey (seed 000's values).
    pub status: i64,
}

#[derive(Debug, Clone)]
struct HelperWaybill {
    appid: String,
    order_id: String,
    delivery_id: String,
    waybill_id: String,
    biz_id: String,
    openid: Option<String>,
    /// Goods names, for the label.
    goods: Vec<String>,
    created_at: i64,
    cancelled_at: Option<i64>,
}

impl HelperWaybill {
    /// The journey status at `now`; a cancelled waybill stops where it was.
    fn status(&self, now: i64) -> i64 {
        journey_status(self.created_at, self.cancelled_at.unwrap_or(now), None)
    }

    /// The track nodes `path/get` answers at `now`.
    fn track(&self, now: i64) -> Vec<PathItem> {
        match self.cancelled_at {
            None => journey_track(self.created_at, now, None),
            Some(at) => {
                let mut nodes = journey_track(self.created_at, at, None);
                nodes.push(PathItem {
                    action_time: at,
                    action_type: action_type::ORDER_CANCELLED,
                    action_msg: "订单已取消".to_owned(),
                });
                nodes
            }
        }
    }

    fn view(&self, now: i64) -> SimHelperWaybill {
        SimHelperWaybill {
            appid: self.appid.clone(),
            order_id: self.order_id.clone(),
            delivery_id: self.delivery_id.clone(),
            waybill_id: self.waybill_id.clone(),
            biz_id: self.biz_id.clone(),
            openid: self.openid.clone(),
            created_at: self.created_at,
            cancelled_at: self.cancelled_at,
            status: self.status(now),
        }
    }

    /// What `order/get` answers for it.
    fn order_answer(&self) -> GetWaybillOrderResponse {
        let carrier = delivery_name(&self.delivery_id).unwrap_or(&self.delivery_id);
        let goods: Vec<String> = self
            .goods
            .iter()
            .map(|g| format!("<li>{}</li>", html_escape(g)))
            .collect();
        let html = format!(
            "<html><body><h1>{}</h1><p>运单号 {}</p><p>订单号 {}</p><ul>{}</ul></body></html>",
            html_escape(carrier),
            html_escape(&self.waybill_id),
            html_escape(&self.order_id),
            goods.concat()
        );
        GetWaybillOrderResponse {
            errcode: 0,
            errmsg: "ok".into(),
            print_html: STANDARD.encode(html),
            waybill_data: waybill_data(&self.delivery_id),
            delivery_id: self.delivery_id.clone(),
            order_id: self.order_id.clone(),
            waybill_id: self.waybill_id.clone(),
            order_status: i64::from(self.cancelled_at.is_some()),
        }
    }
}

/// The label data WeChat's example shows, keyed by courier.
fn waybill_data(delivery_id: &str) -> Vec<WaybillDataItem> {
    vec![
        WaybillDataItem {
            key: format!("{delivery_id}_bagAddr"),
            value: "广州".into(),
        },
        WaybillDataItem {
            key: format!("{delivery_id}_mark"),
            value: "101- 07-03 509".into(),
        },
    ]
}

fn html_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

fn waybill_not_found() -> WxError {
    WxError::new(
        ec::WAYBILL_ID_NOT_FOUND,
        "waybill_id not found: no waybill created by order/add matches",
    )
}

/// The helper part of [`State`].
#[derive(Debug, Default)]
pub(super) struct Helper {
    /// (appid, order_id, delivery_id) → waybill.
    waybills: HashMap<(String, String, String), HelperWaybill>,
    /// Waybills issued so far: numbers the waybill ids.
    seq: u64,
}

impl State {
    /// The appid behind an authorizer token (41001/40001/42001) that
    /// granted permission set 45 or 71 (61007).
    pub fn helper_caller(&self, token: Option<&str>) -> WxResult<String> {
        self.authorizer_caller(token, &HELPER_FUNC_IDS)
    }

    /// `appid`'s waybill by (`order_id`, `delivery_id`) whose waybill id is
    /// `waybill_id` when given, else 40199.
    fn helper_waybill(
        &self,
        appid: &str,
        order_id: &str,
        delivery_id: &str,
        waybill_id: Option<&str>,
    ) -> WxResult<&HelperWaybill> {
        let key = (
            appid.to_owned(),
            order_id.trim().to_owned(),
            delivery_id.trim().to_owned(),
        );
        self.helper
            .waybills
            .get(&key)
            .filter(|w| {
                waybill_id
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .is_none_or(|id| id == w.waybill_id)
            })
            .ok_or_else(waybill_not_found)
    }

    /// `order/add` for `appid` (module docs).
    pub fn add_waybill_order(
        &mut self,
        appid: &str,
        req: &AddWaybillOrderRequest,
    ) -> WxResult<AddWaybillOrderResponse> {
        req.validate()?;
        let delivery_id = req.delivery_id.trim();
        let Some((_, _, cash)) = DELIVERIES.iter().find(|(id, ..)| *id == delivery_id) else {
            return Err(WxError::new(
                ec::DELIVERY_ID_NOT_FOUND,
                format!("delivery_id {delivery_id:?} is not a courier of the logistics helper"),
            ));
        };
        let biz_id = req.biz_id.trim();
        if *cash != Some(biz_id) && BOUND_ACCOUNT != (delivery_id, biz_id) {
            return Err(WxError::new(
                ec::DELIVERY_LOGIC_FAIL,
                format!(
                    "delivery logic fail: biz_id {biz_id:?} is neither {delivery_id}'s cash code nor an account bound with it"
                ),
            ));
        }
        let key = (
            appid.to_owned(),
            req.order_id.trim().to_owned(),
            delivery_id.to_owned(),
        );
        if self.helper.waybills.contains_key(&key) {
            return Err(WxError::new(
                ec::ORDER_ID_REPEATED,
                "this orderid is repeated",
            ));
        }
        self.helper.seq += 1;
        let waybill_id = format!("{delivery_id}{:013}", self.helper.seq);
        let mut goods: Vec<String> = req
            .cargo
            .detail_list
            .iter()
            .flatten()
            .map(|i| i.name.clone())
            .collect();
        if let Some(shop) = &req.shop {
            goods.extend(shop.goods_name.clone());
            goods.extend(
                shop.detail_list
                    .iter()
                    .flatten()
                    .map(|g| g.goods_name.clone()),
            );
        }
        let waybill = HelperWaybill {
            appid: appid.to_owned(),
            order_id: key.1.clone(),
            delivery_id: delivery_id.to_owned(),
            waybill_id: waybill_id.clone(),
            biz_id: biz_id.to_owned(),
            openid: req
                .openid
                .as_deref()
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned),
            goods,
            created_at: self.now(),
            cancelled_at: None,
        };
        self.helper.waybills.insert(key, waybill);
        Ok(AddWaybillOrderResponse {
            errcode: 0,
            errmsg: "ok".into(),
            order_id: req.order_id.trim().to_owned(),
            waybill_id,
            delivery_resultcode: 0,
            delivery_resultmsg: String::new(),
            waybill_data: waybill_data(delivery_id),
        })
    }

    /// `order/cancel` for `appid`: the rules, the waybill (40199), not yet
    /// cancelled (9300524) nor collected (9300506).
    pub fn cancel_waybill_order(
        &mut self,
        appid: &str,
        req: &CancelWaybillOrderRequest,
    ) -> WxResult<CancelWaybillOrderResponse> {
        req.validate()?;
        let now = self.now();
        let key = self
            .helper_waybill(
                appid,
                &req.order_id,
                &req.delivery_id,
                Some(&req.waybill_id),
            )
            .map(|w| (w.appid.clone(), w.order_id.clone(), w.delivery_id.clone()))?;
        let waybill = self
            .helper
            .waybills
            .get_mut(&key)
            .ok_or_else(waybill_not_found)?;
        if waybill.cancelled_at.is_some() {
            return Err(WxError::new(
                ec::CANCEL_FAILED,
                "cancel order failed: the waybill is already cancelled",
            ));
        }
        if waybill.status(now) != waybill_status::NOT_COLLECTED {
            return Err(WxError::new(
                ec::WAYBILL_HAS_TRACE,
                "the waybill already has a track and cannot be cancelled",
            ));
        }
        waybill.cancelled_at = Some(now);
        Ok(CancelWaybillOrderResponse {
            errcode: 0,
            errmsg: "ok".into(),
            delivery_resultcode: 0,
            delivery_resultmsg: String::new(),
        })
    }

    /// `path/get` for `appid`: the rules, then the track of its helper
    /// waybill (`delivery_id`, `waybill_id`), else 40199.
    pub fn get_path(&self, appid: &str, req: &GetPathRequest) -> WxResult<GetPathResponse> {
        req.validate()?;
        let (delivery_id, waybill_id) = (req.delivery_id.trim(), req.waybill_id.trim());
        let waybill = self
            .helper
            .waybills
            .values()
            .find(|w| {
                w.appid == appid && w.delivery_id == delivery_id && w.waybill_id == waybill_id
            })
            .ok_or_else(waybill_not_found)?;
        let path_item_list = waybill.track(self.now());
        Ok(GetPathResponse {
            errcode: 0,
            errmsg: "ok".into(),
            openid: req
                .openid
                .clone()
                .or_else(|| waybill.openid.clone())
                .unwrap_or_default(),
            delivery_id: waybill.delivery_id.clone(),
            waybill_id: waybill.waybill_id.clone(),
            path_item_num: path_item_list.len() as i64,
            path_item_list,
        })
    }

    /// `order/get` for `appid`: the rules, then the print data of its helper
    /// waybill (`order_id`, `delivery_id`, and `waybill_id` when given), else
    /// 40199. `order_status` 1 once cancelled.
    pub fn get_waybill_order(
        &self,
        appid: &str,
        req: &GetWaybillOrderRequest,
    ) -> WxResult<GetWaybillOrderResponse> {
        req.validate()?;
        Ok(self
            .helper_waybill(
                appid,
                &req.order_id,
                &req.delivery_id,
                req.waybill_id.as_deref(),
            )?
            .order_answer())
    }

    /// `order/batchget` for `appid`: the rules, then each waybill as
    /// `order/get` answers it, an unknown one with its own errcode 40199.
    pub fn batch_get_waybill_orders(
        &self,
        appid: &str,
        req: &BatchGetWaybillOrderRequest,
    ) -> WxResult<BatchGetWaybillOrderResponse> {
        req.validate()?;
        let order_list = req
            .order_list
            .iter()
            .map(|k| {
                match self.helper_waybill(
                    appid,
                    &k.order_id,
                    &k.delivery_id,
                    k.waybill_id.as_deref(),
                ) {
                    Ok(w) => w.order_answer(),
                    Err(e) => GetWaybillOrderResponse {
                        errcode: e.errcode,
                        errmsg: e.errmsg,
                        order_id: k.order_id.clone(),
                        delivery_id: k.delivery_id.clone(),
                        waybill_id: k.waybill_id.clone().unwrap_or_default(),
                        ..GetWaybillOrderResponse::default()
                    },
                }
            })
            .collect();
        Ok(BatchGetWaybillOrderResponse {
            errcode: 0,
            errmsg: "ok".into(),
            order_list,
        })
    }

    /// `account/getall`: the account every Mini Program has bound
    /// ([`BOUND_ACCOUNT`]).
    pub fn logistics_accounts(&self, _appid: &str) -> GetAllAccountResponse {
        let (delivery_id, biz_id) = BOUND_ACCOUNT;
        GetAllAccountResponse {
            errcode: 0,
            errmsg: "ok".into(),
            count: 1,
            list: vec![LogisticsAccount {
                biz_id: biz_id.to_owned(),
                delivery_id: delivery_id.to_owned(),
                create_time: 1_555_482_786,
                update_time: 1_556_594_799,
                status_code: account_status::BOUND,
                quota_num: 55,
                quota_update_time: 1_556_594_799,
                service_type: vec![standard_service()],
                ..LogisticsAccount::default()
            }],
        }
    }

    /// `delivery/getall`: [`DELIVERIES`].
    pub fn delivery_companies(&self) -> GetAllDeliveryResponse {
        GetAllDeliveryResponse {
            errcode: 0,
            errmsg: "ok".into(),
            count: DELIVERIES.len() as i64,
            data: DELIVERIES
                .iter()
                .map(|(id, name, cash)| DeliveryCompany {
                    delivery_id: (*id).to_owned(),
                    delivery_name: (*name).to_owned(),
                    can_use_cash: i64::from(cash.is_some()),
                    can_get_quota: 1,
                    cash_biz_id: cash.unwrap_or_default().to_owned(),
                    service_type: vec![standard_service()],
                })
                .collect(),
        }
    }

    /// `appid`'s helper waybill created for `order_id` with `delivery_id`.
    pub fn helper_waybill_view(
        &self,
        appid: &str,
        order_id: &str,
        delivery_id: &str,
    ) -> Option<SimHelperWaybill> {
        self.helper_waybill(appid, order_id, delivery_id, None)
            .ok()
            .map(|w| w.view(self.now()))
    }
}

fn standard_service() -> DeliveryService {
    DeliveryService {
        service_type: 0,
        service_name: "标准快递".into(),
    }
}
