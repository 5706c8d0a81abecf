//! Policies: what is limited (API group × dimension × window), how much, and
//! which policy applies to a call (the most specific scope wins).
use std::{collections::HashMap, fmt, str::FromStr};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

/// WeChat's day (quotas reset at midnight in China, UTC+8 without DST).
pub fn shanghai() -> FixedOffset {
    // `east_opt` only fails beyond ±24 h.
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Families of WeChat APIs that share limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ApiGroup {
    /// `/wxa/sec/order/*` (shipping-information management).
    Shipping,
    /// `/cgi-bin/express/delivery/open_msg/*` (logistics-query plugin: the
    /// seeds' 100 000/day per appid and 100/day per user, for its APIs
    /// together; see [`defaults`]).
    LogisticsPlugin,
    /// `/cgi-bin/express/business/*` (logistics helper, 物流助手: `order/add`,
    /// `order/cancel`, `order/get`, `order/batchget`, `path/get`,
    /// `account/getall`, `delivery/getall`).
    LogisticsHelper,
    /// Anything called through the raw passthrough.
    Raw,
}

impl ApiGroup {
    pub const ALL: [ApiGroup; 4] = [
        ApiGroup::Shipping,
        ApiGroup::LogisticsPlugin,
        ApiGroup::LogisticsHelper,
        ApiGroup::Raw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiGroup::Shipping => "shipping",
            ApiGroup::LogisticsPlugin => "logistics_plugin",
            ApiGroup::LogisticsHelper => "logistics_helper",
            ApiGroup::Raw => "raw",
        }
    }
}

/// Who a counter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// One Mini Program.
    Appid,
    /// One user (openid) of one Mini Program.
    User,
    /// All Mini Programs of one tenant.
    Tenant,
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Appid, Dimension::User, Dimension::Tenant];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Appid => "appid",
            Dimension::User => "user",
            Dimension::Tenant => "tenant",
        }
    }
}

/// Fixed windows: a day follows Asia/Shanghai, like WeChat's quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Window {
    Day,
    Hour,
    Minute,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::Day, Window::Hour, Window::Minute];

    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "day",
            Window::Hour => "hour",
            Window::Minute => "minute",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Window::Day => 86_400,
            Window::Hour => 3_600,
            Window::Minute => 60,
        }
    }

    /// The window containing `now`: its label (part of the counter key) and
    /// the seconds left until it resets.
    pub fn current(self, now: DateTime<Utc>) -> (String, i64) {
        let local = now.with_timezone(&shanghai());
        let offset = i64::from(shanghai().local_minus_utc());
        let len = self.seconds();
        // Shanghai's offset is a whole number of hours, so hour and minute
        // windows line up with UTC's too; only days need the shift.
        let start = (now.timestamp() + offset).div_euclid(len) * len - offset;
        let reset_in = (start + len - now.timestamp()).max(1);
        let label = match self {
            Window::Day => format!("{:04}{:02}{:02}", local.year(), local.month(), local.day()),
            Window::Hour | Window::Minute => start.to_string(),
        };
        (label, reset_in)
    }
}

/// The label of a Shanghai calendar day, as [`Window::current`] makes it.
pub fn day_label(day: NaiveDate) -> String {
    format!("{:04}{:02}{:02}", day.year(), day.month(), day.day())
}

/// Today in Shanghai.
pub fn shanghai_today(now: DateTime<Utc>) -> NaiveDate {
    shanghai().from_utc_datetime(&now.naive_utc()).date_naive()
}

/// Where a policy applies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Global,
    Tenant(String),
    Appid(String),
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Global => f.write_str("global"),
            Scope::Tenant(id) => write!(f, "tenant:{id}"),
            Scope::Appid(appid) => write!(f, "appid:{appid}"),
        }
    }
}

/// Why a policy's text form was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: String) -> PolicyError {
    PolicyError { field, message }
}

impl FromStr for ApiGroup {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiGroup::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| {
            invalid(
                "api_group",
                format!("unknown API group {s:?}; one of shipping, logistics_plugin, logistics_helper, raw"),
            )
        })
    }
}

impl FromStr for Dimension {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                invalid(
                    "dimension",
                    format!("unknown dimension {s:?}; one of appid, user, tenant"),
                )
            })
    }
}

impl FromStr for Window {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Window::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| {
                invalid(
                    "window",
                    format!("unknown window {s:?}; one of day, hour, minute"),
                )
            })
    }
}

impl FromStr for Scope {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let scope = match s.split_once(':') {
            None if s == "global" => Scope::Global,
            Some(("tenant", id)) if !id.is_empty() => Scope::Tenant(id.to_owned()),
            Some(("appid", appid)) if !appid.is_empty() => Scope::Appid(appid.to_owned()),
            _ => {
                return Err(invalid(
                    "scope",
                    format!("unknown scope {s:?}; one of global, tenant:<id>, appid:<appid>"),
                ));
            }
        };
        Ok(scope)
    }
}

