//! Each Mini Program's trade-management state as WeChat last reported it,
//! cached: WeChat is asked at most once per interval per Mini Program,
//! across replicas (a fetch is claimed compare-and-set on the time of the
//! last attempt).
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait, Query},
};

use crate::{Appid, Store, StoreError, entity::authorizer_trade_management as tm};

/// What tpgate knows of a Mini Program's trade management.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeManagement {
    pub appid: Appid,
    /// `is_trade_managed`: the Mini Program must upload shipping information.
    pub is_trade_managed: Option<bool>,
    /// `is_trade_management_confirmation_completed`.
    pub confirmation_completed: Option<bool>,
    /// When the two answers were fetched (None: never successfully).
    pub fetched_at: Option<DateTime<Utc>>,
    /// When tpgate last asked (None: never).
    pub attempted_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, when it did: WeChat's errcode, if any,
    /// and words a tenant may read.
    pub errcode: Option<i64>,
    pub error: Option<String>,
}

impl TradeManagement {
    /// Nothing known yet.
    pub fn unknown(appid: &str) -> Self {
        Self {
            appid: appid.into(),
            is_trade_managed: None,
            confirmation_completed: None,
            fetched_at: None,
            attempted_at: None,
            errcode: None,
            error: None,
        }
    }
}

impl From<tm::Model> for TradeManagement {
    fn from(m: tm::Model) -> Self {
        Self {
            appid: m.appid.into(),
            is_trade_managed: m.is_trade_managed,
            confirmation_completed: m.confirmation_completed,
            fetched_at: m.fetched_at,
            attempted_at: DateTime::from_timestamp_millis(m.attempted_at_ms),
            errcode: m.errcode,
            error: m.error,
        }
    }
}

/// How a fetch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeManagementFetch {
    Fetched {
        is_trade_managed: bool,
        confirmation_completed: bool,
    },
    /// The earlier answers are kept.
    Failed { errcode: Option<i64>, error: String },
}

impl Store {
    /// The cached states of `appids` (those with one).
    pub async fn trade_managements(
        &self,
        appids: &[&str],
    ) -> Result<Vec<TradeManagement>, StoreError> {
        if appids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(tm::Entity::find()
            .filter(tm::Column::Appid.is_in(appids.iter().copied()))
            .all(self.db())
            .await?
            .into_iter()
            .map(TradeManagement::from)
            .collect())
    }

    pub async fn trade_management(
        &self,
        appid: &str,
    ) -> Result<Option<TradeManagement>, StoreError> {
        Ok(tm::Entity::find_by_id(appid.to_owned())
            .one(self.db())
            .await?
            .map(TradeManagement::from))
    }

