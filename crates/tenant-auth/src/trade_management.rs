//! A Mini Program's trade-management state (`is_trade_managed`,
//! `is_trade_management_confirmation_completed`), asked of WeChat with its
//! own access token at most once per `max_age` (once across replicas) and
//! cached in the store.
use chrono::Duration;
use store::trade_management::{TradeManagement, TradeManagementFetch};
use wechat_api::{
    errcode::is_token_error,
    paths,
    shipping::{IsTradeManagedResponse, TradeManagedRequest, TradeManagementConfirmationResponse},
};

use crate::{AuthError, TenantAuth, wechat_client::WechatError};

/// How soon an asked-for refresh may follow the last attempt: each one
/// spends two calls of the Mini Program's WeChat quota.
pub const FORCED_REFRESH_INTERVAL: Duration = Duration::minutes(1);

impl TenantAuth {
    /// `appid`'s trade-management state: the cached one, fetched anew when
    /// the last attempt is older than `max_age` (or, with `force`, than
    /// [`FORCED_REFRESH_INTERVAL`]). A failed fetch is recorded (keeping
    /// the last answers) and not retried before the interval ends; only
    /// storage errors are errors here.
    pub async fn trade_management(
        &self,
        appid: &str,
        max_age: Duration,
        force: bool,
    ) -> Result<TradeManagement, AuthError> {
        let now = self.clock.now();
        let interval = if force {
            FORCED_REFRESH_INTERVAL.min(max_age)
        } else {
            max_age
        };
        if !self
            .store
            .claim_trade_management_fetch(appid, now, interval)
            .await?
        {
            // Fetched recently, or being fetched by someone else right now.
            return Ok(self
                .store
                .trade_management(appid)
                .await?
                .unwrap_or_else(|| TradeManagement::unknown(appid)));
        }
        let fetch = match self.fetch_trade_management(appid).await {
            Ok((is_trade_managed, confirmation_completed)) => TradeManagementFetch::Fetched {
                is_trade_managed,
                confirmation_completed,
            },
            Err(e) => {
                tracing::warn!(appid, error = %e, "could not fetch the trade-management state");
                failure(&e)
            }
        };
        Ok(self.store.save_trade_management(appid, now, fetch).await?)
    }

    /// Both answers, with one forced token refresh if WeChat rejects the
    /// token (as the proxy does).
    async fn fetch_trade_management(&self, appid: &str) -> Result<(bool, bool), FetchError> {
        let access = self
            .authorizer_access_token(appid)
            .await
            .map_err(FetchError::Token)?;
        match self.ask_trade_management(appid, &access.token).await {
            Err(WechatError::Api { errcode, .. }) if is_token_error(errcode) => {
                let fresh = self
                    .force_refresh_authorizer(appid, access.version)
                    .await
                    .map_err(FetchError::Token)?;
                self.ask_trade_management(appid, &fresh.token)
                    .await
                    .map_err(FetchError::Call)
            }
            other => other.map_err(FetchError::Call),
        }
    }

    /// Seed 004 §VII and §VIII: both APIs take `{"appid": …}` with the
    /// Mini Program's own access token ("only this account can be queried by
    /// non-service providers"; tpgate calls as the account, with its
    /// authorizer token).
    async fn ask_trade_management(
        &self,
        appid: &str,
        token: &store::Secret,
    ) -> Result<(bool, bool), WechatError> {
        let body = TradeManagedRequest {
            appid: appid.to_owned(),
        };
        let token = Some(("access_token", token));
        let managed: IsTradeManagedResponse = self
            .client
            .post(Some(appid), paths::IS_TRADE_MANAGED, token, &body)
            .await?;
        let confirmation: TradeManagementConfirmationResponse = self
            .client
            .post(
                Some(appid),
                paths::IS_TRADE_MANAGEMENT_CONFIRMATION_COMPLETED,
                token,
                &body,
            )
            .await?;
        Ok((managed.is_trade_managed, confirmation.completed))
    }
}

#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error("no usable access token: {0}")]
    Token(AuthError),
    #[error(transparent)]
    Call(WechatError),
}

/// The failure as a tenant may read it. A token refresh is a
/// platform-level call whose errmsg can name the platform's egress IP, so
/// only its errcode is kept (the call log has the rest, for operators); the
/// trade-management calls themselves are the Mini Program's own.
fn failure(e: &FetchError) -> TradeManagementFetch {
    let (errcode, error) = match e {
        FetchError::Token(AuthError::Wechat(WechatError::Api { errcode, .. })) => (
            Some(*errcode),
            format!(
                "no usable access token: WeChat refused the token refresh with errcode {errcode}"
            ),
        ),
        FetchError::Token(AuthError::Wechat(e)) => (None, format!("no usable access token: {e}")),
        FetchError::Token(e) => (None, format!("no usable access token: {e}")),
        FetchError::Call(e) => (e.errcode(), e.to_string()),
    };
    TradeManagementFetch::Failed { errcode, error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_level_errmsgs_are_withheld() {
        let refused = FetchError::Token(AuthError::Wechat(WechatError::Api {
            errcode: 61004,
            errmsg: "access clientip 203.0.113.7 is not registered".into(),
        }));
        let TradeManagementFetch::Failed { errcode, error } = failure(&refused) else {
            panic!("a failure");
        };
        assert_eq!(errcode, Some(61004));
        assert!(!error.contains("203.0.113.7"), "{error}");
        // The Mini Program's own call keeps WeChat's words.
        let own = FetchError::Call(WechatError::Api {
            errcode: 61007,
            errmsg: "api unauthorized".into(),
        });
        let TradeManagementFetch::Failed { errcode, error } = failure(&own) else {
            panic!("a failure");
        };
        assert_eq!(errcode, Some(61007));
        assert!(error.contains("api unauthorized"), "{error}");
    }
}
