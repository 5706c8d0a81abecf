//! Persistence and coordination for tpgate.
//!
//! The database is the source of truth for everything that must survive a
//! restart (the verify ticket, refresh tokens, tenants, keys). One code path
//! serves SQLite (the embedded default, one file) and Postgres. Secrets are
//! sealed here (see [`seal`]) so that callers only ever handle plaintext
//! [`Secret`]s and the tables only ever hold sealed bytes.
//!
//! # Layout
//! - [`entity`]: sea-orm rows (no `Serialize`; DTOs live at the HTTP edge).
//! - [`component`], [`tenants`], [`api_keys`], [`onboarding`], [`authorizers`]:
//!   the operations other crates may perform, as methods on [`Store`].
//! - [`coord`]: single-flight locks and cross-replica leases (Redis or DB).
//! - [`events`]: what happened to tenants' authorizers, deduplicated.
//! - [`idempotency`], [`rate_limits`]: the proxy's idempotency keys and
//!   rate-limit policies.
//! - [`calls`], [`trade_management`]: the call log, and each Mini
//!   Program's cached trade-management state.
//! - [`seal`], [`secret`], [`rotate`]: sealing at rest, a redacting string
//!   type, and re-sealing everything under a new key.
#![forbid(unsafe_code)]

pub mod api_keys;
pub mod audit;
pub mod authorizers;
mod cache;
pub mod calls;
mod claims;
pub mod component;
mod conn;
pub mod console_sessions;
pub mod coord;
pub mod courier_lists;
pub mod deliveries;
pub mod entity;
mod error;
mod event_batch;
pub mod events;
pub mod idempotency;
pub mod ids;
pub mod onboarding;
pub mod rate_limits;
pub mod redis_conn;
pub mod rotate;
pub mod seal;
pub mod secret;
pub mod shipments;
pub mod shipping_orders;
pub mod shipping_uploads;
pub mod tenants;
pub mod trade_management;
pub mod webhooks;
pub mod wechat_host_tokens;

use std::{sync::Arc, time::Duration};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};

pub use error::StoreError;
pub use ids::{Appid, EventId, TenantId};
pub use seal::Sealer;
pub use secret::Secret;

/// Database + optional Redis + the sealer. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// The pool, for migrations and readiness.
    pool: DatabaseConnection,
    /// What queries run on: the pool, or an audited change's transaction.
    db: conn::Conn,
    /// Inside an audited change: set when caches must be dropped, which
    /// happens once the transaction commits (not before, or another replica
    /// could cache the old rows again meanwhile).
    forget_after_commit: Option<Arc<std::sync::atomic::AtomicBool>>,
    redis: Option<redis_conn::RedisConn>,
    /// For the invalidation subscription (a pub/sub connection of its own).
    redis_subscriber: Option<redis_conn::Subscriber>,
    /// Prefix of every Redis key, so several deployments (or test runs) can
    /// share one Redis without seeing each other's locks.
    redis_prefix: Arc<str>,
    sealer: Arc<Sealer>,
    cache: Arc<cache::HotCache>,
    /// API keys used since the last flush, and when: `last_used_at` is
    /// written in batches, never on the request path.
    key_uses:
        Arc<std::sync::Mutex<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>>>,
    /// Group commit of events, when on.
    event_batcher: Option<event_batch::EventBatcher>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.db.get_database_backend())
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

/// Redis channel (under the key prefix) announcing cache invalidations.
const INVALIDATION_CHANNEL: &str = "cache-invalidate";

/// Default lifetime of the hot-path cache entries.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(10);

/// Health of the store's dependencies, for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub database: Result<(), String>,
    pub migrations_applied: bool,
    pub redis: Option<Result<(), String>>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database.is_ok()
            && self.migrations_applied
            && self.redis.as_ref().is_none_or(|r| r.is_ok())
    }
}

