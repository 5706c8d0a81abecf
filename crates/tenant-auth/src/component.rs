//! The platform's own side: pushes to the authorization-event URL, the
//! verify ticket and the component_access_token.
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use store::{
    Secret,
    authorizers::{StatusChange, StoredAuthorization},
    component::StoredComponentToken,
    events::{NewEvent, RevokedBy},
    onboarding::VisitClaim,
};
use wechat_api::component::{
    ComponentTokenRequest, ComponentTokenResponse, StartPushTicketRequest,
};

use crate::{
    AuthError, ComponentPush, PushOutcome, PushQuery, TenantAuth, metrics, push,
    wechat_client::WechatError,
};

/// WeChat's ticket validity: 12 h from the push (protocol.md §1).
pub const TICKET_VALIDITY: Duration = Duration::hours(12);

/// What tpgate knows about its verify ticket, for `/readyz` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketStatus {
    /// When the newest ticket was received (our clock), if any.
    pub received_at: Option<DateTime<Utc>>,
    pub age: Option<Duration>,
    /// Present and younger than its 12 h validity: tokens can be obtained.
    pub valid: bool,
    /// Missing, or older than the stale threshold: pushes have stopped.
    pub stale: bool,
    /// When a replica last asked WeChat to restart pushes.
    pub push_requested_at: Option<DateTime<Utc>>,
}

/// What [`TenantAuth::ensure_ticket`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketCheck {
    Fresh,
    /// api_start_push_ticket was called; a push should follow.
    PushRequested,
    /// Stale or missing, but another request was made recently.
    PushRecentlyRequested,
}

/// The dedupe key of an authorization code: the redirect and the
/// `authorized` push carry the same code, and WeChat retries pushes.
pub(crate) fn auth_code_key(code: &str) -> String {
    let digest = Sha256::digest(code.as_bytes());
    format!("auth_code:{}", hex::encode(&digest[..16]))
}

impl TenantAuth {
    // === pushes ===

