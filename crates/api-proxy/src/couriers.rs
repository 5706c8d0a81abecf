//! Courier codes checked against WeChat's own lists, never guessed
//! (`wechat_api::couriers` says which field comes from which list).
//!
//! The lists are cached in the store for every replica and refreshed once
//! per `proxy.couriers_refresh_secs` (a day), claimed so one replica asks;
//! each replica keeps what it read for a minute. A stale list is used while
//! a refresh runs in the background; when there is no list at all, the
//! calling Mini Program's token fetches it at once. When no list can be
//! had (WeChat refused or failed, the Mini Program lacks the permission
//! set), the check is skipped and the answer says so in
//! [`CHECK_HEADER`]: an unknown code is then WeChat's to refuse, never
//! replaced by a default.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use problem::Problem;
use serde_json::Value;
use wechat_api::{
    couriers::{self, Courier, CourierCode, CourierList},
    errcode,
};

use crate::{ProxyState, catalog};

/// On an answer whose courier codes could not be checked: `skipped;
/// list=get_delivery_list` (or `delivery/getall`).
pub const CHECK_HEADER: &str = "Tpgate-Courier-Check";

/// How long a replica trusts what it read of a list before reading the
/// store again (another replica may have refreshed it).
const LOCAL_TTL: Duration = Duration::from_secs(60);

/// How many closest codes a refusal offers.
const SUGGESTIONS: usize = 5;

/// A list as this replica has it.
#[derive(Debug, Clone)]
pub struct KnownList {
    pub couriers: Arc<Vec<Courier>>,
    pub fetched_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Local {
    list: Option<KnownList>,
    read_at: Instant,
}

/// This replica's view of the cached lists.
#[derive(Debug, Clone, Default)]
pub struct CourierDirectory {
    local: Arc<Mutex<HashMap<CourierList, Local>>>,
}

impl CourierDirectory {
    fn remembered(&self, list: CourierList) -> Option<Option<KnownList>> {
        let local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local
            .get(&list)
            .filter(|l| l.read_at.elapsed() < LOCAL_TTL)
            .map(|l| l.list.clone())
    }

    fn remember(&self, list: CourierList, known: Option<KnownList>) {
        let mut local = self.local.lock().unwrap_or_else(|e| e.into_inner());
        local.insert(
            list,
            Local {
                list: known,
                read_at: Instant::now(),
            },
        );
    }
}

/// The list `list` for a call of `appid`: cached, refreshed when due (in
/// the background when a stale list can serve meanwhile), fetched now with
/// `appid`'s token when there is none. None: no list could be had.
pub async fn list(state: &ProxyState, list: CourierList, appid: &str) -> Option<KnownList> {
    if let Some(known) = state.couriers.remembered(list) {
        return known;
    }
    let stored = match state.auth.store().courier_list(list.as_str()).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::warn!(error = %e, list = list.source(), "could not read a cached courier list");
            return None;
        }
    };
    let known = stored.as_ref().and_then(known_list);
    let now = Utc::now();
    let settings = &state.settings;
    let due = known.as_ref().is_none_or(|k| {
        now - k.fetched_at >= chrono::Duration::seconds(settings.couriers_refresh_secs as i64)
    });
    if due {
        // A failed attempt is retried after `couriers_retry_secs`, not at
        // every call (WeChat would be asked per upload on a bad day).
        let interval = chrono::Duration::seconds(settings.couriers_retry_secs as i64);
        let claimed = state
            .auth
            .store()
            .claim_courier_list_fetch(list.as_str(), now, interval)
            .await
            .unwrap_or(false);
        if claimed {
            if known.is_some() {
                let state = state.clone();
                let appid = appid.to_owned();
                tokio::spawn(async move {
                    refresh(&state, list, &appid).await;
                });
            } else {
                let fetched = refresh(state, list, appid).await;
                state.couriers.remember(list, fetched.clone());
                return fetched;
            }
        }
    }
    state.couriers.remember(list, known.clone());
    known
}

fn known_list(stored: &store::courier_lists::CachedCourierList) -> Option<KnownList> {
    let couriers: Vec<Courier> = serde_json::from_str(stored.couriers.as_deref()?).ok()?;
    Some(KnownList {
        couriers: Arc::new(couriers),
        fetched_at: stored.fetched_at?,
    })
}

/// Fetches `list` from WeChat with `appid`'s token and stores the outcome
/// (a claimed fetch, see [`list`]).
async fn refresh(state: &ProxyState, list: CourierList, appid: &str) -> Option<KnownList> {
    let api = match list {
        CourierList::Express => catalog::GET_DELIVERY_LIST,
        CourierList::Helper => catalog::DELIVERY_GETALL,
    };
    let at = Utc::now();
    let fetched = match crate::gate::platform_read(state, api, appid).await {
        Ok(answer) => {
            let couriers = list.couriers_of(&answer);
            if couriers.is_empty() {
                Err(format!("{} answered no couriers", list.source()))
            } else {
                Ok(couriers)
            }
        }
        Err(problem) => Err(match problem.body().wechat_errcode {
            Some(code) => format!("{} answered errcode {code}", list.source()),
            None => format!("{}: {}", list.source(), problem.body().title),
        }),
    };
    let saved = match &fetched {
        Ok(couriers) => Ok(serde_json::to_string(couriers).unwrap_or_default()),
        Err(e) => {
            tracing::warn!(list = list.source(), appid, error = %e, "could not fetch a courier list");
            Err(e.clone())
        }
    };
    if let Err(e) = state
        .auth
        .store()
        .save_courier_list(list.as_str(), at, saved)
        .await
    {
        tracing::warn!(error = %e, list = list.source(), "could not store a courier list");
    }
    fetched.ok().map(|couriers| KnownList {
        couriers: Arc::new(couriers),
        fetched_at: at,
    })
}

