//! Waybills: the logistics-query plugin (`trace_waybill`, `query_trace`,
//! `update_waybill_goods`; seeds 000 and 002) and the logistics helper's
//! `path/get` and `order/get` (seeds 001 and 003), all with permission set 45.
//!
//! # Waybills
//! `trace_waybill` registers a waybill of the calling appid and answers its
//! `waybill_token`; a repeat for the same (appid, `waybill_id`) answers the
//! same token and changes nothing (goods change only through
//! `update_waybill_goods`, at most `SimConfig::max_waybill_goods_updates`
//! times, then 9300560). A token is the calling appid's only: another
//! appid's, or an unknown one, is 9300507; an `openid` given that is not the
//! waybill's is 9300534.
//!
//! The parcel then travels on the sim clock ([`JOURNEY`]): status 0 (not
//! collected) until 1 h after `trace_waybill`, 1 (collected), 2 (in
//! transit) from 6 h, 3 (out for delivery) from 24 h, 4 (signed) from 30 h.
//! Tests can force any status 0–6 ([`State::set_waybill_status`]).
//! `path/get` answers one track node per step reached, so it is
//! deterministic for a given clock. `path/get` and `order/get` know the
//! waybills traced by the calling appid (else 9300559).
//!
//! # Quotas
//! Each plugin API has its own daily quota per appid
//! (`SimConfig::logistics_appid_daily_quota`, default 100 000) and per user
//! (`SimConfig::logistics_user_daily_quota`, default 100), answering 9300513.
//! The user is the body's `openid`, or for `query_trace` and
//! `update_waybill_goods` without one, the waybill's. Days start at midnight
//! Asia/Shanghai (UTC+8) on the sim clock. A call is counted once it passes
//! the token, permission, body and seed rules and both quotas, whatever the
//! waybill checks then answer; a call refused earlier, or by a quota, is not.
use std::collections::HashMap;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde::{Deserialize, Serialize};
use wechat_api::{
    Validate, errcode as ec,
    logistics::{
        DeliveryInfo, GetPathRequest, GetPathResponse, GetWaybillOrderRequest,
        GetWaybillOrderResponse, GoodsInfo, PathItem, QueryTraceRequest, QueryTraceResponse,
        ShopInfo, TraceWaybillRequest, UpdateWaybillGoodsRequest, WaybillDataItem, WaybillInfo,
        action_type, waybill_status,
    },
};

use super::{State, WxError, WxResult, random_hex};
use crate::routes;

/// Permission set that allows the logistics APIs.
pub const LOGISTICS_FUNC_IDS: [i64; 1] = [45];

/// A traced parcel's journey on the sim clock: (seconds after
/// `trace_waybill`, waybill status reached, `path/get` action_type,
/// action_msg).
pub const JOURNEY: [(i64, i64, i64, &str); 4] = [
    (
        3600,
        waybill_status::COLLECTED,
        action_type::COLLECTED,
        "快递员已成功取件",
    ),
    (
        6 * 3600,
        waybill_status::IN_TRANSIT,
        action_type::IN_TRANSIT,
        "快件已到达转运中心,正在发往目的地",
    ),
    (
        24 * 3600,
        waybill_status::OUT_FOR_DELIVERY,
        action_type::OUT_FOR_DELIVERY,
        "快递员正在派送,请保持电话畅通",
    ),
    (
        30 * 3600,
        waybill_status::SIGNED,
        action_type::SIGNED,
        "快件已签收,感谢使用",
    ),
];

/// Seconds Asia/Shanghai is ahead of UTC (no daylight saving).
const SHANGHAI_OFFSET_SECS: i64 = 8 * 3600;

/// The three logistics-plugin APIs, each with its own daily quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginApi {
    TraceWaybill,
    QueryTrace,
    UpdateWaybillGoods,
}

impl PluginApi {
    /// The API whose WeChat path is `path`, if it is a plugin API.
    pub fn from_path(path: &str) -> Option<Self> {
        match path {
            routes::TRACE_WAYBILL => Some(Self::TraceWaybill),
            routes::QUERY_TRACE => Some(Self::QueryTrace),
            routes::UPDATE_WAYBILL_GOODS => Some(Self::UpdateWaybillGoods),
            _ => None,
        }
    }
}

/// Calls counted today against the two daily quotas of one plugin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaUsage {
    /// By the appid, all users together.
    pub appid: u64,
    /// By the appid for this user (0 when no openid was asked about).
    pub user: u64,
}

