//! The call log: every call tpgate made to WeChat, or refused to make, with
//! what WeChat answered. Rows are written in batches off the request path
//! (the `call-log` crate) and never updated; ids are UUIDv7, so id order is
//! time order and the purge deletes by id range on the primary key.
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, Func, Query},
};

use crate::{Appid, Store, StoreError, TenantId, entity::wechat_call as call, new_id};

/// How a call ended: one vocabulary for the log, the metrics and the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallOutcome {
    /// WeChat answered errcode 0.
    Ok,
    /// tpgate refused it before WeChat: the caller's input or permissions.
    Invalid,
    /// tpgate's own rate limit refused it.
    RateLimited,
    /// Not sent for another reason (no usable token, authorizer revoked…).
    NotSent,
    /// WeChat answered a non-zero errcode.
    WechatRefused,
    /// WeChat could not be reached, answered an HTTP error, an unreadable
    /// answer, or `-1` (system busy).
    WechatFailed,
    /// No answer in time: for a write, WeChat may or may not have acted.
    Timeout,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 7] = [
        CallOutcome::Ok,
        CallOutcome::Invalid,
        CallOutcome::RateLimited,
        CallOutcome::NotSent,
        CallOutcome::WechatRefused,
        CallOutcome::WechatFailed,
        CallOutcome::Timeout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Ok => "ok",
            CallOutcome::Invalid => "invalid",
            CallOutcome::RateLimited => "rate_limited",
            CallOutcome::NotSent => "not_sent",
            CallOutcome::WechatRefused => "wechat_refused",
            CallOutcome::WechatFailed => "wechat_failed",
            CallOutcome::Timeout => "timeout",
        }
    }

    /// Whether the call reached WeChat.
    pub fn sent(self) -> bool {
        matches!(
            self,
            CallOutcome::Ok
                | CallOutcome::WechatRefused
                | CallOutcome::WechatFailed
                | CallOutcome::Timeout
        )
    }

    /// Counts against a Mini Program's error rate (a caller's bad input or
    /// our own limit does not).
    pub fn is_error(self) -> bool {
        matches!(
            self,
            CallOutcome::WechatRefused | CallOutcome::WechatFailed | CallOutcome::Timeout
        )
    }
}

impl std::fmt::Display for CallOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CallOutcome {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        CallOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| StoreError::Invalid {
                what: "call outcome",
                value: s.chars().take(32).collect(),
            })
    }
}

/// One call to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    pub occurred_at: DateTime<Utc>,
    pub request_id: Option<String>,
    pub tenant_id: Option<TenantId>,
    pub appid: Option<Appid>,
    pub api: String,
    pub attempt: u32,
    pub outcome: CallOutcome,
    pub status: Option<u16>,
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
    pub rid: Option<String>,
    pub latency_ms: u32,
    pub idempotency_key: Option<String>,
    pub component_level: bool,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
}

impl NewCall {
    /// A call to `api` that ended as `outcome`, made now, first attempt;
    /// everything else unknown until set.
    pub fn new(api: impl Into<String>, outcome: CallOutcome) -> Self {
        Self {
            occurred_at: Utc::now(),
            request_id: None,
            tenant_id: None,
            appid: None,
            api: api.into(),
            attempt: 1,
            outcome,
            status: None,
            errcode: None,
            errmsg: None,
            rid: None,
            latency_ms: 0,
            idempotency_key: None,
            component_level: false,
            request_body: None,
            response_body: None,
        }
    }
}

/// A recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEntry {
    pub id: String,
    pub call: NewCall,
}

impl TryFrom<call::Model> for CallEntry {
    type Error = StoreError;

    fn try_from(m: call::Model) -> Result<Self, StoreError> {
        Ok(Self {
            call: NewCall {
                occurred_at: m.occurred_at,
                request_id: m.request_id,
                tenant_id: m.tenant_id.map(TenantId::from),
                appid: m.appid.map(Appid::from),
                api: m.api,
                attempt: u32::try_from(m.attempt).unwrap_or(0),
                outcome: m.outcome.parse()?,
                status: m.status.and_then(|s| u16::try_from(s).ok()),
                errcode: m.errcode,
                errmsg: m.errmsg,
                rid: m.rid,
                latency_ms: u32::try_from(m.latency_ms).unwrap_or(0),
                idempotency_key: m.idempotency_key,
                component_level: m.component_level,
                request_body: m.request_body,
                response_body: m.response_body,
            },
            id: m.id,
        })
    }
}

