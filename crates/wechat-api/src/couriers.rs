//! Couriers: WeChat's two lists of courier codes, which fields of which
//! requests must name a code from which list, and finding a code by name.
//!
//! - The logistics-query list, `get_delivery_list` (`POST`, body `{}`;
//!   answer `delivery_list: [{delivery_id, delivery_name}]` and `count`, as
//!   WeChat's page "获取运力id列表get_delivery_list" documents and SDKs read
//!   it: developers.weixin.qq.com/miniprogram/dev/server/API/weixin-express/express-msg/api_get_delivery_list,
//!   "请求示例 {}", `delivery_id` "运力公司 id", `delivery_name` "运力公司名称",
//!   `count` "运力公司个数"; EasyWeChat 4's `MiniProgram\OrderShipping\Client::getDeliveryList`
//!   posts it with no fields). Its codes are `express_company` of an express
//!   `upload_shipping_info` (seed 004: "物流公司编码,快递公司ID,参见「获取运力 id
//!   列表get_delivery_list」,物流快递发货时必填") and `delivery_id` of
//!   `trace_waybill` (seed 002: "该字段从 get_delivery_list 获取").
//! - The logistics helper's list, `delivery/getall` (a `GET`): its codes are
//!   `delivery_id` of the helper's `order/add` (seeds 001 and 003:
//!   "快递公司ID,参见getAllDelivery"), where an unknown one is WeChat's
//!   9300503.
//!
//! Only express shipments (`logistics_type` 1) name a courier code: the
//! upload's `express_company` is "物流快递发货时必填" (seed 004 §I), and its
//! errcode 268485227 is "When a logistics courier is shipped, the logistics
//! company's code must be filled in" (seed 004 §I error codes). For same-city
//! delivery (2) `express_company` is the delivery company's name (seed 004
//! §III, `get_order`'s `shipping_list[].express_company`: "The name of the
//! same-town distribution company or logistics company code"), which no list
//! holds.
//!
//! No source found says WeChat *refuses* a code missing from its list: seed
//! 004 lists only an empty code (268485227) and a too-long one (10060025),
//! seed 000 no errcode for `trace_waybill`'s `delivery_id`, which seed 002
//! calls optional ("否", "用于提高运单号识别的准确度"). Only the helper's
//! `order/add` documents one (9300503, see `wechat-sim`'s `state/helper.rs`).
use poem_openapi::Object;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::paths;

/// `logistics_type` of an express shipment (seed 004 §I: "1. Physical
/// logistics distribution uses courier companies"; WeChat's page: "1、实体物流配送").
const EXPRESS_SHIPMENT: i64 = 1;

/// Body of `get_delivery_list`: WeChat takes `{}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(example)]
pub struct GetDeliveryListRequest {}

impl poem_openapi::types::Example for GetDeliveryListRequest {
    fn example() -> Self {
        Self {}
    }
}

impl crate::Validate for GetDeliveryListRequest {
    /// No rules: the body has no fields.
    fn validate(&self) -> Result<(), crate::ValidationError> {
        Ok(())
    }
}

/// One courier of `get_delivery_list`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct Courier {
    /// Courier code (运力 id), e.g. `SF`, `ZTO`, `YTO`.
    pub delivery_id: String,
    /// Courier name, e.g. `顺丰速运`.
    pub delivery_name: String,
}

/// Answer of `get_delivery_list`: every courier the logistics-query plugin
/// and the shipping-information service know.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct GetDeliveryListResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The couriers.
    pub delivery_list: Vec<Courier>,
    /// Number of couriers.
    pub count: i64,
}

/// Which of WeChat's lists a code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CourierList {
    /// `get_delivery_list` (logistics query, shipping information).
    Express,
    /// The logistics helper's `delivery/getall`.
    Helper,
}

impl CourierList {
    pub const ALL: [CourierList; 2] = [CourierList::Express, CourierList::Helper];

    /// Its name in storage, headers and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            CourierList::Express => "express",
            CourierList::Helper => "helper",
        }
    }

    /// The WeChat API that lists it.
    pub fn source(self) -> &'static str {
        match self {
            CourierList::Express => "get_delivery_list",
            CourierList::Helper => "delivery/getall",
        }
    }

    /// WeChat's path of that API.
    pub fn path(self) -> &'static str {
        match self {
            CourierList::Express => paths::GET_DELIVERY_LIST,
            CourierList::Helper => paths::DELIVERY_GETALL,
        }
    }

    /// The couriers (code, name) of an answer of [`Self::path`].
    pub fn couriers_of(self, answer: &Value) -> Vec<Courier> {
        let list = match self {
            CourierList::Express => "delivery_list",
            CourierList::Helper => "data",
        };
        answer
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let code = c.get("delivery_id")?.as_str()?.trim();
                let name = c.get("delivery_name").and_then(Value::as_str).unwrap_or("");
                (!code.is_empty()).then(|| Courier {
                    delivery_id: code.to_owned(),
                    delivery_name: name.trim().to_owned(),
                })
            })
            .collect()
    }
}