/// A traced waybill as the simulator holds it (for tests).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimWaybill {
    pub waybill_token: String,
    pub appid: String,
    pub openid: String,
    pub waybill_id: String,
    pub delivery_id: Option<String>,
    pub trans_id: String,
    pub sender_phone: Option<String>,
    pub receiver_phone: String,
    pub order_detail_path: Option<String>,
    pub goods_info: GoodsInfo,
    /// `trace_waybill` time (sim clock).
    pub traced_at: i64,
    /// `update_waybill_goods` calls that changed the goods.
    pub goods_updates: u32,
    /// The status `query_trace` answers now.
    pub status: i64,
}

#[derive(Debug, Clone)]
struct Waybill {
    appid: String,
    openid: String,
    waybill_id: String,
    delivery_id: Option<String>,
    trans_id: String,
    sender_phone: Option<String>,
    receiver_phone: String,
    order_detail_path: Option<String>,
    goods_info: GoodsInfo,
    traced_at: i64,
    goods_updates: u32,
    /// A status forced by a test, and when (sim clock).
    forced_status: Option<(i64, i64)>,
}

impl Waybill {
    /// The journey steps reached `elapsed` seconds after tracing.
    fn steps_after(elapsed: i64) -> impl Iterator<Item = &'static (i64, i64, i64, &'static str)> {
        JOURNEY.iter().filter(move |(after, ..)| *after <= elapsed)
    }

    fn status(&self, now: i64) -> i64 {
        match self.forced_status {
            Some((status, _)) => status,
            None => Self::steps_after(now - self.traced_at)
                .last()
                .map_or(waybill_status::NOT_COLLECTED, |(_, status, ..)| *status),
        }
    }

    /// The track nodes `path/get` answers at `now`.
    fn track(&self, now: i64) -> Vec<PathItem> {
        let node = |(after, _, action_type, msg): &(i64, i64, i64, &str)| PathItem {
            action_time: self.traced_at + after,
            action_type: *action_type,
            action_msg: (*msg).to_owned(),
        };
        match self.forced_status {
            None => Self::steps_after(now - self.traced_at).map(node).collect(),
            Some((waybill_status::EXCEPTION, at)) => {
                let mut nodes: Vec<PathItem> =
                    Self::steps_after(at - self.traced_at).map(node).collect();
                nodes.push(PathItem {
                    action_time: at,
                    action_type: action_type::ORDER_HELD,
                    action_msg: "快件滞留,请联系快递公司".to_owned(),
                });
                nodes
            }
            Some((waybill_status::SIGNED_BY_PROXY, at)) => {
                let mut nodes: Vec<PathItem> = JOURNEY
                    .iter()
                    .filter(|(_, status, ..)| *status < waybill_status::SIGNED)
                    .map(node)
                    .collect();
                nodes.push(PathItem {
                    action_time: at,
                    action_type: action_type::SIGNED,
                    action_msg: "快件已由代收点代签收".to_owned(),
                });
                nodes
            }
            Some((forced, _)) => JOURNEY
                .iter()
                .filter(|(_, status, ..)| *status <= forced)
                .map(node)
                .collect(),
        }
    }

    fn view(&self, token: &str, now: i64) -> SimWaybill {
        SimWaybill {
            waybill_token: token.to_owned(),
            appid: self.appid.clone(),
            openid: self.openid.clone(),
            waybill_id: self.waybill_id.clone(),
            delivery_id: self.delivery_id.clone(),
            trans_id: self.trans_id.clone(),
            sender_phone: self.sender_phone.clone(),
            receiver_phone: self.receiver_phone.clone(),
            order_detail_path: self.order_detail_path.clone(),
            goods_info: self.goods_info.clone(),
            traced_at: self.traced_at,
            goods_updates: self.goods_updates,
            status: self.status(now),
        }
    }

    /// Whether a request's `delivery_id` fits: any, when `trace_waybill`
    /// named none.
    fn delivered_by(&self, delivery_id: &str) -> bool {
        self.delivery_id
            .as_deref()
            .is_none_or(|d| d == delivery_id.trim())
    }
}

/// The logistics part of [`State`].
#[derive(Debug, Default)]
pub(super) struct Logistics {
    /// waybill_token → waybill.
    waybills: HashMap<String, Waybill>,
    /// (appid, waybill_id) → waybill_token: repeats answer the same token.
    tokens: HashMap<(String, String), String>,
    /// The Asia/Shanghai day (days since the epoch) the counters are for.
    quota_day: i64,
    /// Calls today per (API, appid).
    appid_calls: HashMap<(PluginApi, String), u64>,
    /// Calls today per (API, appid, openid).
    user_calls: HashMap<(PluginApi, String, String), u64>,
}

