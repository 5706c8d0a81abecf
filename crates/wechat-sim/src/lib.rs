//! A faithful, in-memory WeChat for tests and the sandbox: it plays
//! `api.weixin.qq.com` (component and authorizer tokens, the shipping APIs)
//! and the `mp.weixin.qq.com` authorization page, and pushes encrypted
//! component events to a gateway exactly as WeChat does.
//!
//! What it enforces, like WeChat: tokens that really expire (on a clock tests
//! can advance) and are rejected with 42001/40001; tickets that must be the
//! ones it pushed; single-use pre_auth_codes; permission sets (48001); the
//! seed validation rules with their errcodes (shared with the proxy through
//! `wechat-api`); and order state, including the single re-shipment (10060003).
//!
//! # Layout
//! - `config`: [`SimConfig`].
//! - `state`: the plain domain (tokens, codes, orders, clock), unit-tested.
//! - `routes`: thin poem handlers for WeChat's endpoints and the `/sim` control surface.
//! - `push`: building and sending encrypted pushes.
#![forbid(unsafe_code)]

mod config;
mod push;
mod routes;
mod state;

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
};

pub use config::SimConfig;
pub use push::{PushOutcome, SimError};
pub use state::{NewOrder, SimOrder};

use state::State;

/// The simulator. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<Mutex<State>>,
    http: reqwest::Client,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(config))),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .expect("reqwest client builds"),
        }
    }

    // The lock is never held across an await, so a std Mutex is right here.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    pub fn set_gateway_events_url(&self, url: &str) {
        self.lock().config.gateway_events_url = Some(url.to_owned());
    }

    /// Everything: WeChat's endpoints and the `/sim` control surface.
    pub fn endpoint(&self) -> poem::Route {
        routes::route(self.clone())
    }

    pub fn create_paid_order(&self, order: NewOrder) -> SimOrder {
        self.lock().create_order(order)
    }

    pub fn advance_clock(&self, secs: i64) {
        self.lock().clock_offset += secs;
    }

    pub fn now(&self) -> i64 {
        self.lock().now()
    }

    pub fn call_count(&self, path: &str) -> u64 {
        self.lock().calls.get(path).copied().unwrap_or(0)
    }

    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.lock().calls.clone()
    }

    /// What the next authorization page visit grants.
    pub fn set_next_authorization(&self, appid: &str, func_ids: Vec<i64>) {
        self.lock().next_authorization = Some((appid.to_owned(), func_ids));
    }

    /// The next `times` calls to `path` answer `errcode`.
    pub fn inject_fault(&self, path: &str, errcode: i64, times: u32) {
        self.lock().faults.insert(path.to_owned(), (errcode, times));
    }

    /// The order as `get_order` would show it.
    pub fn order(&self, transaction_id: &str) -> Option<serde_json::Value> {
        self.lock().order_json(transaction_id)
    }
}

/// Serves the simulator on an already bound listener until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sim: Simulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use poem::listener::TcpAcceptor;
    poem::Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?)
        .run_with_graceful_shutdown(
            sim.endpoint(),
            shutdown,
            Some(std::time::Duration::from_secs(5)),
        )
        .await
}