/// Which calls a listing returns.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    pub api: Option<String>,
    pub outcome: Option<CallOutcome>,
    pub errcode: Option<i64>,
    pub request_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// How many calls of one API ended one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCount {
    pub api: String,
    pub outcome: CallOutcome,
    pub calls: u64,
}

/// The smallest UUIDv7 of `at`'s millisecond: every id made at or after
/// `at` sorts at or above it (ids are lowercase hex, compared as text).
fn id_floor(at: DateTime<Utc>) -> String {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70; // version 7
    bytes[8] = 0x80; // RFC 4122 variant
    uuid::Uuid::from_bytes(bytes).to_string()
}

#[derive(Debug, FromQueryResult)]
struct CountRow {
    api: String,
    outcome: String,
    calls: i64,
}

/// Calls of one group (an hour, a Mini Program) in a window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCount<K> {
    pub key: K,
    pub calls: u64,
    /// Calls that reached WeChat.
    pub sent: u64,
    /// Sent calls WeChat refused, failed or did not answer in time.
    pub errors: u64,
}

#[derive(Debug, FromQueryResult)]
struct GroupRow {
    key: Option<String>,
    errors: Option<i64>,
    sent: Option<i64>,
    calls: i64,
}

#[derive(Debug, FromQueryResult)]
struct HourRow {
    key: Option<i64>,
    errors: Option<i64>,
    sent: Option<i64>,
    calls: i64,
}

