//! authorizer_access_token: read from the DB, refreshed inside the margin by
//! exactly one task across replicas ([`crate::exclusive`]), written
//! compare-and-set together with whatever refresh token WeChat returned.
//! A refresh token WeChat refuses (61023) is recovered from
//! `api_get_authorizer_list`, or else from `api_get_authorizer_info` (its
//! `authorization_info.authorizer_refresh_token`), when possible; otherwise
//! the authorizer is marked `reauthorization_required` and WeChat is not
//! called for it again until it authorizes again (no retry loop).
use std::{future::Future, time::Instant};

use chrono::{DateTime, Utc};
use store::{
    Secret,
    authorizers::{AuthorizerStatus, AuthorizerTokens, StatusChange},
    coord::LeaseFence,
    events::NewEvent,
};
use wechat_api::component::{
    AUTHORIZER_LIST_MAX_COUNT, AuthorizerListRequest, AuthorizerListResponse,
    AuthorizerTokenRequest, AuthorizerTokenResponse,
};

use crate::{AuthError, TenantAuth, metrics, wechat_client::WechatError};

/// WeChat errcode: the refresh token is invalid (revoked, re-authorized, wrong).
const REFRESH_TOKEN_INVALID: i64 = 61023;

/// `last_used_at` is written at most this often per authorizer and replica,
/// so the proxy's hot path does not write to the DB on every call.
const TOUCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

/// A usable authorizer access token and the version it was read at (pass it
/// back to [`TenantAuth::force_refresh_authorizer`] after a token errcode).
#[derive(Debug, Clone)]
pub struct AuthorizerAccess {
    pub token: Secret,
    pub version: i64,
    pub expires_at: DateTime<Utc>,
}

/// Why a token is being refreshed; decides what counts as still usable.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// A caller needs a token valid beyond the margin.
    Use,
    /// WeChat rejected the token read at this version.
    Replace { failed_version: i64 },
    /// The sweep refreshes ahead of time: anything expiring before this is due.
    Ahead { due_before: DateTime<Utc> },
}

/// The access token in `tokens`, if it serves `need`; `fresh` says whether
/// a token expiring then is still outside the refresh margin.
fn usable(
    tokens: &AuthorizerTokens,
    need: Need,
    fresh: impl Fn(DateTime<Utc>) -> bool,
) -> Option<AuthorizerAccess> {
    let (token, expires_at) = tokens.access_token.as_ref()?;
    let usable = match need {
        Need::Use => fresh(*expires_at),
        Need::Replace { failed_version } => tokens.version != failed_version && fresh(*expires_at),
        Need::Ahead { due_before } => *expires_at >= due_before,
    };
    usable.then(|| AuthorizerAccess {
        token: token.clone(),
        version: tokens.version,
        expires_at: *expires_at,
    })
}

