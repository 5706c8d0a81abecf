//! Reconciliation's records: each paid order tpgate knows to be waiting
//! for shipment (`get_order_list` with order_state 1, a
//! `trade_manage_remind_shipping` push) until it ships, with its
//! `shipping.overdue` announcements and, from WeChat's settlement pushes,
//! its settlement; and each Mini Program's reconciliation schedule, spread
//! over the interval and claimed so one replica runs each.
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Alias, Expr, ExprTrait as _, Func, OnConflict},
};

use crate::{
    Store, StoreError,
    entity::{reconciliation as schedule, shipping_order as row},
    events::{NewEvent, insert_event},
    now,
};

/// Where a tracked order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderTrack {
    /// Paid, waiting for shipment (order_state 1).
    Pending,
    /// Shipped (by tpgate, or WeChat said so in a settlement push).
    Shipped,
    /// No longer waiting for another reason: it left state 1 behind
    /// tpgate's back (shipped elsewhere, refunded), or its payment is older
    /// than the reconciliation window.
    Closed,
}

impl OrderTrack {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Shipped => "shipped",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Shipped, Self::Closed]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// Why a tracked order stopped pending.
pub const CLOSED_UPLOADED: &str = "uploaded_by_tpgate";
pub const CLOSED_NO_LONGER_PENDING: &str = "no_longer_pending";
pub const CLOSED_OUTSIDE_WINDOW: &str = "outside_window";
pub const CLOSED_SETTLEMENT: &str = "settlement_pushed";

/// A paid order as WeChat names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenOrder {
    pub transaction_id: String,
    pub merchant_id: String,
    pub sub_merchant_id: Option<String>,
    pub merchant_trade_no: String,
    /// Unix seconds.
    pub pay_time: i64,
}

/// A tracked order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippingOrderRecord {
    pub appid: String,
    pub tenant_id: Option<String>,
    pub order: SeenOrder,
    pub state: OrderTrack,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub reminded_at: Option<DateTime<Utc>>,
    /// How many `shipping.overdue` thresholds were announced.
    pub overdue_level: i32,
    pub close_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// `to_settle` or `settled`.
    pub settlement_state: Option<String>,
    /// `manual` or `auto` (or WeChat's number when it is neither).
    pub confirm_receive_method: Option<String>,
    pub estimated_settlement_time: Option<i64>,
    pub settlement_time: Option<i64>,
}

impl TryFrom<row::Model> for ShippingOrderRecord {
    type Error = StoreError;

    fn try_from(m: row::Model) -> Result<Self, StoreError> {
        Ok(Self {
            state: OrderTrack::parse(&m.state).ok_or_else(|| StoreError::Invalid {
                what: "shipping order state",
                value: m.state.clone(),
            })?,
            order: SeenOrder {
                transaction_id: m.transaction_id,
                merchant_id: m.merchant_id,
                sub_merchant_id: m.sub_merchant_id,
                merchant_trade_no: m.merchant_trade_no,
                pay_time: m.pay_time,
            },
            appid: m.appid,
            tenant_id: m.tenant_id,
            first_seen_at: m.first_seen_at,
            last_seen_at: m.last_seen_at,
            reminded_at: m.reminded_at,
            overdue_level: m.overdue_level,
            close_reason: m.close_reason,
            closed_at: m.closed_at,
            settlement_state: m.settlement_state,
            confirm_receive_method: m.confirm_receive_method,
            estimated_settlement_time: m.estimated_settlement_time,
            settlement_time: m.settlement_time,
        })
    }
}

/// A settlement push, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// `manual`/`auto` once settled; None at shipping.
    pub confirm_receive_method: Option<String>,
    pub estimated_settlement_time: Option<i64>,
    pub settlement_time: Option<i64>,
}

/// `settlement_state` once WeChat says how receipt was confirmed.
const SETTLED: &str = "settled";
/// `settlement_state` at shipping, before that.
const TO_SETTLE: &str = "to_settle";

impl Settlement {
    fn state(&self) -> &'static str {
        if self.confirm_receive_method.is_some() {
            SETTLED
        } else {
            TO_SETTLE
        }
    }
}

/// What a shipping push says about its order. Written in the transaction
/// that stores the push's event ([`NewEvent::order_note`]), so WeChat's
/// `success` covers it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderNote {
    pub order: SeenOrder,
    pub news: OrderNews,
    /// When tpgate heard it.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderNews {
    /// `trade_manage_remind_shipping`: the order waits for shipment (pending,
    /// reminded), and its Mini Program's reconciliation is due now.
    Reminded,
    /// `trade_manage_order_settlement`: shipped (no longer pending) and, once
    /// `confirm_receive_method` is given, settled.
    Settled(Settlement),
}

