//! Merchant onboarding: a landing page for a link (no WeChat call), one
//! fresh pre_auth_code per click on its button (a visit), the WeChat
//! authorization page (PC `componentloginpage`, or the mobile
//! `bindcomponent` inside the phone's WeChat), and the auth_code exchange
//! bound to the visit's tenant, applied once whether WeChat's redirect or
//! its `authorized` push arrives first.
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use store::{
    Secret,
    authorizers::{Authorization, AuthorizerInfo, AuthorizerProfile, StoredAuthorization},
    events::NewEvent,
    onboarding::{LinkState, OnboardingLink, OnboardingVisit, VisitClaim, link_state},
};
use url::Url;
use wechat_api::component::{
    AuthorizationInfo, AuthorizerInfoRequest, AuthorizerInfoResponse, PreAuthCodeRequest,
    PreAuthCodeResponse, QueryAuthRequest, QueryAuthResponse,
};

use crate::{
    AuthError, OnboardingResult, TenantAuth, component::auth_code_key, wechat_client::WechatError,
};

/// Which WeChat authorization page a visit is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPage {
    /// `componentloginpage`: a QR code the administrator scans. Shown only
    /// when opened from a page on the platform's authorization domain.
    Pc,
    /// `bindcomponent` (open.weixin.qq.com/wxaopen): only works inside the
    /// WeChat client on a phone.
    Mobile,
}

impl AuthPage {
    /// The page for a browser: an explicit `page=pc|mobile` wins, else the
    /// User-Agent. Only the phone's WeChat client (`MicroMessenger` on a
    /// phone) gets the mobile page; desktop WeChat (`WindowsWechat`,
    /// `MacWechat`) and phone browsers outside WeChat get the PC page,
    /// which the mobile page would not work in.
    pub fn choose(requested: Option<&str>, user_agent: Option<&str>) -> Self {
        match requested {
            Some("mobile") => return AuthPage::Mobile,
            Some("pc") => return AuthPage::Pc,
            _ => {}
        }
        let ua = user_agent.unwrap_or_default();
        let in_wechat = ua.contains("MicroMessenger");
        let desktop_wechat = ["WindowsWechat", "MacWechat", "WindowsWeChat", "MacWeChat"]
            .iter()
            .any(|m| ua.contains(m));
        let phone = ["Mobile", "Android", "iPhone", "iPad"]
            .iter()
            .any(|m| ua.contains(m));
        if in_wechat && phone && !desktop_wechat {
            AuthPage::Mobile
        } else {
            AuthPage::Pc
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthPage::Pc => "pc",
            AuthPage::Mobile => "mobile",
        }
    }
}

/// What a link's landing page shows: who asks, for what.
#[derive(Debug, Clone)]
pub struct LinkLanding {
    pub tenant_name: String,
    /// 1 公众号, 2 小程序, 3 both (WeChat's `auth_type`).
    pub auth_type: i32,
    /// Set when the link is pinned to one Mini Program.
    pub biz_appid: Option<String>,
}

fn url_error(e: url::ParseError) -> AuthError {
    AuthError::Wechat(WechatError::Transport(format!("bad URL: {e}")))
}

impl TenantAuth {
    /// The link behind `link_token`, if it can be used now: not expired,
    /// revoked or (single-use) used, and its tenant active.
    async fn usable_link(&self, link_token: &str) -> Result<(OnboardingLink, String), AuthError> {
        let link = self
            .store
            .onboarding_link_by_token(link_token)
            .await?
            .ok_or(AuthError::LinkNotFound)?;
        match link_state(&link, self.clock.now()) {
            LinkState::Usable => {}
            state => return Err(AuthError::LinkUnusable(state)),
        }
        let tenant = self
            .store
            .tenant(&link.tenant_id)
            .await?
            .filter(store::tenants::Tenant::is_active)
            .ok_or(AuthError::TenantInactive)?;
        Ok((link, tenant.name))
    }

