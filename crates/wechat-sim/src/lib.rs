//! A faithful, in-memory WeChat for end-to-end tests and `tpgate sandbox`: it
//! plays `api.weixin.qq.com` (component and authorizer tokens, the shipping
//! APIs) and the `mp.weixin.qq.com` authorization page, and pushes encrypted
//! component events and Mini Program events (the trade-management events of
//! seed 004, with WeChat's retries) to a gateway exactly as WeChat does.
//!
//! What it enforces, like WeChat (protocol.md §1–§9, seed 004 §I and §III):
//! - tickets must be ones it pushed, at most 12 h old (61006/61005);
//! - tokens really expire, on a clock tests can advance (41001/40001/42001);
//! - pre_auth_codes are single-use, auth codes live 600 s (40029/61010);
//! - refresh tokens are stable until re-authorization (61023) or revocation (61003);
//! - a permission set the account did not grant is 61007; a capability the
//!   Mini Program did not open (the shipping service, the logistics-query
//!   plugin) is 48001;
//! - the shipping APIs need permission set 142 or 18, apply the seed
//!   rules with their errcodes (shared with the proxy through `wechat-api`),
//!   and keep order state across calls: the single re-shipment (10060003),
//!   combined orders, `last_index` paging, the single receipt reminder
//!   (10060028–10060032), special shipment reports (268546000–268546002);
//! - the logistics-query plugin needs permission set 45 and the plugin
//!   opened (`/wxa/plugin`, or [`Simulator::set_logistics_plugin`]); it
//!   issues waybill tokens whose parcels travel on the sim clock, limits
//!   goods changes (9300560), and counts the plugin's daily quotas per appid
//!   and per user, all three APIs together (9300513);
//! - the logistics helper (set 45 or 71) creates waybills (`order/add`) and
//!   reads, tracks and cancels only those (40199 otherwise);
//! - `get_delivery_list` (set 45, 120, 121 or 142) answers a courier list
//!   tests can replace ([`Simulator::set_couriers`]);
//! - orders live on the sim clock: an order's first complete shipment
//!   pushes `trade_manage_order_settlement` with the estimate; advancing
//!   the clock pushes `trade_manage_remind_shipping` for orders unshipped
//!   48 h after payment and confirms receipt automatically 10 days after
//!   shipping (with its settlement push); the buyer's confirmation is
//!   [`Simulator::confirm_receipt`]. Each push goes out once per order.
//!
//! Errors are HTTP 200 with `{"errcode":N,"errmsg":"… rid: …"}`. Every call
//! is counted per path ([`Simulator::call_counts`]), and a fault
//! ([`Simulator::inject_fault`]) or a slow answer
//! ([`Simulator::inject_delay`]) can be injected on any path.
//!
//! # Layout
//! - `config`: [`SimConfig`], the simulated platform's identity and limits.
//! - `state`: the plain domain without HTTP: clock, tickets, tokens, codes
//!   and authorizations in `state.rs`; orders and their timers in
//!   `state/shipping.rs`; the query plugin and its quotas in
//!   `state/logistics.rs`; the helper's waybills in `state/helper.rs`; the
//!   courier list in `state/couriers.rs`. Unit-tested in `state/tests.rs` and
//!   `state/tests/` (orders, waybills, helper).
//! - `routes`: thin poem handlers, one module per API family: `component`,
//!   `authorize` (the pages: the authorization domain's `Referer` check and
//!   the `authorized` push with the redirect), `shipping`, `logistics`, and
//!   `control` (the `/sim/...` surface mirroring the methods below); tested
//!   over HTTP in `routes/tests.rs` and `routes/tests/`.
//! - `push`: encrypting, signing and POSTing component events to the gateway.
//! - `app_push`: Mini Program events ([`AppEvent`], the trade-management
//!   pushes of seed 004) to the gateway's `$APPID$` URL, with WeChat's retries.
//! - `main.rs`: the `wechat-sim` binary.
#![forbid(unsafe_code)]

mod app_push;
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

