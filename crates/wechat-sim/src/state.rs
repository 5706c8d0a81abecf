//! The simulator's domain: tokens, codes, authorizations, orders, waybills
//! and the clock, as plain data and rules. No HTTP and no I/O, so every rule
//! is unit-tested directly (`state/tests.rs` and `state/tests/*.rs`);
//! `routes` only parses requests and renders answers.
//!
//! # Layout
//! - this file: [`State`] itself, the clock, call counts, faults and delays,
//!   tickets, component and authorizer tokens, authorizations, and
//!   [`State::authorizer_caller`] (token and permission set of every
//!   authorizer API);
//! - `shipping`: payment orders and the `/wxa/sec/order/*` rules (seed 004);
//! - `logistics`: the logistics-query plugin (seeds 000 and 002): which Mini
//!   Programs opened it (`/wxa/plugin`), traced waybills and the plugin's
//!   daily quotas;
//! - `helper`: the logistics helper's waybills (物流助手: `order/add`,
//!   `order/cancel`, `order/get`, `order/batchget`, `path/get`, the account
//!   and courier lists; seeds 001 and 003 and WeChat's current pages);
//! - `couriers`: the logistics-query courier list (`get_delivery_list`).
//!
//! Mini Program events the rules give rise to (an order's shipping and
//! settlement pushes, the reminder of an unshipped order) are queued here
//! ([`State::take_app_events`]); [`crate::Simulator`] sends them, so this
//! module stays free of I/O.
//!
//! Time is WeChat's time: the real clock plus an offset tests can advance
//! ([`State::advance`]). Every lifetime below is checked against it, so an
//! advanced clock makes tokens, codes and tickets expire exactly as they would
//! on WeChat, while the gateway's own clock is unaffected. Advancing it also
//! runs the order timers (`shipping`: reminders and automatic receipt).
use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

use rand::RngCore as _;
use serde_json::json;
use wechat_api::{
    ValidationError,
    component::{
        AUTHORIZER_LIST_MAX_COUNT, AuthorizationInfo, AuthorizerAccountInfo, AuthorizerInfoRequest,
        AuthorizerInfoResponse, AuthorizerListItem, AuthorizerListRequest, AuthorizerListResponse,
        AuthorizerTokenRequest, AuthorizerTokenResponse, ComponentTokenRequest,
        ComponentTokenResponse, ConfirmInfo, FuncInfo, FuncscopeCategory, PreAuthCodeRequest,
        PreAuthCodeResponse, QueryAuthRequest, QueryAuthResponse,
    },
    errcode as ec,
};

use crate::{AppEvent, SimConfig};

/// A `component_verify_ticket` is accepted this long after it was pushed (12 h).
pub const TICKET_TTL_SECS: i64 = 12 * 3600;
/// Lifetime of a pre_auth_code (the doc example's `expires_in`).
pub const PRE_AUTH_CODE_TTL_SECS: i64 = 600;
/// Lifetime of an authorization code (`auth_code` / `AuthorizationCode`).
pub const AUTH_CODE_TTL_SECS: i64 = 600;
/// Expired tokens, codes and tickets are kept this long after expiry, so they
/// are answered as *expired* (42001, 61010, 61005) rather than *unknown*, and
/// then forgotten so a long-running simulator does not grow without bound.
const RETENTION_SECS: i64 = 24 * 3600;
/// After a new access token or refresh token is issued, the previous one keeps
/// working this long (WeChat staff: "about 5 minutes"; protocol.md §4 for
/// the component token, §7 for authorizer tokens).
pub const OLD_TOKEN_GRACE_SECS: i64 = 300;

/// A Mini Program event the rules gave rise to, waiting to be pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedAppEvent {
    /// The Mini Program it is about (`$APPID$`).
    pub appid: String,
    pub event: AppEvent,
}

/// A WeChat error answer. `routes` appends ` rid: …` to `errmsg` when answering.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("errcode {errcode}: {errmsg}")]
pub struct WxError {
    pub errcode: i64,
    pub errmsg: String,
}

impl WxError {
    pub fn new(errcode: i64, errmsg: impl Into<String>) -> Self {
        Self {
            errcode,
            errmsg: errmsg.into(),
        }
    }

    /// 47001, for a body that is not the JSON the endpoint expects.
    pub fn data_format(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ec::DATA_FORMAT_ERROR,
            format!("data format error: {detail}"),
        )
    }
}