/// A courier code a request names, and the list it must come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourierCode {
    pub list: CourierList,
    /// JSON path of the field, e.g. `shipping_list[0].express_company`.
    pub field: String,
    pub code: String,
}

/// The courier codes a request body to WeChat's `path` names (none for
/// APIs without one, or a body tpgate cannot read: the seed rules speak
/// then). Empty codes are left to the seed rules too.
pub fn codes_in(path: &str, body: &Value) -> Vec<CourierCode> {
    let mut codes = Vec::new();
    let mut push = |list, field: String, code: Option<&Value>| {
        if let Some(code) = code.and_then(Value::as_str).filter(|c| !c.is_empty()) {
            codes.push(CourierCode {
                list,
                field,
                code: code.to_owned(),
            });
        }
    };
    if path == paths::UPLOAD_SHIPPING_INFO {
        express_companies(body, "", &mut push);
    } else if path == paths::UPLOAD_COMBINED_SHIPPING_INFO {
        let sub_orders = body.get("sub_orders").and_then(Value::as_array);
        for (i, sub) in sub_orders.into_iter().flatten().enumerate() {
            express_companies(sub, &format!("sub_orders[{i}]."), &mut push);
        }
    } else if path == paths::TRACE_WAYBILL {
        push(
            CourierList::Express,
            "delivery_id".to_owned(),
            body.get("delivery_id"),
        );
    } else if path == paths::ADD_WAYBILL_ORDER {
        push(
            CourierList::Helper,
            "delivery_id".to_owned(),
            body.get("delivery_id"),
        );
    }
    codes
}

/// `shipping_list[i].express_company` of an express shipment (`order`
/// is the body, or one of a combined upload's `sub_orders`).
fn express_companies(
    order: &Value,
    prefix: &str,
    push: &mut impl FnMut(CourierList, String, Option<&Value>),
) {
    if order.get("logistics_type").and_then(Value::as_i64) != Some(EXPRESS_SHIPMENT) {
        return;
    }
    let list = order.get("shipping_list").and_then(Value::as_array);
    for (i, item) in list.into_iter().flatten().enumerate() {
        push(
            CourierList::Express,
            format!("{prefix}shipping_list[{i}].express_company"),
            item.get("express_company"),
        );
    }
}

/// How well `courier` matches `query` (a code or a name): lower is better,
/// `None` is no match. Exact code first, then a code or name that contains
/// the query (顺丰 → SF 顺丰速运), then codes that look alike (Jaro-Winkler:
/// `SFEXPRESS` → `SF`, `ZT0` → `ZTO`; strsim rather than a hand-written
/// distance).
pub fn match_rank(query: &str, courier: &Courier) -> Option<u32> {
    let q = query.trim().to_uppercase();
    if q.is_empty() {
        return None;
    }
    let code = courier.delivery_id.to_uppercase();
    let name = courier.delivery_name.to_uppercase();
    if code == q {
        return Some(0);
    }
    if !name.is_empty() && name == q {
        return Some(1);
    }
    if code.starts_with(&q) || q.starts_with(&code) {
        return Some(2);
    }
    if !name.is_empty() && (name.contains(&q) || q.contains(&name)) {
        return Some(3);
    }
    let similarity = strsim::jaro_winkler(&q, &code);
    // 0.8: close enough to be a typo of the code (ZT0/ZTO 0.82, YDD/YD
    // 0.91), far enough that unrelated codes stay out (SF/ZTO 0).
    (similarity >= 0.8).then(|| 10 + ((1.0 - similarity) * 100.0) as u32)
}