/// A count from SQL (`SUM` of no rows is NULL).
fn count(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// Which calls a count covers.
#[derive(Debug, Clone, Copy)]
pub struct CountScope<'a> {
    pub tenant_id: Option<&'a str>,
    pub appid: Option<&'a str>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Store {
    /// Writes a batch of calls in one statement.
    pub async fn insert_calls(&self, calls: Vec<NewCall>) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let rows = calls.into_iter().map(call_row);
        if let Some(pool) = self.db().postgres_pool() {
            return insert_calls_postgres(pool, &rows.collect::<Vec<_>>()).await;
        }
        call::Entity::insert_many(rows.map(IntoActiveModel::into_active_model))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Newest first, older than the call `before`.
    pub async fn list_calls(
        &self,
        filter: &CallFilter,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<CallEntry>, StoreError> {
        let mut query = call::Entity::find()
            .order_by_desc(call::Column::Id)
            .limit(limit);
        if let Some(before) = before {
            query = query.filter(call::Column::Id.lt(before));
        }
        if let Some(t) = &filter.tenant_id {
            query = query.filter(call::Column::TenantId.eq(t.as_str()));
        }
        if let Some(a) = &filter.appid {
            query = query.filter(call::Column::Appid.eq(a.as_str()));
        }
        if let Some(a) = &filter.api {
            query = query.filter(call::Column::Api.eq(a.as_str()));
        }
        if let Some(o) = filter.outcome {
            query = query.filter(call::Column::Outcome.eq(o.as_str()));
        }
        if let Some(e) = filter.errcode {
            query = query.filter(call::Column::Errcode.eq(e));
        }
        if let Some(r) = &filter.request_id {
            query = query.filter(call::Column::RequestId.eq(r.as_str()));
        }
        if let Some(since) = filter.since {
            query = query.filter(call::Column::Id.gte(id_floor(since)));
        }
        if let Some(until) = filter.until {
            query = query.filter(call::Column::Id.lt(id_floor(until)));
        }
        query
            .all(self.db())
            .await?
            .into_iter()
            .map(CallEntry::try_from)
            .collect()
    }

    pub async fn call(&self, id: &str) -> Result<Option<CallEntry>, StoreError> {
        call::Entity::find_by_id(id.to_owned())
            .one(self.db())
            .await?
            .map(CallEntry::try_from)
            .transpose()
    }

    /// Calls since `since` by API and outcome, for one tenant and/or one
    /// Mini Program (or the whole platform).
    pub async fn count_calls(
        &self,
        tenant_id: Option<&str>,
        appid: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallCount>, StoreError> {
        let mut query = call::Entity::find()
            .select_only()
            .column(call::Column::Api)
            .column(call::Column::Outcome)
            .column_as(call::Column::Id.count(), "calls")
            .filter(call::Column::Id.gte(id_floor(since)))
            .group_by(call::Column::Api)
            .group_by(call::Column::Outcome)
            .order_by_asc(call::Column::Api);
        if let Some(t) = tenant_id {
            query = query.filter(call::Column::TenantId.eq(t));
        }
        if let Some(a) = appid {
            query = query.filter(call::Column::Appid.eq(a));
        }
        query
            .into_model::<CountRow>()
            .all(self.db())
            .await?
            .into_iter()
            .map(|r| {
                Ok(CallCount {
                    api: r.api,
                    outcome: r.outcome.parse()?,
                    calls: u64::try_from(r.calls).unwrap_or(0),
                })
            })
            .collect()
    }

    /// The latest call of `appid` that WeChat refused, failed or timed out,
    /// made for `tenant_id` when given.
    pub async fn last_failed_call(
        &self,
        tenant_id: Option<&str>,
        appid: &str,
    ) -> Result<Option<CallEntry>, StoreError> {
        let errors = CallOutcome::ALL
            .into_iter()
            .filter(|o| o.is_error())
            .map(CallOutcome::as_str);
        let mut query = call::Entity::find()
            .filter(call::Column::Appid.eq(appid))
            .filter(call::Column::Outcome.is_in(errors));
        if let Some(t) = tenant_id {
            query = query.filter(call::Column::TenantId.eq(t));
        }
        query
            .order_by_desc(call::Column::Id)
            .one(self.db())
            .await?
            .map(CallEntry::try_from)
            .transpose()
    }

    /// The Mini Programs with the most failed calls since `since`, most
    /// first, for one tenant or the platform (only those with errors).
    pub async fn most_failing_appids(
        &self,
        tenant_id: Option<&str>,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<GroupCount<Appid>>, StoreError> {
        let scope = CountScope {
            tenant_id,
            appid: None,
            since,
            until: Utc::now() + chrono::Duration::seconds(1),
        };
        let mut most = self.calls_per_appid(scope, limit).await?;
        most.retain(|g| g.errors > 0);
        Ok(most)
    }

    /// Calls per hour (the hour's start) in `scope`, oldest first; hours
    /// without calls are absent.
    pub async fn calls_per_hour(
        &self,
        scope: CountScope<'_>,
    ) -> Result<Vec<GroupCount<DateTime<Utc>>>, StoreError> {
        // Hours since the epoch, in each backend's own date arithmetic.
        let hour = match self.db().get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                "CAST(FLOOR(EXTRACT(EPOCH FROM occurred_at) / 3600) AS BIGINT)"
            }
            _ => "CAST(strftime('%s', occurred_at) AS INTEGER) / 3600",
        };
        let rows = self
            .grouped_calls(scope, Expr::cust(hour))
            .into_model::<HourRow>()
            .all(self.db())
            .await?;
        let mut out: Vec<_> = rows
            .into_iter()
            .filter_map(|r| {
                let start = DateTime::from_timestamp(r.key?.checked_mul(3600)?, 0)?;
                Some(GroupCount {
                    key: start,
                    calls: count(Some(r.calls)),
                    sent: count(r.sent),
                    errors: count(r.errors),
                })
            })
            .collect();
        out.sort_by_key(|g| g.key);
        Ok(out)
    }

    /// Calls per Mini Program in `scope`, most errors first, at most
    /// `limit` Mini Programs.
    pub async fn calls_per_appid(
        &self,
        scope: CountScope<'_>,
        limit: u64,
    ) -> Result<Vec<GroupCount<Appid>>, StoreError> {
        let rows = self
            .grouped_calls(scope, Expr::col(call::Column::Appid))
            .filter(call::Column::Appid.is_not_null())
            .order_by_desc(Expr::cust("errors"))
            .order_by_desc(Expr::cust("calls"))
            .limit(limit)
            .into_model::<GroupRow>()
            .all(self.db())
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(GroupCount {
                    key: r.key?.into(),
                    calls: count(Some(r.calls)),
                    sent: count(r.sent),
                    errors: count(r.errors),
                })
            })
            .collect())
    }

    /// `key`, calls, sent and errors of the calls in `scope`, grouped by `key`.
    fn grouped_calls(&self, scope: CountScope<'_>, key: Expr) -> sea_orm::Select<call::Entity> {
        let errors: Vec<&str> = CallOutcome::ALL
            .into_iter()
            .filter(|o| o.is_error())
            .map(CallOutcome::as_str)
            .collect();
        let error_case = Expr::case(call::Column::Outcome.is_in(errors), 1).finally(0);
        let sent_case = Expr::case(call::Column::Sent.eq(true), 1).finally(0);
        let mut query = call::Entity::find()
            .select_only()
            .column_as(key.clone(), "key")
            .column_as(Expr::from(Func::sum(error_case)), "errors")
            .column_as(Expr::from(Func::sum(sent_case)), "sent")
            .column_as(call::Column::Id.count(), "calls")
            .filter(call::Column::Id.gte(id_floor(scope.since)))
            .filter(call::Column::Id.lt(id_floor(scope.until)))
            .group_by(key);
        if let Some(t) = scope.tenant_id {
            query = query.filter(call::Column::TenantId.eq(t));
        }
        if let Some(a) = scope.appid {
            query = query.filter(call::Column::Appid.eq(a));
        }
        query
    }

    /// Deletes calls older than `before`, `batch` rows per statement so no
    /// statement holds locks for long; returns how many.
    pub async fn purge_calls_before(
        &self,
        before: DateTime<Utc>,
        batch: u64,
    ) -> Result<u64, StoreError> {
        let floor = id_floor(before);
        let mut purged = 0;
        loop {
            let oldest = Query::select()
                .column(call::Column::Id)
                .from(call::Entity)
                .and_where(call::Column::Id.lt(floor.as_str()))
                .order_by(call::Column::Id, sea_orm::Order::Asc)
                .limit(batch)
                .to_owned();
            let delete = Query::delete()
                .from_table(call::Entity)
                .and_where(call::Column::Id.in_subquery(oldest))
                .to_owned();
            let done = self.db().execute(&delete).await?.rows_affected();
            purged += done;
            if done < batch {
                return Ok(purged);
            }
        }
    }
}

