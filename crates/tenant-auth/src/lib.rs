//! Tenant authorization: everything about holding WeChat's trust on behalf of
//! many Mini Programs, safely across several replicas.
//!
//! - **Pushes**: verify, decrypt and apply component pushes, each applied once
//!   however often WeChat retries ([`TenantAuth::receive_component_push`]).
//! - **Ticket**: durable in the DB; when missing or stale, tpgate asks WeChat
//!   to restart pushes itself ([`TenantAuth::ensure_ticket`]).
//! - **component_access_token** and **authorizer_access_token**: refreshed
//!   before expiry by exactly one task across replicas (single-flight, then a
//!   Redis or DB lease, then a compare-and-set write on a version column);
//!   leases are renewed while held and fenced (a holder that lost its lease
//!   never commits); a forced refresh after a token errcode replaces only
//!   the token that failed, at most once per token version per interval;
//!   61023 is recovered from `api_get_authorizer_list` or
//!   `api_get_authorizer_info`, or ends in `reauthorization_required`.
//! - **Sweep**: refreshes active authorizers' tokens ahead of time at a
//!   steady rate ([`TenantAuth::sweep_authorizer_tokens`]).
//! - **Onboarding**: a link's landing page (no WeChat call), a
//!   pre_auth_code per click (a visit), the PC or mobile authorization page,
//!   and the auth_code exchange bound to the visit's tenant, each visit
//!   completed once whether the redirect or the `authorized` push comes
//!   first.
//! - **Mini Program pushes** ([`TenantAuth::receive_app_push`]): verified,
//!   typed, stored once with their webhook deliveries.
//!
//! # Layout
//! `component` (pushes, their time window, ticket, component token),
//! `authorizer` (authorizer tokens, forced-refresh cool-down, 61023
//! recovery, operator revocation), `exclusive` (the exactly-once refresh
//! loop), `sweep`, `onboarding`, `app_push` (Mini Program events), `push`
//! (XML of component pushes), `wechat_client` (HTTP to WeChat),
//! `permissions` (funcscope ids), `metrics`, `fault` (test-only crash
//! injection), `clock`, `config`, `error`.
#![forbid(unsafe_code)]

pub mod api_permissions;
pub mod app_push;
mod authorizer;
pub mod clock;
pub mod component;
pub mod config;
mod error;
mod exclusive;
pub mod fault;
pub mod metrics;
pub mod onboarding;
pub mod permissions;
pub mod push;
pub mod sweep;
pub mod trade_management;
pub mod wechat_client;

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Arc, Mutex},
    time::Instant,
};

use chrono::{DateTime, Duration, Utc};
use store::{Store, coord::KeyedLocks};
use wxcrypt::MsgCrypt;

pub use app_push::{AppPush, AppPushOutcome};
pub use authorizer::{AuthorizerAccess, forced_refresh_wait};
pub use clock::Clock;
pub use component::{TicketCheck, TicketStatus};
pub use config::{ComponentConfig, ComponentSettings, TokenSettings, WechatSettings};
pub use error::AuthError;
pub use fault::Faults;
pub use onboarding::{AuthPage, LinkLanding};
pub use push::ComponentPush;
pub use sweep::{SweepPolicy, SweepReport};
pub use wechat_client::{WechatClient, WechatError};

/// Query parameters WeChat puts on every push.
#[derive(Debug, Clone, Default)]
pub struct PushQuery {
    pub timestamp: String,
    pub nonce: String,
    pub msg_signature: String,
}

/// What a push did, for the log line and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    TicketStored,
    /// A newer ticket was already stored (out-of-order retry).
    TicketIgnoredOlder,
    Authorized {
        authorizer_appid: String,
        tenant_id: Option<String>,
    },
    Unauthorized {
        authorizer_appid: String,
        known: bool,
    },
    Ignored {
        info_type: String,
    },
    /// The same push (or the same authorization code) was applied before;
    /// acknowledged, nothing changed.
    Duplicate,
}