/// Which tracked orders a listing returns.
#[derive(Debug, Clone, Default)]
pub struct ShippingOrderFilter {
    pub tenant_id: Option<String>,
    pub appid: Option<String>,
    pub state: Option<OrderTrack>,
    /// Only orders paid at or before this (Unix seconds): a minimum age.
    pub paid_before: Option<i64>,
}

/// Pending and overdue counts of one Mini Program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingCounts {
    pub pending: i64,
    /// Pending and announced overdue (`shipping.overdue`).
    pub overdue: i64,
}

fn new_row(
    tenant_id: Option<&str>,
    appid: &str,
    order: &SeenOrder,
    state: OrderTrack,
    at: DateTime<Utc>,
) -> row::ActiveModel {
    row::ActiveModel {
        appid: Set(appid.to_owned()),
        transaction_id: Set(order.transaction_id.clone()),
        tenant_id: Set(tenant_id.map(str::to_owned)),
        merchant_id: Set(order.merchant_id.clone()),
        sub_merchant_id: Set(order.sub_merchant_id.clone()),
        merchant_trade_no: Set(order.merchant_trade_no.clone()),
        pay_time: Set(order.pay_time),
        state: Set(state.as_str().to_owned()),
        first_seen_at: Set(at),
        last_seen_at: Set(at),
        reminded_at: Set(None),
        overdue_level: Set(0),
        close_reason: Set(None),
        closed_at: Set(None),
        settlement_state: Set(None),
        confirm_receive_method: Set(None),
        estimated_settlement_time: Set(None),
        settlement_time: Set(None),
        updated_at: Set(at),
    }
}