/// Postgres: the batch with `COPY … FROM STDIN`, the cheapest way in. The
/// log writes a row per proxied call, and the database's cost per row is
/// the same order as the gate's own: measured on 50 000 rows of 200 a
/// batch, an `INSERT … SELECT FROM json_populate_recordset` (the previous
/// way) took 25 µs a row, `COPY` 12 µs. A multi-row `INSERT … VALUES`
/// was worse still (18 parameters a row, parsed on every batch).
async fn insert_calls_postgres(
    pool: &sea_orm::sqlx::PgPool,
    rows: &[call::Model],
) -> Result<(), StoreError> {
    use sea_orm::sqlx::postgres::PgPoolCopyExt as _;
    let copy = format!(
        "COPY wechat_calls ({}) FROM STDIN (FORMAT text)",
        COPY_COLUMNS.join(", ")
    );
    let failed = |e: sea_orm::sqlx::Error| StoreError::Unavailable(format!("call log batch: {e}"));
    let mut writer = pool.copy_in_raw(&copy).await.map_err(failed)?;
    // A failed send leaves the copy to its drop, which aborts it.
    writer.send(copy_text(rows)).await.map_err(failed)?;
    writer.finish().await.map_err(failed)?;
    Ok(())
}

/// The columns of [`copy_text`]'s lines, in order.
const COPY_COLUMNS: [&str; 18] = [
    "id",
    "occurred_at",
    "request_id",
    "tenant_id",
    "appid",
    "api",
    "attempt",
    "sent",
    "outcome",
    "status",
    "errcode",
    "errmsg",
    "rid",
    "latency_ms",
    "idempotency_key",
    "component_level",
    "request_body",
    "response_body",
];

/// `rows` in `COPY`'s text format: a line each, [`COPY_COLUMNS`] separated
/// by tabs, `\N` for NULL. Written here because it is a few lines: the
/// format only needs backslash, tab, newline and carriage return escaped.
fn copy_text(rows: &[call::Model]) -> Vec<u8> {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(rows.len() * 256);
    for r in rows {
        let text = |out: &mut String, v: Option<&str>| match v {
            Some(v) => copy_escape(out, v),
            None => out.push_str("\\N"),
        };
        let number = |out: &mut String, v: Option<i64>| match v {
            Some(v) => {
                let _ = write!(out, "{v}");
            }
            None => out.push_str("\\N"),
        };
        let flag = |v: bool| if v { "t" } else { "f" };
        copy_escape(&mut out, &r.id);
        out.push('\t');
        let _ = write!(out, "{}", r.occurred_at.format("%Y-%m-%d %H:%M:%S%.6f+00"));
        out.push('\t');
        text(&mut out, r.request_id.as_deref());
        out.push('\t');
        text(&mut out, r.tenant_id.as_deref());
        out.push('\t');
        text(&mut out, r.appid.as_deref());
        out.push('\t');
        copy_escape(&mut out, &r.api);
        out.push('\t');
        number(&mut out, Some(r.attempt.into()));
        out.push('\t');
        out.push_str(flag(r.sent));
        out.push('\t');
        copy_escape(&mut out, &r.outcome);
        out.push('\t');
        number(&mut out, r.status.map(i64::from));
        out.push('\t');
        number(&mut out, r.errcode);
        out.push('\t');
        text(&mut out, r.errmsg.as_deref());
        out.push('\t');
        text(&mut out, r.rid.as_deref());
        out.push('\t');
        number(&mut out, Some(r.latency_ms.into()));
        out.push('\t');
        text(&mut out, r.idempotency_key.as_deref());
        out.push('\t');
        out.push_str(flag(r.component_level));
        out.push('\t');
        text(&mut out, r.request_body.as_deref());
        out.push('\t');
        text(&mut out, r.response_body.as_deref());
        out.push('\n');
    }
    out.into_bytes()
}