/// One limit: at most `max_calls` calls of `group` per `dimension` per `window`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub group: ApiGroup,
    pub dimension: Dimension,
    pub window: Window,
    pub scope: Scope,
    pub max_calls: u64,
}

impl Policy {
    /// The policy's name in `RateLimit-Policy` / `RateLimit` headers.
    pub fn name(&self) -> String {
        format!(
            "{}-{}-{}",
            self.group.as_str(),
            self.dimension.as_str(),
            self.window.as_str()
        )
    }
}

/// The seeds' limits for the logistics-query plugin: 100 000 calls a day per
/// appid and 100 a day per user (seed 000 "Frequency limitation", seed 002).
///
/// They count the plugin as a whole: `trace_waybill`, `query_trace` and
/// `update_waybill_goods` share one counter per dimension (the
/// `logistics_plugin` group). The seeds do not say whether WeChat counts
/// per API or per plugin; counting the plugin as a whole is the safe
/// reading for tenants: it never lets tpgate spend past WeChat's limit
/// whichever WeChat uses (if WeChat counts per API, tenants only stop
/// early), whereas per-API counters would let a user make 100 traces and
/// 100 queries where WeChat may stop at 100. wechat-sim counts the same way
/// (`state/logistics.rs`), so tests check this choice against a WeChat that
/// holds it.
pub fn defaults() -> Vec<Policy> {
    vec![
        Policy {
            group: ApiGroup::LogisticsPlugin,
            dimension: Dimension::Appid,
            window: Window::Day,
            scope: Scope::Global,
            max_calls: 100_000,
        },
        Policy {
            group: ApiGroup::LogisticsPlugin,
            dimension: Dimension::User,
            window: Window::Day,
            scope: Scope::Global,
            max_calls: 100,
        },
    ]
}

/// All policies in force, indexed for lookup on every call.
#[derive(Debug, Clone, Default)]
pub struct PolicyTable {
    by_slot: HashMap<(ApiGroup, Dimension, Window), Vec<Policy>>,
}

impl PolicyTable {
    /// The built-in defaults overridden by `policies` (same group,
    /// dimension, window and scope: the later one wins).
    pub fn new(policies: impl IntoIterator<Item = Policy>) -> Self {
        let mut table = Self::default();
        for policy in defaults().into_iter().chain(policies) {
            let slot = table
                .by_slot
                .entry((policy.group, policy.dimension, policy.window))
                .or_default();
            slot.retain(|p| p.scope != policy.scope);
            slot.push(policy);
        }
        table
    }