impl Store {
    /// Records orders `get_order_list` answered in state 1: new ones start
    /// pending; known ones are seen again (and pending again, WeChat says so).
    pub async fn note_pending_orders(
        &self,
        tenant_id: Option<&str>,
        appid: &str,
        orders: &[SeenOrder],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if orders.is_empty() {
            return Ok(());
        }
        let rows = orders
            .iter()
            .map(|o| new_row(tenant_id, appid, o, OrderTrack::Pending, at));
        row::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([row::Column::Appid, row::Column::TransactionId])
                    .update_columns([
                        row::Column::LastSeenAt,
                        row::Column::TenantId,
                        row::Column::State,
                        row::Column::CloseReason,
                        row::Column::ClosedAt,
                        row::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(self.db())
            .await?;
        Ok(())
    }

    /// After a complete pass over the window starting at `window_begin`
    /// (pay time, Unix seconds) that began at `pass_began`: pending orders
    /// paid within it that the pass did not see left state 1; those paid
    /// before it are no longer tracked. How many closed.
    pub async fn close_unseen_orders(
        &self,
        appid: &str,
        pass_began: DateTime<Utc>,
        window_begin: i64,
    ) -> Result<u64, StoreError> {
        let close = |reason: &str| {
            row::Entity::update_many()
                .col_expr(row::Column::State, Expr::value(OrderTrack::Closed.as_str()))
                .col_expr(row::Column::CloseReason, Expr::value(reason.to_owned()))
                .col_expr(row::Column::ClosedAt, Expr::value(Some(pass_began)))
                .col_expr(row::Column::UpdatedAt, Expr::value(now()))
                .filter(row::Column::Appid.eq(appid))
                .filter(row::Column::State.eq(OrderTrack::Pending.as_str()))
        };
        let unseen = close(CLOSED_NO_LONGER_PENDING)
            .filter(row::Column::LastSeenAt.lt(pass_began))
            .filter(row::Column::PayTime.gte(window_begin))
            .exec(self.db())
            .await?;
        let old = close(CLOSED_OUTSIDE_WINDOW)
            .filter(row::Column::PayTime.lt(window_begin))
            .exec(self.db())
            .await?;
        Ok(unseen.rows_affected + old.rows_affected)
    }

    /// tpgate uploaded the order's shipping information: it is shipped.
    /// The order is named by transaction id or by merchant id and number.
    pub async fn mark_order_uploaded(
        &self,
        appid: &str,
        order: &crate::shipping_uploads::OrderRef,
    ) -> Result<u64, StoreError> {
        use crate::shipping_uploads::OrderRef;
        let mut update = row::Entity::update_many()
            .col_expr(
                row::Column::State,
                Expr::value(OrderTrack::Shipped.as_str()),
            )
            .col_expr(row::Column::CloseReason, Expr::value(CLOSED_UPLOADED))
            .col_expr(row::Column::ClosedAt, Expr::value(Some(now())))
            .col_expr(row::Column::UpdatedAt, Expr::value(now()))
            .filter(row::Column::Appid.eq(appid))
            .filter(row::Column::State.eq(OrderTrack::Pending.as_str()));
        update = match order {
            OrderRef::Transaction(tx) => update.filter(row::Column::TransactionId.eq(tx.as_str())),
            OrderRef::Merchant {
                mchid,
                out_trade_no,
            } => update
                .filter(row::Column::MerchantId.eq(mchid.as_str()))
                .filter(row::Column::MerchantTradeNo.eq(out_trade_no.as_str())),
        };
        Ok(update.exec(self.db()).await?.rows_affected)
    }

    /// Records what a push says about an order, in a transaction of its
    /// own (pushes are noted in the transaction storing their event, see
    /// [`NewEvent::order_note`]).
    pub async fn note_order(
        &self,
        tenant_id: Option<&str>,
        appid: &str,
        note: &OrderNote,
    ) -> Result<(), StoreError> {
        let txn = self.db().begin().await?;
        write_order_notes(&txn, &[(tenant_id, appid, note)]).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Pending orders due their next `shipping.overdue` announcement at
    /// `now` (Unix seconds): level `i` is due `thresholds[i]` seconds after
    /// payment. At most `limit`, oldest payment first.
    pub async fn overdue_orders(
        &self,
        now: i64,
        thresholds: &[i64],
        limit: u64,
    ) -> Result<Vec<ShippingOrderRecord>, StoreError> {
        let mut due = Vec::new();
        for (level, threshold) in thresholds.iter().enumerate() {
            let left = limit.saturating_sub(due.len() as u64);
            if left == 0 {
                break;
            }
            let rows = row::Entity::find()
                .filter(row::Column::State.eq(OrderTrack::Pending.as_str()))
                .filter(row::Column::OverdueLevel.eq(level as i32))
                .filter(row::Column::PayTime.lte(now.saturating_sub(*threshold)))
                .order_by_asc(row::Column::PayTime)
                .limit(left)
                .all(self.db())
                .await?;
            for r in rows {
                due.push(ShippingOrderRecord::try_from(r)?);
            }
        }
        Ok(due)
    }

    /// Announces `order` overdue at `level` (its `shipping.overdue` event,
    /// with the tenant's webhook deliveries), once: false when another
    /// replica already did.
    pub async fn announce_overdue(
        &self,
        order: &ShippingOrderRecord,
        threshold_secs: i64,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.db().begin().await?;
        let moved = row::Entity::update_many()
            .col_expr(
                row::Column::OverdueLevel,
                Expr::value(order.overdue_level + 1),
            )
            .col_expr(row::Column::UpdatedAt, Expr::value(at))
            .filter(row::Column::Appid.eq(order.appid.as_str()))
            .filter(row::Column::TransactionId.eq(order.order.transaction_id.as_str()))
            .filter(row::Column::OverdueLevel.eq(order.overdue_level))
            .filter(row::Column::State.eq(OrderTrack::Pending.as_str()))
            .exec(&txn)
            .await?;
        if moved.rows_affected != 1 {
            return Ok(false);
        }
        if order.tenant_id.is_some() {
            insert_event(&txn, &NewEvent::shipping_overdue(order, threshold_secs, at)).await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Tracked orders, oldest payment first, after `after` (the previous
    /// page's last `(pay_time, appid, transaction_id)`).
    pub async fn list_shipping_orders(
        &self,
        filter: &ShippingOrderFilter,
        after: Option<(i64, &str, &str)>,
        limit: u64,
    ) -> Result<Vec<ShippingOrderRecord>, StoreError> {
        let mut query = row::Entity::find()
            .order_by_asc(row::Column::PayTime)
            .order_by_asc(row::Column::Appid)
            .order_by_asc(row::Column::TransactionId)
            .limit(limit);
        if let Some(tenant_id) = &filter.tenant_id {
            query = query.filter(row::Column::TenantId.eq(tenant_id.as_str()));
        }
        if let Some(appid) = &filter.appid {
            query = query.filter(row::Column::Appid.eq(appid.as_str()));
        }
        if let Some(state) = filter.state {
            query = query.filter(row::Column::State.eq(state.as_str()));
        }
        if let Some(before) = filter.paid_before {
            query = query.filter(row::Column::PayTime.lte(before));
        }
        if let Some((pay_time, appid, tx)) = after {
            // (pay_time, appid, tx) > after, spelled out for both backends.
            query = query.filter(
                sea_orm::Condition::any()
                    .add(row::Column::PayTime.gt(pay_time))
                    .add(
                        sea_orm::Condition::all()
                            .add(row::Column::PayTime.eq(pay_time))
                            .add(row::Column::Appid.gt(appid)),
                    )
                    .add(
                        sea_orm::Condition::all()
                            .add(row::Column::PayTime.eq(pay_time))
                            .add(row::Column::Appid.eq(appid))
                            .add(row::Column::TransactionId.gt(tx)),
                    ),
            );
        }
        query
            .all(self.db())
            .await?
            .into_iter()
            .map(ShippingOrderRecord::try_from)
            .collect()
    }

    /// Pending orders of every Mini Program, and those announced overdue
    /// (for the gauges).
    pub async fn count_all_pending_orders(&self) -> Result<PendingCounts, StoreError> {
        let pending =
            row::Entity::find().filter(row::Column::State.eq(OrderTrack::Pending.as_str()));
        let overdue = pending.clone().filter(row::Column::OverdueLevel.gt(0));
        use sea_orm::PaginatorTrait as _;
        Ok(PendingCounts {
            pending: i64::try_from(pending.count(self.db()).await?).unwrap_or(i64::MAX),
            overdue: i64::try_from(overdue.count(self.db()).await?).unwrap_or(i64::MAX),
        })
    }

    /// Pending orders of `appids`, and those announced overdue.
    pub async fn count_pending_orders(
        &self,
        appids: &[&str],
    ) -> Result<std::collections::HashMap<String, PendingCounts>, StoreError> {
        let mut counts = std::collections::HashMap::new();
        if appids.is_empty() {
            return Ok(counts);
        }
        let base = || {
            row::Entity::find()
                .select_only()
                .column(row::Column::Appid)
                .column_as(row::Column::TransactionId.count(), "n")
                .filter(row::Column::State.eq(OrderTrack::Pending.as_str()))
                .filter(row::Column::Appid.is_in(appids.iter().copied()))
                .group_by(row::Column::Appid)
        };
        let pending: Vec<(String, i64)> = base().into_tuple().all(self.db()).await?;
        for (appid, n) in pending {
            counts
                .entry(appid)
                .or_insert_with(PendingCounts::default)
                .pending = n;
        }
        let overdue: Vec<(String, i64)> = base()
            .filter(row::Column::OverdueLevel.gt(0))
            .into_tuple()
            .all(self.db())
            .await?;
        for (appid, n) in overdue {
            counts
                .entry(appid)
                .or_insert_with(PendingCounts::default)
                .overdue = n;
        }
        Ok(counts)
    }

    /// Deletes tracked orders no longer pending whose record last changed
    /// before `before`. How many went.
    pub async fn purge_settled_orders(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = row::Entity::delete_many()
            .filter(row::Column::State.ne(OrderTrack::Pending.as_str()))
            .filter(row::Column::UpdatedAt.lt(before))
            .exec(self.db())
            .await?;
        Ok(result.rows_affected)
    }

    /// Schedules the active, trade-managed Mini Programs without a
    /// reconciliation schedule; `first_run` picks each one's first run
    /// (spread over the interval). How many were added.
    pub async fn schedule_new_reconciliations(
        &self,
        first_run: impl Fn(&str) -> i64,
        limit: u64,
    ) -> Result<u64, StoreError> {
        use crate::entity::{authorizer, authorizer_trade_management as tm};
        let scheduled = sea_orm::sea_query::Query::select()
            .column(schedule::Column::Appid)
            .from(schedule::Entity)
            .to_owned();
        let managed = sea_orm::sea_query::Query::select()
            .column(tm::Column::Appid)
            .from(tm::Entity)
            .and_where(Expr::col(tm::Column::IsTradeManaged).eq(true))
            .to_owned();
        let appids: Vec<String> = authorizer::Entity::find()
            .select_only()
            .column(authorizer::Column::Appid)
            .filter(authorizer::Column::Status.eq("active"))
            .filter(authorizer::Column::Appid.in_subquery(managed))
            .filter(authorizer::Column::Appid.not_in_subquery(scheduled))
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?;
        if appids.is_empty() {
            return Ok(0);
        }
        let n = appids.len() as u64;
        let rows = appids.into_iter().map(|appid| schedule::ActiveModel {
            next_run_at_ms: Set(first_run(&appid)),
            appid: Set(appid),
            last_run_at: Set(None),
            last_calls: Set(0),
            last_complete: Set(false),
            last_error: Set(None),
        });
        schedule::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([schedule::Column::Appid])
            .exec_without_returning(self.db())
            .await?;
        Ok(n)
    }

    /// Claims up to `limit` Mini Programs due a reconciliation at `now_ms`,
    /// moving each one's next run to `next_ms` (so no other replica takes
    /// it; `FOR UPDATE SKIP LOCKED` on Postgres).
    pub async fn claim_due_reconciliations(
        &self,
        now_ms: i64,
        next_ms: i64,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        let queue = crate::claims::Queue {
            table: "reconciliations",
            key: "appid",
            moved: "next_run_at_ms",
            due: "next_run_at_ms",
            only: "",
            lease: None,
        };
        self.claim_due(&queue, now_ms, next_ms, limit).await
    }

    /// Records a reconciliation run of `appid`.
    pub async fn finish_reconciliation(
        &self,
        appid: &str,
        at: DateTime<Utc>,
        calls: i32,
        complete: bool,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        schedule::Entity::update_many()
            .col_expr(schedule::Column::LastRunAt, Expr::value(Some(at)))
            .col_expr(schedule::Column::LastCalls, Expr::value(calls))
            .col_expr(schedule::Column::LastComplete, Expr::value(complete))
            .col_expr(
                schedule::Column::LastError,
                Expr::value(error.map(|e| e.chars().take(300).collect::<String>())),
            )
            .filter(schedule::Column::Appid.eq(appid))
            .exec(self.db())
            .await?;
        Ok(())
    }

    /// Runs a Mini Program's reconciliation at `at_ms` (e.g. after a
    /// reminder push: at once).
    pub async fn reconcile_soon(&self, appid: &str, at_ms: i64) -> Result<(), StoreError> {
        bring_reconciliation_forward(self.db(), [appid], at_ms).await
    }
}

/// Runs the Mini Programs' reconciliation at `at_ms` unless due sooner.
async fn bring_reconciliation_forward<'a, C: ConnectionTrait>(
    conn: &C,
    appids: impl IntoIterator<Item = &'a str>,
    at_ms: i64,
) -> Result<(), StoreError> {
    schedule::Entity::update_many()
        .col_expr(schedule::Column::NextRunAtMs, Expr::value(at_ms))
        .filter(schedule::Column::Appid.is_in(appids))
        .filter(schedule::Column::NextRunAtMs.gt(at_ms))
        .exec(conn)
        .await?;
    Ok(())
}

/// A note about `appid`'s order, with the tenant holding the Mini Program.
pub(crate) type AppOrderNote<'a> = (Option<&'a str>, &'a str, &'a OrderNote);

/// Writes `notes` on `conn` (the transaction storing their pushes): one
/// upsert per kind of news, and one statement bringing reminded Mini
/// Programs' reconciliation forward, however many notes a batch of pushes
/// has. An order noted twice in one batch takes another round for the
/// repeat, in push order: one upsert cannot touch a row twice.
pub(crate) async fn write_order_notes<C: ConnectionTrait>(
    conn: &C,
    notes: &[AppOrderNote<'_>],
) -> Result<(), StoreError> {
    let mut rounds: Vec<Vec<AppOrderNote<'_>>> = Vec::new();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for note in notes {
        let key = (note.1, note.2.order.transaction_id.as_str());
        let round = *seen.entry(key).and_modify(|r| *r += 1).or_insert(0);
        if rounds.len() <= round {
            rounds.push(Vec::new());
        }
        rounds[round].push(*note);
    }
    for mut round in rounds {
        // The same lock order in every transaction: concurrent batches
        // noting the same orders wait for each other, never deadlock.
        round.sort_by_key(|(_, appid, n)| (*appid, n.order.transaction_id.as_str()));
        let (reminded, settled): (Vec<_>, Vec<_>) = round
            .into_iter()
            .partition(|(_, _, n)| n.news == OrderNews::Reminded);
        if !reminded.is_empty() {
            row::Entity::insert_many(reminded.iter().map(|(tenant_id, appid, note)| {
                let mut model =
                    new_row(*tenant_id, appid, &note.order, OrderTrack::Pending, note.at);
                model.reminded_at = Set(Some(note.at));
                model
            }))
            .on_conflict(
                OnConflict::columns([row::Column::Appid, row::Column::TransactionId])
                    .update_columns([row::Column::RemindedAt, row::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
        }
        if !settled.is_empty() {
            row::Entity::insert_many(settled.iter().filter_map(|(tenant_id, appid, note)| {
                let OrderNews::Settled(settlement) = &note.news else {
                    return None;
                };
                Some(settled_row(
                    *tenant_id,
                    appid,
                    &note.order,
                    settlement,
                    note.at,
                ))
            }))
            .on_conflict(settlement_upsert())
            .exec_without_returning(conn)
            .await?;
        }
    }
    // Reminded: the Mini Program's reconciliation is due now.
    let reminded: Vec<_> = notes
        .iter()
        .filter(|(_, _, n)| n.news == OrderNews::Reminded)
        .collect();
    if let Some(at) = reminded.iter().map(|(_, _, n)| n.at).min() {
        let appids: BTreeSet<&str> = reminded.iter().map(|(_, appid, _)| *appid).collect();
        bring_reconciliation_forward(conn, appids, at.timestamp_millis()).await?;
    }
    Ok(())
}

/// A settled order's row, as first seen in its settlement push: shipped.
fn settled_row(
    tenant_id: Option<&str>,
    appid: &str,
    order: &SeenOrder,
    settlement: &Settlement,
    at: DateTime<Utc>,
) -> row::ActiveModel {
    let mut model = new_row(tenant_id, appid, order, OrderTrack::Shipped, at);
    model.close_reason = Set(Some(CLOSED_SETTLEMENT.to_owned()));
    model.closed_at = Set(Some(at));
    model.settlement_state = Set(Some(settlement.state().to_owned()));
    model.confirm_receive_method = Set(settlement.confirm_receive_method.clone());
    model.estimated_settlement_time = Set(settlement.estimated_settlement_time);
    model.settlement_time = Set(settlement.settlement_time);
    model
}

/// A settlement push about a known order: a pending order is shipped
/// (behind tpgate's back or not, the pending record is over), a closed or
/// shipped one keeps its state; the settlement is recorded, a settled order
/// stays settled (pushes can come out of order) and what the push leaves out
/// is kept. One statement, so a batch of settlements is one upsert.
fn settlement_upsert() -> OnConflict {
    use row::Column as C;
    let old = |c: C| Expr::col((row::Entity, c));
    let pushed = |c: C| Expr::col((Alias::new("excluded"), c));
    let was_pending = || old(C::State).eq(OrderTrack::Pending.as_str());
    let if_pending = |c: C| -> Expr { Expr::case(was_pending(), pushed(c)).finally(old(c)).into() };
    let or_kept = |c: C| Expr::from(Func::coalesce([pushed(c), old(c)]));
    OnConflict::columns([C::Appid, C::TransactionId])
        .values([
            (C::State, if_pending(C::State)),
            (C::CloseReason, if_pending(C::CloseReason)),
            (C::ClosedAt, if_pending(C::ClosedAt)),
            (
                C::SettlementState,
                Expr::case(old(C::SettlementState).eq(SETTLED), old(C::SettlementState))
                    .finally(pushed(C::SettlementState))
                    .into(),
            ),
            (C::ConfirmReceiveMethod, or_kept(C::ConfirmReceiveMethod)),
            (
                C::EstimatedSettlementTime,
                or_kept(C::EstimatedSettlementTime),
            ),
            (C::SettlementTime, or_kept(C::SettlementTime)),
            (C::UpdatedAt, pushed(C::UpdatedAt)),
        ])
        .to_owned()
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::memory_store as store;

    fn order(tx: &str, pay_time: i64) -> SeenOrder {
        SeenOrder {
            transaction_id: tx.into(),
            merchant_id: "m".into(),
            sub_merchant_id: None,
            merchant_trade_no: format!("no-{tx}"),
            pay_time,
        }
    }

    #[tokio::test]
    async fn pending_orders_close_when_shipped_or_unseen_and_are_announced_once_per_threshold() {
        let store = store().await;
        let t0 = Utc::now();
        let now = t0.timestamp();
        let hour = 3600;
        store
            .note_pending_orders(
                Some("t1"),
                "wx1",
                &[
                    order("a", now - 50 * hour),
                    order("b", now - 30 * hour),
                    order("c", now - hour),
                    order("old", now - 1000 * hour),
                ],
                t0,
            )
            .await
            .unwrap();
        let filter = ShippingOrderFilter {
            state: Some(OrderTrack::Pending),
            ..Default::default()
        };
        let pending = store.list_shipping_orders(&filter, None, 10).await.unwrap();
        assert_eq!(pending.len(), 4);
        assert_eq!(
            pending[0].order.transaction_id, "old",
            "oldest payment first"
        );

        // Thresholds 24 h and 48 h: a (50 h) is due both, b (30 h) the first.
        let thresholds = [24 * hour, 48 * hour];
        let due = store.overdue_orders(now, &thresholds, 10).await.unwrap();
        let names: Vec<_> = due
            .iter()
            .map(|o| (o.order.transaction_id.as_str(), o.overdue_level))
            .collect();
        assert_eq!(names, [("old", 0), ("a", 0), ("b", 0)]);
        for o in &due {
            assert!(store.announce_overdue(o, thresholds[0], t0).await.unwrap());
            // Another replica with the same row: not twice.
            assert!(!store.announce_overdue(o, thresholds[0], t0).await.unwrap());
        }
        let due = store.overdue_orders(now, &thresholds, 10).await.unwrap();
        let names: Vec<_> = due
            .iter()
            .map(|o| (o.order.transaction_id.as_str(), o.overdue_level))
            .collect();
        assert_eq!(names, [("old", 1), ("a", 1)]);
        let events = store
            .list_events(&crate::events::EventFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].event_type, crate::events::SHIPPING_OVERDUE);

        // Shipped through tpgate; the next pass (a window of 100 h) sees
        // only c: b left state 1 behind tpgate's back, old is outside.
        let shipped = crate::shipping_uploads::OrderRef::Transaction("a".into());
        assert_eq!(store.mark_order_uploaded("wx1", &shipped).await.unwrap(), 1);
        let pass = t0 + Duration::seconds(10);
        store
            .note_pending_orders(Some("t1"), "wx1", &[order("c", now - hour)], pass)
            .await
            .unwrap();
        assert_eq!(
            store
                .close_unseen_orders("wx1", pass, now - 100 * hour)
                .await
                .unwrap(),
            2
        );
        let pending = store.list_shipping_orders(&filter, None, 10).await.unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].order.transaction_id, "c");
        let counts = store.count_pending_orders(&["wx1", "wx2"]).await.unwrap();
        assert_eq!(
            counts["wx1"],
            PendingCounts {
                pending: 1,
                overdue: 0
            }
        );
        assert!(!counts.contains_key("wx2"));

        // A settlement push ships c and records the settlement.
        let settled = Settlement {
            confirm_receive_method: Some("auto".into()),
            estimated_settlement_time: None,
            settlement_time: Some(now),
        };
        let note = |tx: &str, news: OrderNews| OrderNote {
            order: order(tx, now - hour),
            news,
            at: pass,
        };
        store
            .note_order(Some("t1"), "wx1", &note("c", OrderNews::Settled(settled)))
            .await
            .unwrap();
        let all = store
            .list_shipping_orders(&ShippingOrderFilter::default(), None, 10)
            .await
            .unwrap();
        let c = all.iter().find(|o| o.order.transaction_id == "c").unwrap();
        assert_eq!(c.state, OrderTrack::Shipped);
        assert_eq!(c.settlement_state.as_deref(), Some("settled"));
        assert_eq!(c.confirm_receive_method.as_deref(), Some("auto"));
        // Paging by (pay_time, appid, tx).
        let first = store
            .list_shipping_orders(&ShippingOrderFilter::default(), None, 2)
            .await
            .unwrap();
        let last = first.last().unwrap();
        let rest = store
            .list_shipping_orders(
                &ShippingOrderFilter::default(),
                Some((last.order.pay_time, &last.appid, &last.order.transaction_id)),
                10,
            )
            .await
            .unwrap();
        assert_eq!(first.len() + rest.len(), 4);
    }

    #[tokio::test]
    async fn a_batch_of_notes_ships_pending_orders_keeps_closed_ones_and_settled_stays_settled() {
        let store = store().await;
        let t0 = Utc::now();
        let now = t0.timestamp();
        store
            .note_pending_orders(
                Some("t1"),
                "wx1",
                &[order("p", now - 10), order("c", now - 10)],
                t0,
            )
            .await
            .unwrap();
        // The next pass sees only p: c left state 1 behind tpgate's back.
        let filter = ShippingOrderFilter::default();
        store
            .note_pending_orders(
                Some("t1"),
                "wx1",
                &[order("p", now - 10)],
                t0 + Duration::seconds(2),
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .close_unseen_orders("wx1", t0 + Duration::seconds(2), now - 100)
                .await
                .unwrap(),
            1
        );

        let at = t0 + Duration::seconds(3);
        let to_settle = |estimated| {
            OrderNews::Settled(Settlement {
                confirm_receive_method: None,
                estimated_settlement_time: Some(estimated),
                settlement_time: None,
            })
        };
        let settled = OrderNews::Settled(Settlement {
            confirm_receive_method: Some("auto".into()),
            estimated_settlement_time: None,
            settlement_time: Some(now),
        });
        let note = |tx: &str, news: OrderNews| OrderNote {
            order: order(tx, now - 10),
            news,
            at,
        };
        // One batch: p shipped then settled (two rounds on one row), c (closed)
        // settled, u (never seen) shipped, r reminded.
        let notes = [
            note("p", to_settle(now + 100)),
            note("c", settled.clone()),
            note("p", settled.clone()),
            note("u", to_settle(now + 200)),
            note("r", OrderNews::Reminded),
        ];
        let batch: Vec<AppOrderNote<'_>> = notes.iter().map(|n| (Some("t1"), "wx1", n)).collect();
        let txn = store.db().begin().await.unwrap();
        write_order_notes(&txn, &batch).await.unwrap();
        txn.commit().await.unwrap();
        // A late "shipped, to settle" push about p changes nothing settled.
        store
            .note_order(Some("t1"), "wx1", &note("p", to_settle(now + 300)))
            .await
            .unwrap();

        let all = store.list_shipping_orders(&filter, None, 10).await.unwrap();
        let get = |tx: &str| all.iter().find(|o| o.order.transaction_id == tx).unwrap();
        let p = get("p");
        assert_eq!(p.state, OrderTrack::Shipped);
        assert_eq!(p.close_reason.as_deref(), Some(CLOSED_SETTLEMENT));
        assert_eq!(p.settlement_state.as_deref(), Some(SETTLED));
        assert_eq!(p.confirm_receive_method.as_deref(), Some("auto"));
        assert_eq!(p.settlement_time, Some(now));
        assert_eq!(
            p.estimated_settlement_time,
            Some(now + 300),
            "the latest estimate"
        );
        let c = get("c");
        assert_eq!(c.state, OrderTrack::Closed, "closed stays closed");
        assert_eq!(c.close_reason.as_deref(), Some(CLOSED_NO_LONGER_PENDING));
        assert_eq!(c.settlement_state.as_deref(), Some(SETTLED));
        let u = get("u");
        assert_eq!(u.state, OrderTrack::Shipped);
        assert_eq!(u.settlement_state.as_deref(), Some(TO_SETTLE));
        assert_eq!(u.estimated_settlement_time, Some(now + 200));
        let r = get("r");
        assert_eq!(r.state, OrderTrack::Pending);
        assert_eq!(r.reminded_at.map(|t| t.timestamp()), Some(at.timestamp()));
    }

    #[tokio::test]
    async fn a_reminder_makes_an_order_pending_and_reconciliations_are_claimed_once() {
        let store = store().await;
        let t0 = Utc::now();
        let reminded = OrderNote {
            order: order("r", t0.timestamp() - 3600),
            news: OrderNews::Reminded,
            at: t0,
        };
        store
            .note_order(Some("t1"), "wx1", &reminded)
            .await
            .unwrap();
        let pending = store
            .list_shipping_orders(&ShippingOrderFilter::default(), None, 10)
            .await
            .unwrap();
        assert_eq!(
            pending[0].reminded_at.map(|r| r.timestamp()),
            Some(t0.timestamp())
        );
        assert_eq!(pending[0].state, OrderTrack::Pending);

        // No trade-managed Mini Program yet: nothing scheduled.
        assert_eq!(
            store.schedule_new_reconciliations(|_| 0, 10).await.unwrap(),
            0
        );
        let now_ms = t0.timestamp_millis();
        // A schedule row (as if scheduled), due now: claimed by one caller.
        schedule::Entity::insert(schedule::ActiveModel {
            appid: Set("wx1".into()),
            next_run_at_ms: Set(now_ms),
            last_run_at: Set(None),
            last_calls: Set(0),
            last_complete: Set(false),
            last_error: Set(None),
        })
        .exec_without_returning(store.db())
        .await
        .unwrap();
        let next = now_ms + 3_600_000;
        assert_eq!(
            store
                .claim_due_reconciliations(now_ms, next, 10)
                .await
                .unwrap(),
            ["wx1"]
        );
        assert!(
            store
                .claim_due_reconciliations(now_ms, next, 10)
                .await
                .unwrap()
                .is_empty()
        );
        // A reminder brings it forward.
        store.reconcile_soon("wx1", now_ms + 1).await.unwrap();
        assert_eq!(
            store
                .claim_due_reconciliations(now_ms + 1, next, 10)
                .await
                .unwrap(),
            ["wx1"]
        );
        store
            .finish_reconciliation("wx1", t0, 3, true, None)
            .await
            .unwrap();
    }
}