/// `v` as a `COPY` text field. A NUL, which no Postgres text can hold
/// (WeChat's `\u0000` in an errmsg would otherwise fail the whole batch),
/// becomes U+FFFD.
fn copy_escape(out: &mut String, v: &str) {
    if !v.contains(['\\', '\t', '\n', '\r', '\0']) {
        out.push_str(v);
        return;
    }
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// The row of `c`, with a new id (UUIDv7: id order is write order).
fn call_row(c: NewCall) -> call::Model {
    call::Model {
        id: new_id(),
        occurred_at: c.occurred_at,
        request_id: c.request_id,
        tenant_id: c.tenant_id.map(String::from),
        appid: c.appid.map(String::from),
        api: c.api,
        attempt: i32::try_from(c.attempt).unwrap_or(i32::MAX),
        sent: c.outcome.sent(),
        outcome: c.outcome.as_str().to_owned(),
        status: c.status.map(i32::from),
        errcode: c.errcode,
        errmsg: c.errmsg,
        rid: c.rid,
        latency_ms: i32::try_from(c.latency_ms).unwrap_or(i32::MAX),
        idempotency_key: c.idempotency_key,
        component_level: c.component_level,
        request_body: c.request_body,
        response_body: c.response_body,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DurationRound as _;

    use super::*;

    use crate::memory_store as store;

    fn call(appid: &str, api: &str, outcome: CallOutcome) -> NewCall {
        let mut call = NewCall::new(api, outcome);
        call.request_id = Some("req-1".into());
        call.tenant_id = Some("t1".into());
        call.appid = Some(appid.into());
        call.status = Some(200);
        call.errcode = (outcome != CallOutcome::Ok).then_some(10060003);
        call.latency_ms = 12;
        call
    }

    #[test]
    fn outcomes_round_trip_and_unknown_ones_are_refused() {
        for o in CallOutcome::ALL {
            assert_eq!(o.as_str().parse::<CallOutcome>().unwrap(), o);
        }
        assert!("fine".parse::<CallOutcome>().is_err());
        assert!(!CallOutcome::RateLimited.sent() && CallOutcome::Timeout.sent());
    }

    #[test]
    fn copy_lines_escape_what_the_text_format_reserves_and_mark_nulls() {
        let mut c = call("wx1", "get_order", CallOutcome::WechatRefused);
        c.occurred_at = "2026-12-06T11:00:00.000042Z".parse().unwrap();
        c.errcode = Some(-1);
        c.errmsg = Some("a\tb\nc\rd\\e\0f 中".into());
        c.tenant_id = None;
        let mut row = call_row(c);
        row.id = "0193a0b2-0000-7000-8000-000000000001".into();
        let line = String::from_utf8(copy_text(&[row])).unwrap();
        let fields: Vec<&str> = line.strip_suffix('\n').unwrap().split('\t').collect();
        assert_eq!(fields.len(), COPY_COLUMNS.len(), "{line:?}");
        assert_eq!(fields[0], "0193a0b2-0000-7000-8000-000000000001");
        assert_eq!(fields[1], "2026-12-06 11:00:00.000042+00");
        assert_eq!(fields[2], "req-1");
        assert_eq!(fields[3], "\\N", "no tenant is NULL");
        assert_eq!(fields[4], "wx1");
        assert_eq!(fields[7], "t");
        assert_eq!(fields[8], "wechat_refused");
        assert_eq!(fields[10], "-1");
        assert_eq!(fields[11], "a\\tb\\nc\\rd\\\\e\u{FFFD}f 中");
        assert_eq!(fields[15], "f");
        assert_eq!(fields[16], "\\N");
    }

    #[test]
    fn id_floor_sorts_below_every_later_id_and_above_earlier_ones() {
        let before = new_id();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let at = Utc::now();
        std::thread::sleep(std::time::Duration::from_millis(3));
        let after = new_id();
        let floor = id_floor(at);
        assert!(before < floor && floor < after, "{before} {floor} {after}");
    }

    #[tokio::test]
    async fn calls_are_counted_per_hour_and_per_mini_program() {
        let store = store().await;
        let since = Utc::now() - chrono::Duration::hours(1);
        store
            .insert_calls(vec![
                call("wxa", "get_order", CallOutcome::Ok),
                call("wxa", "get_order", CallOutcome::WechatRefused),
                call("wxb", "get_order", CallOutcome::RateLimited),
                call("wxb", "get_order", CallOutcome::Ok),
                call("wxb", "get_order", CallOutcome::Timeout),
            ])
            .await
            .unwrap();
        let scope = CountScope {
            tenant_id: None,
            appid: None,
            since,
            until: Utc::now() + chrono::Duration::seconds(1),
        };
        let hours = store.calls_per_hour(scope).await.unwrap();
        let total: u64 = hours.iter().map(|h| h.calls).sum();
        assert_eq!(total, 5, "{hours:?}");
        let last = hours.last().unwrap();
        assert_eq!(
            last.key,
            last.key
                .duration_trunc(chrono::TimeDelta::hours(1))
                .unwrap()
        );
        assert!(last.key <= Utc::now() && Utc::now() - last.key < chrono::Duration::hours(1));

        let per_app = store.calls_per_appid(scope, 10).await.unwrap();
        let b = &per_app[0];
        assert_eq!(
            (b.key.as_ref(), b.calls, b.sent, b.errors),
            ("wxb", 3, 2, 1)
        );
        let a = &per_app[1];
        assert_eq!(
            (a.key.as_ref(), a.calls, a.sent, a.errors),
            ("wxa", 2, 2, 1)
        );
        // Outside the window, nothing.
        let empty = CountScope {
            appid: Some("wxa"),
            until: since,
            since: since - chrono::Duration::hours(1),
            ..scope
        };
        assert!(store.calls_per_hour(empty).await.unwrap().is_empty());
        assert_eq!(
            store
                .calls_per_appid(
                    CountScope {
                        appid: Some("wxa"),
                        ..scope
                    },
                    10
                )
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn calls_are_listed_counted_and_purged() {
        let store = store().await;
        store
            .insert_calls(vec![
                call("wx1", "get_order", CallOutcome::Ok),
                call("wx1", "get_order", CallOutcome::WechatRefused),
                call("wx2", "upload_shipping_info", CallOutcome::Invalid),
            ])
            .await
            .unwrap();
        let all = store
            .list_calls(&CallFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(all.len(), 3);
        let refused = store
            .list_calls(
                &CallFilter {
                    outcome: Some(CallOutcome::WechatRefused),
                    ..Default::default()
                },
                None,
                10,
            )
            .await
            .unwrap();
        assert_eq!(refused.len(), 1);
        assert!(refused[0].call.outcome.sent());
        assert_eq!(
            store.call(&refused[0].id).await.unwrap(),
            Some(refused[0].clone())
        );

        let hour_ago = Utc::now() - chrono::Duration::hours(1);
        let counts = store
            .count_calls(None, Some("wx1"), hour_ago)
            .await
            .unwrap();
        assert_eq!(counts.iter().map(|c| c.calls).sum::<u64>(), 2);
        let failing = store.most_failing_appids(None, hour_ago, 5).await.unwrap();
        assert_eq!(failing.len(), 1);
        assert_eq!(
            (
                failing[0].key.as_str(),
                failing[0].errors,
                failing[0].sent,
                failing[0].calls
            ),
            ("wx1", 1, 2, 2)
        );
        assert_eq!(
            store
                .last_failed_call(None, "wx1")
                .await
                .unwrap()
                .unwrap()
                .id,
            refused[0].id
        );
        assert_eq!(
            store
                .last_failed_call(Some("t1"), "wx1")
                .await
                .unwrap()
                .unwrap()
                .id,
            refused[0].id
        );
        assert_eq!(
            store.last_failed_call(Some("t2"), "wx1").await.unwrap(),
            None
        );

        assert_eq!(store.purge_calls_before(hour_ago, 2).await.unwrap(), 0);
        let later = Utc::now() + chrono::Duration::seconds(1);
        assert_eq!(store.purge_calls_before(later, 2).await.unwrap(), 3);
        assert!(
            store
                .list_calls(&CallFilter::default(), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}