/// Days since the epoch, starting at midnight Asia/Shanghai.
pub fn shanghai_day(unix: i64) -> i64 {
    (unix + SHANGHAI_OFFSET_SECS).div_euclid(86_400)
}

/// A carrier's name for the common `delivery_id`s (get_delivery_list).
fn delivery_name(delivery_id: &str) -> Option<&'static str> {
    Some(match delivery_id {
        "SF" => "顺丰速运",
        "ZTO" => "中通快递",
        "YTO" => "圆通速递",
        "STO" => "申通快递",
        "YD" => "韵达快递",
        "JTSD" => "极兔速递",
        "EMS" => "中国邮政速递物流",
        "JD" => "京东物流",
        "DHL" => "DHL",
        "KYSY" => "跨越速运",
        _ => return None,
    })
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

fn token_invalid() -> WxError {
    WxError::new(ec::WAYBILL_TOKEN_INVALID, "waybill_token is invalid")
}

fn waybill_not_found() -> WxError {
    WxError::new(ec::WAYBILL_NOT_FOUND, "the waybill does not exist")
}

/// A non-blank optional string, trimmed.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl State {
    /// The appid behind an authorizer token (41001/40001/42001), which must
    /// hold permission set 45 (48001).
    pub fn logistics_caller(&self, token: Option<&str>) -> WxResult<String> {
        self.authorizer_caller(token, &LOGISTICS_FUNC_IDS)
    }

    /// Starts a new quota day when the Asia/Shanghai date has changed.
    fn roll_quota_day(&mut self) {
        let day = shanghai_day(self.now());
        let q = &mut self.logistics;
        if q.quota_day != day {
            q.quota_day = day;
            q.appid_calls.clear();
            q.user_calls.clear();
        }
    }

    /// Counts a call of `api` by `appid` for `openid` (when known), unless
    /// either daily quota is used up: then 9300513 and nothing is counted.
    fn take_quota(&mut self, api: PluginApi, appid: &str, openid: Option<&str>) -> WxResult<()> {
        self.roll_quota_day();
        let per_appid = self.config.logistics_appid_daily_quota;
        let per_user = self.config.logistics_user_daily_quota;
        let q = &mut self.logistics;
        let app_key = (api, appid.to_owned());
        let user_key = openid.map(|o| (api, appid.to_owned(), o.to_owned()));
        let app_used = q.appid_calls.get(&app_key).copied().unwrap_or(0);
        let user_used = user_key
            .as_ref()
            .and_then(|k| q.user_calls.get(k))
            .copied()
            .unwrap_or(0);
        if app_used >= per_appid {
            return Err(WxError::new(
                ec::LOGISTICS_QUOTA_REACHED,
                format!("reached max api daily quota limit: {per_appid} calls per appid"),
            ));
        }
        if user_key.is_some() && user_used >= per_user {
            return Err(WxError::new(
                ec::LOGISTICS_QUOTA_REACHED,
                format!("reached max api daily quota limit: {per_user} calls per user"),
            ));
        }
        *q.appid_calls.entry(app_key).or_default() += 1;
        if let Some(k) = user_key {
            *q.user_calls.entry(k).or_default() += 1;
        }
        Ok(())
    }

    /// Calls counted today for the plugin API at `path` by `appid` (and
    /// `openid`). Zero for any other path.
    pub fn quota_usage(&self, path: &str, appid: &str, openid: Option<&str>) -> QuotaUsage {
        let q = &self.logistics;
        let Some(api) = PluginApi::from_path(path) else {
            return QuotaUsage::default();
        };
        if q.quota_day != shanghai_day(self.now()) {
            return QuotaUsage::default();
        }
        QuotaUsage {
            appid: q
                .appid_calls
                .get(&(api, appid.to_owned()))
                .copied()
                .unwrap_or(0),
            user: openid
                .and_then(|o| q.user_calls.get(&(api, appid.to_owned(), o.to_owned())))
                .copied()
                .unwrap_or(0),
        }
    }

    /// The user a call on `waybill_token` counts against: the body's
    /// `openid`, else the waybill's (if the token is the appid's).
    fn waybill_user(&self, appid: &str, token: &str, openid: Option<&str>) -> Option<String> {
        given(openid).map(str::to_owned).or_else(|| {
            self.logistics
                .waybills
                .get(token.trim())
                .filter(|w| w.appid == appid)
                .map(|w| w.openid.clone())
        })
    }

    /// `appid`'s waybill behind `token` (else 9300507), when `openid` (if
    /// given) is its user (else 9300534).
    fn waybill_mut(
        &mut self,
        appid: &str,
        token: &str,
        openid: Option<&str>,
    ) -> WxResult<&mut Waybill> {
        let waybill = self
            .logistics
            .waybills
            .get_mut(token.trim())
            .filter(|w| w.appid == appid)
            .ok_or_else(token_invalid)?;
        if let Some(openid) = given(openid)
            && openid != waybill.openid
        {
            return Err(WxError::new(
                ec::TOKEN_OPENID_MISMATCH,
                "access_token and openid do not match: the waybill was traced for another user",
            ));
        }
        Ok(waybill)
    }

    /// `trace_waybill` for `appid`: the seed rules, the quotas, then the
    /// waybill's token (the existing one for a waybill already traced).
    pub fn trace_waybill(&mut self, appid: &str, req: &TraceWaybillRequest) -> WxResult<String> {
        req.validate()?;
        let openid = req.openid.trim().to_owned();
        self.take_quota(PluginApi::TraceWaybill, appid, Some(&openid))?;
        let key = (appid.to_owned(), req.waybill_id.trim().to_owned());
        if let Some(token) = self.logistics.tokens.get(&key) {
            return Ok(token.clone());
        }
        let token = format!("sim_{}", random_hex(30));
        let waybill = Waybill {
            appid: appid.to_owned(),
            openid,
            waybill_id: key.1.clone(),
            delivery_id: given(req.delivery_id.as_deref()).map(str::to_owned),
            trans_id: req.trans_id.trim().to_owned(),
            sender_phone: req.sender_phone.clone(),
            receiver_phone: req.receiver_phone.clone(),
            order_detail_path: req.order_detail_path.clone(),
            goods_info: req.goods_info.clone(),
            traced_at: self.now(),
            goods_updates: 0,
            forced_status: None,
        };
        self.logistics.waybills.insert(token.clone(), waybill);
        self.logistics.tokens.insert(key, token.clone());
        Ok(token)
    }

    /// `query_trace` for `appid`: the seed rules, the quotas, the waybill
    /// (9300507) and its user (9300534); its status on the sim clock, goods
    /// and carrier.
    pub fn query_trace(
        &mut self,
        appid: &str,
        req: &QueryTraceRequest,
    ) -> WxResult<QueryTraceResponse> {
        req.validate()?;
        let user = self.waybill_user(appid, &req.waybill_token, req.openid.as_deref());
        self.take_quota(PluginApi::QueryTrace, appid, user.as_deref())?;
        let now = self.now();
        let waybill = self.waybill_mut(appid, &req.waybill_token, req.openid.as_deref())?;
        Ok(QueryTraceResponse {
            errcode: 0,
            errmsg: "ok".into(),
            waybill_info: Some(WaybillInfo {
                status: waybill.status(now),
                waybill_id: waybill.waybill_id.clone(),
            }),
            shop_info: Some(ShopInfo {
                goods_info: Some(waybill.goods_info.clone()),
            }),
            delivery_info: waybill.delivery_id.as_ref().map(|d| DeliveryInfo {
                delivery_id: d.clone(),
                delivery_name: delivery_name(d).map(str::to_owned),
            }),
        })
    }

    /// `update_waybill_goods` for `appid`: the seed rules, the quotas, the
    /// waybill (9300507) and its user (9300534), then at most
    /// `max_waybill_goods_updates` changes (9300560). Replaces the goods.
    pub fn update_waybill_goods(
        &mut self,
        appid: &str,
        req: &UpdateWaybillGoodsRequest,
    ) -> WxResult<()> {
        req.validate()?;
        let user = self.waybill_user(appid, &req.waybill_token, req.openid.as_deref());
        self.take_quota(PluginApi::UpdateWaybillGoods, appid, user.as_deref())?;
        let max = self.config.max_waybill_goods_updates;
        let waybill = self.waybill_mut(appid, &req.waybill_token, req.openid.as_deref())?;
        if waybill.goods_updates >= max {
            return Err(WxError::new(
                ec::WAYBILL_MODIFICATIONS_EXCEEDED,
                format!(
                    "maximum number of modifications reached: the goods can be changed {max} times"
                ),
            ));
        }
        waybill.goods_info = req.goods_info.clone();
        waybill.goods_updates += 1;
        Ok(())
    }

    /// `appid`'s traced waybill `waybill_id` carried by `delivery_id`.
    fn find_waybill(&self, appid: &str, waybill_id: &str, delivery_id: &str) -> WxResult<&Waybill> {
        self.logistics
            .tokens
            .get(&(appid.to_owned(), waybill_id.trim().to_owned()))
            .and_then(|t| self.logistics.waybills.get(t))
            .filter(|w| w.delivered_by(delivery_id))
            .ok_or_else(waybill_not_found)
    }

    /// `path/get` for `appid`: the seed rules, then the track nodes of a
    /// waybill it traced (9300559 otherwise), one per journey step reached.
    pub fn get_path(&self, appid: &str, req: &GetPathRequest) -> WxResult<GetPathResponse> {
        req.validate()?;
        let waybill = self.find_waybill(appid, &req.waybill_id, &req.delivery_id)?;
        let path_item_list = waybill.track(self.now());
        Ok(GetPathResponse {
            errcode: 0,
            errmsg: "ok".into(),
            openid: given(req.openid.as_deref())
                .unwrap_or(&waybill.openid)
                .to_owned(),
            delivery_id: req.delivery_id.trim().to_owned(),
            waybill_id: waybill.waybill_id.clone(),
            path_item_num: path_item_list.len() as i64,
            path_item_list,
        })
    }

    /// `order/get` for `appid`: the seed rules, then the print data of a
    /// waybill it traced, found by `waybill_id`, else by `order_id` = the
    /// traced `trans_id` (9300559 otherwise). `print_html` is the base64 of
    /// a small HTML label; `order_status` 0 (normal).
    pub fn get_waybill_order(
        &self,
        appid: &str,
        req: &GetWaybillOrderRequest,
    ) -> WxResult<GetWaybillOrderResponse> {
        req.validate()?;
        let waybill = match given(req.waybill_id.as_deref()) {
            Some(id) => self.find_waybill(appid, id, &req.delivery_id)?,
            None => self
                .logistics
                .waybills
                .values()
                .filter(|w| w.appid == appid && w.trans_id == req.order_id.trim())
                .filter(|w| w.delivered_by(&req.delivery_id))
                .min_by_key(|w| (w.traced_at, w.waybill_id.clone()))
                .ok_or_else(waybill_not_found)?,
        };
        let delivery_id = req.delivery_id.trim();
        let carrier = delivery_name(delivery_id).unwrap_or(delivery_id);
        let goods: Vec<String> = waybill
            .goods_info
            .detail_list
            .iter()
            .map(|g| format!("<li>{}</li>", html_escape(&g.goods_name)))
            .collect();
        let html = format!(
            "<html><body><h1>{}</h1><p>运单号 {}</p><p>订单号 {}</p><ul>{}</ul></body></html>",
            html_escape(carrier),
            html_escape(&waybill.waybill_id),
            html_escape(req.order_id.trim()),
            goods.concat()
        );
        Ok(GetWaybillOrderResponse {
            errcode: 0,
            errmsg: "ok".into(),
            print_html: STANDARD.encode(html),
            waybill_data: vec![
                WaybillDataItem {
                    key: format!("{delivery_id}_bagAddr"),
                    value: "广州".into(),
                },
                WaybillDataItem {
                    key: format!("{delivery_id}_mark"),
                    value: "101- 07-03 509".into(),
                },
            ],
            delivery_id: delivery_id.to_owned(),
            order_id: req.order_id.trim().to_owned(),
            waybill_id: waybill.waybill_id.clone(),
            order_status: 0,
        })
    }

    /// The waybill behind `token`, whichever appid traced it.
    pub fn waybill(&self, token: &str) -> Option<SimWaybill> {
        self.logistics
            .waybills
            .get(token)
            .map(|w| w.view(token, self.now()))
    }

    /// The token `trace_waybill` issued to `appid` for `waybill_id`.
    pub fn waybill_token(&self, appid: &str, waybill_id: &str) -> Option<String> {
        self.logistics
            .tokens
            .get(&(appid.to_owned(), waybill_id.to_owned()))
            .cloned()
    }

    /// Forces the waybill's status (0–6) from now on, or with `None` lets it
    /// follow the clock again. False for an unknown token or a status out of
    /// range.
    pub fn set_waybill_status(&mut self, token: &str, status: Option<i64>) -> bool {
        if status.is_some_and(|s| !(0..=waybill_status::SIGNED_BY_PROXY).contains(&s)) {
            return false;
        }
        let now = self.now();
        match self.logistics.waybills.get_mut(token) {
            Some(w) => {
                w.forced_status = status.map(|s| (s, now));
                true
            }
            None => false,
        }
    }
}
