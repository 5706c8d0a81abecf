//! `GET /v1/couriers?q=…`: find a courier code by name or code in WeChat's
//! lists as tpgate has them cached (顺丰 → SF), the same lists the gate
//! checks `express_company` and `delivery_id` against.
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::{Enum, Object, OpenApi, param::Query, payload::Json};
use problem::Problem;
use store::api_keys::KeyScope;
use wechat_api::couriers::{self as wx, CourierList};

use crate::{ProxyState, TenantApiKey, couriers};

/// One of WeChat's courier lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum CourierListName {
    /// `get_delivery_list`: `express_company` of `upload_shipping_info`,
    /// `delivery_id` of `trace_waybill`.
    Express,
    /// The logistics helper's `delivery/getall`: `delivery_id` of its
    /// `order/add`.
    Helper,
}

impl From<CourierListName> for CourierList {
    fn from(name: CourierListName) -> Self {
        match name {
            CourierListName::Express => CourierList::Express,
            CourierListName::Helper => CourierList::Helper,
        }
    }
}

impl From<CourierList> for CourierListName {
    fn from(list: CourierList) -> Self {
        match list {
            CourierList::Express => CourierListName::Express,
            CourierList::Helper => CourierListName::Helper,
        }
    }
}

/// A courier found, and the list it is in.
#[derive(Debug, Clone, Object)]
pub struct CourierMatch {
    /// The code to send (`express_company` or `delivery_id`).
    pub delivery_id: String,
    /// WeChat's name for it.
    pub delivery_name: String,
    // No doc comment: it would wrap the enum's reference in `allOf`, which
    // openapi-python-client cannot read.
    pub list: CourierListName,
}

/// Where a list stands.
#[derive(Debug, Clone, Object)]
pub struct CourierListState {
    pub list: CourierListName,
    /// The WeChat API it comes from.
    pub source: String,
    /// Whether tpgate has it (when not, codes from it are not checked).
    pub available: bool,
    /// When WeChat answered it.
    #[oai(skip_serializing_if_is_none)]
    pub fetched_at: Option<DateTime<Utc>>,
    /// How many couriers it holds.
    pub count: u32,
}

/// Couriers matching a search, best first, and the lists searched.
#[derive(Debug, Clone, Object)]
pub struct CourierSearch {
    pub items: Vec<CourierMatch>,
    pub lists: Vec<CourierListState>,
}

pub struct CouriersApi;

#[OpenApi(prefix_path = "/v1")]
impl CouriersApi {
    /// Find a courier code
    ///
    /// Searches WeChat's courier lists as tpgate has them cached (fetched daily with one of the tenant's Mini Programs): by code (`SF`, `zto`) or name (`顺丰` → `SF`), exact matches first, then codes and names containing the query, then look-alike codes. Without `q`, the whole list. The same lists the proxy checks `express_company` (`express`) and the helper's `delivery_id` (`helper`) against. Needs the `proxy_read` scope.
    #[oai(
        path = "/couriers",
        method = "get",
        operation_id = "find_couriers",
        tag = "super::ApiTags::Logistics"
    )]
    async fn find_couriers(
        &self,
        auth: TenantApiKey,
        state: Data<&ProxyState>,
        /// A code or a name, or part of one.
        #[oai(validator(max_length = 64))]
        q: Query<Option<String>>,
        /// Only this list (default: both).
        list: Query<Option<CourierListName>>,
        /// At most this many couriers, 1–500 (default 20).
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<u32>>,
    ) -> Result<Json<CourierSearch>, Problem> {
        let tenant = auth.0;
        if !tenant.scopes.contains(KeyScope::ProxyRead) {
            return Err(Problem::forbidden(
                "this API key lacks the `proxy_read` scope that /v1/couriers needs",
            ));
        }
        let limit = limit.0.unwrap_or(20) as usize;
        let query = q.0.as_deref().map(str::trim).filter(|q| !q.is_empty());
        let kinds: Vec<CourierList> = match list.0 {
            Some(one) => vec![one.into()],
            None => CourierList::ALL.to_vec(),
        };
        let mut ranked: Vec<(u32, CourierMatch)> = Vec::new();
        let mut lists = Vec::new();
        for kind in kinds {
            let known = couriers::list_for_tenant(&state, &tenant, kind).await;
            lists.push(CourierListState {
                list: kind.into(),
                source: kind.source().to_owned(),
                available: known.is_some(),
                fetched_at: known.as_ref().map(|k| k.fetched_at),
                count: known
                    .as_ref()
                    .map_or(0, |k| u32::try_from(k.couriers.len()).unwrap_or(u32::MAX)),
            });
            for courier in known.iter().flat_map(|k| k.couriers.iter()) {
                let rank = match query {
                    Some(q) => wx::match_rank(q, courier),
                    None => Some(0),
                };
                if let Some(rank) = rank {
                    ranked.push((
                        rank,
                        CourierMatch {
                            delivery_id: courier.delivery_id.clone(),
                            delivery_name: courier.delivery_name.clone(),
                            list: kind.into(),
                        },
                    ));
                }
            }
        }
        // Stable: within a rank, the lists' own order.
        ranked.sort_by_key(|(rank, _)| *rank);
        Ok(Json(CourierSearch {
            items: ranked.into_iter().take(limit).map(|(_, m)| m).collect(),
            lists,
        }))
    }
}