pub use app_push::{
    APP_PUSH_TRIES, AppEvent, AppPushMessage, AppPushOutcome, CONFIRM_RECEIVE_AUTO,
    CONFIRM_RECEIVE_MANUAL, ESTIMATED_SETTLEMENT_DELAY_SECS, PushAttempt, REMIND_ACCESS_API_MSG,
    REMIND_SHIPPING_MSG, system_openid,
};
pub use config::{AUTO_CONFIRM_AFTER, AuthorizedPush, REMIND_SHIPPING_AFTER, SimConfig};
pub use push::{PushOutcome, SimError};
pub use state::{
    AppSettings, ConfirmReceiptError, DELIVERIES, DELIVERY_LIST_FUNC_IDS, EXPRESS_COURIERS,
    JOURNEY, NewCombinedOrder, NewOrder, OrderExtras, OrderPushes, QuotaUsage, ReceiptConfirmation,
    SimCombinedOrder, SimHelperWaybill, SimOrder, SimWaybill, SpecialOrder, default_couriers,
    original_id,
};
pub use wechat_api::{couriers::Courier, shipping::ShippingOrder};

use state::State;

/// The simulator. Cheap to clone; clones share one state.
#[derive(Clone)]
pub struct Simulator {
    /// A std `Mutex`: every operation on the state is short and synchronous,
    /// and the lock is never held across an await.
    state: Arc<Mutex<State>>,
    /// For pushes to the gateway.
    http: reqwest::Client,
    /// Held while queued app events are delivered, so deliveries never
    /// overlap and the gateway gets them in the order they arose.
    app_push_order: Arc<tokio::sync::Mutex<()>>,
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
            app_push_order: Arc::new(tokio::sync::Mutex::new(())),
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
    /// expire accordingly). Negative values move it back. The order timers
    /// that fall due (shipping reminders, automatic receipt) push their
    /// events in the background; [`Simulator::advance_clock_and_push`]
    /// waits for them.
    pub fn advance_clock(&self, secs: i64) {
        self.lock().advance(secs);
        self.push_queued_app_events_later();
    }

    /// [`Simulator::advance_clock`], then sends the pushes that fell due
    /// (and any still queued) and returns what each delivery got.
    pub async fn advance_clock_and_push(&self, secs: i64) -> Vec<AppPushOutcome> {
        self.with_queued_app_events_pushed(|s| s.advance(secs))
            .await
            .1
    }

    /// The buyer confirms receipt of a shipped order: state 3, and
    /// `trade_manage_order_settlement` with `confirm_receive_method` 1 is
    /// pushed in the background. Returns the order as `get_order` shows it.
    pub fn confirm_receipt(
        &self,
        transaction_id: &str,
    ) -> Result<ShippingOrder, ConfirmReceiptError> {
        let confirmed = self.lock().confirm_receipt(transaction_id);
        self.push_queued_app_events_later();
        confirmed
    }

