//! Tenant authorization: everything about holding WeChat's trust on behalf of
//! many Mini Programs.
//!
//! - **Ticket intake**: verify, decrypt and apply component pushes
//!   ([`TenantAuth::receive_component_push`]).
//! - **component_access_token** from the stored ticket, cached in the DB and
//!   refreshed before expiry ([`TenantAuth::component_access_token`]).
//! - **Onboarding**: pre_auth_code per visit, the authorization page URL, and
//!   the auth_code exchange bound to the visit's tenant.
//! - **authorizer_access_token**: cached, refreshed inside the margin with a
//!   per-appid single-flight and a compare-and-set write; forced refresh after
//!   a token errcode expires only the token that failed.
//!
//! # Layout
//! `push` (XML of pushes), `wechat_client` (HTTP to WeChat), `permissions`
//! (funcscope ids), `clock`, `config`, `error`; the service is in this file.
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
mod error;
pub mod permissions;
pub mod push;
pub mod wechat_client;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use store::{
    Secret, Store,
    authorizers::{
        Authorization, AuthorizerTokens, STATUS_ACTIVE, STATUS_REAUTHORIZATION_REQUIRED,
        STATUS_REVOKED, StoredAuthorization,
    },
    coord::KeyedLocks,
    onboarding::{LinkState, link_state},
};
use url::Url;
use wechat_api::component::{
    AuthorizerTokenRequest, AuthorizerTokenResponse, ComponentTokenRequest, ComponentTokenResponse,
    PreAuthCodeRequest, PreAuthCodeResponse, QueryAuthRequest, QueryAuthResponse,
};
use wxcrypt::MsgCrypt;

pub use clock::Clock;
pub use config::ComponentConfig;
pub use error::AuthError;
pub use push::ComponentPush;
pub use wechat_client::{WechatClient, WechatError};

/// WeChat errcode: the refresh token is invalid (revoked, re-authorized, wrong).
const REFRESH_TOKEN_INVALID: i64 = 61023;

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
}

/// A usable authorizer access token and the version it was read at (pass it
/// back to [`TenantAuth::force_refresh_authorizer`] after a token errcode).
#[derive(Debug, Clone)]
pub struct AuthorizerAccess {
    pub token: Secret,
    pub version: i64,
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

/// The tenant-authorization service. Cheap to clone.
#[derive(Clone)]
pub struct TenantAuth {
    store: Store,
    client: WechatClient,
    config: std::sync::Arc<ComponentConfig>,
    crypt: std::sync::Arc<MsgCrypt>,
    locks: KeyedLocks,
    clock: Clock,
}

impl TenantAuth {
    pub fn new(store: Store, config: ComponentConfig, clock: Clock) -> Result<Self, AuthError> {
        let mut crypt = MsgCrypt::new(
            config.token.expose(),
            config.encoding_aes_key.expose(),
            &config.appid,
        )?;
        if let Some(previous) = &config.previous_encoding_aes_key {
            crypt = crypt.with_previous_key(previous.expose())?;
        }
        let client = WechatClient::new(config.api_base.clone(), config.http_timeout)?;
        Ok(Self {
            store,
            client,
            config: std::sync::Arc::new(config),
            crypt: std::sync::Arc::new(crypt),
            locks: KeyedLocks::default(),
            clock,
        })
    }

