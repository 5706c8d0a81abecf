//! Which permission sets (funcscope ids) allow which WeChat API, as data
//! (DESIGN.md "Permission sets"): the documented defaults, overridable by the
//! operator per path or path prefix (`proxy.permission_sets` in the config).
//! The proxy enforces it; the admin API's health view reads the same map to
//! say which sets a Mini Program lacks (it lives here, below both).
use std::collections::{BTreeMap, BTreeSet};

use wechat_api::paths;

use crate::permissions::{
    DELIVERY_LIST_SETS, LOGISTICS_HELPER_SETS, LOGISTICS_PLUGIN_SETS, PLUGIN_MANAGEMENT_SETS,
    SHIPPING_SETS,
};

/// Defaults by exact path: the sets WeChat's page of each API lists
/// ("该接口所属的权限集 id 为: …"), checked before the prefixes. Any one set
/// is enough.
const EXACT_DEFAULTS: &[(&str, &[i64])] = &[
    // developers.weixin.qq.com/miniprogram/dev/server/API/weixin-express/express-msg/api_get_delivery_list:
    // "45、120-121、142".
    (paths::GET_DELIVERY_LIST, DELIVERY_LIST_SETS),
    // …/weixin-express/express-search/api_trace_waybill (and the plugin's
    // other two): "45".
    (paths::TRACE_WAYBILL, LOGISTICS_PLUGIN_SETS),
    (paths::QUERY_TRACE, LOGISTICS_PLUGIN_SETS),
    (paths::UPDATE_WAYBILL_GOODS, LOGISTICS_PLUGIN_SETS),
    // …/express/express-by-business/api_{getpath,getorder,addorder,
    // cancelorder,batchgetorder,getallaccount,getalldelivery}: "45、71".
    (paths::GET_PATH, LOGISTICS_HELPER_SETS),
    (paths::GET_WAYBILL_ORDER, LOGISTICS_HELPER_SETS),
    (paths::ADD_WAYBILL_ORDER, LOGISTICS_HELPER_SETS),
    (paths::CANCEL_WAYBILL_ORDER, LOGISTICS_HELPER_SETS),
    (paths::BATCHGET_WAYBILL_ORDER, LOGISTICS_HELPER_SETS),
    (paths::ACCOUNT_GETALL, LOGISTICS_HELPER_SETS),
    (paths::DELIVERY_GETALL, LOGISTICS_HELPER_SETS),
    // …/plugin-management/api_manageplugin: "40".
    (paths::MANAGE_PLUGIN, PLUGIN_MANAGEMENT_SETS),
];

/// Defaults by path prefix, for the family's other APIs. A path matching
/// none needs no particular set here: WeChat still refuses it (61007, mapped
/// to 403) if it needs one. There is no catch-all for `/cgi-bin/express/`:
/// its other families take other sets (即时配送 51 or 71, for instance), and
/// requiring 45 would refuse calls WeChat accepts.
const PREFIX_DEFAULTS: &[(&str, &[i64])] = &[
    // The shipping-management pages list "18、142" (protocol.md §8).
    ("/wxa/sec/order/", SHIPPING_SETS),
    ("/cgi-bin/express/delivery/open_msg/", LOGISTICS_PLUGIN_SETS),
    // Every helper page checked lists "45、71" (also bindAccount).
    ("/cgi-bin/express/business/", LOGISTICS_HELPER_SETS),
];

#[derive(Debug, Clone, Default)]
pub struct PermissionMap {
    /// Operator overrides: an exact path, or a prefix ending in `/`.
    overrides: BTreeMap<String, Vec<i64>>,
}

impl PermissionMap {
    pub fn new(overrides: BTreeMap<String, Vec<i64>>) -> Self {
        Self { overrides }
    }

    /// The sets of which the authorizer must hold at least one to call
    /// `path`; empty when no set is required. The operator's exact path,
    /// then their longest matching prefix, then the default for the exact
    /// path, then the default for the prefix.
    ///
    /// Paths compare ignoring ASCII case: whether WeChat folds case is not
    /// documented, so a case variant must not escape its sets.
    pub fn sets_for(&self, path: &str) -> &[i64] {
        if let Some((_, sets)) = self
            .overrides
            .iter()
            .find(|(exact, _)| exact.eq_ignore_ascii_case(path))
        {
            return sets;
        }
        if let Some((_, sets)) = self
            .overrides
            .iter()
            .filter(|(prefix, _)| prefix.ends_with('/') && starts_with_ignore_case(path, prefix))
            .max_by_key(|(prefix, _)| prefix.len())
        {
            return sets;
        }
        if let Some((_, sets)) = EXACT_DEFAULTS
            .iter()
            .find(|(exact, _)| exact.eq_ignore_ascii_case(path))
        {
            return sets;
        }
        PREFIX_DEFAULTS
            .iter()
            .find(|(prefix, _)| starts_with_ignore_case(path, prefix))
            .map_or(&[], |(_, sets)| sets)
    }