    /// [`Simulator::confirm_receipt`], waiting for the push: the order and
    /// what each delivery got.
    pub async fn confirm_receipt_and_push(
        &self,
        transaction_id: &str,
    ) -> Result<(ShippingOrder, Vec<AppPushOutcome>), ConfirmReceiptError> {
        let (confirmed, pushes) = self
            .with_queued_app_events_pushed(|s| s.confirm_receipt(transaction_id))
            .await;
        Ok((confirmed?, pushes))
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
    /// api_get_authorizer_list reveals the new one; `in_info`: whether
    /// api_get_authorizer_info does (recovery possible from either).
    pub fn rotate_refresh_token(&self, appid: &str, listed: bool, in_info: bool) -> bool {
        self.lock().rotate_refresh_token(appid, listed, in_info)
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

    /// The next `times` calls to `path` answer only after `delay`: each call
    /// takes effect at once, then its answer waits (without holding up other
    /// calls), as when WeChat is slow: for client timeouts. `times` 0 clears.
    pub fn inject_delay(&self, path: &str, delay: Duration, times: u32) {
        self.lock().inject_delay(path, delay, times);
    }

    /// Changes the configuration in place, e.g. the logistics quotas.
    pub fn configure(&self, f: impl FnOnce(&mut SimConfig)) {
        f(&mut self.lock().config);
    }

    // === shipping ===

    /// A paid combined payment (合单) with its sub-orders, all pending
    /// shipment. Every [`NewCombinedOrder`] field is defaulted.
    pub fn create_combined_order(&self, req: NewCombinedOrder) -> SimCombinedOrder {
        self.lock().create_combined_order(req)
    }

    /// What the order carries besides what `get_order` shows: the receipt
    /// reminder, the special shipment report, the combined payment, whether
    /// the re-shipment was used.
    pub fn order_extras(&self, transaction_id: &str) -> Option<OrderExtras> {
        self.lock().order_extras(transaction_id)
    }

    /// Puts the order in `order_state` (1–6; e.g. 5 refunded), as the user or
    /// WeChat Pay would. False if there is no such order.
    /// An upload made at WeChat behind tpgate's back (another system of the
    /// merchant's), with the same rules as the API: Err is WeChat's errcode.
    pub fn upload_shipping_directly(
        &self,
        appid: &str,
        body: &serde_json::Value,
    ) -> Result<(), i64> {
        let req: wechat_api::shipping::UploadShippingInfoRequest =
            serde_json::from_value(body.clone())
                .map_err(|_| wechat_api::errcode::DATA_FORMAT_ERROR)?;
        let uploaded = self
            .lock()
            .upload_shipping_info(appid, &req)
            .map_err(|e| e.errcode);
        self.push_queued_app_events_later();
        uploaded
    }

    pub fn set_order_state(&self, transaction_id: &str, order_state: i32) -> bool {
        self.lock().set_order_state(transaction_id, order_state)
    }

    /// `appid`'s shipping settings: the message jump path and the two
    /// trade-management flags.
    pub fn app_settings(&self, appid: &str) -> AppSettings {
        self.lock().app_settings(appid)
    }

    /// What `is_trade_managed` answers for `appid` (default `true`).
    pub fn set_trade_managed(&self, appid: &str, managed: bool) {
        self.lock().set_trade_management(appid, Some(managed), None);
    }

    /// What `is_trade_management_confirmation_completed` answers for `appid`
    /// (default `true`).
    pub fn set_trade_management_confirmation_completed(&self, appid: &str, completed: bool) {
        self.lock()
            .set_trade_management(appid, None, Some(completed));
    }

    // === logistics ===

    /// What `get_delivery_list` answers now.
    pub fn couriers(&self) -> Vec<Courier> {
        self.lock().couriers()
    }

    /// Replaces what `get_delivery_list` answers ([`default_couriers`] is
    /// the initial list).
    pub fn set_couriers(&self, couriers: Vec<Courier>) {
        self.lock().set_couriers(couriers);
    }

    /// The waybill behind `waybill_token`, whichever appid traced it.
    pub fn waybill(&self, waybill_token: &str) -> Option<SimWaybill> {
        self.lock().waybill(waybill_token)
    }

    /// The newest token `trace_waybill` issued to `appid` for `waybill_id`.
    pub fn waybill_token(&self, appid: &str, waybill_id: &str) -> Option<String> {
        self.lock().waybill_token(appid, waybill_id)
    }

    /// Opens (`true`) or closes the logistics-query plugin for `appid`, as
    /// an approved `/wxa/plugin` apply (or unbind) does. Until it is open,
    /// the plugin's APIs answer 48001.
    pub fn set_logistics_plugin(&self, appid: &str, open: bool) {
        self.lock().set_logistics_plugin(appid, open);
    }

    /// Whether `appid` opened the logistics-query plugin.
    pub fn logistics_plugin_open(&self, appid: &str) -> bool {
        self.lock().logistics_plugin_open(appid)
    }

    /// The logistics helper's waybill `appid` created with `order/add` for
    /// `order_id` and `delivery_id`.
    pub fn helper_waybill(
        &self,
        appid: &str,
        order_id: &str,
        delivery_id: &str,
    ) -> Option<SimHelperWaybill> {
        self.lock()
            .helper_waybill_view(appid, order_id, delivery_id)
    }

    /// Forces a waybill's status (0–6, seed 000) from now on; `None` lets it
    /// follow the clock again ([`JOURNEY`]). False for an unknown token or a
    /// status out of range.
    pub fn set_waybill_status(&self, waybill_token: &str, status: Option<i64>) -> bool {
        self.lock().set_waybill_status(waybill_token, status)
    }

    /// Calls counted today (Asia/Shanghai) against the logistics plugin's
    /// daily quotas (all three APIs together) when `path` is one of its
    /// APIs, by `appid` and by `openid`.
    pub fn quota_usage(&self, path: &str, appid: &str, openid: Option<&str>) -> QuotaUsage {
        self.lock().quota_usage(path, appid, openid)
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