    /// Verifies, decrypts and applies one push to the authorization-event URL.
    /// Returns only after the effect is committed, so answering `success`
    /// after `Ok` never acknowledges something that was lost. Repeated pushes
    /// (WeChat retries) are applied once.
    pub async fn receive_component_push(
        &self,
        query: &PushQuery,
        body: &str,
    ) -> Result<PushOutcome, AuthError> {
        let decrypted =
            self.crypt
                .open(&query.msg_signature, &query.timestamp, &query.nonce, body)?;
        self.check_push_timestamp(&query.timestamp)?;
        let push = push::parse_component_push(&decrypted.message)?;
        self.check_create_time(push.create_time())?;
        if push.appid() != self.config.component.appid {
            return Err(AuthError::PushWrongComponent {
                expected: self.config.component.appid.clone(),
                actual: push.appid().to_owned(),
            });
        }
        match push {
            ComponentPush::Ticket {
                ticket,
                create_time,
                ..
            } => {
                let stored = self
                    .store
                    .save_verify_ticket(&self.config.component.appid, &ticket, create_time)
                    .await?;
                Ok(if stored {
                    PushOutcome::TicketStored
                } else {
                    PushOutcome::TicketIgnoredOlder
                })
            }
            ComponentPush::Authorized {
                authorizer_appid,
                authorization_code,
                pre_auth_code,
                is_update,
                create_time,
                ..
            } => {
                if self
                    .store
                    .event_by_dedupe_key(&auth_code_key(&authorization_code))
                    .await?
                    .is_some()
                {
                    return Ok(PushOutcome::Duplicate);
                }
                // The pre_auth_code ties the push to the visit (and tenant)
                // that started it, claimed as the browser's redirect would;
                // without a visit it can claim, the authorizer is stored
                // unassigned for an operator to place.
                let visit = match &pre_auth_code {
                    Some(code) => self.store.onboarding_visit_by_pre_auth_code(code).await?,
                    None => None,
                };
                let claim = match &visit {
                    Some(v) => Some(
                        self.store
                            .claim_onboarding_visit(&v.id, self.clock.now())
                            .await?,
                    ),
                    None => None,
                };
                // The browser's redirect is exchanging this visit's code
                // right now: wait for it rather than exchange the code a
                // second time (WeChat's codes are for one exchange).
                if let Some(VisitClaim::AlreadyCompleted(visit)) = &claim {
                    if visit.authorizer_appid.is_none() {
                        // A released visit (the exchange failed) is for us to try.
                        let _ = self.finished_visit(visit.clone()).await;
                    }
                    if self
                        .store
                        .event_by_dedupe_key(&auth_code_key(&authorization_code))
                        .await?
                        .is_some()
                    {
                        return Ok(PushOutcome::Duplicate);
                    }
                }
                let tenant_id = match &claim {
                    Some(VisitClaim::Claimed { visit, .. }) => Some(visit.tenant_id.clone()),
                    // The browser's redirect is applying this visit: same tenant.
                    Some(VisitClaim::AlreadyCompleted(visit)) => Some(visit.tenant_id.clone()),
                    Some(refused) => {
                        tracing::warn!(
                            ?refused,
                            "authorized push for a visit that cannot complete; stored unassigned"
                        );
                        None
                    }
                    None => None,
                };
                let exchanged = self
                    .exchange_auth_code(
                        &authorization_code,
                        tenant_id.as_deref(),
                        is_update,
                        self.clock.at_unix(create_time),
                    )
                    .await;
                let (auth, stored) = match exchanged {
                    Ok(done) => done,
                    Err(e) => {
                        if let Some(VisitClaim::Claimed {
                            visit,
                            consumed_link,
                        }) = &claim
                        {
                            self.store
                                .release_onboarding_visit(visit, *consumed_link)
                                .await?;
                        }
                        return Err(e);
                    }
                };
                if let Some(VisitClaim::Claimed { visit, .. }) = &claim {
                    self.store
                        .finish_onboarding_visit(&visit.id, &auth.appid)
                        .await?;
                }
                if stored == StoredAuthorization::Duplicate {
                    return Ok(PushOutcome::Duplicate);
                }
                if auth.appid != authorizer_appid {
                    tracing::warn!(
                        authorizer.appid = %authorizer_appid,
                        exchanged.appid = %auth.appid,
                        "authorized push: code exchanged for a different appid than announced"
                    );
                }
                Ok(PushOutcome::Authorized {
                    authorizer_appid: auth.appid,
                    tenant_id: tenant_id.map(Into::into),
                })
            }
            ComponentPush::Unauthorized {
                authorizer_appid,
                create_time,
                ..
            } => {
                let event = NewEvent::revoked(
                    &authorizer_appid,
                    RevokedBy::Wechat,
                    "unauthorized",
                    format!("unauthorized:{authorizer_appid}:{create_time}"),
                    self.clock.at_unix(create_time),
                );
                match self
                    .store
                    .revoke_authorizer(&authorizer_appid, event)
                    .await?
                {
                    StatusChange::Duplicate => Ok(PushOutcome::Duplicate),
                    change => {
                        self.forget_authorizer(&authorizer_appid);
                        tracing::info!(authorizer.appid = %authorizer_appid, "authorization revoked");
                        Ok(PushOutcome::Unauthorized {
                            authorizer_appid,
                            known: matches!(change, StatusChange::Changed { .. }),
                        })
                    }
                }
            }
            ComponentPush::Other { info_type, .. } => Ok(PushOutcome::Ignored { info_type }),
        }
    }

    // === push freshness ===

    /// The signed `timestamp` must be within the push window of now: a
    /// captured push cannot be replayed later.
    pub(crate) fn check_push_timestamp(&self, timestamp: &str) -> Result<(), AuthError> {
        let window = self.push_window_secs();
        let fresh = timestamp
            .trim()
            .parse::<i64>()
            .ok()
            .is_some_and(|t| t.abs_diff(self.clock.now().timestamp()) <= window);
        if fresh {
            Ok(())
        } else {
            Err(AuthError::PushOutsideWindow {
                what: "timestamp",
                window_secs: window,
            })
        }
    }