    pub fn store(&self) -> &Store {
        &self.store
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

    fn margin(&self) -> Duration {
        Duration::from_std(self.config.refresh_margin).unwrap_or(Duration::minutes(10))
    }

    fn still_fresh(&self, expires_at: DateTime<Utc>) -> bool {
        expires_at - self.margin() > self.clock.now()
    }

    // === component pushes ===

    /// Verifies, decrypts and applies one push to the authorization-event URL.
    /// Returns only after the effect is committed, so answering `success`
    /// after `Ok` never acknowledges something that was lost.
    pub async fn receive_component_push(
        &self,
        query: &PushQuery,
        body: &str,
    ) -> Result<PushOutcome, AuthError> {
        let decrypted =
            self.crypt
                .open(&query.msg_signature, &query.timestamp, &query.nonce, body)?;
        let push = push::parse_component_push(&decrypted.message)?;
        if push.appid() != self.config.appid {
            return Err(AuthError::PushWrongComponent {
                expected: self.config.appid.clone(),
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
                    .save_verify_ticket(&self.config.appid, &Secret::new(ticket), create_time)
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
                ..
            } => {
                // The pre_auth_code ties the push to the visit (and tenant)
                // that started it; without a match the authorizer is stored
                // unassigned for an operator to place.
                let visit = match &pre_auth_code {
                    Some(code) => self.store.onboarding_visit_by_pre_auth_code(code).await?,
                    None => None,
                };
                let tenant_id = visit.as_ref().map(|v| v.tenant_id.clone());
                let (auth, _) = self
                    .exchange_auth_code(&authorization_code, tenant_id.as_deref())
                    .await?;
                if auth.appid != authorizer_appid {
                    tracing::warn!(
                        authorizer.appid = %authorizer_appid,
                        exchanged.appid = %auth.appid,
                        "authorized push: code exchanged for a different appid than announced"
                    );
                }
                if let Some(visit) = visit {
                    self.store
                        .complete_onboarding_visit(&visit.id, &auth.appid)
                        .await?;
                }
                Ok(PushOutcome::Authorized {
                    authorizer_appid: auth.appid,
                    tenant_id,
                })
            }
            ComponentPush::Unauthorized {
                authorizer_appid, ..
            } => {
                let known = self
                    .store
                    .set_authorizer_status(&authorizer_appid, STATUS_REVOKED)
                    .await?;
                Ok(PushOutcome::Unauthorized {
                    authorizer_appid,
                    known,
                })
            }
            ComponentPush::Other { info_type, .. } => Ok(PushOutcome::Ignored { info_type }),
        }
    }

    // === component_access_token ===

    /// A component_access_token valid for longer than the refresh margin.
    pub async fn component_access_token(&self) -> Result<Secret, AuthError> {
        Ok(self.component_token_versioned().await?.0)
    }

    /// The token and the version it was read at (for a later forced refresh).
    async fn component_token_versioned(&self) -> Result<(Secret, i64), AuthError> {
        let appid = &self.config.appid;
        let stored = self.store.component_token(appid).await?;
        if let Some((token, expires_at)) = stored.token
            && self.still_fresh(expires_at)
        {
            return Ok((token, stored.version));
        }
        // Single-flight: one task refreshes, the others wait and re-read.
        let _guard = self.locks.lock(&format!("component:{appid}")).await;
        let stored = self.store.component_token(appid).await?;
        if let Some((token, expires_at)) = stored.token
            && self.still_fresh(expires_at)
        {
            return Ok((token, stored.version));
        }
        self.fetch_component_token(stored.version).await
    }

    /// After WeChat rejected the token read at `failed_version`: replace it,
    /// unless another task already did.
    async fn force_component_refresh(
        &self,
        failed_version: i64,
    ) -> Result<(Secret, i64), AuthError> {
        let appid = &self.config.appid;
        let _guard = self.locks.lock(&format!("component:{appid}")).await;
        let stored = self.store.component_token(appid).await?;
        if stored.version != failed_version
            && let Some((token, expires_at)) = stored.token
            && self.still_fresh(expires_at)
        {
            return Ok((token, stored.version));
        }
        self.fetch_component_token(stored.version).await
    }

    /// `api_component_token` with the stored ticket; compare-and-set store.
    async fn fetch_component_token(&self, version: i64) -> Result<(Secret, i64), AuthError> {
        let appid = &self.config.appid;
        let ticket = self
            .store
            .verify_ticket(appid)
            .await?
            .ok_or(AuthError::NoTicket)?;
        let requested_at = self.clock.now();
        let response: ComponentTokenResponse = self
            .client
            .post(
                "/cgi-bin/component/api_component_token",
                None,
                &ComponentTokenRequest {
                    component_appid: appid.clone(),
                    component_appsecret: self.config.secret.expose().to_owned(),
                    component_verify_ticket: ticket.ticket.expose().to_owned(),
                },
            )
            .await?;
        let token = Secret::new(response.component_access_token);
        // Expiry counts from when we asked, so transit time only makes us early.
        let expires_at = requested_at + Duration::seconds(response.expires_in);
        if !self
            .store
            .save_component_token(appid, version, &token, expires_at)
            .await?
        {
            tracing::info!(component.appid = %appid, "component token: another writer stored a newer token");
        }
        tracing::info!(component.appid = %appid, expires_in = response.expires_in, "component_access_token refreshed");
        Ok((token, version + 1))
    }

    /// Calls a component API with the component token. If WeChat rejects the
    /// token itself (40001/40014/42001), refreshes it once and retries once.
    async fn call_component<B: serde::Serialize, R: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, AuthError> {
        let (token, version) = self.component_token_versioned().await?;
        match self
            .client
            .post(path, Some(("component_access_token", &token)), body)
            .await
        {
            Err(e) if e.errcode().is_some_and(wechat_api::errcode::is_token_error) => {
                tracing::info!(api = path, errcode = ?e.errcode(), "component token rejected by WeChat; refreshing once");
                let (token, _) = self.force_component_refresh(version).await?;
                Ok(self
                    .client
                    .post(path, Some(("component_access_token", &token)), body)
                    .await?)
            }
            other => Ok(other?),
        }
    }

    // === onboarding ===

    /// Starts a visit of an onboarding link: a fresh pre_auth_code, a visit
    /// row binding it to the link's tenant, and the WeChat authorization page
    /// URL to redirect the merchant to.
    pub async fn begin_onboarding(
        &self,
        link_token: &str,
        public_base_url: &Url,
    ) -> Result<Url, AuthError> {
        let link = self
            .store
            .onboarding_link_by_token(link_token)
            .await?
            .ok_or(AuthError::LinkNotFound)?;
        match link_state(&link, self.clock.now()) {
            LinkState::Usable => {}
            state => return Err(AuthError::LinkUnusable(state)),
        }
        let response: PreAuthCodeResponse = self
            .call_component(
                "/cgi-bin/component/api_create_preauthcode",
                &PreAuthCodeRequest {
                    component_appid: self.config.appid.clone(),
                },
            )
            .await?;
        // The doc says 1800 s, its example 600: trust expires_in, but leave the
        // merchant at least 10 minutes to come back.
        let lifetime = Duration::seconds(response.expires_in.max(600));
        let visit = self
            .store
            .create_onboarding_visit(&link, &response.pre_auth_code, self.clock.now() + lifetime)
            .await?;
        let mut redirect_uri = public_base_url
            .join("onboard/complete")
            .map_err(|e| AuthError::Wechat(WechatError::Transport(e.to_string())))?;
        redirect_uri
            .query_pairs_mut()
            .append_pair("visit", &visit.id);
        let mut page = self
            .config
            .mp_base
            .join("cgi-bin/componentloginpage")
            .map_err(|e| AuthError::Wechat(WechatError::Transport(e.to_string())))?;
        {
            let mut q = page.query_pairs_mut();
            q.append_pair("component_appid", &self.config.appid)
                .append_pair("pre_auth_code", &response.pre_auth_code)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("auth_type", &link.auth_type.to_string());
            if let Some(biz_appid) = &link.biz_appid {
                q.append_pair("biz_appid", biz_appid);
            }
        }
        Ok(page)
    }

    /// Finishes a visit: exchanges the auth_code and stores the authorizer
    /// under the visit's tenant (never a tenant the browser names).
    pub async fn complete_onboarding(
        &self,
        visit_id: &str,
        auth_code: &str,
    ) -> Result<OnboardingResult, AuthError> {
        let visit = self
            .store
            .onboarding_visit(visit_id)
            .await?
            // A refresh of the result page within the visit's life re-runs
            // the (idempotent) exchange; after it, the visit is gone.
            .filter(|v| v.expires_at > self.clock.now())
            .ok_or(AuthError::VisitNotFound)?;
        let (auth, outcome) = self
            .exchange_auth_code(auth_code, Some(&visit.tenant_id))
            .await?;
        self.store
            .complete_onboarding_visit(&visit.id, &auth.appid)
            .await?;
        Ok(OnboardingResult {
            authorizer_appid: auth.appid,
            tenant_id: visit.tenant_id,
            funcscopes: auth.funcscopes,
            owned_by_other_tenant: matches!(
                outcome,
                StoredAuthorization::OwnedByOtherTenant { .. }
            ),
        })
    }

    /// `api_query_auth`, then store the authorization (tokens, sets) at once.
    async fn exchange_auth_code(
        &self,
        auth_code: &str,
        tenant_id: Option<&str>,
    ) -> Result<(Authorization, StoredAuthorization), AuthError> {
        let requested_at = self.clock.now();
        let response: QueryAuthResponse = self
            .call_component(
                "/cgi-bin/component/api_query_auth",
                &QueryAuthRequest {
                    component_appid: self.config.appid.clone(),
                    authorization_code: auth_code.to_owned(),
                },
            )
            .await?;
        let info = response.authorization_info;
        let Some(refresh_token) = info.authorizer_refresh_token.filter(|t| !t.is_empty()) else {
            // Accounts without API permissions get no tokens (protocol.md §6).
            return Err(AuthError::Wechat(WechatError::Decode(
                "api_query_auth returned no authorizer_refresh_token (no API permission granted)"
                    .into(),
            )));
        };
        let auth = Authorization {
            appid: info.authorizer_appid,
            refresh_token: Secret::new(refresh_token),
            access_token: info
                .authorizer_access_token
                .filter(|t| !t.is_empty())
                .map(|t| {
                    (
                        Secret::new(t),
                        requested_at + Duration::seconds(info.expires_in.unwrap_or(7200)),
                    )
                }),
            funcscopes: info
                .func_info
                .iter()
                .map(|f| f.funcscope_category.id)
                .collect(),
        };
        let outcome = self.store.store_authorization(tenant_id, &auth).await?;
        tracing::info!(
            authorizer.appid = %auth.appid,
            tenant.id = tenant_id.unwrap_or("-"),
            funcscopes = ?auth.funcscopes,
            "authorization stored"
        );
        Ok((auth, outcome))
    }

    // === authorizer_access_token ===

    /// An access token for `appid`, valid beyond the refresh margin; refreshed
    /// (once, by one task) when inside it.
    pub async fn authorizer_access_token(
        &self,
        appid: &str,
    ) -> Result<AuthorizerAccess, AuthError> {
        let tokens = self.load_tokens(appid).await?;
        if let Some(access) = self.fresh_access(&tokens) {
            return Ok(access);
        }
        let _guard = self.locks.lock(&format!("authorizer:{appid}")).await;
        let tokens = self.load_tokens(appid).await?;
        if let Some(access) = self.fresh_access(&tokens) {
            return Ok(access);
        }
        self.refresh_authorizer(appid, &tokens).await
    }

    /// After WeChat rejected the token read at `failed_version` (40001,
    /// 40014, 42001): expire it only if it is still the cached one, then get
    /// a fresh one. A burst of failures thus causes one refresh.
    pub async fn force_refresh_authorizer(
        &self,
        appid: &str,
        failed_version: i64,
    ) -> Result<AuthorizerAccess, AuthError> {
        let _guard = self.locks.lock(&format!("authorizer:{appid}")).await;
        let tokens = self.load_tokens(appid).await?;
        if tokens.version != failed_version
            && let Some(access) = self.fresh_access(&tokens)
        {
            return Ok(access); // someone already replaced the failed token
        }
        self.refresh_authorizer(appid, &tokens).await
    }

    async fn load_tokens(&self, appid: &str) -> Result<AuthorizerTokens, AuthError> {
        let tokens = self
            .store
            .authorizer_tokens(appid)
            .await?
            .ok_or_else(|| AuthError::AuthorizerNotFound(appid.to_owned()))?;
        if tokens.status != STATUS_ACTIVE {
            return Err(AuthError::AuthorizerInactive {
                appid: appid.to_owned(),
                status: tokens.status,
            });
        }
        Ok(tokens)
    }

    fn fresh_access(&self, tokens: &AuthorizerTokens) -> Option<AuthorizerAccess> {
        match &tokens.access_token {
            Some((token, expires_at)) if self.still_fresh(*expires_at) => Some(AuthorizerAccess {
                token: token.clone(),
                version: tokens.version,
            }),
            _ => None,
        }
    }

    async fn refresh_authorizer(
        &self,
        appid: &str,
        tokens: &AuthorizerTokens,
    ) -> Result<AuthorizerAccess, AuthError> {
        let requested_at = self.clock.now();
        let result: Result<AuthorizerTokenResponse, AuthError> = self
            .call_component(
                "/cgi-bin/component/api_authorizer_token",
                &AuthorizerTokenRequest {
                    component_appid: self.config.appid.clone(),
                    authorizer_appid: appid.to_owned(),
                    authorizer_refresh_token: tokens.refresh_token.expose().to_owned(),
                },
            )
            .await;
        let response = match result {
            Ok(r) => r,
            Err(AuthError::Wechat(err)) if err.errcode() == Some(REFRESH_TOKEN_INVALID) => {
                // Stop calling WeChat for it; recovery via
                // api_get_authorizer_list is the full-depth work.
                self.store
                    .set_authorizer_status(appid, STATUS_REAUTHORIZATION_REQUIRED)
                    .await?;
                tracing::warn!(authorizer.appid = %appid, "refresh token rejected (61023); authorizer needs re-authorization");
                return Err(AuthError::AuthorizerInactive {
                    appid: appid.to_owned(),
                    status: STATUS_REAUTHORIZATION_REQUIRED.to_owned(),
                });
            }
            Err(err) => return Err(err),
        };
        let access = Secret::new(response.authorizer_access_token);
        // Persist whatever refresh token came back (it may rotate), in the
        // same write as the access token.
        let refresh = if response.authorizer_refresh_token.is_empty() {
            tokens.refresh_token.clone()
        } else {
            Secret::new(response.authorizer_refresh_token)
        };
        let expires_at = requested_at + Duration::seconds(response.expires_in);
        if self
            .store
            .save_authorizer_tokens(appid, tokens.version, &access, expires_at, &refresh)
            .await?
        {
            tracing::info!(authorizer.appid = %appid, expires_in = response.expires_in, "authorizer_access_token refreshed");
            Ok(AuthorizerAccess {
                token: access,
                version: tokens.version + 1,
            })
        } else {
            // Lost a race to another writer: theirs is newer; use it.
            let tokens = self.load_tokens(appid).await?;
            self.fresh_access(&tokens).ok_or_else(|| {
                AuthError::Store(store::StoreError::Conflict(
                    "concurrent authorizer token refresh".into(),
                ))
            })
        }
    }
}