    /// The WeChat APIs tpgate knows ([`paths::API_PATHS`]) that a Mini
    /// Program holding `granted` cannot call, each with the sets of which
    /// it needs one.
    pub fn missing(&self, granted: &BTreeSet<i64>) -> Vec<(&'static str, &[i64])> {
        paths::API_PATHS
            .iter()
            .map(|path| (*path, self.sets_for(path)))
            .filter(|(_, sets)| !sets.is_empty() && !sets.iter().any(|s| granted.contains(s)))
            .collect()
    }
}

fn starts_with_ignore_case(path: &str, prefix: &str) -> bool {
    path.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design() {
        let map = PermissionMap::default();
        assert_eq!(map.sets_for("/wxa/sec/order/get_order"), [142, 18]);
        assert_eq!(
            map.sets_for("/cgi-bin/express/delivery/open_msg/query_trace"),
            [45]
        );
        assert!(map.sets_for("/wxa/getwxacode").is_empty());
        assert_eq!(map.sets_for("/WXA/Sec/order/get_order"), [142, 18]);
    }

    /// WeChat's pages: the logistics helper's APIs take 45 or 71,
    /// get_delivery_list 45, 120, 121 or 142, /wxa/plugin 40.
    #[test]
    fn defaults_are_per_api_as_wechat_documents_them() {
        let map = PermissionMap::default();
        for helper in [
            "/cgi-bin/express/business/path/get",
            "/cgi-bin/express/business/order/get",
            "/cgi-bin/express/business/order/add",
            "/cgi-bin/express/business/order/cancel",
            "/cgi-bin/express/business/order/batchget",
            "/cgi-bin/express/business/account/getall",
            "/cgi-bin/express/business/delivery/getall",
            "/cgi-bin/express/business/account/bind",
        ] {
            assert_eq!(map.sets_for(helper), [45, 71], "{helper}");
        }
        assert_eq!(
            map.sets_for("/cgi-bin/express/delivery/open_msg/get_delivery_list"),
            [45, 120, 121, 142]
        );
        assert_eq!(
            map.sets_for("/cgi-bin/express/delivery/open_msg/trace_waybill"),
            [45]
        );
        assert_eq!(map.sets_for("/wxa/plugin"), [40]);
        // Other express families take other sets: none is required here.
        assert!(
            map.sets_for("/cgi-bin/express/local/business/order/add")
                .is_empty()
        );
        // An operator still overrides a default of either kind.
        let map = PermissionMap::new(BTreeMap::from([(
            "/cgi-bin/express/business/path/get".to_owned(),
            vec![45],
        )]));
        assert_eq!(map.sets_for("/cgi-bin/express/business/path/get"), [45]);
        assert_eq!(
            map.sets_for("/cgi-bin/express/business/order/get"),
            [45, 71]
        );
    }

    #[test]
    fn missing_lists_the_apis_no_granted_set_allows() {
        let map = PermissionMap::default();
        let granted = BTreeSet::from([18, 45]);
        let missing = map.missing(&granted);
        // 18 allows shipping, 45 the plugin, the helper and delivery list;
        // only plugin management (40) is missing.
        assert_eq!(missing, [(paths::MANAGE_PLUGIN, &[40][..])]);
        let none = map.missing(&BTreeSet::new());
        assert!(none.contains(&(paths::GET_ORDER, &[142, 18][..])));
        // Component APIs need no set.
        assert!(
            !none
                .iter()
                .any(|(p, _)| p.starts_with("/cgi-bin/component/"))
        );
        // An operator's override counts.
        let map = PermissionMap::new(BTreeMap::from([("/wxa/plugin".to_owned(), vec![18])]));
        assert!(map.missing(&granted).is_empty());
    }

    #[test]
    fn operator_overrides_exact_then_longest_prefix() {
        let map = PermissionMap::new(BTreeMap::from([
            ("/wxa/sec/order/".to_owned(), vec![142]),
            ("/wxa/sec/order/get_order".to_owned(), vec![18]),
            ("/wxa/".to_owned(), vec![17]),
        ]));
        assert_eq!(map.sets_for("/wxa/sec/order/get_order"), [18]);
        assert_eq!(map.sets_for("/wxa/sec/order/upload_shipping_info"), [142]);
        assert_eq!(map.sets_for("/wxa/getwxacode"), [17]);
        assert_eq!(
            map.sets_for("/cgi-bin/express/business/order/get"),
            [45, 71]
        );
    }
}