    /// `CreateTime` may be old (a retry) but not in the future beyond the
    /// window: a far-future ticket would otherwise block every later one.
    pub(crate) fn check_create_time(&self, create_time: Option<i64>) -> Result<(), AuthError> {
        let window = self.push_window_secs();
        match create_time {
            Some(t) if t > self.clock.now().timestamp().saturating_add_unsigned(window) => {
                Err(AuthError::PushOutsideWindow {
                    what: "CreateTime",
                    window_secs: window,
                })
            }
            _ => Ok(()),
        }
    }

    fn push_window_secs(&self) -> u64 {
        self.config.wechat.push_window_secs
    }

    // === ticket ===

    pub async fn ticket_status(&self) -> Result<TicketStatus, AuthError> {
        let store::component::TicketState {
            ticket,
            push_requested_at,
        } = self
            .store
            .ticket_state(&self.config.component.appid)
            .await?;
        let now = self.clock.now();
        let stale_after = Duration::from_std(self.config.tokens.ticket_stale_after())
            .unwrap_or(Duration::minutes(20));
        let status = match ticket {
            Some(t) => {
                let age = now - t.received_at;
                TicketStatus {
                    received_at: Some(t.received_at),
                    age: Some(age),
                    valid: age < TICKET_VALIDITY,
                    stale: age > stale_after,
                    push_requested_at,
                }
            }
            None => TicketStatus {
                received_at: None,
                age: None,
                valid: false,
                stale: true,
                push_requested_at,
            },
        };
        ::metrics::gauge!(metrics::TICKET_STALE).set(if status.stale { 1.0 } else { 0.0 });
        if let Some(age) = status.age {
            ::metrics::gauge!(metrics::TICKET_AGE).set(age.num_seconds() as f64);
        }
        Ok(status)
    }

    /// When the ticket is missing or stale, asks WeChat to push one
    /// (api_start_push_ticket), at most once per configured interval across
    /// replicas. The background task calls this every minute; a token
    /// refresh that finds no ticket calls it too.
    pub async fn ensure_ticket(&self) -> Result<TicketCheck, AuthError> {
        let status = self.ticket_status().await?;
        if !status.stale {
            return Ok(TicketCheck::Fresh);
        }
        self.request_ticket_push().await
    }

    async fn request_ticket_push(&self) -> Result<TicketCheck, AuthError> {
        let interval = Duration::from_std(self.config.tokens.ticket_push_request_interval())
            .unwrap_or(Duration::minutes(5));
        if !self
            .store
            .claim_ticket_push_request(&self.config.component.appid, self.clock.now(), interval)
            .await?
        {
            return Ok(TicketCheck::PushRecentlyRequested);
        }
        let result: Result<serde_json::Value, WechatError> = self
            .client
            .post(
                None,
                wechat_api::paths::START_PUSH_TICKET,
                None,
                &StartPushTicketRequest {
                    component_appid: self.config.component.appid.clone(),
                    component_secret: self.config.component.secret.expose().to_owned(),
                },
            )
            .await;
        match result {
            Ok(_) => {
                ::metrics::counter!(metrics::TICKET_PUSH_REQUESTS, "outcome" => "ok").increment(1);
                tracing::warn!(component.appid = %self.config.component.appid, "component_verify_ticket missing or stale; asked WeChat to restart pushes");
                Ok(TicketCheck::PushRequested)
            }
            Err(e) => {
                ::metrics::counter!(metrics::TICKET_PUSH_REQUESTS, "outcome" => "failed")
                    .increment(1);
                Err(e.into())
            }
        }
    }

    /// On a token refresh's failure path: its own error is what matters.
    async fn request_ticket_push_best_effort(&self) {
        if let Err(e) = self.request_ticket_push().await {
            tracing::warn!(error = %e, "api_start_push_ticket failed");
        }
    }

    // === component_access_token ===

    /// A component_access_token valid for longer than the refresh margin.
    pub async fn component_access_token(&self) -> Result<Secret, AuthError> {
        Ok(self.component_token_versioned(None).await?.0)
    }