    /// Active Mini Programs whose trade-management state was never asked
    /// for, or not since `attempted_before`: reconciliation asks, so it
    /// knows which Mini Programs to reconcile.
    pub async fn authorizers_due_trade_management(
        &self,
        attempted_before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<String>, StoreError> {
        use sea_orm::QuerySelect;

        use crate::entity::authorizer;
        let fresh = Query::select()
            .column(tm::Column::Appid)
            .from(tm::Entity)
            .and_where(
                Expr::col(tm::Column::AttemptedAtMs).gte(attempted_before.timestamp_millis()),
            )
            .to_owned();
        Ok(authorizer::Entity::find()
            .select_only()
            .column(authorizer::Column::Appid)
            .filter(authorizer::Column::Status.eq("active"))
            .filter(authorizer::Column::Appid.not_in_subquery(fresh))
            .limit(limit)
            .into_tuple()
            .all(self.db())
            .await?)
    }

    /// Claims the next fetch for `appid` when nobody attempted one in the
    /// `interval` before `now`: true for exactly one of concurrent callers
    /// (on any replica), which then fetches and saves.
    pub async fn claim_trade_management_fetch(
        &self,
        appid: &str,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<bool, StoreError> {
        self.claim_attempt::<tm::Entity>(
            tm::Column::Appid,
            tm::Column::AttemptedAtMs,
            appid,
            now,
            interval,
        )
        .await
    }

    /// Records a claimed fetch's result (see
    /// [`Store::claim_trade_management_fetch`]); a failure keeps the
    /// earlier answers.
    pub async fn save_trade_management(
        &self,
        appid: &str,
        at: DateTime<Utc>,
        fetch: TradeManagementFetch,
    ) -> Result<TradeManagement, StoreError> {
        let mut row = tm::ActiveModel {
            attempted_at_ms: Set(at.timestamp_millis()),
            ..Default::default()
        };
        match fetch {
            TradeManagementFetch::Fetched {
                is_trade_managed,
                confirmation_completed,
            } => {
                row.is_trade_managed = Set(Some(is_trade_managed));
                row.confirmation_completed = Set(Some(confirmation_completed));
                row.fetched_at = Set(Some(at));
                row.errcode = Set(None);
                row.error = Set(None);
            }
            TradeManagementFetch::Failed { errcode, error } => {
                row.errcode = Set(errcode);
                row.error = Set(Some(error.chars().take(500).collect()));
            }
        }
        tm::Entity::update_many()
            .set(row)
            .filter(tm::Column::Appid.eq(appid))
            .exec(self.db())
            .await?;
        self.trade_management(appid)
            .await?
            .ok_or(StoreError::NotFound("trade-management state"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::memory_store as store;

    #[tokio::test]
    async fn one_fetch_per_interval_and_failures_keep_the_last_answers() {
        let store = store().await;
        let day = Duration::days(1);
        let t0 = Utc::now();
        assert_eq!(store.trade_management("wx1").await.unwrap(), None);
        assert!(
            store
                .claim_trade_management_fetch("wx1", t0, day)
                .await
                .unwrap()
        );
        // Claimed: nobody else fetches within the interval.
        assert!(
            !store
                .claim_trade_management_fetch("wx1", t0 + Duration::hours(1), day)
                .await
                .unwrap()
        );
        let fetched = TradeManagementFetch::Fetched {
            is_trade_managed: true,
            confirmation_completed: false,
        };
        let saved = store
            .save_trade_management("wx1", t0, fetched)
            .await
            .unwrap();
        assert_eq!(saved.is_trade_managed, Some(true));
        assert_eq!(saved.confirmation_completed, Some(false));
        assert_eq!(
            saved.fetched_at.map(|f| f.timestamp_millis()),
            Some(t0.timestamp_millis())
        );
        assert_eq!(saved.error, None);
        // Another Mini Program is claimed on its own.
        assert!(
            store
                .claim_trade_management_fetch("wx2", t0, day)
                .await
                .unwrap()
        );

        // A day on, the next fetch is due; it fails and keeps the answers.
        let t1 = t0 + day + Duration::seconds(1);
        assert!(
            store
                .claim_trade_management_fetch("wx1", t1, day)
                .await
                .unwrap()
        );
        let failed = TradeManagementFetch::Failed {
            errcode: Some(61007),
            error: "WeChat errcode 61007".into(),
        };
        let saved = store
            .save_trade_management("wx1", t1, failed)
            .await
            .unwrap();
        assert_eq!(saved.is_trade_managed, Some(true));
        assert_eq!(
            saved.fetched_at.map(|f| f.timestamp_millis()),
            Some(t0.timestamp_millis())
        );
        assert_eq!(
            saved.attempted_at.map(|a| a.timestamp_millis()),
            Some(t1.timestamp_millis())
        );
        assert_eq!(saved.errcode, Some(61007));
        // A shorter interval (an asked-for refresh) claims sooner.
        assert!(
            store
                .claim_trade_management_fetch(
                    "wx1",
                    t1 + Duration::minutes(2),
                    Duration::minutes(1)
                )
                .await
                .unwrap()
        );
    }
}
