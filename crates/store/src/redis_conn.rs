//! The shared Redis: one server or a Redis Cluster, behind one connection
//! type that every Redis user in tpgate (limiter, leases, cache
//! invalidation) goes through.
//!
//! - `redis://host:6379/0` (or `rediss://`): one server, through redis-rs'
//!   `ConnectionManager`, which reconnects after a dropped connection. A
//!   write refused with `READONLY` (a failover left this connection on a
//!   demoted master, e.g. behind a Service that now points elsewhere) also
//!   drops the connection, so the next call reaches the new master.
//! - `redis+cluster://[user:password@]host1:7000,host2:7001` (or
//!   `rediss+cluster://`): a Redis Cluster, through redis-rs' cluster client
//!   (slot map, `MOVED`/`ASK`, failover of a shard's master), seeded with
//!   those nodes.
//!
//! In a cluster every multi-key script must touch one hash slot. Keys that
//! must change together carry the same hash tag ([`tagged`]): the limiter
//! tags a call's counters with its appid (see `ratelimit::counter` for the
//! tenant's), a lease is one key.
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::{
    Cmd, ErrorKind, Pipeline, RedisFuture, ServerErrorKind, Value,
    aio::{ConnectionLike, ConnectionManager},
    cluster::ClusterClient,
    cluster_async::ClusterConnection,
};

use crate::{StoreError, mask_url};

/// How long connecting may take before start-up gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where Redis is, parsed from the configured URL.
#[derive(Clone, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server (`redis://…`, `rediss://…`).
    Single(String),
    /// Seed nodes of a Redis Cluster, each as a `redis://` URL.
    Cluster(Vec<String>),
}

impl std::fmt::Debug for RedisTopology {
    // The URLs may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RedisTopology::Single(url) => write!(f, "Single({})", mask_url(url)),
            RedisTopology::Cluster(nodes) => f
                .debug_tuple("Cluster")
                .field(&nodes.iter().map(|n| mask_url(n)).collect::<Vec<_>>())
                .finish(),
        }
    }
}

impl RedisTopology {
    /// Parses `redis://…`, `rediss://…` or `redis+cluster://[auth@]h1:p1,h2:p2`.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let invalid = |why: &str| StoreError::Unavailable(format!("redis url: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected scheme://…"))?;
        let node_scheme = match scheme {
            "redis" | "rediss" => return Ok(RedisTopology::Single(url.to_owned())),
            "redis+cluster" => "redis",
            "rediss+cluster" => "rediss",
            _ => {
                return Err(invalid(
                    "the scheme must be redis, rediss, redis+cluster or rediss+cluster",
                ));
            }
        };
        // `auth@` applies to every node; a path (a database) has no meaning
        // in a cluster, which has only database 0.
        let (auth, hosts) = match rest.rsplit_once('@') {
            Some((auth, hosts)) => (Some(auth), hosts),
            None => (None, rest),
        };
        let hosts = hosts.trim_end_matches('/');
        if hosts.contains('/') {
            return Err(invalid("a cluster has no database number"));
        }
        let nodes: Vec<String> = hosts
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|host| match auth {
                Some(auth) => format!("{node_scheme}://{auth}@{host}"),
                None => format!("{node_scheme}://{host}"),
            })
            .collect();
        if nodes.is_empty() {
            return Err(invalid("a cluster URL names at least one node"));
        }
        Ok(RedisTopology::Cluster(nodes))
    }

    /// Connects; fails when no node answers within a few seconds.
    pub async fn connect(&self) -> Result<(RedisConn, Subscriber), StoreError> {
        let failed = |e: redis::RedisError| {
            StoreError::Unavailable(format!("redis: {}", mask_url(&e.to_string())))
        };
        let timed_out = |_| StoreError::Unavailable("redis: connect timed out".into());
        match self {
            RedisTopology::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(failed)?;
                let manager =
                    tokio::time::timeout(CONNECT_TIMEOUT, ConnectionManager::new(client.clone()))
                        .await
                        .map_err(timed_out)?
                        .map_err(failed)?;
                Ok((RedisConn::Single(manager), Subscriber::new(vec![client])))
            }
            RedisTopology::Cluster(nodes) => {
                let clients = nodes
                    .iter()
                    .map(|n| redis::Client::open(n.as_str()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(failed)?;
                let cluster = ClusterClient::builder(nodes.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(Duration::from_secs(2))
                    .build()
                    .map_err(failed)?;
                let conn = tokio::time::timeout(CONNECT_TIMEOUT, cluster.get_async_connection())
                    .await
                    .map_err(timed_out)?
                    .map_err(failed)?;
                Ok((RedisConn::Cluster(conn), Subscriber::new(clients)))
            }
        }
    }
}

/// A connection to the shared Redis; cheap to clone (clones multiplex one
/// connection per server).
#[derive(Clone)]
pub enum RedisConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl RedisConn {
    /// Whether keys in different hash slots may live on different servers
    /// (a multi-key script must then stay within one slot).
    pub fn is_cluster(&self) -> bool {
        matches!(self, RedisConn::Cluster(_))
    }
}

/// A write that reached a replica: this connection is on a master that a
/// failover demoted.
fn is_read_only(result: &redis::RedisResult<Value>) -> bool {
    match result {
        Err(e) => e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly),
        // A reply is turned into an error only after the connection gave it.
        Ok(reply) => is_read_only_reply(reply),
    }
}