impl From<ValidationError> for WxError {
    fn from(e: ValidationError) -> Self {
        Self::new(e.errcode, e.message)
    }
}

pub type WxResult<T> = Result<T, WxError>;

/// Why the authorization page refuses a visit (shown as an HTML 400 page).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("component_appid is not this third-party platform's appid")]
    InvalidComponent,
    #[error("pre_auth_code is not one this platform created")]
    UnknownPreAuthCode,
    #[error("pre_auth_code has expired; create a new authorization link")]
    ExpiredPreAuthCode,
    #[error("pre_auth_code has already been used; create a new authorization link")]
    UsedPreAuthCode,
}

/// The last 12 characters of `appid` (appids are ASCII, but input is input).
fn appid_suffix(appid: &str) -> String {
    let chars: Vec<char> = appid.chars().collect();
    chars[chars.len().saturating_sub(12)..].iter().collect()
}

/// The Mini Program's original id (原始 ID, `gh_…`) as the simulator reports
/// it: `user_name` in api_get_authorizer_info and `ToUserName` in its pushes,
/// which must agree as they do on WeChat.
pub fn original_id(appid: &str) -> String {
    format!("gh_{}", appid_suffix(appid))
}

/// `bytes` random bytes as lowercase hex (`2 × bytes` characters).
pub fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    hex::encode(raw)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedAuthCode {
    pub code: String,
    /// Unix seconds (sim clock).
    pub expires_at: i64,
}

/// What an approved authorization page granted, for its redirect and push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageApproval {
    pub issued: IssuedAuthCode,
    pub appid: String,
    /// `authorized`, or `updateauthorized` when the account had already
    /// authorized the platform.
    pub info_type: &'static str,
}

#[derive(Debug, Clone)]
struct PreAuthCode {
    expires_at: i64,
    /// Single use: the page consumes it.
    used: bool,
}

#[derive(Debug, Clone)]
struct AuthCode {
    appid: String,
    func_ids: Vec<i64>,
    expires_at: i64,
}

/// One Mini Program's authorization of this platform.
#[derive(Debug, Clone)]
struct Authorization {
    /// Stable for the authorization's life (unless `rotate_refresh_tokens`);
    /// a re-authorization replaces it, which invalidates the old one (61023).
    refresh_token: String,
    /// The refresh token before a rotation and until when it still works.
    previous_refresh_token: Option<(String, i64)>,
    /// Whether api_get_authorizer_list shows `refresh_token` (some accounts
    /// come back without it).
    listed_with_refresh_token: bool,
    /// Whether api_get_authorizer_info shows `authorizer_refresh_token` in
    /// its `authorization_info` (community reports show it empty for some
    /// accounts).
    info_with_refresh_token: bool,
    func_ids: Vec<i64>,
    /// Set by `unauthorized`; api_authorizer_token then answers 61003.
    revoked: bool,
    /// Unix seconds of the (last) authorization.
    auth_time: i64,
}

#[derive(Debug, Clone)]
struct AuthorizerToken {
    appid: String,
    expires_at: i64,
}

#[derive(Debug, Clone, Copy)]
struct Delay {
    duration: Duration,
    remaining: u32,
}

#[derive(Debug, Clone, Copy)]
struct Fault {
    errcode: i64,
    remaining: u32,
}