/// The 61023 recovery's choice: the refresh token `api_get_authorizer_list`
/// shows (`listed`) if it is another than `ours`; else, asked only then, the
/// one `info` (`api_get_authorizer_info`) shows if that is another; else
/// none, and the authorizer must authorize again.
async fn other_refresh_token<F>(
    ours: &Secret,
    listed: Option<Secret>,
    info: impl FnOnce() -> F,
) -> Result<Option<(Secret, &'static str)>, AuthError>
where
    F: Future<Output = Result<Option<Secret>, AuthError>>,
{
    if let Some(listed) = listed
        && listed != *ours
    {
        return Ok(Some((listed, "api_get_authorizer_list")));
    }
    Ok(info()
        .await?
        .filter(|t| t != ours)
        .map(|t| (t, "api_get_authorizer_info")))
}

/// Refuses to commit once the refresh lease is lost (see `store::coord`).
fn fenced(fence: &LeaseFence, appid: &str) -> Result<(), AuthError> {
    if fence.is_held() {
        Ok(())
    } else {
        metrics::refreshed("authorizer", "lease_lost");
        Err(AuthError::LeaseLost(appid.to_owned()))
    }
}

/// How a forced refresh ended, for its metric.
enum ForcedOutcome {
    Refreshed,
    TakenFromPeer,
}

/// Seconds until a token written at `last` may be force-refreshed, or
/// `None` when it may be now: at most one forced refresh per token version
/// per `interval`, across replicas (`last` is the stored write time).
pub fn forced_refresh_wait(
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    interval: std::time::Duration,
) -> Option<u64> {
    let since = u64::try_from((now - last?).num_seconds()).unwrap_or(0);
    let interval = interval.as_secs();
    (since < interval).then(|| (interval - since).max(1))
}

impl TenantAuth {
    /// An access token for `appid`, valid beyond the refresh margin;
    /// refreshed (once, by one task across replicas) when inside it.
    ///
    /// Served from this replica's memory while fresh: the proxy's hot path
    /// reads no database row for the token.
    pub async fn authorizer_access_token(
        &self,
        appid: &str,
    ) -> Result<AuthorizerAccess, AuthError> {
        self.touch(appid);
        if let Some(access) = self.cached_access(appid) {
            return Ok(access);
        }
        // Boxed: the refresh (leases, WeChat, the store) is a large future
        // that a call finding its token cached should not carry.
        let access = Box::pin(self.authorizer_token_for(appid, Need::Use)).await?;
        self.cache_access(appid, &access);
        Ok(access)
    }

    fn cached_access(&self, appid: &str) -> Option<AuthorizerAccess> {
        let cache = self.access.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(appid)
            .filter(|a| self.still_fresh(a.expires_at))
            .cloned()
    }

    fn cache_access(&self, appid: &str, access: &AuthorizerAccess) {
        let mut cache = self.access.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded by the authorizers this replica serves; expired entries
        // are pruned by the sweep ([`Self::prune_touches`]).
        cache.insert(appid.to_owned(), access.clone());
    }

    /// After WeChat rejected the token read at `failed_version` (40001,
    /// 40014, 42001): replace it only if it is still the stored one; if
    /// another task already did, take theirs. A burst of failures thus
    /// causes one refresh, not a storm.
    pub async fn force_refresh_authorizer(
        &self,
        appid: &str,
        failed_version: i64,
    ) -> Result<AuthorizerAccess, AuthError> {
        self.access
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(appid);
        let result = self.replace_authorizer_token(appid, failed_version).await;
        metrics::forced_refresh(match &result {
            Ok((_, ForcedOutcome::Refreshed)) => "refreshed",
            Ok((_, ForcedOutcome::TakenFromPeer)) => "taken_from_peer",
            Err(AuthError::RefreshCoolingDown { .. }) => "cooling_down",
            Err(_) => "failed",
        });
        let (access, outcome) = result?;
        if matches!(outcome, ForcedOutcome::Refreshed)
            && let Err(e) = self
                .store
                .note_forced_refresh(appid, self.clock.now())
                .await
        {
            // The refresh itself succeeded; only the health view misses it.
            tracing::warn!(authorizer.appid = %appid, error = %e, "could not note a forced refresh");
        }
        self.cache_access(appid, &access);
        Ok(access)
    }

    /// The forced refresh: another task's newer token if there is one;
    /// else, unless the rejected token is younger than the cool-down (a
    /// new token would most likely be rejected too, and every refresh
    /// spends the platform's shared quota), a refresh.
    async fn replace_authorizer_token(
        &self,
        appid: &str,
        failed_version: i64,
    ) -> Result<(AuthorizerAccess, ForcedOutcome), AuthError> {
        let need = Need::Replace { failed_version };
        let tokens = self.load_tokens(appid).await?;
        if let Some(access) = self.usable_access(&tokens, need) {
            return Ok((access, ForcedOutcome::TakenFromPeer));
        }
        if tokens.version == failed_version
            && let Some(retry_after_secs) = forced_refresh_wait(
                tokens.refreshed_at,
                self.clock.now(),
                self.config.tokens.forced_refresh_interval(),
            )
        {
            return Err(AuthError::RefreshCoolingDown {
                appid: appid.to_owned(),
                retry_after_secs,
            });
        }
        let access = self.authorizer_token_for(appid, need).await?;
        let outcome = if access.version == failed_version + 1 {
            ForcedOutcome::Refreshed
        } else {
            ForcedOutcome::TakenFromPeer
        };
        Ok((access, outcome))
    }

    /// For the sweep: refresh `appid`'s token if it expires before
    /// `due_before`, unless another replica just did.
    pub(crate) async fn refresh_ahead(
        &self,
        appid: &str,
        due_before: DateTime<Utc>,
    ) -> Result<AuthorizerAccess, AuthError> {
        self.authorizer_token_for(appid, Need::Ahead { due_before })
            .await
    }

    async fn authorizer_token_for(
        &self,
        appid: &str,
        need: Need,
    ) -> Result<AuthorizerAccess, AuthError> {
        let load = || self.load_tokens(appid);
        let usable = |tokens: &AuthorizerTokens| self.usable_access(tokens, need);
        if !matches!(need, Need::Replace { .. })
            && let Some(access) = usable(&load().await?)
        {
            return Ok(access);
        }
        self.refresh_exclusively(
            "authorizer",
            &format!("authorizer:{appid}"),
            load,
            usable,
            |tokens, fence| self.refresh_authorizer(appid, tokens, fence),
        )
        .await
    }

    async fn load_tokens(&self, appid: &str) -> Result<AuthorizerTokens, AuthError> {
        let tokens = self
            .store
            .authorizer_tokens(appid)
            .await?
            .ok_or_else(|| AuthError::AuthorizerNotFound(appid.to_owned()))?;
        if tokens.status != AuthorizerStatus::Active {
            return Err(AuthError::AuthorizerInactive {
                appid: appid.to_owned(),
                status: tokens.status,
            });
        }
        Ok(tokens)
    }

    fn usable_access(&self, tokens: &AuthorizerTokens, need: Need) -> Option<AuthorizerAccess> {
        usable(tokens, need, |expires_at| self.still_fresh(expires_at))
    }

    /// `api_authorizer_token`, then a compare-and-set write of the access
    /// token and whatever refresh token came back, in one statement.
    async fn refresh_authorizer(
        &self,
        appid: &str,
        tokens: AuthorizerTokens,
        fence: LeaseFence,
    ) -> Result<AuthorizerAccess, AuthError> {
        let requested_at = self.clock.now();
        let response = match self
            .request_authorizer_token(appid, &tokens.refresh_token)
            .await
        {
            Ok(response) => response,
            Err(AuthError::Wechat(err)) if err.errcode() == Some(REFRESH_TOKEN_INVALID) => {
                metrics::refreshed("authorizer", "refresh_token_invalid");
                return self.recover_refresh_token(appid, tokens, &fence).await;
            }
            Err(err) => {
                metrics::refreshed("authorizer", "failed");
                return Err(err);
            }
        };
        if self.faults.take_crash_before_commit() {
            // WeChat answered; the process "dies" before the commit.
            return Err(AuthError::InjectedCrash);
        }
        self.commit_refresh(
            appid,
            tokens.version,
            &tokens.refresh_token,
            requested_at,
            response,
            &fence,
        )
        .await
    }

    async fn request_authorizer_token(
        &self,
        appid: &str,
        refresh_token: &Secret,
    ) -> Result<AuthorizerTokenResponse, AuthError> {
        if refresh_token.expose().is_empty() {
            return Err(AuthError::AuthorizerInactive {
                appid: appid.to_owned(),
                status: AuthorizerStatus::ReauthorizationRequired,
            });
        }
        self.call_component(
            Some(appid),
            wechat_api::paths::AUTHORIZER_TOKEN,
            &AuthorizerTokenRequest {
                component_appid: self.config.component.appid.clone(),
                authorizer_appid: appid.to_owned(),
                authorizer_refresh_token: refresh_token.expose().to_owned(),
            },
        )
        .await
    }

    async fn commit_refresh(
        &self,
        appid: &str,
        version: i64,
        sent_refresh_token: &Secret,
        requested_at: DateTime<Utc>,
        response: AuthorizerTokenResponse,
        fence: &LeaseFence,
    ) -> Result<AuthorizerAccess, AuthError> {
        fenced(fence, appid)?;
        let access = Secret::new(response.authorizer_access_token);
        // Persist whatever refresh token came back (it may rotate), in the
        // same write as the access token.
        let refresh = if response.authorizer_refresh_token.is_empty() {
            sent_refresh_token.clone()
        } else {
            Secret::new(response.authorizer_refresh_token)
        };
        // Expiry counts from when we asked, so transit time only makes us early.
        let expires_at = requested_at + crate::token_lifetime(response.expires_in);
        if self
            .store
            .save_authorizer_tokens(appid, version, &access, expires_at, &refresh, requested_at)
            .await?
        {
            metrics::refreshed("authorizer", "refreshed");
            tracing::info!(authorizer.appid = %appid, expires_in = response.expires_in, "authorizer_access_token refreshed");
            return Ok(AuthorizerAccess {
                token: access,
                version: version + 1,
                expires_at,
            });
        }
        // Someone wrote since we read (only possible if a lease expired under
        // us, or a re-authorization landed): theirs is newer and wins.
        metrics::refreshed("authorizer", "lost_race");
        self.current_access(appid).await
    }

    /// What another writer stored after we read: used when our own write
    /// lost, since theirs is newer.
    async fn current_access(&self, appid: &str) -> Result<AuthorizerAccess, AuthError> {
        let tokens = self.load_tokens(appid).await?;
        self.usable_access(&tokens, Need::Use).ok_or_else(|| {
            AuthError::Store(store::StoreError::Conflict(
                "authorizer tokens changed during a refresh".into(),
            ))
        })
    }

    /// 61023: look the refresh token up ([`Self::recoverable_refresh_token`]);
    /// if one differs from ours, store it and refresh once with it.
    /// Otherwise stop: `reauthorization_required`, with an event for the
    /// tenant. A failed lookup (WeChat unreachable) marks nothing.
    async fn recover_refresh_token(
        &self,
        appid: &str,
        tokens: AuthorizerTokens,
        fence: &LeaseFence,
    ) -> Result<AuthorizerAccess, AuthError> {
        match self
            .recoverable_refresh_token(appid, &tokens.refresh_token)
            .await?
        {
            Some((found, source)) => {
                fenced(fence, appid)?;
                if !self
                    .store
                    .replace_refresh_token(appid, tokens.version, &found)
                    .await?
                {
                    // A re-authorization landed meanwhile: use what it stored.
                    return self.current_access(appid).await;
                }
                let version = tokens.version + 1;
                let requested_at = self.clock.now();
                match self.request_authorizer_token(appid, &found).await {
                    Ok(response) => {
                        tracing::warn!(authorizer.appid = %appid, source, "refresh token recovered");
                        metrics::refreshed("authorizer", "recovered");
                        self.commit_refresh(appid, version, &found, requested_at, response, fence)
                            .await
                    }
                    Err(AuthError::Wechat(err)) if err.errcode() == Some(REFRESH_TOKEN_INVALID) => {
                        self.require_reauthorization(appid, version, "listed refresh token refused")
                            .await
                    }
                    Err(err) => Err(err),
                }
            }
            None => {
                self.require_reauthorization(appid, tokens.version, "refresh token refused (61023)")
                    .await
            }
        }
    }

    /// A refresh token for `appid` other than `ours`, and where it came
    /// from: `api_get_authorizer_list` first (protocol.md §7); when that
    /// shows none (some accounts are listed without one) or only ours, the
    /// `authorization_info.authorizer_refresh_token` of
    /// `api_get_authorizer_info` (WeChat's getAuthorizerInfo page carries
    /// it). `None` when neither has another one.
    async fn recoverable_refresh_token(
        &self,
        appid: &str,
        ours: &Secret,
    ) -> Result<Option<(Secret, &'static str)>, AuthError> {
        let listed = self.listed_refresh_token(appid).await?;
        other_refresh_token(ours, listed, || self.info_refresh_token(appid)).await
    }

    /// `appid`'s refresh token as `api_get_authorizer_info` shows it (empty
    /// counts as none).
    async fn info_refresh_token(&self, appid: &str) -> Result<Option<Secret>, AuthError> {
        Ok(self
            .authorizer_info(appid)
            .await?
            .authorization_info
            .and_then(|a| a.authorizer_refresh_token)
            .filter(|t| !t.is_empty())
            .map(Secret::new))
    }

    /// Pages through `api_get_authorizer_list` for `appid`'s refresh token.
    async fn listed_refresh_token(&self, appid: &str) -> Result<Option<Secret>, AuthError> {
        let mut offset = 0u32;
        loop {
            let page: AuthorizerListResponse = self
                .call_component(
                    Some(appid),
                    wechat_api::paths::AUTHORIZER_LIST,
                    &AuthorizerListRequest {
                        component_appid: self.config.component.appid.clone(),
                        offset,
                        count: AUTHORIZER_LIST_MAX_COUNT,
                    },
                )
                .await?;
            if let Some(item) = page.list.iter().find(|i| i.authorizer_appid == appid) {
                return Ok(item
                    .refresh_token
                    .clone()
                    .filter(|t| !t.is_empty())
                    .map(Secret::new));
            }
            let seen = u64::from(offset) + page.list.len() as u64;
            if page.list.is_empty() || seen >= page.total_count {
                return Ok(None);
            }
            offset = u32::try_from(seen).map_err(|_| {
                AuthError::Wechat(WechatError::Decode("authorizer list too long".into()))
            })?;
        }
    }

    async fn require_reauthorization(
        &self,
        appid: &str,
        version: i64,
        reason: &'static str,
    ) -> Result<AuthorizerAccess, AuthError> {
        let event = NewEvent::reauthorization_required(
            appid,
            reason,
            format!("reauthorization_required:{appid}:{version}"),
            self.clock.now(),
        );
        if self
            .store
            .require_reauthorization(appid, version, event)
            .await?
            == StatusChange::Unchanged
        {
            // Re-authorized (or revoked) since we read it: that state stands.
            return self.current_access(appid).await;
        }
        metrics::refreshed("authorizer", "reauthorization_required");
        tracing::warn!(authorizer.appid = %appid, reason, "authorizer needs re-authorization; WeChat will not be called for it");
        Err(AuthError::AuthorizerInactive {
            appid: appid.to_owned(),
            status: AuthorizerStatus::ReauthorizationRequired,
        })
    }

    /// Notes use of `appid` for the sweep, at most every few minutes, in
    /// the background (the call does not wait for the write).
    fn touch(&self, appid: &str) {
        let now = Instant::now();
        {
            let mut touched = self
                .touched
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match touched.get(appid) {
                Some(at) if now.duration_since(*at) < TOUCH_INTERVAL => return,
                _ => {
                    touched.insert(appid.to_owned(), now);
                }
            }
        }
        let store = self.store.clone();
        let appid = appid.to_owned();
        let at = self.clock.now();
        tokio::spawn(async move {
            if let Err(e) = store.touch_authorizer(&appid, at).await {
                // Only the sweep's notion of "active" suffers; the call goes on.
                tracing::warn!(authorizer.appid = %appid, error = %e, "could not record authorizer use");
            }
        });
    }

    /// Drops per-authorizer memory (after a re-authorization or revocation).
    pub(crate) fn forget_authorizer(&self, appid: &str) {
        self.touched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(appid);
        self.access
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(appid);
    }

    /// Prunes the touch memory of entries older than the touch interval.
    pub(crate) fn prune_touches(&self) {
        let now = Instant::now();
        self.touched
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, at| now.duration_since(*at) < TOUCH_INTERVAL);
        self.access
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, a| self.still_fresh(a.expires_at));
    }
}