fn is_read_only_reply(reply: &Value) -> bool {
    matches!(reply, Value::ServerError(e) if e.kind() == Some(ServerErrorKind::ReadOnly))
}

impl ConnectionLike for RedisConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            RedisConn::Single(manager) => Box::pin(async move {
                let result = manager.req_packed_command(cmd).await;
                if is_read_only(&result) {
                    single_demoted(manager).await;
                }
                result
            }),
            RedisConn::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            RedisConn::Single(manager) => Box::pin(async move {
                let result = manager.req_packed_commands(pipeline, offset, count).await;
                let read_only = match &result {
                    Ok(replies) => replies.iter().any(is_read_only_reply),
                    Err(e) => e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly),
                };
                if read_only {
                    single_demoted(manager).await;
                }
                result
            }),
            RedisConn::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            RedisConn::Single(manager) => manager.get_db(),
            RedisConn::Cluster(cluster) => cluster.get_db(),
        }
    }
}

/// The single server answered `READONLY`: it is a replica now. `CLIENT KILL
/// SKIPME no` closes this very connection on the server side, and the
/// connection manager reconnects to whatever the address resolves to now
/// (the new master behind a Service or a virtual IP). Best effort: the
/// failed call itself is reported to the caller, which falls back.
async fn single_demoted(manager: &mut ConnectionManager) {
    tracing::warn!("Redis answered READONLY (a failover demoted it); reconnecting");
    let mut kill = redis::cmd("CLIENT");
    kill.arg("KILL").arg("SKIPME").arg("no").arg("ID");
    let id: redis::RedisResult<i64> = redis::cmd("CLIENT").arg("ID").query_async(manager).await;
    if let Ok(id) = id {
        kill.arg(id);
        let _ = kill.query_async::<Value>(manager).await;
    }
}

/// Pub/sub connections for cache invalidation. A cluster propagates
/// `PUBLISH` to every node, so subscribing to any one node hears all
/// replicas; after a failure the next node is tried.
#[derive(Clone)]
pub struct Subscriber {
    clients: Arc<Vec<redis::Client>>,
    next: Arc<Mutex<usize>>,
}

impl Subscriber {
    fn new(clients: Vec<redis::Client>) -> Self {
        Self {
            clients: Arc::new(clients),
            next: Arc::default(),
        }
    }

    /// A subscription connection to the next node in turn.
    pub async fn pubsub(&self) -> redis::RedisResult<redis::aio::PubSub> {
        let index = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let index = *next % self.clients.len().max(1);
            *next = next.wrapping_add(1);
            index
        };
        match self.clients.get(index) {
            Some(client) => client.get_async_pubsub().await,
            None => Err(redis::RedisError::from((
                ErrorKind::Client,
                "no Redis node to subscribe to",
            ))),
        }
    }
}

