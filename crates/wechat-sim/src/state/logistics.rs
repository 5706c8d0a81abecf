//! The logistics-query plugin (`trace_waybill`, `query_trace`,
//! `update_waybill_goods`; seeds 000 and 002), with permission set 45, for
//! Mini Programs that opened the plugin.
//!
//! # Opening the plugin
//! The plugin's background APIs work only for a Mini Program that uses the
//! plugin ("引用了物流查询插件的商家,才可以调用后台API", seed 000); any other
//! gets 48001 `api unauthorized`, as WeChat answers when the capability is
//! missing (a staff answer to 48001 on trace_waybill: "已确认权限开通成功,
//! 现在应该可以调用成功", community). A platform opens it with `/wxa/plugin`
//! `{"action": "apply", "plugin_appid": "wx9ad912bf20548d92"}` (set 40),
//! which the simulator approves at once (WeChat lets plugins be used
//! without the developer's consent); tests and the sandbox can also open it
//! with [`State::set_logistics_plugin`].
//!
//! # Waybills
//! `trace_waybill` registers a waybill of the calling appid and answers a
//! new `waybill_token` every time, also for a waybill traced before (each
//! token carries the goods it was traced with; earlier tokens keep working):
//! WeChat does the same (community doc on trace_waybill: "waybill_id_A +
//! product_name_b => trace_waybill => token_b"). Goods change through
//! `update_waybill_goods`, at most `SimConfig::max_waybill_goods_updates`
//! times, then 9300560. A token is the calling appid's only: another
//! appid's, or an unknown one, is 9300507; an `openid` given that is not the
//! waybill's is 9300534.
//!
//! The parcel then travels on the sim clock ([`JOURNEY`]): status 0 (not
//! collected) until 1 h after `trace_waybill`, 1 (collected), 2 (in
//! transit) from 6 h, 3 (out for delivery) from 24 h, 4 (signed) from 30 h.
//! Tests can force any status 0–6 ([`State::set_waybill_status`]). These
//! waybills are the plugin's: the logistics helper's `path/get` and
//! `order/get` do not know them (see `helper`).
//!
//! # Quotas
//! The plugin's daily quotas are counted for the plugin as a whole, all
//! three APIs together, per appid (`SimConfig::logistics_appid_daily_quota`,
//! default 100 000) and per user (`SimConfig::logistics_user_daily_quota`,
//! default 100), answering 9300513. Seed 000 ("10w/day per appid, 100/day
//! per user") does not say whether the limits are per API or for the
//! plugin; the gateway's limiter (crates/ratelimit, group
//! `logistics_plugin`) counts the plugin as a whole because that is the
//! safe reading (it never lets tpgate spend past WeChat's limit whichever
//! WeChat uses), and the simulator plays that stricter reading so the two
//! agree: a test that stays within the simulator's quota stays within
//! WeChat's. The user is the body's `openid`, or for `query_trace` and
//! `update_waybill_goods` without one, the waybill's. Days start at midnight
//! Asia/Shanghai (UTC+8) on the sim clock. A call is counted once it passes
//! the token, permission, plugin, body and seed rules and both quotas,
//! whatever the waybill checks then answer; a call refused earlier, or by a
//! quota, is not.
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use wechat_api::{
    Validate, errcode as ec,
    logistics::{
        DeliveryInfo, GoodsInfo, LOGISTICS_PLUGIN_APPID, ManagePluginRequest, ManagePluginResponse,
        PathItem, PluginInfo, QueryTraceRequest, QueryTraceResponse, ShopInfo, TraceWaybillRequest,
        UpdateWaybillGoodsRequest, WaybillInfo, action_type, plugin_status, waybill_status,
    },
};

use super::{State, WxError, WxResult, helper::delivery_name, random_hex};
use crate::routes;

/// Permission set that allows the logistics-query plugin's APIs (WeChat's
/// trace_waybill page: "该接口所属的权限集 id 为:45").
pub const LOGISTICS_FUNC_IDS: [i64; 1] = [45];
/// Permission set that allows `/wxa/plugin` (插件管理).
pub const PLUGIN_MANAGEMENT_FUNC_IDS: [i64; 1] = [40];

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

/// Whether `path` is one of the plugin's three APIs, which share its daily
/// quotas (module docs).
pub fn is_plugin_path(path: &str) -> bool {
    matches!(
        path,
        routes::TRACE_WAYBILL | routes::QUERY_TRACE | routes::UPDATE_WAYBILL_GOODS
    )
}