/// Everything the simulator knows. Behind one `Mutex` in [`crate::Simulator`]:
/// every operation is short and synchronous, and none is held across an await.
pub struct State {
    pub config: SimConfig,
    /// The plaintext of the last push (and its ticket), for repeating it.
    pub last_push: Option<(String, Option<String>)>,
    /// Seconds added to the real clock (`advance_clock`).
    clock_offset: i64,
    /// Calls per request path, failures and injected faults included.
    calls: BTreeMap<String, u64>,
    /// Error answers per (path, errcode), injected faults included.
    errors: BTreeMap<(String, i64), u64>,
    /// api_authorizer_token calls per authorizer appid, failures included.
    authorizer_token_calls: HashMap<String, u64>,
    /// Pending injected faults per path.
    faults: HashMap<String, Fault>,
    /// What the next authorization-page visit grants (consumed by it).
    next_authorization: Option<(String, Vec<i64>)>,
    /// Tickets pushed → push time. Any of them is accepted for 12 h: WeChat
    /// does not invalidate a ticket when it pushes the next one.
    tickets: HashMap<String, i64>,
    /// component_access_token → expiry. When a new one is issued, the
    /// previous one keeps working only [`OLD_TOKEN_GRACE_SECS`] more, as on
    /// WeChat (protocol.md §4).
    component_tokens: HashMap<String, i64>,
    /// The newest component_access_token: the one to cap when the next is
    /// issued (older ones were capped already).
    latest_component_token: Option<String>,
    pre_auth_codes: HashMap<String, PreAuthCode>,
    /// Auth codes → what they grant. Exchangeable any number of times within
    /// their life (the page's redirect and the `authorized` push carry the same code).
    auth_codes: HashMap<String, AuthCode>,
    /// Authorizer appid → its authorization.
    authorizations: HashMap<String, Authorization>,
    /// authorizer_access_token → owner and expiry.
    authorizer_tokens: HashMap<String, AuthorizerToken>,
    /// Each account's newest access token: the one to cap when a newer one
    /// is issued (older ones were capped when they were superseded). Keeps
    /// issuing O(1) with 100 000 accounts.
    latest_authorizer_token: HashMap<String, String>,
    /// When expired tokens were last forgotten (sim clock); forgetting is a
    /// full scan, so it runs at most once a minute.
    last_token_gc: i64,
    /// Pending injected delays per path.
    delays: HashMap<String, Delay>,
    /// Orders, combined orders and per-Mini-Program shipping settings.
    shipping: shipping::Shipping,
    /// Traced waybills, the logistics-plugin quotas and who opened the plugin.
    logistics: logistics::Logistics,
    /// The logistics helper's waybills (order/add).
    helper: helper::Helper,
    /// What `get_delivery_list` answers.
    couriers: Vec<wechat_api::couriers::Courier>,
    /// Mini Program events waiting to be pushed, oldest first.
    app_events: Vec<QueuedAppEvent>,
}

impl State {
    pub fn new(config: SimConfig) -> Self {
        Self {
            config,
            last_push: None,
            clock_offset: 0,
            calls: BTreeMap::new(),
            errors: BTreeMap::new(),
            authorizer_token_calls: HashMap::new(),
            faults: HashMap::new(),
            next_authorization: None,
            tickets: HashMap::new(),
            component_tokens: HashMap::new(),
            latest_component_token: None,
            pre_auth_codes: HashMap::new(),
            auth_codes: HashMap::new(),
            authorizations: HashMap::new(),
            authorizer_tokens: HashMap::new(),
            latest_authorizer_token: HashMap::new(),
            last_token_gc: 0,
            delays: HashMap::new(),
            shipping: shipping::Shipping::default(),
            logistics: logistics::Logistics::default(),
            helper: helper::Helper::default(),
            couriers: couriers::default_couriers(),
            app_events: Vec::new(),
        }
    }

    // === clock, call counts, faults ===

