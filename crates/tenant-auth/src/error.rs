use store::{StoreError, onboarding::LinkState};
use wxcrypt::CryptError;

use crate::{push::PushParseError, wechat_client::WechatError};

/// Errors of tenant authorization. The HTTP edge maps them: `Push*` to 400,
/// `Store(Unavailable)`, `Wechat(Transport)` and `LeaseTimeout` to 503,
/// link/visit problems to a page that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("push rejected: {0}")]
    PushCrypto(#[from] CryptError),
    #[error("push rejected: {0}")]
    PushContent(#[from] PushParseError),
    #[error("push is for component {actual}, this platform is {expected}")]
    PushWrongComponent { expected: String, actual: String },
    /// `timestamp` (signed) or `CreateTime` too far from now: a replay, or
    /// a push from a clock that is far off.
    #[error("push {what} is more than {window_secs} s from now")]
    PushOutsideWindow {
        what: &'static str,
        window_secs: u64,
    },
    #[error("push for {appid} names account {to_user_name}, which is not that Mini Program")]
    PushWrongAccount { appid: String, to_user_name: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Wechat(#[from] WechatError),
    #[error("no component_verify_ticket has been received yet; WeChat pushes one every 10 minutes")]
    NoTicket,
    #[error("onboarding link not found")]
    LinkNotFound,
    #[error("onboarding link cannot be used: {0:?}")]
    LinkUnusable(LinkState),
    #[error("onboarding visit not found or expired; open the onboarding link again")]
    VisitNotFound,
    /// The visit completed already, with another code (or none we know).
    #[error("onboarding visit already completed")]
    VisitCompleted,
    /// The link's tenant is suspended (or gone).
    #[error("the tenant of this onboarding link is not active")]
    TenantInactive,
    #[error("authorizer {0} is not known")]
    AuthorizerNotFound(String),
    #[error("authorizer {appid} is {status}; it must authorize again")]
    AuthorizerInactive {
        appid: String,
        status: store::authorizers::AuthorizerStatus,
    },
    #[error("another replica is refreshing {name}; gave up after {waited:?}")]
    LeaseTimeout {
        name: String,
        waited: std::time::Duration,
    },
    /// WeChat rejected a token that is younger than the forced-refresh
    /// interval: no new refresh yet.
    #[error(
        "the access token of {appid} was rejected but refreshed moments ago; next forced refresh in {retry_after_secs} s"
    )]
    RefreshCoolingDown {
        appid: String,
        retry_after_secs: u64,
    },
    /// The refresh lease lapsed or was taken over before the commit: the
    /// new holder's result stands, ours is not written.
    #[error("the refresh lease for {0} was lost before the commit")]
    LeaseLost(String),
    /// Only from [`crate::fault::Faults`]: the refresh "died" before commit.
    #[error("injected crash before commit")]
    InjectedCrash,
}