impl Store {
    /// Connects to `database_url` (`sqlite://path?mode=rwc` or `postgres://…`)
    /// and, when given, Redis. Does not migrate: call [`Store::migrate`].
    pub async fn connect(
        database_url: &str,
        redis_url: Option<&str>,
        sealer: Sealer,
    ) -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new(database_url.to_owned());
        options
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5))
            .sqlx_logging(false);
        if database_url.starts_with("sqlite:") {
            // SQLite allows one writer; a single connection avoids SQLITE_BUSY
            // between our own tasks, and WAL keeps readers unblocked.
            options.max_connections(1);
        }
        let db = Database::connect(options).await.map_err(|e| {
            StoreError::Unavailable(format!("database: {}", mask_url(&e.to_string())))
        })?;
        if db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
            db.execute_unprepared(
                "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
            )
            .await?;
        }
        let (redis, redis_subscriber) = match redis_url {
            Some(url) => {
                let (conn, subscriber) = redis_conn::RedisTopology::parse(url)?.connect().await?;
                (Some(conn), Some(subscriber))
            }
            None => (None, None),
        };
        Ok(Self {
            db: conn::Conn::Pool(db.clone()),
            pool: db,
            forget_after_commit: None,
            redis,
            redis_subscriber,
            redis_prefix: Arc::from("tpgate"),
            sealer: Arc::new(sealer),
            cache: Arc::new(cache::HotCache::new(DEFAULT_CACHE_TTL)),
            key_uses: Arc::default(),
            event_batcher: None,
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        migration::run(&self.pool).await.map_err(StoreError::from)
    }

    /// Whether every migration has been applied (readiness; `serve`
    /// without `migrate_on_start`).
    pub async fn schema_is_current(&self) -> bool {
        migration::is_up_to_date(&self.pool).await.unwrap_or(false)
    }

    /// The connection, for this crate's own queries only: the rest of
    /// tpgate goes through `Store`'s methods, never the tables.
    pub(crate) fn db(&self) -> &conn::Conn {
        &self.db
    }

    pub fn redis(&self) -> Option<&redis_conn::RedisConn> {
        self.redis.as_ref()
    }

    /// Namespaces every Redis key under `prefix` (default `tpgate`).
    pub fn with_redis_prefix(mut self, prefix: &str) -> Self {
        self.redis_prefix = Arc::from(prefix);
        self
    }

    /// How long this replica trusts a cached API key or authorizer (see
    /// [`Store::cached_authorizer`]); default 10 s.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache = Arc::new(cache::HotCache::new(ttl));
        self
    }

    /// Drops every cached API key and authorizer on this replica.
    pub fn forget_cached(&self) {
        self.cache.forget_all();
    }

    /// Drops the cached keys and authorizers here and, through Redis
    /// pub/sub, on every other replica ([`Store::follow_invalidations`]), so
    /// a suspension or revocation applies at once everywhere. Without Redis
    /// there is one replica (or the TTL bounds the delay). A failed publish is
    /// logged, not returned: the change itself is committed, and other
    /// replicas still drop their entries when the TTL ends.
    pub async fn forget_cached_everywhere(&self) {
        if let Some(pending) = &self.forget_after_commit {
            pending.store(true, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        self.forget_cached();
        let Some(redis) = &self.redis else { return };
        let mut conn = redis.clone();
        let publish = tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("PUBLISH")
                .arg(self.redis_key(INVALIDATION_CHANNEL))
                .arg("all")
                .query_async::<i64>(&mut conn),
        )
        .await;
        match publish {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not publish a cache invalidation; other replicas catch up within the cache TTL")
            }
            Err(_) => tracing::warn!(
                "publishing a cache invalidation timed out; other replicas catch up within the cache TTL"
            ),
        }
    }

    /// Forgets cached entries whenever a replica publishes an invalidation,
    /// until `stop` turns true. Reconnects after Redis errors; while
    /// disconnected the cache TTL bounds staleness, and everything is
    /// forgotten on reconnect (invalidations may have been missed).
    pub async fn follow_invalidations(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        use futures_util::StreamExt as _;
        let Some(subscriber) = self.redis_subscriber.clone() else {
            return;
        };
        let channel = self.redis_key(INVALIDATION_CHANNEL);
        let mut backoff = Duration::from_millis(200);
        loop {
            let subscribed = async {
                let mut pubsub = subscriber.pubsub().await?;
                pubsub.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            let pubsub = tokio::select! {
                r = subscribed => r,
                _ = stop.wait_for(|s| *s) => return,
            };
            match pubsub {
                Ok(mut pubsub) => {
                    backoff = Duration::from_millis(200);
                    self.forget_cached();
                    let mut messages = pubsub.on_message();
                    loop {
                        tokio::select! {
                            msg = messages.next() => match msg {
                                Some(_) => self.forget_cached(),
                                None => break,
                            },
                            _ = stop.wait_for(|s| *s) => return,
                        }
                    }
                    tracing::warn!("cache invalidation subscription closed; reconnecting");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot subscribe to cache invalidations; retrying");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    /// `<prefix>:<name>`.
    pub fn redis_key(&self, name: &str) -> String {
        format!("{}:{name}", self.redis_prefix)
    }

    /// `<prefix>:{<tag>}:<name>`: keys with one tag share a Redis Cluster
    /// hash slot (see [`redis_conn`]).
    pub fn redis_tagged_key(&self, tag: &str, name: &str) -> String {
        redis_conn::tagged(&self.redis_prefix, tag, name)
    }

    pub(crate) fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    pub async fn readiness(&self) -> Readiness {
        let database = self
            .pool
            .execute_unprepared("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string());
        let migrations_applied = migration::is_up_to_date(&self.pool).await.unwrap_or(false);
        let redis = match &self.redis {
            Some(conn) => {
                let mut conn = conn.clone();
                let ping = tokio::time::timeout(
                    Duration::from_secs(2),
                    redis::cmd("PING").query_async::<String>(&mut conn),
                )
                .await;
                Some(match ping {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("timed out".to_owned()),
                })
            }
            None => None,
        };
        Readiness {
            database,
            migrations_applied,
            redis,
        }
    }
}

/// `column` contains `text`, ignoring ASCII case, the same on SQLite and
/// Postgres (`LIKE` is case-insensitive on one and not the other), with `%`,
/// `_` and `\` in `text` taken literally.
pub(crate) fn contains_ignoring_case(
    column: impl sea_orm::sea_query::IntoColumnRef,
    text: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// Hides the password part of any `scheme://user:password@host` in a message.
pub fn mask_url(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":***");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// A migrated in-memory store, for this crate's unit tests.
#[cfg(test)]
pub(crate) async fn memory_store() -> Store {
    let store = Store::connect("sqlite::memory:", None, Sealer::for_testing())
        .await
        .expect("an in-memory SQLite store");
    store.migrate().await.expect("migrations apply");
    store
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn mask_url_hides_passwords() {
        assert_eq!(
            super::mask_url("failed postgres://tp:s3cret@db:5432/x ok"),
            "failed postgres://tp:***@db:5432/x ok"
        );
        assert_eq!(
            super::mask_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
    }
}