impl TenantAuth {
    /// An operator (or the tenant) ends an authorization through the admin
    /// API: the same status change and the same `authorization.revoked`
    /// payload as WeChat's `unauthorized` push, only if nothing was written
    /// since `expected_version` (a re-authorization in between wins).
    pub async fn revoke_by_operator(
        &self,
        appid: &str,
        expected_version: i64,
        reason: &str,
    ) -> Result<StatusChange, AuthError> {
        let event = NewEvent::revoked(
            appid,
            store::events::RevokedBy::Operator,
            reason,
            format!("operator-revoke:{appid}:{expected_version}"),
            self.clock.now(),
        );
        let change = self
            .store
            .revoke_authorizer_at(appid, expected_version, event)
            .await?;
        self.forget_authorizer(appid);
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use std::{cell::Cell, future::ready};

    use chrono::Duration;

    use super::*;

    fn tokens(version: i64, expires_at: Option<DateTime<Utc>>) -> AuthorizerTokens {
        AuthorizerTokens {
            status: AuthorizerStatus::Active,
            refresh_token: Secret::new("refresh"),
            access_token: expires_at.map(|at| (Secret::new("access"), at)),
            refreshed_at: None,
            version,
        }
    }

    #[test]
    fn a_token_is_usable_for_what_is_needed() {
        let now = Utc::now();
        let margin = Duration::minutes(10);
        let fresh = |at: DateTime<Utc>| at - margin > now;
        let later = now + Duration::hours(1);
        let soon = now + Duration::minutes(5);

        // No token at all serves nothing.
        for need in [
            Need::Use,
            Need::Replace { failed_version: 1 },
            Need::Ahead { due_before: now },
        ] {
            assert!(usable(&tokens(3, None), need, fresh).is_none(), "{need:?}");
        }

        // A caller: fresh beyond the margin.
        let access = usable(&tokens(3, Some(later)), Need::Use, fresh).unwrap();
        assert_eq!((access.version, access.expires_at), (3, later));
        assert_eq!(access.token, Secret::new("access"));
        assert!(usable(&tokens(3, Some(soon)), Need::Use, fresh).is_none());

        // After WeChat rejected version 3: never that one, however fresh;
        // a newer one another task stored, if fresh.
        let replace = |failed_version| Need::Replace { failed_version };
        assert!(usable(&tokens(3, Some(later)), replace(3), fresh).is_none());
        assert_eq!(
            usable(&tokens(4, Some(later)), replace(3), fresh).map(|a| a.version),
            Some(4)
        );
        assert!(usable(&tokens(4, Some(soon)), replace(3), fresh).is_none());

        // The sweep: anything expiring before its horizon is due, whatever
        // the margin says.
        let ahead = |due_before| Need::Ahead { due_before };
        assert!(usable(&tokens(3, Some(later)), ahead(later), fresh).is_some());
        assert!(
            usable(
                &tokens(3, Some(later)),
                ahead(later + Duration::seconds(1)),
                fresh
            )
            .is_none()
        );
        assert!(usable(&tokens(3, Some(soon)), ahead(now), fresh).is_some());
    }

    /// Runs the recovery choice with `listed` and, if asked, `info`.
    fn choose(
        listed: Option<&str>,
        info: Result<Option<&str>, ()>,
    ) -> (Option<(String, &'static str)>, bool) {
        let asked = Cell::new(false);
        let ours = Secret::new("ours");
        let chosen = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(other_refresh_token(&ours, listed.map(Secret::new), || {
                asked.set(true);
                ready(
                    info.map(|t| t.map(Secret::new))
                        .map_err(|()| AuthError::Wechat(WechatError::Timeout("slow".into()))),
                )
            }));
        let chosen = match chosen {
            Ok(found) => found.map(|(t, source)| (t.expose().to_owned(), source)),
            Err(e) => panic!("{e}"),
        };
        (chosen, asked.get())
    }

    #[test]
    fn recovery_takes_the_list_then_the_info_else_reauthorization() {
        let list = |t: &str| Some((t.to_owned(), "api_get_authorizer_list"));
        let info = |t: &str| Some((t.to_owned(), "api_get_authorizer_info"));
        // The list shows another token: taken, the info is not asked.
        assert_eq!(choose(Some("new"), Err(())), (list("new"), false));
        assert_eq!(choose(Some("new"), Ok(Some("other"))), (list("new"), false));
        // The list shows only ours, or none: the info's, if another.
        assert_eq!(choose(Some("ours"), Ok(Some("new"))), (info("new"), true));
        assert_eq!(choose(None, Ok(Some("new"))), (info("new"), true));
        // Neither has another one: re-authorization.
        assert_eq!(choose(Some("ours"), Ok(Some("ours"))), (None, true));
        assert_eq!(choose(None, Ok(None)), (None, true));
    }

    #[test]
    fn a_failed_info_lookup_is_an_error_not_a_reauthorization() {
        let ours = Secret::new("ours");
        let result = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(other_refresh_token(&ours, None, || {
                ready(Err(AuthError::Wechat(WechatError::Timeout("slow".into()))))
            }));
        assert!(matches!(
            result,
            Err(AuthError::Wechat(WechatError::Timeout(_)))
        ));
    }

    #[test]
    fn forced_refreshes_wait_out_the_interval() {
        let now = Utc::now();
        let minute = std::time::Duration::from_secs(60);
        assert_eq!(forced_refresh_wait(None, now, minute), None);
        assert_eq!(
            forced_refresh_wait(Some(now - Duration::seconds(10)), now, minute),
            Some(50)
        );
        assert_eq!(
            forced_refresh_wait(Some(now - Duration::seconds(60)), now, minute),
            None
        );
        // A stored time in the future (clock skew between replicas) waits
        // the whole interval, never panics.
        assert_eq!(
            forced_refresh_wait(Some(now + Duration::seconds(5)), now, minute),
            Some(60)
        );
    }
}
