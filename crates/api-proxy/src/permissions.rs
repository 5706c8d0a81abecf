//! Which permission sets (funcscope ids) allow which WeChat API, as data
//! (DESIGN.md "Permission sets"): the documented defaults, overridable by the
//! operator per path or path prefix (`proxy.permission_sets` in the config).
use std::collections::BTreeMap;

use tenant_auth::permissions::{LOGISTICS, SHIPPING_SETS};

/// Defaults by path prefix. A path matching none needs no particular set
/// here: WeChat still refuses it (48001, mapped to 403) if it needs one.
const DEFAULTS: &[(&str, &[i64])] = &[
    ("/wxa/sec/order/", SHIPPING_SETS),
    ("/cgi-bin/express/", &[LOGISTICS]),
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
    /// then their longest matching prefix, then the defaults.
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
        DEFAULTS
            .iter()
            .find(|(prefix, _)| starts_with_ignore_case(path, prefix))
            .map_or(&[], |(_, sets)| sets)
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
        assert_eq!(map.sets_for("/cgi-bin/express/business/path/get"), [45]);
        assert!(map.sets_for("/wxa/getwxacode").is_empty());
        assert_eq!(map.sets_for("/WXA/Sec/order/get_order"), [142, 18]);
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
        assert_eq!(map.sets_for("/cgi-bin/express/business/order/get"), [45]);
    }
}