    /// What the landing page of a link shows. Calls nothing at WeChat: a
    /// link opened (or previewed by a chat app) costs no quota.
    pub async fn onboarding_landing(&self, link_token: &str) -> Result<LinkLanding, AuthError> {
        let (link, tenant_name) = self.usable_link(link_token).await?;
        Ok(LinkLanding {
            tenant_name,
            auth_type: link.auth_type,
            biz_appid: link.biz_appid,
        })
    }

    /// The landing page's button: a fresh pre_auth_code, a visit row
    /// binding it to the link's tenant, and the WeChat authorization page
    /// URL to send the merchant to.
    pub async fn begin_onboarding(
        &self,
        link_token: &str,
        public_base_url: &Url,
        page: AuthPage,
    ) -> Result<Url, AuthError> {
        let (link, _) = self.usable_link(link_token).await?;
        let response: PreAuthCodeResponse = self
            .call_component(
                None,
                wechat_api::paths::CREATE_PREAUTHCODE,
                &PreAuthCodeRequest {
                    component_appid: self.config.component.appid.clone(),
                },
            )
            .await?;
        // The doc says 1800 s, its example 600: trust expires_in, but leave the
        // merchant at least 10 minutes to come back.
        let lifetime = crate::token_lifetime(response.expires_in.max(600));
        let visit = self
            .store
            .create_onboarding_visit(&link, &response.pre_auth_code, self.clock.now() + lifetime)
            .await?;
        let mut redirect_uri = public_base_url
            .join("onboard/complete")
            .map_err(url_error)?;
        redirect_uri
            .query_pairs_mut()
            .append_pair("visit", &visit.id);
        let mut url = match page {
            AuthPage::Pc => self
                .config
                .wechat
                .mp_base
                .join("cgi-bin/componentloginpage"),
            // The current doc's host for the mobile page (WxJava uses it too).
            AuthPage::Mobile => self
                .config
                .wechat
                .open_base
                .join("wxaopen/safe/bindcomponent"),
        }
        .map_err(url_error)?;
        {
            let mut q = url.query_pairs_mut();
            if page == AuthPage::Mobile {
                q.append_pair("action", "bindcomponent")
                    .append_pair("no_scan", "1");
            }
            q.append_pair("component_appid", &self.config.component.appid)
                .append_pair("pre_auth_code", &response.pre_auth_code)
                .append_pair("redirect_uri", redirect_uri.as_str());
            // WeChat: auth_type and biz_appid are mutually exclusive.
            match &link.biz_appid {
                Some(biz_appid) => q.append_pair("biz_appid", biz_appid),
                None => q.append_pair("auth_type", &link.auth_type.to_string()),
            };
        }
        if page == AuthPage::Mobile {
            url.set_fragment(Some("wechat_redirect"));
        }
        Ok(url)
    }

