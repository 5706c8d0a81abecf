//! WeChat's courier lists, cached for every replica and across restarts.
//! The lists are WeChat's, the same for every Mini Program, so one copy of
//! each serves all tenants; a refresh is claimed compare-and-set on the
//! time of the last attempt, so WeChat is asked at most once per interval
//! however many replicas need the list.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::{Store, StoreError, entity::courier_list as row};

/// A cached list as stored: its couriers as JSON (the caller's model).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedCourierList {
    pub list: String,
    /// JSON array of couriers; None until a fetch succeeded.
    pub couriers: Option<String>,
    pub fetched_at: Option<DateTime<Utc>>,
    pub attempted_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, when it did.
    pub error: Option<String>,
}

impl From<row::Model> for CachedCourierList {
    fn from(m: row::Model) -> Self {
        Self {
            list: m.list,
            couriers: m.couriers,
            fetched_at: m.fetched_at,
            attempted_at: DateTime::from_timestamp_millis(m.attempted_at_ms),
            error: m.error,
        }
    }
}

impl Store {
    pub async fn courier_list(&self, list: &str) -> Result<Option<CachedCourierList>, StoreError> {
        Ok(row::Entity::find_by_id(list.to_owned())
            .one(self.db())
            .await?
            .map(CachedCourierList::from))
    }

    /// Claims the next fetch of `list` when nobody attempted one in the
    /// `interval` before `now`: true for exactly one of concurrent callers.
    pub async fn claim_courier_list_fetch(
        &self,
        list: &str,
        now: DateTime<Utc>,
        interval: Duration,
    ) -> Result<bool, StoreError> {
        self.claim_attempt::<row::Entity>(
            row::Column::List,
            row::Column::AttemptedAtMs,
            list,
            now,
            interval,
        )
        .await
    }

    /// Records a claimed fetch: `Ok(couriers)` replaces the list, `Err`
    /// keeps the earlier one and notes why (bounded).
    pub async fn save_courier_list(
        &self,
        list: &str,
        at: DateTime<Utc>,
        fetched: Result<String, String>,
    ) -> Result<(), StoreError> {
        let mut update = row::ActiveModel {
            attempted_at_ms: Set(at.timestamp_millis()),
            ..Default::default()
        };
        match fetched {
            Ok(couriers) => {
                update.couriers = Set(Some(couriers));
                update.fetched_at = Set(Some(at));
                update.error = Set(None);
            }
            Err(error) => update.error = Set(Some(error.chars().take(300).collect())),
        }
        row::Entity::update_many()
            .set(update)
            .filter(row::Column::List.eq(list))
            .exec(self.db())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_store as store;

    #[tokio::test]
    async fn one_fetch_per_interval_and_a_failure_keeps_the_list() {
        let store = store().await;
        let day = Duration::days(1);
        let t0 = Utc::now();
        assert_eq!(store.courier_list("express").await.unwrap(), None);
        assert!(
            store
                .claim_courier_list_fetch("express", t0, day)
                .await
                .unwrap()
        );
        assert!(
            !store
                .claim_courier_list_fetch("express", t0, day)
                .await
                .unwrap()
        );
        // The other list is claimed on its own.
        assert!(
            store
                .claim_courier_list_fetch("helper", t0, day)
                .await
                .unwrap()
        );
        let claimed = store.courier_list("express").await.unwrap().unwrap();
        assert_eq!(claimed.couriers, None);
        store
            .save_courier_list("express", t0, Ok("[{\"delivery_id\":\"SF\"}]".into()))
            .await
            .unwrap();
        let t1 = t0 + day + Duration::seconds(1);
        assert!(
            store
                .claim_courier_list_fetch("express", t1, day)
                .await
                .unwrap()
        );
        store
            .save_courier_list("express", t1, Err("WeChat errcode -1".into()))
            .await
            .unwrap();
        let kept = store.courier_list("express").await.unwrap().unwrap();
        assert_eq!(kept.couriers.as_deref(), Some("[{\"delivery_id\":\"SF\"}]"));
        assert_eq!(
            kept.fetched_at.map(|f| f.timestamp_millis()),
            Some(t0.timestamp_millis())
        );
        assert_eq!(kept.error.as_deref(), Some("WeChat errcode -1"));
        assert_eq!(
            kept.attempted_at.map(|a| a.timestamp_millis()),
            Some(t1.timestamp_millis())
        );
    }
}