/// Calls counted today against the plugin's two daily quotas.
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
    pub trans_id: Option<String>,
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
    trans_id: Option<String>,
    sender_phone: Option<String>,
    receiver_phone: String,
    order_detail_path: Option<String>,
    goods_info: GoodsInfo,
    traced_at: i64,
    goods_updates: u32,
    /// A status forced by a test, and when (sim clock).
    forced_status: Option<(i64, i64)>,
}

/// The journey steps reached `elapsed` seconds after the parcel started.
fn steps_after(elapsed: i64) -> impl Iterator<Item = &'static (i64, i64, i64, &'static str)> {
    JOURNEY.iter().filter(move |(after, ..)| *after <= elapsed)
}

/// The status at `now` of a parcel that started at `started_at`, or the
/// status `forced` on it (with when it was forced).
pub(super) fn journey_status(started_at: i64, now: i64, forced: Option<(i64, i64)>) -> i64 {
    match forced {
        Some((status, _)) => status,
        None => steps_after(now - started_at)
            .last()
            .map_or(waybill_status::NOT_COLLECTED, |(_, status, ..)| *status),
    }
}

/// The track nodes (`path/get`) at `now` of a parcel that started at
/// `started_at`: one per journey step reached, or as `forced` dictates.
pub(super) fn journey_track(
    started_at: i64,
    now: i64,
    forced: Option<(i64, i64)>,
) -> Vec<PathItem> {
    let node = |(after, _, action_type, msg): &(i64, i64, i64, &str)| PathItem {
        action_time: started_at + after,
        action_type: *action_type,
        action_msg: (*msg).to_owned(),
    };
    match forced {
        None => steps_after(now - started_at).map(node).collect(),
        Some((waybill_status::EXCEPTION, at)) => {
            let mut nodes: Vec<PathItem> = steps_after(at - started_at).map(node).collect();
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

impl Waybill {
    fn status(&self, now: i64) -> i64 {
        journey_status(self.traced_at, now, self.forced_status)
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
}

/// The logistics part of [`State`].
#[derive(Debug, Default)]
pub(super) struct Logistics {
    /// waybill_token → waybill.
    waybills: HashMap<String, Waybill>,
    /// (appid, waybill_id) → the newest waybill_token issued for it.
    tokens: HashMap<(String, String), String>,
    /// Mini Programs (appids) that opened the plugin.
    plugin_users: HashSet<String>,
    /// The Asia/Shanghai day (days since the epoch) the counters are for.
    quota_day: i64,
    /// Plugin calls today per appid (all three APIs together).
    appid_calls: HashMap<String, u64>,
    /// Plugin calls today per (appid, openid) (all three APIs together).
    user_calls: HashMap<(String, String), u64>,
}

/// Days since the epoch, starting at midnight Asia/Shanghai.
pub fn shanghai_day(unix: i64) -> i64 {
    (unix + SHANGHAI_OFFSET_SECS).div_euclid(86_400)
}

fn token_invalid() -> WxError {
    WxError::new(ec::WAYBILL_TOKEN_INVALID, "waybill_token is invalid")
}

/// A non-blank optional string, trimmed.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

impl State {
    /// The appid behind an authorizer token (41001/40001/42001), which must
    /// have granted permission set 45 (61007) and opened the plugin (48001).
    pub fn plugin_caller(&self, token: Option<&str>) -> WxResult<String> {
        let appid = self.authorizer_caller(token, &LOGISTICS_FUNC_IDS)?;
        if !self.logistics.plugin_users.contains(&appid) {
            return Err(WxError::new(
                ec::API_UNAUTHORIZED,
                format!(
                    "api unauthorized: the Mini Program has not opened the logistics-query plugin ({LOGISTICS_PLUGIN_APPID})"
                ),
            ));
        }
        Ok(appid)
    }

    /// The appid behind an authorizer token that granted permission set 40
    /// (plugin management; else 61007).
    pub fn plugin_management_caller(&self, token: Option<&str>) -> WxResult<String> {
        self.authorizer_caller(token, &PLUGIN_MANAGEMENT_FUNC_IDS)
    }

    /// Opens (or closes) the logistics-query plugin for `appid`, as an
    /// approved `/wxa/plugin` apply does.
    pub fn set_logistics_plugin(&mut self, appid: &str, open: bool) {
        if open {
            self.logistics.plugin_users.insert(appid.to_owned());
        } else {
            self.logistics.plugin_users.remove(appid);
        }
    }

    /// Whether `appid` opened the logistics-query plugin.
    pub fn logistics_plugin_open(&self, appid: &str) -> bool {
        self.logistics.plugin_users.contains(appid)
    }

    /// `/wxa/plugin` for `appid`: the rules, then `apply` (the
    /// logistics-query plugin is approved at once; another existing plugin
    /// is left pending; twice is 89237), `list`, `unbind` (89044 for a
    /// plugin not added) or `update`. The simulator knows only the
    /// logistics-query plugin and WeChat-style appids (`wx` + 16 hex) as
    /// plugins; any other appid is 89239.
    pub fn manage_plugin(
        &mut self,
        appid: &str,
        req: &ManagePluginRequest,
    ) -> WxResult<ManagePluginResponse> {
        req.validate()?;
        let plugin = req
            .plugin_appid
            .as_deref()
            .map(str::trim)
            .unwrap_or_default();
        let ok = |plugin_list| ManagePluginResponse {
            errcode: 0,
            errmsg: "ok".into(),
            plugin_list,
        };
        let added = self.logistics.plugin_users.contains(appid);
        match req.action.trim() {
            "list" => Ok(ok(Some(
                added
                    .then(|| PluginInfo {
                        appid: LOGISTICS_PLUGIN_APPID.to_owned(),
                        status: plugin_status::APPROVED,
                        nickname: "物流查询".to_owned(),
                        headimgurl: String::new(),
                    })
                    .into_iter()
                    .collect(),
            ))),
            _ if plugin != LOGISTICS_PLUGIN_APPID => Err(WxError::new(
                ec::PLUGIN_NOT_FOUND,
                "the plugin does not exist",
            )),
            "apply" if added => Err(WxError::new(
                ec::PLUGIN_ALREADY_ADDED,
                "the plugin has already been added",
            )),
            "apply" => {
                self.set_logistics_plugin(appid, true);
                Ok(ok(None))
            }
            "unbind" if !added => Err(WxError::new(
                ec::PLUGIN_APPID_NOT_FOUND,
                "the plugin has not been added",
            )),
            "unbind" => {
                self.set_logistics_plugin(appid, false);
                Ok(ok(None))
            }
            // "update": nothing to change in the simulator.
            _ if !added => Err(WxError::new(
                ec::PLUGIN_APPID_NOT_FOUND,
                "the plugin has not been added",
            )),
            _ => Ok(ok(None)),
        }
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

    /// Counts a plugin call by `appid` for `openid` (when known), unless
    /// either daily quota is used up: then 9300513 and nothing is counted.
    /// The three APIs share the quotas (module docs).
    fn take_quota(&mut self, appid: &str, openid: Option<&str>) -> WxResult<()> {
        self.roll_quota_day();
        let per_appid = self.config.logistics_appid_daily_quota;
        let per_user = self.config.logistics_user_daily_quota;
        let q = &mut self.logistics;
        let app_key = appid.to_owned();
        let user_key = openid.map(|o| (appid.to_owned(), o.to_owned()));
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

    /// Calls counted today against the plugin's quotas by `appid` (and
    /// `openid`), all three plugin APIs together, when `path` is one of them.
    /// Zero for any other path.
    pub fn quota_usage(&self, path: &str, appid: &str, openid: Option<&str>) -> QuotaUsage {
        let q = &self.logistics;
        if !is_plugin_path(path) || q.quota_day != shanghai_day(self.now()) {
            return QuotaUsage::default();
        }
        QuotaUsage {
            appid: q.appid_calls.get(appid).copied().unwrap_or(0),
            user: openid
                .and_then(|o| q.user_calls.get(&(appid.to_owned(), o.to_owned())))
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

    /// `trace_waybill` for `appid`: the seed rules, the quotas, then a new
    /// token for the waybill, also when it was traced before (module docs).
    pub fn trace_waybill(&mut self, appid: &str, req: &TraceWaybillRequest) -> WxResult<String> {
        req.validate()?;
        let openid = req.openid.trim().to_owned();
        self.take_quota(appid, Some(&openid))?;
        let key = (appid.to_owned(), req.waybill_id.trim().to_owned());
        let token = format!("sim_{}", random_hex(30));
        let waybill = Waybill {
            appid: appid.to_owned(),
            openid,
            waybill_id: key.1.clone(),
            delivery_id: given(req.delivery_id.as_deref()).map(str::to_owned),
            trans_id: given(req.trans_id.as_deref()).map(str::to_owned),
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
        self.take_quota(appid, user.as_deref())?;
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
        self.take_quota(appid, user.as_deref())?;
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

    /// The waybill behind `token`, whichever appid traced it.
    pub fn waybill(&self, token: &str) -> Option<SimWaybill> {
        self.logistics
            .waybills
            .get(token)
            .map(|w| w.view(token, self.now()))
    }

    /// The newest token `trace_waybill` issued to `appid` for `waybill_id`.
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