/// The list `kind` for a tenant's search: cached, or fetched with one of
/// the tenant's active Mini Programs that may call its API (one the key
/// may call, when it is restricted).
pub async fn list_for_tenant(
    state: &ProxyState,
    tenant: &crate::TenantContext,
    kind: CourierList,
) -> Option<KnownList> {
    if let Some(Some(known)) = state.couriers.remembered(kind) {
        return Some(known);
    }
    let tenant_id = tenant.tenant_id.as_str();
    let may_use = |appid: &str| {
        tenant
            .allowed_appids
            .as_ref()
            .is_none_or(|allowed| allowed.iter().any(|a| a == appid))
    };
    let mut appid = None;
    for &set in state.permissions.sets_for(kind.path()) {
        let filter = store::authorizers::AuthorizerFilter {
            tenant_id: Some(tenant_id.to_owned()),
            status: Some(
                store::authorizers::AuthorizerStatus::Active
                    .as_str()
                    .to_owned(),
            ),
            permission_set: Some(set),
            name_contains: None,
        };
        match state
            .auth
            .store()
            .list_authorizers_page(&filter, None, 50)
            .await
        {
            Ok(found) => {
                if let Some(a) = found.into_iter().find(|a| may_use(&a.appid)) {
                    appid = Some(a.appid.to_string());
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not look for a Mini Program to fetch couriers with");
                break;
            }
        }
    }
    match appid {
        Some(appid) => list(state, kind, &appid).await,
        // No Mini Program may fetch it: what is cached, if anything.
        None => match state.auth.store().courier_list(kind.as_str()).await {
            Ok(stored) => stored.as_ref().and_then(known_list),
            Err(_) => None,
        },
    }
}

/// Step 4b of the gate: every courier code the body names is in its list
/// (else 400 naming the field, with the closest codes). Answers the
/// [`CHECK_HEADER`] value when a list could not be had.
pub async fn check(
    state: &ProxyState,
    path: &str,
    appid: &str,
    body: &Value,
) -> Result<Option<String>, Problem> {
    let codes = couriers::codes_in(path, body);
    let mut skipped = Vec::new();
    for kind in CourierList::ALL {
        let named: Vec<&CourierCode> = codes.iter().filter(|c| c.list == kind).collect();
        if named.is_empty() {
            continue;
        }
        match list(state, kind, appid).await {
            Some(known) => {
                for code in named {
                    check_code(code, &known)?;
                }
            }
            None => skipped.push(kind.source()),
        }
    }
    Ok((!skipped.is_empty()).then(|| format!("skipped; list={}", skipped.join(","))))
}

/// `code` is in `known`, else the refusal naming its field and the closest
/// codes.
pub fn check_code(code: &CourierCode, known: &KnownList) -> Result<(), Problem> {
    if known.couriers.iter().any(|c| c.delivery_id == code.code) {
        return Ok(());
    }
    let closest = couriers::closest(&code.code, &known.couriers, SUGGESTIONS);
    let offered = if closest.is_empty() {
        "no code is close; search with GET /v1/couriers?q=<name>".to_owned()
    } else {
        format!(
            "closest: {}",
            closest
                .iter()
                .map(|c| format!("{} ({})", c.delivery_id, c.delivery_name))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let shown: String = code.code.chars().take(40).collect();
    let mut refused = Problem::validation(
        code.field.clone(),
        format!(
            "`{shown}` is not a courier code of WeChat's {} (as of {}); {offered}",
            code.list.source(),
            known.fetched_at.to_rfc3339(),
        ),
    )
    .with_suggestions(closest.iter().map(|c| c.delivery_id.clone()).collect());
    if code.list == CourierList::Helper {
        refused = refused.with_prevented_errcode(errcode::DELIVERY_ID_NOT_FOUND);
    }
    Err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> KnownList {
        KnownList {
            couriers: Arc::new(vec![
                Courier {
                    delivery_id: "SF".into(),
                    delivery_name: "顺丰速运".into(),
                },
                Courier {
                    delivery_id: "ZTO".into(),
                    delivery_name: "中通快递".into(),
                },
            ]),
            fetched_at: Utc::now(),
        }
    }

    fn code(list: CourierList, code: &str) -> CourierCode {
        CourierCode {
            list,
            field: "shipping_list[0].express_company".into(),
            code: code.into(),
        }
    }

    #[test]
    fn a_known_code_passes_and_an_unknown_one_is_refused_with_suggestions() {
        assert!(check_code(&code(CourierList::Express, "SF"), &known()).is_ok());
        let refused = check_code(&code(CourierList::Express, "sf"), &known()).unwrap_err();
        let body = refused.body();
        assert_eq!(body.status, 400);
        assert_eq!(
            body.field.as_deref(),
            Some("shipping_list[0].express_company")
        );
        assert_eq!(body.suggestions.as_deref(), Some(&["SF".to_owned()][..]));
        assert!(body.detail.as_deref().unwrap().contains("SF (顺丰速运)"));
        assert_eq!(body.prevents_errcode, None);
        let helper = check_code(&code(CourierList::Helper, "DHL"), &known()).unwrap_err();
        assert_eq!(helper.body().prevents_errcode, Some(9300503));
        assert_eq!(helper.body().suggestions.as_deref(), Some(&[][..]));
        assert!(
            helper
                .body()
                .detail
                .as_deref()
                .unwrap()
                .contains("GET /v1/couriers")
        );
        // A long code is quoted bounded.
        let long =
            check_code(&code(CourierList::Express, &"X".repeat(5000)), &known()).unwrap_err();
        assert!(long.body().detail.as_deref().unwrap().len() < 400);
    }
}