    /// The token and the version it was read at. With `failed_version`, the
    /// token read at that version was rejected by WeChat: replace it unless
    /// someone already did.
    async fn component_token_versioned(
        &self,
        failed_version: Option<i64>,
    ) -> Result<(Secret, i64), AuthError> {
        let appid = self.config.component.appid.clone();
        let usable = |stored: &StoredComponentToken| match &stored.token {
            Some((token, expires_at))
                if self.still_fresh(*expires_at) && Some(stored.version) != failed_version =>
            {
                Some((token.clone(), stored.version))
            }
            _ => None,
        };
        let load = || async { Ok(self.store.component_token(&appid).await?) };
        if failed_version.is_none()
            && let Some(value) = usable(&load().await?)
        {
            return Ok(value);
        }
        self.refresh_exclusively(
            "component",
            "component_token",
            load,
            usable,
            |stored, fence| self.fetch_component_token(stored.version, fence),
        )
        .await
    }

    /// `api_component_token` with the stored ticket; compare-and-set store.
    async fn fetch_component_token(
        &self,
        version: i64,
        fence: store::coord::LeaseFence,
    ) -> Result<(Secret, i64), AuthError> {
        let appid = &self.config.component.appid;
        let Some(ticket) = self.store.verify_ticket(appid).await? else {
            self.request_ticket_push_best_effort().await;
            metrics::refreshed("component", "no_ticket");
            return Err(AuthError::NoTicket);
        };
        let requested_at = self.clock.now();
        let response: Result<ComponentTokenResponse, WechatError> = self
            .client
            .post(
                None,
                wechat_api::paths::COMPONENT_TOKEN,
                None,
                &ComponentTokenRequest {
                    component_appid: appid.clone(),
                    component_appsecret: self.config.component.secret.expose().to_owned(),
                    component_verify_ticket: ticket.ticket.expose().to_owned(),
                },
            )
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                metrics::refreshed("component", "failed");
                if matches!(e.errcode(), Some(61005 | 61006)) {
                    // The ticket WeChat no longer accepts: ask for a new one.
                    self.request_ticket_push_best_effort().await;
                }
                return Err(e.into());
            }
        };
        if !fence.is_held() {
            metrics::refreshed("component", "lease_lost");
            return Err(AuthError::LeaseLost(appid.clone()));
        }
        let token = Secret::new(response.component_access_token);
        // Expiry counts from when we asked, so transit time only makes us early.
        let expires_at = requested_at + crate::token_lifetime(response.expires_in);
        if !self
            .store
            .save_component_token(appid, version, &token, expires_at)
            .await?
        {
            // Another writer stored one since we read: theirs is at least as
            // new; ours is valid too, so use it for this call.
            tracing::info!(component.appid = %appid, "component token: another writer stored a newer token");
            metrics::refreshed("component", "lost_race");
            return Ok((token, version));
        }
        metrics::refreshed("component", "refreshed");
        ::metrics::gauge!(metrics::COMPONENT_TOKEN_TTL).set(response.expires_in as f64);
        tracing::info!(component.appid = %appid, expires_in = response.expires_in, "component_access_token refreshed");
        Ok((token, version + 1))
    }

    /// Calls a component API with the component token. If WeChat rejects the
    /// token itself (40001/40014/42001), refreshes it once and retries once.
    pub(crate) async fn call_component<B: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        appid: Option<&str>,
        path: &str,
        body: &B,
    ) -> Result<R, AuthError> {
        let (token, version) = self.component_token_versioned(None).await?;
        match self
            .client
            .post(appid, path, Some(("component_access_token", &token)), body)
            .await
        {
            Err(e) if e.errcode().is_some_and(wechat_api::errcode::is_token_error) => {
                tracing::info!(api = path, errcode = ?e.errcode(), "component token rejected by WeChat; refreshing once");
                let (token, _) = self.component_token_versioned(Some(version)).await?;
                Ok(self
                    .client
                    .post(appid, path, Some(("component_access_token", &token)), body)
                    .await?)
            }
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_code_key_is_stable_and_hides_the_code() {
        let key = auth_code_key("queryauthcode@@@secret");
        assert_eq!(key, auth_code_key("queryauthcode@@@secret"));
        assert_ne!(key, auth_code_key("queryauthcode@@@other"));
        assert!(!key.contains("secret"));
        assert_eq!(key.len(), "auth_code:".len() + 32);
    }
}