    /// WeChat's time: unix seconds, real time plus the offset.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.clock_offset
    }

    /// Moves the clock, then runs the order timers that fell due
    /// ([`State::run_order_timers`]).
    pub fn advance(&mut self, secs: i64) {
        self.clock_offset += secs;
        self.run_order_timers();
    }

    /// Queues a Mini Program event to push.
    fn queue_app_event(&mut self, appid: &str, event: AppEvent) {
        self.app_events.push(QueuedAppEvent {
            appid: appid.to_owned(),
            event,
        });
    }

    pub fn has_app_events(&self) -> bool {
        !self.app_events.is_empty()
    }

    /// The queued Mini Program events, oldest first, leaving none queued.
    pub fn take_app_events(&mut self) -> Vec<QueuedAppEvent> {
        std::mem::take(&mut self.app_events)
    }

    pub fn call_count(&self, path: &str) -> u64 {
        self.calls.get(path).copied().unwrap_or(0)
    }

    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.calls.clone()
    }

    pub fn count_error(&mut self, path: &str, errcode: i64) {
        *self.errors.entry((path.to_owned(), errcode)).or_default() += 1;
    }

    /// Error answers so far on `path` with `errcode`.
    pub fn error_count(&self, path: &str, errcode: i64) -> u64 {
        self.errors
            .get(&(path.to_owned(), errcode))
            .copied()
            .unwrap_or(0)
    }

    /// api_authorizer_token calls so far for `appid` (failures included).
    pub fn authorizer_token_calls(&self, appid: &str) -> u64 {
        self.authorizer_token_calls.get(appid).copied().unwrap_or(0)
    }

    /// The next `times` calls to `path` answer `errcode` (0 clears).
    pub fn inject_fault(&mut self, path: &str, errcode: i64, times: u32) {
        if times == 0 {
            self.faults.remove(path);
        } else {
            self.faults.insert(
                path.to_owned(),
                Fault {
                    errcode,
                    remaining: times,
                },
            );
        }
    }

    /// The next `times` calls to `path` hold their answer back for
    /// `duration` (0 clears).
    pub fn inject_delay(&mut self, path: &str, duration: Duration, times: u32) {
        if times == 0 {
            self.delays.remove(path);
        } else {
            self.delays.insert(
                path.to_owned(),
                Delay {
                    duration,
                    remaining: times,
                },
            );
        }
    }

    /// How long this call to `path` must wait before answering, using up one
    /// of the pending delayed calls. The caller sleeps after releasing the
    /// lock, so other calls are not held up.
    pub fn take_delay(&mut self, path: &str) -> Option<Duration> {
        let delay = self.delays.get_mut(path)?;
        delay.remaining = delay.remaining.saturating_sub(1);
        let duration = delay.duration;
        if delay.remaining == 0 {
            self.delays.remove(path);
        }
        Some(duration)
    }

    pub fn set_next_authorization(&mut self, appid: &str, func_ids: Vec<i64>) {
        self.next_authorization = Some((appid.to_owned(), func_ids));
    }

    /// Every call starts here: counts it, then answers a pending injected
    /// fault before any other processing.
    pub fn enter(&mut self, path: &str) -> WxResult<()> {
        *self.calls.entry(path.to_owned()).or_default() += 1;
        if let Some(fault) = self.faults.get_mut(path) {
            fault.remaining = fault.remaining.saturating_sub(1);
            let errcode = fault.errcode;
            if fault.remaining == 0 {
                self.faults.remove(path);
            }
            return Err(WxError::new(errcode, "injected fault"));
        }
        Ok(())
    }

    // === ticket and component token ===

    /// A new `component_verify_ticket`, accepted from now for 12 h.
    pub fn issue_ticket(&mut self) -> String {
        let now = self.now();
        self.tickets
            .retain(|_, pushed_at| *pushed_at + TICKET_TTL_SECS + RETENTION_SECS > now);
        let ticket = format!("ticket@@@{}", random_hex(24));
        self.tickets.insert(ticket.clone(), now);
        ticket
    }

    fn check_component_appid(&self, appid: &str) -> WxResult<()> {
        if appid != self.config.component_appid {
            return Err(WxError::new(ec::INVALID_COMPONENT, "invalid component"));
        }
        Ok(())
    }

    /// `api_start_push_ticket`: the platform's appid and secret must match.
    pub fn start_push_ticket(&self, appid: &str, secret: &str) -> WxResult<()> {
        self.check_component_appid(appid)?;
        self.check_secret(secret)
    }

    fn check_secret(&self, secret: &str) -> WxResult<()> {
        if secret.is_empty() {
            return Err(WxError::new(ec::APPSECRET_MISSING, "missing appsecret"));
        }
        if secret != self.config.component_secret {
            return Err(WxError::new(ec::INVALID_APPSECRET, "invalid appsecret"));
        }
        Ok(())
    }

    /// `api_component_token`: appid (61011), secret (41004/40125), then the
    /// ticket: one the simulator pushed (61006), at most 12 h ago (61005).
    /// The previous token keeps working [`OLD_TOKEN_GRACE_SECS`] (5 min)
    /// after a new one is issued, no longer.
    pub fn component_token(
        &mut self,
        req: &ComponentTokenRequest,
    ) -> WxResult<ComponentTokenResponse> {
        self.check_component_appid(&req.component_appid)?;
        self.check_secret(&req.component_appsecret)?;
        let pushed_at = *self
            .tickets
            .get(&req.component_verify_ticket)
            .ok_or_else(|| WxError::new(ec::TICKET_INVALID, "invalid component ticket"))?;
        let now = self.now();
        if now - pushed_at > TICKET_TTL_SECS {
            return Err(WxError::new(
                ec::TICKET_EXPIRED,
                "component ticket is expired",
            ));
        }
        let ttl = self.config.token_ttl_secs;
        self.component_tokens
            .retain(|_, expires_at| *expires_at + RETENTION_SECS > now);
        let token = format!("componenttoken@@@{}", random_hex(24));
        if let Some(previous) = self.latest_component_token.replace(token.clone())
            && let Some(expires_at) = self.component_tokens.get_mut(&previous)
        {
            *expires_at = (*expires_at).min(now + OLD_TOKEN_GRACE_SECS);
        }
        self.component_tokens.insert(token.clone(), now + ttl);
        Ok(ComponentTokenResponse {
            component_access_token: token,
            expires_in: ttl,
        })
    }

    /// Token rules of every token-bearing call: missing 41001, unknown 40001,
    /// expired 42001.
    fn check_expiry(&self, expires_at: Option<i64>) -> WxResult<()> {
        match expires_at {
            None => Err(WxError::new(
                ec::INVALID_CREDENTIAL,
                "invalid credential, access_token is invalid or not latest",
            )),
            Some(at) if at <= self.now() => Err(WxError::new(
                ec::ACCESS_TOKEN_EXPIRED,
                "access_token expired",
            )),
            Some(_) => Ok(()),
        }
    }

    fn present(token: Option<&str>) -> WxResult<&str> {
        token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WxError::new(ec::ACCESS_TOKEN_MISSING, "access_token missing"))
    }

    pub fn check_component_token(&self, token: Option<&str>) -> WxResult<()> {
        let token = Self::present(token)?;
        self.check_expiry(self.component_tokens.get(token).copied())
    }

    // === authorization ===

    /// `api_create_preauthcode`.
    pub fn create_pre_auth_code(
        &mut self,
        token: Option<&str>,
        req: &PreAuthCodeRequest,
    ) -> WxResult<PreAuthCodeResponse> {
        self.check_component_token(token)?;
        self.check_component_appid(&req.component_appid)?;
        let now = self.now();
        self.pre_auth_codes
            .retain(|_, c| c.expires_at + RETENTION_SECS > now);
        let code = format!("preauthcode@@@{}", random_hex(24));
        self.pre_auth_codes.insert(
            code.clone(),
            PreAuthCode {
                expires_at: now + PRE_AUTH_CODE_TTL_SECS,
                used: false,
            },
        );
        Ok(PreAuthCodeResponse {
            pre_auth_code: code,
            expires_in: PRE_AUTH_CODE_TTL_SECS,
        })
    }

    /// The authorization page: the "merchant" approves at once. Consumes the
    /// pre_auth_code and grants `set_next_authorization`'s account and sets if
    /// given (consumed), else `biz_appid`, else the default account, with the
    /// default sets.
    pub fn authorize_page(
        &mut self,
        component_appid: &str,
        pre_auth_code: &str,
        biz_appid: Option<&str>,
    ) -> Result<PageApproval, PageError> {
        if component_appid != self.config.component_appid {
            return Err(PageError::InvalidComponent);
        }
        let now = self.now();
        let code = self
            .pre_auth_codes
            .get_mut(pre_auth_code)
            .ok_or(PageError::UnknownPreAuthCode)?;
        if code.expires_at <= now {
            return Err(PageError::ExpiredPreAuthCode);
        }
        if code.used {
            return Err(PageError::UsedPreAuthCode);
        }
        code.used = true;
        let (appid, func_ids) = match self.next_authorization.take() {
            Some(next) => next,
            None => (
                biz_appid
                    .filter(|a| !a.is_empty())
                    .unwrap_or(&self.config.default_authorizer_appid)
                    .to_owned(),
                self.config.default_func_ids.clone(),
            ),
        };
        let info_type = match self.authorizations.get(&appid) {
            Some(a) if !a.revoked => "updateauthorized",
            _ => "authorized",
        };
        let issued = self.grant(&appid, func_ids);
        Ok(PageApproval {
            issued,
            appid,
            info_type,
        })
    }

    /// What an `authorized`/`updateauthorized` push carries, issued as the
    /// page would: `set_next_authorization`'s sets if it names this appid
    /// (consumed); else, for `updateauthorized`, the sets already granted;
    /// else the default sets. A pre_auth_code given is marked used (the push
    /// follows a page visit), but an unknown or used one is not an error, so
    /// tests can push for visits the simulator never saw and repeat pushes.
    pub fn authorize_for_push(
        &mut self,
        info_type: &str,
        appid: &str,
        pre_auth_code: Option<&str>,
    ) -> IssuedAuthCode {
        if let Some(code) = pre_auth_code.and_then(|c| self.pre_auth_codes.get_mut(c)) {
            code.used = true;
        }
        let func_ids = match self.next_authorization.take() {
            Some((next_appid, func_ids)) if next_appid == appid => func_ids,
            other => {
                self.next_authorization = other;
                match self.authorizations.get(appid) {
                    Some(a) if info_type == "updateauthorized" && !a.revoked => a.func_ids.clone(),
                    _ => self.config.default_func_ids.clone(),
                }
            }
        };
        self.grant(appid, func_ids)
    }

    /// Records a (re-)authorization, with a new refresh token that replaces
    /// any earlier one; returns the refresh token.
    pub fn record_authorization(&mut self, appid: &str, func_ids: Vec<i64>) -> String {
        let refresh_token = format!("refreshtoken@@@{}", random_hex(24));
        let now = self.now();
        self.authorizations.insert(
            appid.to_owned(),
            Authorization {
                refresh_token: refresh_token.clone(),
                previous_refresh_token: None,
                listed_with_refresh_token: true,
                info_with_refresh_token: true,
                func_ids,
                revoked: false,
                auth_time: now,
            },
        );
        refresh_token
    }

    /// Records a (re-)authorization and issues its auth code.
    pub fn grant(&mut self, appid: &str, func_ids: Vec<i64>) -> IssuedAuthCode {
        let now = self.now();
        self.record_authorization(appid, func_ids.clone());
        self.auth_codes
            .retain(|_, c| c.expires_at + RETENTION_SECS > now);
        let code = format!("queryauthcode@@@{}", random_hex(24));
        let expires_at = now + AUTH_CODE_TTL_SECS;
        self.auth_codes.insert(
            code.clone(),
            AuthCode {
                appid: appid.to_owned(),
                func_ids,
                expires_at,
            },
        );
        IssuedAuthCode { code, expires_at }
    }

    /// `unauthorized`: the account revokes. Its access tokens stop working
    /// (40001) and its refresh token is refused with 61003.
    pub fn revoke(&mut self, appid: &str) {
        if let Some(a) = self.authorizations.get_mut(appid) {
            a.revoked = true;
        }
        self.authorizer_tokens.retain(|_, t| t.appid != appid);
        self.latest_authorizer_token.remove(appid);
    }

    fn issue_authorizer_token(&mut self, appid: &str) -> (String, i64) {
        let now = self.now();
        let ttl = self.config.token_ttl_secs;
        if now - self.last_token_gc >= 60 {
            self.authorizer_tokens
                .retain(|_, t| t.expires_at + RETENTION_SECS > now);
            self.last_token_gc = now;
        }
        let token = format!("authorizertoken@@@{}", random_hex(24));
        // The account's previous token keeps working only a short while.
        if let Some(previous) = self
            .latest_authorizer_token
            .insert(appid.to_owned(), token.clone())
            && let Some(t) = self.authorizer_tokens.get_mut(&previous)
        {
            t.expires_at = t.expires_at.min(now + OLD_TOKEN_GRACE_SECS);
        }
        self.authorizer_tokens.insert(
            token.clone(),
            AuthorizerToken {
                appid: appid.to_owned(),
                expires_at: now + ttl,
            },
        );
        (token, ttl)
    }

    /// `api_query_auth`: unknown code 40029, expired 61010. Issues a fresh
    /// authorizer_access_token each time and returns the authorization's
    /// current refresh token.
    pub fn query_auth(
        &mut self,
        token: Option<&str>,
        req: &QueryAuthRequest,
    ) -> WxResult<QueryAuthResponse> {
        self.check_component_token(token)?;
        self.check_component_appid(&req.component_appid)?;
        let code = self
            .auth_codes
            .get(&req.authorization_code)
            .cloned()
            .ok_or_else(|| WxError::new(ec::INVALID_CODE, "invalid code"))?;
        if code.expires_at <= self.now() {
            return Err(WxError::new(
                ec::AUTH_CODE_EXPIRED,
                "authorization code expired",
            ));
        }
        let refresh_token = match self.authorizations.get(&code.appid) {
            Some(a) if !a.revoked => a.refresh_token.clone(),
            _ => {
                return Err(WxError::new(
                    ec::COMPONENT_NOT_AUTHORIZED,
                    "component is not authorized by this account",
                ));
            }
        };
        let (access_token, ttl) = self.issue_authorizer_token(&code.appid);
        Ok(QueryAuthResponse {
            authorization_info: AuthorizationInfo {
                authorizer_appid: code.appid,
                authorizer_access_token: Some(access_token),
                expires_in: Some(ttl),
                authorizer_refresh_token: Some(refresh_token),
                func_info: code.func_ids.iter().map(|id| func_info(*id)).collect(),
            },
        })
    }

    /// `api_authorizer_token`: never authorized or revoked 61003; a refresh
    /// token that is not the account's current one (nor the previous one
    /// within its grace) 61023. Echoes the refresh token with a new access
    /// token, or with `rotate_refresh_tokens` issues a new one (the old one
    /// then works for [`OLD_TOKEN_GRACE_SECS`]).
    pub fn authorizer_token(
        &mut self,
        token: Option<&str>,
        req: &AuthorizerTokenRequest,
    ) -> WxResult<AuthorizerTokenResponse> {
        *self
            .authorizer_token_calls
            .entry(req.authorizer_appid.clone())
            .or_default() += 1;
        self.check_component_token(token)?;
        self.check_component_appid(&req.component_appid)?;
        let now = self.now();
        let rotate = self.config.rotate_refresh_tokens;
        let authorization = match self.authorizations.get_mut(&req.authorizer_appid) {
            Some(a) if !a.revoked => a,
            _ => {
                return Err(WxError::new(
                    ec::COMPONENT_NOT_AUTHORIZED,
                    "component is not authorized by this account",
                ));
            }
        };
        let previous_ok = authorization
            .previous_refresh_token
            .as_ref()
            .is_some_and(|(t, until)| *t == req.authorizer_refresh_token && *until > now);
        if req.authorizer_refresh_token != authorization.refresh_token && !previous_ok {
            return Err(WxError::new(
                ec::REFRESH_TOKEN_INVALID,
                "refresh_token is invalid",
            ));
        }
        if rotate {
            let old = std::mem::replace(
                &mut authorization.refresh_token,
                format!("refreshtoken@@@{}", random_hex(24)),
            );
            authorization.previous_refresh_token = Some((old, now + OLD_TOKEN_GRACE_SECS));
        }
        let refresh_token = authorization.refresh_token.clone();
        let (access_token, ttl) = self.issue_authorizer_token(&req.authorizer_appid);
        Ok(AuthorizerTokenResponse {
            authorizer_access_token: access_token,
            expires_in: ttl,
            authorizer_refresh_token: refresh_token,
        })
    }

    /// Replaces `appid`'s refresh token behind the platform's back (the old
    /// one is refused at once, 61023), as when a token is lost or rotated
    /// elsewhere. `listed`: whether api_get_authorizer_list shows the new one;
    /// `in_info`: whether api_get_authorizer_info does.
    pub fn rotate_refresh_token(&mut self, appid: &str, listed: bool, in_info: bool) -> bool {
        match self.authorizations.get_mut(appid) {
            Some(a) => {
                a.refresh_token = format!("refreshtoken@@@{}", random_hex(24));
                a.previous_refresh_token = None;
                a.listed_with_refresh_token = listed;
                a.info_with_refresh_token = in_info;
                true
            }
            None => false,
        }
    }

    /// Whether `token` is an access token of `appid` that WeChat accepts now.
    pub fn authorizer_token_valid(&self, appid: &str, token: &str) -> bool {
        self.authorizer_tokens
            .get(token)
            .is_some_and(|t| t.appid == appid && t.expires_at > self.now())
    }

    /// `api_get_authorizer_list`: the accounts currently authorizing the
    /// platform, by appid, `count` at most 500 (else 40097).
    pub fn authorizer_list(
        &self,
        token: Option<&str>,
        req: &AuthorizerListRequest,
    ) -> WxResult<AuthorizerListResponse> {
        self.check_component_token(token)?;
        self.check_component_appid(&req.component_appid)?;
        if req.count == 0 || req.count > AUTHORIZER_LIST_MAX_COUNT {
            return Err(WxError::new(
                ec::INVALID_PARAMETER,
                "invalid args: count must be 1..=500",
            ));
        }
        let mut active: Vec<(&String, &Authorization)> = self
            .authorizations
            .iter()
            .filter(|(_, a)| !a.revoked)
            .collect();
        active.sort_by(|a, b| a.0.cmp(b.0));
        Ok(AuthorizerListResponse {
            total_count: active.len() as u64,
            list: active
                .into_iter()
                .skip(req.offset as usize)
                .take(req.count as usize)
                .map(|(appid, a)| AuthorizerListItem {
                    authorizer_appid: appid.clone(),
                    refresh_token: a.listed_with_refresh_token.then(|| a.refresh_token.clone()),
                    auth_time: a.auth_time,
                })
                .collect(),
        })
    }

    /// `api_get_authorizer_info`: the account's profile (a Mini Program),
    /// granted sets and current refresh token (`authorization_info.
    /// authorizer_refresh_token`, as WeChat's getAuthorizerInfo page shows;
    /// empty for accounts rotated with `in_info` false); 61003 when it does
    /// not authorize the platform.
    pub fn authorizer_info(
        &self,
        token: Option<&str>,
        req: &AuthorizerInfoRequest,
    ) -> WxResult<AuthorizerInfoResponse> {
        self.check_component_token(token)?;
        self.check_component_appid(&req.component_appid)?;
        let authorization = match self.authorizations.get(&req.authorizer_appid) {
            Some(a) if !a.revoked => a,
            _ => {
                return Err(WxError::new(
                    ec::COMPONENT_NOT_AUTHORIZED,
                    "component is not authorized by this account",
                ));
            }
        };
        let suffix = appid_suffix(&req.authorizer_appid);
        Ok(AuthorizerInfoResponse {
            authorizer_info: AuthorizerAccountInfo {
                nick_name: Some(format!("Demo Mini Program {suffix}")),
                user_name: Some(original_id(&req.authorizer_appid)),
                principal_name: Some("Sandbox Trading Co., Ltd.".into()),
                mini_program_info: Some(json!({
                    "network": {"RequestDomain": [], "WsRequestDomain": [], "UploadDomain": [], "DownloadDomain": []},
                    "categories": [],
                    "visit_status": 0
                })),
            },
            authorization_info: Some(AuthorizationInfo {
                authorizer_appid: req.authorizer_appid.clone(),
                authorizer_access_token: None,
                expires_in: None,
                authorizer_refresh_token: Some(if authorization.info_with_refresh_token {
                    authorization.refresh_token.clone()
                } else {
                    String::new()
                }),
                func_info: authorization
                    .func_ids
                    .iter()
                    .map(|id| func_info(*id))
                    .collect(),
            }),
        })
    }

    // === callers of authorizer APIs ===

    /// The appid behind an authorizer token (41001/40001/42001), which must
    /// have granted the platform one of the permission sets `func_ids`, else
    /// 61007 `api is unauthorized to component` (protocol.md §8: a set not
    /// granted is 61007; 48001 is for a capability the Mini Program itself
    /// lacks, checked by each API family after this).
    pub fn authorizer_caller(&self, token: Option<&str>, func_ids: &[i64]) -> WxResult<String> {
        let token = Self::present(token)?;
        let owner = self.authorizer_tokens.get(token);
        self.check_expiry(owner.map(|t| t.expires_at))?;
        let appid = owner.map(|t| t.appid.clone()).unwrap_or_default();
        let allowed = self
            .authorizations
            .get(&appid)
            .is_some_and(|a| !a.revoked && a.func_ids.iter().any(|f| func_ids.contains(f)));
        if !allowed {
            return Err(WxError::new(
                ec::API_UNAUTHORIZED_TO_COMPONENT,
                "api is unauthorized to component",
            ));
        }
        Ok(appid)
    }
}

fn func_info(id: i64) -> FuncInfo {
    FuncInfo {
        funcscope_category: FuncscopeCategory { id },
        // Like the doc's example, some sets carry a confirm_info.
        confirm_info: (id == 142).then_some(ConfirmInfo {
            need_confirm: 0,
            already_confirm: 0,
            can_confirm: 0,
        }),
    }
}

mod couriers;
mod helper;
mod logistics;
mod shipping;

pub use couriers::{DELIVERY_LIST_FUNC_IDS, EXPRESS_COURIERS, default_couriers};
pub use helper::{DELIVERIES, SimHelperWaybill};
pub use logistics::{JOURNEY, QuotaUsage, SimWaybill};
pub use shipping::{
    AppSettings, ConfirmReceiptError, NewCombinedOrder, NewOrder, OrderExtras, OrderPushes,
    ReceiptConfirmation, SimCombinedOrder, SimOrder, SpecialOrder, order_json,
};

#[cfg(test)]
mod tests;