/// The couriers of `list` matching `query`, best first, at most `max`.
pub fn closest<'a>(query: &str, list: &'a [Courier], max: usize) -> Vec<&'a Courier> {
    let mut ranked: Vec<(u32, &Courier)> = list
        .iter()
        .filter_map(|c| match_rank(query, c).map(|rank| (rank, c)))
        .collect();
    ranked.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.delivery_id.len().cmp(&b.1.delivery_id.len()))
            .then_with(|| a.1.delivery_id.cmp(&b.1.delivery_id))
    });
    ranked.into_iter().take(max).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn courier(code: &str, name: &str) -> Courier {
        Courier {
            delivery_id: code.to_owned(),
            delivery_name: name.to_owned(),
        }
    }

    fn list() -> Vec<Courier> {
        vec![
            courier("SF", "顺丰速运"),
            courier("ZTO", "中通快递"),
            courier("ZTOKY", "中通快运"),
            courier("YTO", "圆通速递"),
            courier("JDL", "京东物流"),
            courier("EMS", "中国邮政速递物流"),
        ]
    }

    fn codes(query: &str) -> Vec<String> {
        closest(query, &list(), 3)
            .into_iter()
            .map(|c| c.delivery_id.clone())
            .collect()
    }

    #[test]
    fn finds_codes_by_code_name_and_typo() {
        assert_eq!(codes("SF"), ["SF"]);
        assert_eq!(codes("sf"), ["SF"]);
        assert_eq!(codes("顺丰"), ["SF"]);
        assert_eq!(codes("中通"), ["ZTO", "ZTOKY"]);
        assert_eq!(codes("ZT0")[0], "ZTO");
        assert_eq!(codes("SFEXPRESS"), ["SF"]);
        assert_eq!(codes("JD")[0], "JDL");
        assert!(codes("DHL").is_empty());
        assert!(codes("  ").is_empty());
    }

    #[test]
    fn names_the_codes_of_express_shipments_only() {
        let body = json!({
            "logistics_type": 1,
            "shipping_list": [{"express_company": "SF"}, {"express_company": ""}, {"tracking_no": "1"}, {"express_company": "ZTO"}],
        });
        let found = codes_in(paths::UPLOAD_SHIPPING_INFO, &body);
        assert_eq!(
            found
                .iter()
                .map(|c| (c.field.as_str(), c.code.as_str(), c.list))
                .collect::<Vec<_>>(),
            [
                (
                    "shipping_list[0].express_company",
                    "SF",
                    CourierList::Express
                ),
                (
                    "shipping_list[3].express_company",
                    "ZTO",
                    CourierList::Express
                ),
            ]
        );
        // Same-city delivery names a company, not a code.
        let same_city =
            json!({"logistics_type": 2, "shipping_list": [{"express_company": "闪送"}]});
        assert!(codes_in(paths::UPLOAD_SHIPPING_INFO, &same_city).is_empty());
        let combined = json!({"sub_orders": [
            {"logistics_type": 3, "shipping_list": [{"express_company": "X"}]},
            {"logistics_type": 1, "shipping_list": [{"express_company": "YTO"}]},
        ]});
        let found = codes_in(paths::UPLOAD_COMBINED_SHIPPING_INFO, &combined);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].field,
            "sub_orders[1].shipping_list[0].express_company"
        );
        let helper = codes_in(paths::ADD_WAYBILL_ORDER, &json!({"delivery_id": "JDL"}));
        assert_eq!(helper[0].list, CourierList::Helper);
        let trace = codes_in(paths::TRACE_WAYBILL, &json!({"delivery_id": "SF"}));
        assert_eq!(trace[0].list, CourierList::Express);
        assert!(codes_in(paths::TRACE_WAYBILL, &json!({})).is_empty());
        assert!(codes_in(paths::GET_ORDER, &json!({"delivery_id": "SF"})).is_empty());
        // Not an object, or fields of the wrong type: nothing to check.
        assert!(codes_in(paths::UPLOAD_SHIPPING_INFO, &json!([1])).is_empty());
        assert!(
            codes_in(
                paths::UPLOAD_SHIPPING_INFO,
                &json!({"logistics_type": 1, "shipping_list": [{"express_company": 5}]})
            )
            .is_empty()
        );
    }

    #[test]
    fn reads_both_lists() {
        let express = json!({"errcode": 0, "delivery_list": [{"delivery_id": "SF", "delivery_name": "顺丰速运"}, {"delivery_id": " "}], "count": 2});
        assert_eq!(
            CourierList::Express.couriers_of(&express),
            [courier("SF", "顺丰速运")]
        );
        let helper = json!({"count": 1, "data": [{"delivery_id": "JDL", "delivery_name": "京东物流", "service_type": []}]});
        assert_eq!(
            CourierList::Helper.couriers_of(&helper),
            [courier("JDL", "京东物流")]
        );
        assert!(CourierList::Helper.couriers_of(&express).is_empty());
    }
}