/// The result of a completed onboarding, for the page the merchant sees.
#[derive(Debug, Clone)]
pub struct OnboardingResult {
    pub authorizer_appid: String,
    pub tenant_id: String,
    pub funcscopes: BTreeSet<i64>,
    /// Set when the Mini Program was already owned by another tenant.
    pub owned_by_other_tenant: bool,
}

/// The tenant-authorization service. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct TenantAuth {
    store: Store,
    client: WechatClient,
    config: Arc<ComponentConfig>,
    crypt: Arc<MsgCrypt>,
    /// In-process single-flight per token (see [`exclusive`]).
    locks: KeyedLocks,
    clock: Clock,
    /// When this replica last wrote `last_used_at` per authorizer; bounded
    /// by pruning entries older than the write interval at every sweep.
    touched: Arc<Mutex<HashMap<String, Instant>>>,
    /// Fresh authorizer access tokens this replica holds, by appid (the
    /// proxy's hot path; the DB stays the source of truth).
    access: Arc<Mutex<HashMap<String, AuthorizerAccess>>>,
    faults: Faults,
}

impl TenantAuth {
    pub fn new(store: Store, config: ComponentConfig, clock: Clock) -> Result<Self, AuthError> {
        let component = &config.component;
        let mut crypt = MsgCrypt::new(
            component.token.expose(),
            component.encoding_aes_key.expose(),
            &component.appid,
        )?;
        // An empty previous key is no previous key (see ComponentSettings).
        if let Some(previous) = &component.previous_encoding_aes_key
            && !previous.expose().is_empty()
        {
            crypt = crypt.with_previous_key(previous.expose())?;
        }
        let client = WechatClient::new(config.wechat.api_base.clone(), config.wechat.timeout())?;
        Ok(Self {
            store,
            client,
            config: Arc::new(config),
            crypt: Arc::new(crypt),
            locks: KeyedLocks::default(),
            clock,
            touched: Arc::default(),
            access: Arc::default(),
            faults: Faults::default(),
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// This, writing through `store`: an audited change's store (see
    /// `Store::audited`), so an operator's action and its audit entry
    /// commit together. Only for actions that do not call WeChat.
    pub fn using(&self, store: Store) -> Self {
        Self {
            store,
            ..self.clone()
        }
    }

    /// Records every WeChat call (tpgate's own and the proxy's) in `log`.
    pub fn with_call_log(mut self, log: call_log::CallLog) -> Self {
        self.client = self.client.with_call_log(log);
        self
    }

    pub fn client(&self) -> &WechatClient {
        &self.client
    }

    pub fn config(&self) -> &ComponentConfig {
        &self.config
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Fault injection points (tests only).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    fn margin(&self) -> Duration {
        Duration::from_std(self.config.wechat.refresh_margin()).unwrap_or(Duration::minutes(10))
    }

    fn still_fresh(&self, expires_at: DateTime<Utc>) -> bool {
        expires_at - self.margin() > self.clock.now()
    }
}

/// WeChat's `expires_in` as a lifetime, bounded: a negative or absurd value
/// (WeChat says 7200) must not overflow date arithmetic and panic a task.
/// At most a day, at least nothing (then the token is refreshed at once).
pub(crate) fn token_lifetime(expires_in: i64) -> chrono::Duration {
    chrono::Duration::seconds(expires_in.clamp(0, 86_400))
}

#[cfg(test)]
mod tests {
    /// WeChat's numbers are input: absurd ones must not panic a task.
    #[test]
    fn absurd_token_lifetimes_are_bounded() {
        let now = chrono::Utc::now();
        for absurd in [i64::MAX, i64::MIN, -1, 0] {
            let _ = now + super::token_lifetime(absurd);
        }
        assert_eq!(super::token_lifetime(i64::MAX).num_seconds(), 86_400);
        assert_eq!(super::token_lifetime(-5).num_seconds(), 0);
        assert_eq!(super::token_lifetime(7200).num_seconds(), 7200);
    }
}
