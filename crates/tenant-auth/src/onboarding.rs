//! Merchant onboarding: one fresh pre_auth_code per visit of a link, the
//! WeChat authorization page (PC QR page or the mobile bindcomponent page),
//! and the auth_code exchange bound to the visit's tenant.
use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use store::{
    Secret,
    authorizers::{Authorization, AuthorizerInfo, AuthorizerProfile, StoredAuthorization},
    events::{self, NewEvent},
    onboarding::{LinkState, link_state},
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
    /// `componentloginpage`: a QR code the administrator scans.
    Pc,
    /// `bindcomponent`: opened inside WeChat on the administrator's phone.
    Mobile,
}

impl AuthPage {
    /// The page for a browser: an explicit `page=pc|mobile` wins, else the
    /// User-Agent (WeChat's in-app browser and phones get the mobile page).
    pub fn choose(requested: Option<&str>, user_agent: Option<&str>) -> Self {
        match requested {
            Some("mobile") => return AuthPage::Mobile,
            Some("pc") => return AuthPage::Pc,
            _ => {}
        }
        let ua = user_agent.unwrap_or_default();
        if ["MicroMessenger", "Mobile", "Android", "iPhone"]
            .iter()
            .any(|m| ua.contains(m))
        {
            AuthPage::Mobile
        } else {
            AuthPage::Pc
        }
    }
}

fn url_error(e: url::ParseError) -> AuthError {
    AuthError::Wechat(WechatError::Transport(format!("bad URL: {e}")))
}

impl TenantAuth {
    /// Starts a visit of an onboarding link: a fresh pre_auth_code, a visit
    /// row binding it to the link's tenant, and the WeChat authorization page
    /// URL to redirect the merchant to.
    pub async fn begin_onboarding(
        &self,
        link_token: &str,
        public_base_url: &Url,
        page: AuthPage,
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
        let path = match page {
            AuthPage::Pc => "cgi-bin/componentloginpage",
            AuthPage::Mobile => "safe/bindcomponent",
        };
        let mut url = self.config.mp_base.join(path).map_err(url_error)?;
        {
            let mut q = url.query_pairs_mut();
            if page == AuthPage::Mobile {
                q.append_pair("action", "bindcomponent")
                    .append_pair("no_scan", "1");
            }
            q.append_pair("component_appid", &self.config.appid)
                .append_pair("pre_auth_code", &response.pre_auth_code)
                .append_pair("redirect_uri", redirect_uri.as_str())
                .append_pair("auth_type", &link.auth_type.to_string());
            if let Some(biz_appid) = &link.biz_appid {
                q.append_pair("biz_appid", biz_appid);
            }
        }
        if page == AuthPage::Mobile {
            url.set_fragment(Some("wechat_redirect"));
        }
        Ok(url)
    }

    /// Finishes a visit: exchanges the auth_code and stores the authorizer
    /// under the visit's tenant (never a tenant the browser names). If the
    /// `authorized` push already applied this code, its result is shown.
    pub async fn complete_onboarding(
        &self,
        visit_id: &str,
        auth_code: &str,
    ) -> Result<OnboardingResult, AuthError> {
        let visit = self
            .store
            .onboarding_visit(visit_id)
            .await?
            // A refresh of the result page within the visit's life shows the
            // result again; after it, the visit is gone.
            .filter(|v| v.expires_at > self.clock.now())
            .ok_or(AuthError::VisitNotFound)?;
        let previous = self
            .store
            .event_by_dedupe_key(&auth_code_key(auth_code))
            .await?;
        let (appid, funcscopes, owner) = match previous.and_then(|e| e.authorizer_appid) {
            Some(appid) => {
                let owner = self
                    .store
                    .claim_unassigned_authorizer(&appid, &visit.tenant_id)
                    .await?;
                let funcscopes = self
                    .store
                    .authorizer(&appid)
                    .await?
                    .map(|a| a.funcscopes)
                    .unwrap_or_default();
                (appid, funcscopes, owner)
            }
            None => {
                let (auth, stored) = self
                    .exchange_auth_code(
                        auth_code,
                        Some(&visit.tenant_id),
                        events::AUTHORIZED,
                        self.clock.now(),
                    )
                    .await?;
                let owner = match stored {
                    StoredAuthorization::OwnedByOtherTenant { owner } => Some(owner),
                    _ => Some(visit.tenant_id.clone()),
                };
                (auth.appid, auth.funcscopes, owner)
            }
        };
        self.store
            .complete_onboarding_visit(&visit.id, &appid)
            .await?;
        Ok(OnboardingResult {
            owned_by_other_tenant: owner.as_deref() != Some(visit.tenant_id.as_str()),
            authorizer_appid: appid,
            tenant_id: visit.tenant_id,
            funcscopes,
        })
    }

    /// `api_query_auth`, then store the authorization (tokens, sets) with its
    /// event in one transaction, then fetch the profile (best effort).
    pub(crate) async fn exchange_auth_code(
        &self,
        auth_code: &str,
        tenant_id: Option<&str>,
        event_type: &'static str,
        occurred_at: DateTime<Utc>,
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
        let event = NewEvent {
            tenant_id: None,
            authorizer_appid: Some(auth.appid.clone()),
            event_type: event_type.to_owned(),
            data: serde_json::json!({
                "authorizer_appid": auth.appid,
                "funcscopes": auth.funcscopes,
            }),
            dedupe_key: auth_code_key(auth_code),
            occurred_at,
        };
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

    /// Fills name, gh_ id and principal from `api_get_authorizer_info`.
    /// Returns the authorization part of the answer, when WeChat gave one.
    pub async fn sync_authorizer_profile(
        &self,
        appid: &str,
    ) -> Result<Option<AuthorizationInfo>, AuthError> {
        let response: AuthorizerInfoResponse = self
            .call_component(
                "/cgi-bin/component/api_get_authorizer_info",
                &AuthorizerInfoRequest {
                    component_appid: self.config.appid.clone(),
                    authorizer_appid: appid.to_owned(),
                },
            )
            .await?;
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
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) MicroMessenger/8.0";
        let desktop = "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0";
        assert_eq!(AuthPage::choose(None, Some(iphone)), AuthPage::Mobile);
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