    /// Finishes a visit when WeChat sends the browser back: exchanges the
    /// auth_code and stores the authorizer under the visit's tenant (never a
    /// tenant the browser names). Each visit completes once: a refresh of
    /// the result page, or a redirect that arrives after WeChat's
    /// `authorized` push applied the same code, shows the result; any other
    /// code for a completed visit is refused without calling WeChat.
    pub async fn complete_onboarding(
        &self,
        visit_id: &str,
        auth_code: &str,
    ) -> Result<OnboardingResult, AuthError> {
        match self
            .store
            .claim_onboarding_visit(visit_id, self.clock.now())
            .await?
        {
            VisitClaim::Claimed {
                visit,
                consumed_link,
            } => {
                let outcome = match self.appid_of_applied_code(auth_code).await? {
                    // WeChat's push stored it first, without a visit to bind.
                    Some(appid) => self
                        .store
                        .claim_unassigned_authorizer(&appid, &visit.tenant_id)
                        .await
                        .map(|_| appid)
                        .map_err(AuthError::from),
                    None => self
                        .exchange_auth_code(
                            auth_code,
                            Some(&visit.tenant_id),
                            false,
                            self.clock.now(),
                        )
                        .await
                        .map(|(auth, _)| store::Appid::from(auth.appid)),
                };
                match outcome {
                    Ok(appid) => {
                        self.store
                            .finish_onboarding_visit(&visit.id, &appid)
                            .await?;
                        self.onboarding_result(&visit, &appid).await
                    }
                    Err(e) => {
                        self.store
                            .release_onboarding_visit(&visit, consumed_link)
                            .await?;
                        Err(e)
                    }
                }
            }
            VisitClaim::AlreadyCompleted(visit) => {
                // The push may be applying this very code right now.
                let visit = self.finished_visit(visit).await?;
                match (
                    self.appid_of_applied_code(auth_code).await?,
                    &visit.authorizer_appid,
                ) {
                    (Some(code_appid), Some(visit_appid)) if &code_appid == visit_appid => {
                        self.onboarding_result(&visit, visit_appid).await
                    }
                    _ => Err(AuthError::VisitCompleted),
                }
            }
            VisitClaim::NotFound => Err(AuthError::VisitNotFound),
            VisitClaim::LinkUsed => Err(AuthError::LinkUnusable(LinkState::AlreadyUsed)),
            VisitClaim::LinkRevoked => Err(AuthError::LinkUnusable(LinkState::Revoked)),
            VisitClaim::TenantInactive => Err(AuthError::TenantInactive),
        }
    }

    /// The Mini Program an auth_code was already applied to, if it was.
    async fn appid_of_applied_code(
        &self,
        auth_code: &str,
    ) -> Result<Option<store::Appid>, AuthError> {
        Ok(self
            .store
            .event_by_dedupe_key(&auth_code_key(auth_code))
            .await?
            .and_then(|e| e.authorizer_appid))
    }

    /// A completed visit whose exchange is still running (claimed by
    /// WeChat's push a moment ago) gets up to a few seconds to finish.
    pub(crate) async fn finished_visit(
        &self,
        mut visit: OnboardingVisit,
    ) -> Result<OnboardingVisit, AuthError> {
        for _ in 0..50 {
            if visit.authorizer_appid.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            match self.store.onboarding_visit(&visit.id).await? {
                Some(v) if v.completed_at.is_some() => visit = v,
                // Released: the other exchange failed.
                _ => return Err(AuthError::VisitNotFound),
            }
        }
        Ok(visit)
    }

    async fn onboarding_result(
        &self,
        visit: &OnboardingVisit,
        appid: &str,
    ) -> Result<OnboardingResult, AuthError> {
        let stored = self.store.authorizer(appid).await?;
        let owner = stored.as_ref().and_then(|a| a.tenant_id.clone());
        Ok(OnboardingResult {
            owned_by_other_tenant: owner.as_deref() != Some(visit.tenant_id.as_str()),
            authorizer_appid: appid.to_owned(),
            tenant_id: visit.tenant_id.clone().into(),
            funcscopes: stored.map(|a| a.funcscopes).unwrap_or_default(),
        })
    }

