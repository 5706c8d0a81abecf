//! The logistics-query list of couriers, `get_delivery_list`
//! (`/cgi-bin/express/delivery/open_msg/get_delivery_list`): the codes an
//! express `upload_shipping_info` names in `express_company` and
//! `trace_waybill` in `delivery_id`. Permission set 45, 120, 121 or 142
//! (WeChat's page `weixin-express/express-msg/api_get_delivery_list`: "该接口
//! 所属的权限集 id 为:45、120-121、142"), else 61007; no capability check
//! (the page names none; but a developer asked why WeChat answered
//! `get_delivery_list` with `{"errcode":48001,"errmsg":"api unauthorized"}`
//! to a Mini Program that had granted 小程序发货管理服务 and 微信物流服务,
//! developers.weixin.qq.com/community/develop/doc/0008a433c34f70a3fa42453a366400,
//! unanswered there: WeChat has some 48001 check the simulator does not
//! model). The body is `{}` (the page's request example; its
//! table says "请求体: 无", so an empty body is taken as `{}` too); any JSON
//! object is accepted, anything else is 47001 as elsewhere (WeChat's common
//! errcodes: "47001 data format error 解析 JSON/XML 内容错误",
//! developers.weixin.qq.com/doc/channels/API/basics/commErrCode.html).
//!
//! WeChat answers some 1 400–1 500 couriers (the page's example: `count`
//! 1379; a real answer quoted in the community: 1510). The simulator answers
//! [`EXPRESS_COURIERS`], the common ones, until a test replaces the list
//! ([`State::set_couriers`], `PUT /sim/couriers`).
//!
//! # Where the codes come from
//! - Seen in WeChat's own answers: `YD` 韵达速递, `BDT` 八达通 (the page's
//!   example); `007EX` 俄顺达, `SF` 顺丰速运, `YTO` 圆通速递, `ZTO` 中通快递,
//!   `STO` 申通快递 (a real answer quoted in community doc
//!   0008a880fe48c8abffc0dd11361800); `AAE` AAE全球专递 (a developer's raw
//!   answer, community question "获取运力id列表get_delivery_list ,响应乱码?").
//! - `JTSD` 极兔速递: seed 004's `upload_shipping_info` example
//!   (`"express_company": "JTSD"`).
//! - `JD` for JD Logistics: the same-family list of the transaction
//!   component (`/shop/delivery/get_company_list`, the list WeChat's
//!   community points shipping integrators to, community doc
//!   00080684e343b02f10b0710b36c000) answers `JD` 京东快递 (community doc
//!   0002a801e78a10b306de9e06c5b000: "这个接口返回的数据中,京东快递的
//!   delivery_id=JD", while "用户上传退货物流回调中,京东快递的delivery_id=JDL":
//!   that post is about the return-logistics callback, not the helper), and
//!   WeChat Shop's courier table (developers.weixin.qq.com/doc/store/shop/API/ewaybill/deliverycompanylist_get_new.html)
//!   says "京东 | 自营 | JD" too. No source shows the code `get_delivery_list`
//!   itself answers for JD. The helper's list is `DELIVERIES` (`JDL`).
//! - The rest follow the courier codes of KDNiao (快递鸟), which the codes
//!   above follow too (`YD` rather than the helper's `YUNDA`, which the
//!   helper's page example answers, developers.weixin.qq.com/miniprogram/dev/server/API/express/express-by-business/api_getalldelivery;
//!   `JD`, `BDT`, `AAE`), with KDNiao's names: `EMS`, `YZPY`
//!   邮政快递包裹, `DBL` 德邦快递, `ZTOKY` 中通快运, `HTKY` 百世快递, … (a
//!   KDNiao table as an app ships it: LaoHu97/users-util
//!   `miniprogram/expressQueryPackage/pages/expressSelech/KDN.js`).
//!   shopxo's integration (gongfuxiang/shopxo pull request 73) shipped with
//!   德邦快递, 申通, 顺丰速运, 韵达速递, 圆通速递, 中通快递, 极兔速递, 邮政快递包裹,
//!   EMS and 京东快递 through `upload_shipping_info`.
use serde_json::{Map, Value};
use wechat_api::couriers::{Courier, GetDeliveryListResponse};

use super::{State, WxError, WxResult};

/// Permission sets that allow `get_delivery_list` (either one).
pub const DELIVERY_LIST_FUNC_IDS: [i64; 4] = [45, 120, 121, 142];

/// The couriers `get_delivery_list` answers by default, as (`delivery_id`,
/// `delivery_name`); sources in the module docs.
pub const EXPRESS_COURIERS: [(&str, &str); 32] = [
    ("SF", "顺丰速运"),
    ("ZTO", "中通快递"),
    ("YTO", "圆通速递"),
    ("STO", "申通快递"),
    ("YD", "韵达速递"),
    ("JTSD", "极兔速递"),
    ("EMS", "EMS"),
    ("YZPY", "邮政快递包裹"),
    ("JD", "京东快递"),
    ("DBL", "德邦快递"),
    ("ZTOKY", "中通快运"),
    ("HTKY", "百世快递"),
    ("HHTT", "天天快递"),
    ("UC", "优速快递"),
    ("ZJS", "宅急送"),
    ("ANE", "安能物流"),
    ("ANEKY", "安能快运"),
    ("KYSY", "跨越速运"),
    ("YMDD", "壹米滴答"),
    ("SNWL", "苏宁物流"),
    ("ZTKY", "中铁快运"),
    ("XFEX", "信丰物流"),
    ("SURE", "速尔快递"),
    ("DBLKY", "德邦快运"),
    ("JDKY", "京东快运"),
    ("DHL", "DHL"),
    ("UPS", "UPS"),
    ("FEDEX", "FEDEX联邦(国内件)"),
    ("TNT", "TNT快递"),
    ("AAE", "AAE全球专递"),
    ("BDT", "八达通"),
    ("007EX", "俄顺达"),
];

/// [`EXPRESS_COURIERS`] as [`Courier`]s: the list a new simulator answers.
pub fn default_couriers() -> Vec<Courier> {
    EXPRESS_COURIERS
        .iter()
        .map(|(id, name)| Courier {
            delivery_id: (*id).to_owned(),
            delivery_name: (*name).to_owned(),
        })
        .collect()
}

impl State {
    /// The appid behind an authorizer token (41001/40001/42001) that
    /// granted permission set 45, 120, 121 or 142 (61007).
    pub fn delivery_list_caller(&self, token: Option<&str>) -> WxResult<String> {
        self.authorizer_caller(token, &DELIVERY_LIST_FUNC_IDS)
    }

    /// `get_delivery_list`: the body must be a JSON object (or empty, module
    /// docs), else 47001; answers the current list.
    pub fn get_delivery_list(&self, body: &[u8]) -> WxResult<GetDeliveryListResponse> {
        if !body.iter().all(u8::is_ascii_whitespace) {
            serde_json::from_slice::<Map<String, Value>>(body).map_err(WxError::data_format)?;
        }
        Ok(GetDeliveryListResponse {
            errcode: 0,
            errmsg: "ok".into(),
            count: i64::try_from(self.couriers.len()).unwrap_or(i64::MAX),
            delivery_list: self.couriers.clone(),
        })
    }

    /// The couriers `get_delivery_list` answers now.
    pub fn couriers(&self) -> Vec<Courier> {
        self.couriers.clone()
    }

    /// Replaces the list `get_delivery_list` answers (taken as given: a test
    /// may want an odd list).
    pub fn set_couriers(&mut self, couriers: Vec<Courier>) {
        self.couriers = couriers;
    }
}