/// `prefix:{tag}:rest`: keys with the same tag share a Redis Cluster hash
/// slot, so one script may touch all of them.
pub fn tagged(prefix: &str, tag: &str, rest: &str) -> String {
    format!("{prefix}:{{{tag}}}:{rest}")
}

/// What Redis Cluster hashes for `key`: the first non-empty `{…}` section,
/// else the whole key. Keys with equal hash tags are in one slot.
pub fn hash_tag(key: &str) -> &str {
    if let Some(open) = key.find('{')
        && let Some(len) = key[open + 1..].find('}')
        && len > 0
    {
        return &key[open + 1..open + 1 + len];
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_and_cluster_urls() {
        assert_eq!(
            RedisTopology::parse("redis://127.0.0.1:6379/2").unwrap(),
            RedisTopology::Single("redis://127.0.0.1:6379/2".into())
        );
        assert_eq!(
            RedisTopology::parse("redis+cluster://:pw@10.0.0.1:7000, 10.0.0.2:7001/").unwrap(),
            RedisTopology::Cluster(vec![
                "redis://:pw@10.0.0.1:7000".into(),
                "redis://:pw@10.0.0.2:7001".into()
            ])
        );
        assert_eq!(
            RedisTopology::parse("rediss+cluster://h:7000").unwrap(),
            RedisTopology::Cluster(vec!["rediss://h:7000".into()])
        );
        for bad in [
            "127.0.0.1:6379",
            "http://h",
            "redis+cluster://",
            "redis+cluster://h:7000/1",
        ] {
            assert!(RedisTopology::parse(bad).is_err(), "{bad}");
        }
        // Debug hides passwords.
        let debug = format!(
            "{:?}",
            RedisTopology::parse("redis+cluster://u:secret@h:7000").unwrap()
        );
        assert!(!debug.contains("secret"), "{debug}");
    }

    /// A server demoted to replica answers writes with READONLY: the
    /// connection is dropped so the next call connects afresh (to whatever
    /// the address leads to after the failover). Needs `redis-server`.
    #[tokio::test]
    async fn a_demoted_server_makes_the_connection_reconnect() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let Ok(mut server) = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
        else {
            eprintln!("redis-server is not installed; skipped");
            return;
        };
        let url = format!("redis://127.0.0.1:{port}");
        let mut conn = None;
        for _ in 0..50 {
            if let Ok((c, _)) = RedisTopology::parse(&url).unwrap().connect().await {
                conn = Some(c);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut conn = conn.expect("redis-server started");
        let id = |conn: &mut RedisConn| {
            let mut conn = conn.clone();
            async move {
                redis::cmd("CLIENT")
                    .arg("ID")
                    .query_async::<i64>(&mut conn)
                    .await
            }
        };
        let first = id(&mut conn).await.unwrap();
        let mut admin = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        // A replica of nothing reachable: read-only, like a demoted master.
        let _: () = redis::cmd("REPLICAOF")
            .arg("127.0.0.1")
            .arg(1)
            .query_async(&mut admin)
            .await
            .unwrap();
        let write = redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query_async::<()>(&mut conn)
            .await;
        assert!(
            write
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly)),
            "{write:?}"
        );
        let _: () = redis::cmd("REPLICAOF")
            .arg("NO")
            .arg("ONE")
            .query_async(&mut admin)
            .await
            .unwrap();
        let mut reconnected = None;
        for _ in 0..50 {
            if let Ok(now) = id(&mut conn).await {
                reconnected = Some(now);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.kill().ok();
        server.wait().ok();
        assert_ne!(reconnected, Some(first), "the old connection was kept");
        assert!(reconnected.is_some(), "never reconnected");
    }

    #[test]
    fn hash_tags_follow_redis_cluster_rules() {
        assert_eq!(hash_tag("tp:{wx1}:rl:a"), "wx1");
        assert_eq!(hash_tag(&tagged("tp", "wx1", "rl:b")), "wx1");
        // An empty tag, or none: the whole key.
        assert_eq!(hash_tag("tp:{}:x"), "tp:{}:x");
        assert_eq!(hash_tag("tp:x"), "tp:x");
        // Only the first section counts.
        assert_eq!(hash_tag("a{b}{c}"), "b");
        assert_eq!(hash_tag("a{b"), "a{b");
    }
}