    /// The policies for a call: per (dimension, window), the appid's own
    /// policy, else its tenant's, else the global one.
    pub fn applicable(&self, group: ApiGroup, tenant_id: &str, appid: &str) -> Vec<&Policy> {
        let mut out = Vec::new();
        for dimension in Dimension::ALL {
            for window in Window::ALL {
                let Some(slot) = self.by_slot.get(&(group, dimension, window)) else {
                    continue;
                };
                let pick = |wanted: &Scope| slot.iter().find(|p| &p.scope == wanted);
                if let Some(p) = pick(&Scope::Appid(appid.to_owned()))
                    .or_else(|| pick(&Scope::Tenant(tenant_id.to_owned())))
                    .or_else(|| pick(&Scope::Global))
                {
                    out.push(p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    fn policy(
        group: ApiGroup,
        dimension: Dimension,
        window: Window,
        scope: Scope,
        max_calls: u64,
    ) -> Policy {
        Policy {
            group,
            dimension,
            window,
            scope,
            max_calls,
        }
    }

    /// `(dimension, window, scope, max_calls)` of each applicable policy.
    fn picked(
        table: &PolicyTable,
        group: ApiGroup,
        tenant: &str,
        appid: &str,
    ) -> Vec<(Dimension, Window, Scope, u64)> {
        table
            .applicable(group, tenant, appid)
            .into_iter()
            .map(|p| (p.dimension, p.window, p.scope.clone(), p.max_calls))
            .collect()
    }

    #[test]
    fn defaults_match_seed_000() {
        assert_eq!(
            defaults(),
            vec![
                policy(
                    ApiGroup::LogisticsPlugin,
                    Dimension::Appid,
                    Window::Day,
                    Scope::Global,
                    100_000
                ),
                policy(
                    ApiGroup::LogisticsPlugin,
                    Dimension::User,
                    Window::Day,
                    Scope::Global,
                    100
                ),
            ]
        );
        let table = PolicyTable::new([]);
        assert_eq!(
            picked(&table, ApiGroup::LogisticsPlugin, "t1", "wx1"),
            vec![
                (Dimension::Appid, Window::Day, Scope::Global, 100_000),
                (Dimension::User, Window::Day, Scope::Global, 100),
            ]
        );
        // The seeds limit nothing else.
        for group in [ApiGroup::Shipping, ApiGroup::LogisticsHelper, ApiGroup::Raw] {
            assert!(table.applicable(group, "t1", "wx1").is_empty(), "{group:?}");
        }
    }

    #[test]
    fn appid_beats_tenant_beats_global_per_dimension() {
        let plugin = ApiGroup::LogisticsPlugin;
        let table = PolicyTable::new([
            policy(
                plugin,
                Dimension::Appid,
                Window::Day,
                Scope::Tenant("t1".into()),
                500,
            ),
            policy(
                plugin,
                Dimension::Appid,
                Window::Day,
                Scope::Appid("wx1".into()),
                50,
            ),
        ]);
        let user_default = (Dimension::User, Window::Day, Scope::Global, 100);
        // The appid's own policy, even over its tenant's.
        assert_eq!(
            picked(&table, plugin, "t1", "wx1"),
            vec![
                (
                    Dimension::Appid,
                    Window::Day,
                    Scope::Appid("wx1".into()),
                    50
                ),
                user_default.clone(),
            ]
        );
        // Another appid of the tenant: the tenant's.
        assert_eq!(
            picked(&table, plugin, "t1", "wx2"),
            vec![
                (
                    Dimension::Appid,
                    Window::Day,
                    Scope::Tenant("t1".into()),
                    500
                ),
                user_default.clone(),
            ]
        );
        // Another tenant: the global one.
        assert_eq!(
            picked(&table, plugin, "t2", "wx3"),
            vec![
                (Dimension::Appid, Window::Day, Scope::Global, 100_000),
                user_default.clone(),
            ]
        );
        // An appid policy follows the appid, whichever tenant holds it.
        assert_eq!(
            picked(&table, plugin, "t2", "wx1")[0],
            (
                Dimension::Appid,
                Window::Day,
                Scope::Appid("wx1".into()),
                50
            ),
        );
    }

    #[test]
    fn precedence_is_per_group_dimension_and_window() {
        let table = PolicyTable::new([
            // A tenant policy for another group changes nothing here.
            policy(
                ApiGroup::Shipping,
                Dimension::Appid,
                Window::Day,
                Scope::Tenant("t1".into()),
                7,
            ),
            // Another dimension of the same group: only that dimension.
            policy(
                ApiGroup::LogisticsPlugin,
                Dimension::Tenant,
                Window::Day,
                Scope::Tenant("t1".into()),
                1_000,
            ),
            // Another window: applies beside the day's, not instead of it.
            policy(
                ApiGroup::LogisticsPlugin,
                Dimension::User,
                Window::Minute,
                Scope::Appid("wx1".into()),
                5,
            ),
        ]);
        assert_eq!(
            picked(&table, ApiGroup::LogisticsPlugin, "t1", "wx1"),
            vec![
                (Dimension::Appid, Window::Day, Scope::Global, 100_000),
                (Dimension::User, Window::Day, Scope::Global, 100),
                (
                    Dimension::User,
                    Window::Minute,
                    Scope::Appid("wx1".into()),
                    5
                ),
                (
                    Dimension::Tenant,
                    Window::Day,
                    Scope::Tenant("t1".into()),
                    1_000
                ),
            ]
        );
        assert_eq!(
            picked(&table, ApiGroup::Shipping, "t1", "wx1"),
            vec![(Dimension::Appid, Window::Day, Scope::Tenant("t1".into()), 7)]
        );
        // Scoped policies apply to their scope only: no global fallback exists.
        assert!(table.applicable(ApiGroup::Shipping, "t2", "wx1").is_empty());
    }

    #[test]
    fn a_later_policy_for_the_same_scope_replaces_the_earlier() {
        let plugin = ApiGroup::LogisticsPlugin;
        let table = PolicyTable::new([
            // Overrides the seed default.
            policy(plugin, Dimension::User, Window::Day, Scope::Global, 20),
            policy(
                plugin,
                Dimension::User,
                Window::Day,
                Scope::Tenant("t1".into()),
                30,
            ),
            policy(
                plugin,
                Dimension::User,
                Window::Day,
                Scope::Tenant("t1".into()),
                40,
            ),
        ]);
        assert_eq!(
            picked(&table, plugin, "t1", "wx1")[1],
            (Dimension::User, Window::Day, Scope::Tenant("t1".into()), 40)
        );
        assert_eq!(
            picked(&table, plugin, "t2", "wx1")[1],
            (Dimension::User, Window::Day, Scope::Global, 20)
        );
    }

    #[test]
    fn days_turn_at_midnight_in_shanghai() {
        // 15:59:59 UTC is 23:59:59 in Shanghai: one second left of the day.
        let before = utc(2024, 3, 1, 15, 59, 59);
        assert_eq!(Window::Day.current(before), ("20240301".to_owned(), 1));
        assert_eq!(
            shanghai_today(before),
            NaiveDate::from_ymd_opt(2024, 3, 1).unwrap()
        );
        // 16:00:00 UTC is midnight: a new day with all of it left.
        let midnight = utc(2024, 3, 1, 16, 0, 0);
        assert_eq!(
            Window::Day.current(midnight),
            ("20240302".to_owned(), 86_400)
        );
        assert_eq!(
            Window::Day.current(utc(2024, 3, 1, 16, 0, 1)),
            ("20240302".to_owned(), 86_399)
        );
        assert_eq!(
            shanghai_today(midnight),
            NaiveDate::from_ymd_opt(2024, 3, 2).unwrap()
        );
        // Still the 2nd in Shanghai at UTC's midnight of the 2nd.
        assert_eq!(
            Window::Day.current(utc(2024, 3, 2, 0, 0, 0)),
            ("20240302".to_owned(), 16 * 3600)
        );
        // Across a month and a year end.
        assert_eq!(
            Window::Day.current(utc(2024, 12, 31, 16, 30, 0)).0,
            "20250101"
        );
        assert_eq!(
            day_label(shanghai_today(midnight)),
            Window::Day.current(midnight).0
        );
    }

    #[test]
    fn hours_and_minutes_are_labelled_by_their_start() {
        let now = utc(2024, 3, 1, 10, 30, 15);
        let hour_start = utc(2024, 3, 1, 10, 0, 0).timestamp();
        assert_eq!(
            Window::Hour.current(now),
            (hour_start.to_string(), 29 * 60 + 45)
        );
        let minute_start = utc(2024, 3, 1, 10, 30, 0).timestamp();
        assert_eq!(Window::Minute.current(now), (minute_start.to_string(), 45));
        // On a boundary: a fresh window with all of it left.
        assert_eq!(
            Window::Hour.current(utc(2024, 3, 1, 11, 0, 0)),
            (utc(2024, 3, 1, 11, 0, 0).timestamp().to_string(), 3_600)
        );
        assert_eq!(
            Window::Minute.current(utc(2024, 3, 1, 10, 30, 59)),
            (minute_start.to_string(), 1)
        );
    }

    #[test]
    fn windows_are_as_long_as_they_say() {
        assert_eq!(Window::Day.seconds(), 86_400);
        assert_eq!(Window::Hour.seconds(), 3_600);
        assert_eq!(Window::Minute.seconds(), 60);
    }

    #[test]
    fn enums_parse_from_their_names_and_refuse_others() {
        for group in ApiGroup::ALL {
            assert_eq!(group.as_str().parse::<ApiGroup>(), Ok(group));
        }
        for dimension in Dimension::ALL {
            assert_eq!(dimension.as_str().parse::<Dimension>(), Ok(dimension));
        }
        for window in Window::ALL {
            assert_eq!(window.as_str().parse::<Window>(), Ok(window));
        }
        let field = |r: Result<(), PolicyError>| r.unwrap_err().field;
        for unknown in ["", "Shipping", "logistics", "raw "] {
            assert_eq!(field(unknown.parse::<ApiGroup>().map(drop)), "api_group");
        }
        for unknown in ["", "Appid", "openid", "global"] {
            assert_eq!(field(unknown.parse::<Dimension>().map(drop)), "dimension");
        }
        for unknown in ["", "Day", "week", "second"] {
            assert_eq!(field(unknown.parse::<Window>().map(drop)), "window");
        }
        let err = "week".parse::<Window>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "window: unknown window \"week\"; one of day, hour, minute"
        );
    }

    #[test]
    fn scopes_parse_and_display_alike() {
        for scope in [
            Scope::Global,
            Scope::Tenant("t1".into()),
            Scope::Appid("wx1".into()),
        ] {
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        }
        // Only the first colon separates: ids may contain colons.
        assert_eq!(
            "tenant:a:b".parse::<Scope>(),
            Ok(Scope::Tenant("a:b".into()))
        );
        for unknown in [
            "", "Global", "global:", "global:x", "tenant", "tenant:", "appid:", "user:o1", ":wx1",
        ] {
            assert_eq!(
                unknown.parse::<Scope>().map(drop).unwrap_err().field,
                "scope",
                "{unknown:?}"
            );
        }
    }

    #[test]
    fn policy_names_are_group_dimension_window() {
        let p = policy(
            ApiGroup::LogisticsPlugin,
            Dimension::User,
            Window::Day,
            Scope::Appid("wx1".into()),
            100,
        );
        assert_eq!(p.name(), "logistics_plugin-user-day");
    }
}
