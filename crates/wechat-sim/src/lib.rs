//! A faithful, in-memory WeChat for end-to-end tests and `tpgate sandbox`: it
//! plays `api.weixin.qq.com` (component and authorizer tokens, the shipping
//! APIs) and the `mp.weixin.qq.com` authorization page, and pushes encrypted
//! component events to a gateway exactly as WeChat does.
//!
//! What it enforces, like WeChat (protocol.md §1–§9, seed 004 §I and §III):
//! - tickets must be ones it pushed, at most 12 h old (61006/61005);
//! - tokens really expire, on a clock tests can advance (41001/40001/42001);
//! - pre_auth_codes are single-use, auth codes live 600 s (40029/61010);
//! - refresh tokens are stable until re-authorization (61023) or revocation (61003);
//! - the shipping APIs need permission set 142 or 18 (48001), apply the seed
//!   rules with their errcodes (shared with the proxy through `wechat-api`),
//!   and keep order state, including the single re-shipment (10060003).
//!
//! Errors are HTTP 200 with `{"errcode":N,"errmsg":"… rid: …"}`. Every call
//! is counted per path ([`Simulator::call_counts`]), and a fault can be
//! injected on any path ([`Simulator::inject_fault`]).
//!
//! # Layout
//! - `config`: [`SimConfig`], the simulated platform's identity.
//! - `state`: the plain domain (clock, tickets, tokens, codes,
//!   authorizations, orders) without HTTP; unit-tested in `state/tests.rs`.
//! - `routes`: thin poem handlers: `component`, `authorize` (the pages),
//!   `shipping`, and `control` (the `/sim/...` surface mirroring the methods
//!   below).
//! - `push`: encrypting, signing and POSTing component events to the gateway.
//! - `main.rs`: the `wechat-sim` binary.
#![forbid(unsafe_code)]

mod config;
mod push;
mod routes;
mod state;

use std::{
    collections::BTreeMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

pub use config::SimConfig;
pub use push::{PushOutcome, SimError};
pub use state::{NewOrder, SimOrder};
pub use wechat_api::shipping::ShippingOrder;

use state::State;

/// The simulator. Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct Simulator {
    /// A std `Mutex`: every operation on the state is short and synchronous,
    /// and the lock is never held across an await.
    state: Arc<Mutex<State>>,
    /// For pushes to the gateway.
    http: reqwest::Client,
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            state: Arc::new(Mutex::new(State::new(config))),
            http,
        }
    }

    /// The state. A panic while it was held (a bug) cannot leave it
    /// half-updated in a way later calls could not cope with, so a poisoned
    /// lock is simply taken over.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    /// Where pushes go from now on.
    pub fn set_gateway_events_url(&self, url: &str) {
        self.lock().config.gateway_events_url = Some(url.to_owned());
    }

    /// Everything: WeChat's endpoints, the authorization pages and the `/sim`
    /// control surface.
    pub fn endpoint(&self) -> poem::Route {
        routes::route(self.clone())
    }

    /// A paid order, pending shipment. Every [`NewOrder`] field is defaulted.
    pub fn create_paid_order(&self, req: NewOrder) -> SimOrder {
        self.lock().create_order(req)
    }

    /// The order as `get_order` shows it (whichever appid owns it).
    pub fn order(&self, transaction_id: &str) -> Option<ShippingOrder> {
        self.lock().order(transaction_id)
    }

    /// Moves WeChat's clock forward by `secs` (tokens, codes and tickets
    /// expire accordingly). Negative values move it back.
    pub fn advance_clock(&self, secs: i64) {
        self.lock().advance(secs);
    }

    /// WeChat's time: unix seconds, real time plus the advanced offset.
    pub fn now(&self) -> i64 {
        self.lock().now()
    }

    /// Calls so far to `path` (e.g. `/wxa/sec/order/get_order`), failures included.
    pub fn call_count(&self, path: &str) -> u64 {
        self.lock().call_count(path)
    }

    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.lock().call_counts()
    }

    /// Error answers so far on `path` with `errcode` (e.g. 61023 on
    /// `/cgi-bin/component/api_authorizer_token`).
    pub fn error_count(&self, path: &str, errcode: i64) -> u64 {
        self.lock().error_count(path, errcode)
    }

    /// `api_authorizer_token` calls so far for one authorizer (failures
    /// included): what "exactly one refresh per lifetime" is measured by.
    pub fn authorizer_token_calls(&self, appid: &str) -> u64 {
        self.lock().authorizer_token_calls(appid)
    }

    /// Whether WeChat would accept `token` as `appid`'s access token now
    /// (an earlier token dies 5 minutes after a newer one is issued).
    pub fn authorizer_token_valid(&self, appid: &str, token: &str) -> bool {
        self.lock().authorizer_token_valid(appid, token)
    }

    /// Authorizes `appid` with `func_ids` as the page would, without a page
    /// visit, and returns the auth code (exchangeable with api_query_auth).
    pub fn authorize(&self, appid: &str, func_ids: Vec<i64>) -> String {
        self.lock().grant(appid, func_ids).code
    }

    /// Authorizes `appid` and returns its refresh token directly, skipping
    /// the code exchange: for seeding many authorizers at once (benchmarks).
    pub fn authorize_with_refresh_token(&self, appid: &str, func_ids: Vec<i64>) -> String {
        self.lock().record_authorization(appid, func_ids)
    }

    /// Replaces `appid`'s refresh token behind the platform's back: the one
    /// the platform holds now gets 61023. `listed`: whether
    /// api_get_authorizer_list reveals the new one (recovery possible).
    pub fn rotate_refresh_token(&self, appid: &str, listed: bool) -> bool {
        self.lock().rotate_refresh_token(appid, listed)
    }

    /// What the next authorization-page visit grants: this account with these
    /// permission sets (used once).
    pub fn set_next_authorization(&self, appid: &str, func_ids: Vec<i64>) {
        self.lock().set_next_authorization(appid, func_ids);
    }

    /// The next `times` calls to `path` answer `errcode` (after being
    /// counted, before anything else). `times` 0 clears a pending fault.
    pub fn inject_fault(&self, path: &str, errcode: i64, times: u32) {
        self.lock().inject_fault(path, errcode, times);
    }
}

/// Serves the simulator on an already bound listener until `shutdown`
/// resolves, then lets in-flight requests finish for up to 5 s.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sim: Simulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = poem::listener::TcpAcceptor::from_tokio(listener)?;
    poem::Server::new_with_acceptor(acceptor)
        .run_with_graceful_shutdown(sim.endpoint(), shutdown, Some(Duration::from_secs(5)))
        .await
}