    /// `api_query_auth`, then store the authorization (tokens, sets) with its
    /// event in one transaction, then fetch the profile (best effort).
    pub(crate) async fn exchange_auth_code(
        &self,
        auth_code: &str,
        tenant_id: Option<&str>,
        update: bool,
        occurred_at: DateTime<Utc>,
    ) -> Result<(Authorization, StoredAuthorization), AuthError> {
        let requested_at = self.clock.now();
        let response: QueryAuthResponse = self
            .call_component(
                None,
                wechat_api::paths::QUERY_AUTH,
                &QueryAuthRequest {
                    component_appid: self.config.component.appid.clone(),
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
        let funcscopes: BTreeSet<i64> = info
            .func_info
            .iter()
            .map(|f| f.funcscope_category.id)
            .collect();
        let auth = Authorization {
            appid: info.authorizer_appid,
            refresh_token: Secret::new(refresh_token),
            access_token: info
                .authorizer_access_token
                .filter(|t| !t.is_empty())
                .map(|t| {
                    (
                        Secret::new(t),
                        requested_at + crate::token_lifetime(info.expires_in.unwrap_or(7200)),
                    )
                }),
            funcscopes,
        };
        let event = NewEvent::authorized(
            &auth.appid,
            &auth.funcscopes,
            update,
            auth_code_key(auth_code),
            occurred_at,
        );
        let outcome = self
            .store
            .store_authorization(tenant_id, &auth, Some(event))
            .await?;
        if outcome == StoredAuthorization::Duplicate {
            return Ok((auth, outcome));
        }
        self.forget_authorizer(&auth.appid);
        tracing::info!(
            authorizer.appid = %auth.appid,
            tenant.id = tenant_id.unwrap_or("-"),
            funcscopes = ?auth.funcscopes,
            "authorization stored"
        );
        if let Err(e) = self.sync_authorizer_profile(&auth.appid).await {
            // The authorization stands without a name; re-sync later.
            tracing::warn!(authorizer.appid = %auth.appid, error = %e, "api_get_authorizer_info failed");
        }
        Ok((auth, outcome))
    }

    /// `api_get_authorizer_info` for `appid`: its profile and, when WeChat
    /// gives it, the authorization (sets, refresh token).
    pub(crate) async fn authorizer_info(
        &self,
        appid: &str,
    ) -> Result<AuthorizerInfoResponse, AuthError> {
        self.call_component(
            Some(appid),
            wechat_api::paths::AUTHORIZER_INFO,
            &AuthorizerInfoRequest {
                component_appid: self.config.component.appid.clone(),
                authorizer_appid: appid.to_owned(),
            },
        )
        .await
    }

    /// Fills name, gh_ id and principal from `api_get_authorizer_info`.
    /// Returns the authorization part of the answer, when WeChat gave one.
    pub async fn sync_authorizer_profile(
        &self,
        appid: &str,
    ) -> Result<Option<AuthorizationInfo>, AuthError> {
        let response = self.authorizer_info(appid).await?;
        let info = response.authorizer_info;
        self.store
            .set_authorizer_profile(
                appid,
                &AuthorizerProfile {
                    nick_name: info.nick_name,
                    user_name: info.user_name,
                    principal_name: info.principal_name,
                },
            )
            .await?;
        Ok(response.authorization_info)
    }

    /// Re-reads an authorizer from `api_get_authorizer_info`: profile and
    /// granted permission sets (in case an `updateauthorized` push was
    /// lost). Returns the authorizer as stored afterwards.
    pub async fn resync_authorizer(&self, appid: &str) -> Result<AuthorizerInfo, AuthError> {
        if let Some(authorization) = self.sync_authorizer_profile(appid).await? {
            let sets: BTreeSet<i64> = authorization.funcscope_ids().into_iter().collect();
            self.store.replace_funcscopes(appid, &sets).await?;
        }
        self.store
            .authorizer(appid)
            .await?
            .ok_or_else(|| AuthError::AuthorizerNotFound(appid.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::AuthPage;

    #[test]
    fn page_follows_request_then_user_agent() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47";
        let desktop = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0";
        let desktop_wechat = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090a13)";
        let phone_browser =
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(AuthPage::choose(None, Some(iphone)), AuthPage::Mobile);
        assert_eq!(AuthPage::choose(None, Some(desktop_wechat)), AuthPage::Pc);
        assert_eq!(AuthPage::choose(None, Some(phone_browser)), AuthPage::Pc);
        assert_eq!(AuthPage::choose(None, Some(desktop)), AuthPage::Pc);
        assert_eq!(AuthPage::choose(None, None), AuthPage::Pc);
        assert_eq!(AuthPage::choose(Some("pc"), Some(iphone)), AuthPage::Pc);
        assert_eq!(
            AuthPage::choose(Some("mobile"), Some(desktop)),
            AuthPage::Mobile
        );
        assert_eq!(AuthPage::choose(Some("tv"), Some(desktop)), AuthPage::Pc);
    }
}
