//! A small HTTP client for WeChat's JSON APIs.
//!
//! WeChat answers HTTP 200 with `{"errcode":N,"errmsg":…}` on failure, so
//! success is decided by `errcode`, not by the status. Tokens travel in the
//! query string; errors never carry the URL (reqwest's errors would print it,
//! token included), and nothing here logs bodies.
use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};
use store::Secret;
use url::Url;
use wechat_api::WechatStatus;

#[derive(Debug, thiserror::Error)]
pub enum WechatError {
    #[error("WeChat could not be reached: {0}")]
    Transport(String),
    /// No answer in time: for a write, WeChat may or may not have acted.
    #[error("WeChat did not answer in time: {0}")]
    Timeout(String),
    #[error("WeChat answered HTTP {0}")]
    HttpStatus(u16),
    #[error("WeChat answered errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    #[error("WeChat's answer could not be read: {0}")]
    Decode(String),
}

impl WechatError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WechatError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }
}

/// A transport error without the URL (it carries the token); a timeout says
/// so, because for a write it means the outcome is unknown.
fn transport(e: reqwest::Error) -> WechatError {
    if e.is_timeout() {
        WechatError::Timeout(e.without_url().to_string())
    } else {
        WechatError::Transport(e.without_url().to_string())
    }
}

#[derive(Clone, Debug)]
pub struct WechatClient {
    http: reqwest::Client,
    api_base: Url,
}

impl WechatClient {
    pub fn new(api_base: Url, timeout: Duration) -> Result<Self, WechatError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("tpgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| WechatError::Transport(e.without_url().to_string()))?;
        Ok(Self { http, api_base })
    }

    /// The URL of `path` with `token` as the query parameter `token_param`
    /// (`access_token` or `component_access_token`) when given.
    fn url(&self, path: &str, token: Option<(&str, &Secret)>) -> Result<Url, WechatError> {
        let mut url = self
            .api_base
            .join(path.trim_start_matches('/'))
            .map_err(|e| WechatError::Transport(format!("bad WeChat path {path}: {e}")))?;
        if let Some((param, token)) = token {
            url.query_pairs_mut().append_pair(param, token.expose());
        }
        Ok(url)
    }

    /// POSTs `body` to `path`, with `token` as the query parameter `token_param`
    /// (`access_token` or `component_access_token`) when given. Returns the
    /// whole JSON answer when errcode is 0 or absent.
    pub async fn post_value<B: Serialize + ?Sized>(
        &self,
        path: &str,
        token: Option<(&str, &Secret)>,
        body: &B,
    ) -> Result<serde_json::Value, WechatError> {
        let url = self.url(path, token)?;
        Self::answer(self.http.post(url).json(body).send().await).await
    }

    /// GETs `path` (WeChat's few GET APIs, e.g. the logistics helper's
    /// `delivery/getall`: no body, the token in the query), like
    /// [`post_value`](Self::post_value) otherwise.
    pub async fn get_value(
        &self,
        path: &str,
        token: Option<(&str, &Secret)>,
    ) -> Result<serde_json::Value, WechatError> {
        let url = self.url(path, token)?;
        Self::answer(self.http.get(url).send().await).await
    }

    /// WeChat's answer as JSON when its errcode is 0 or absent.
    async fn answer(
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<serde_json::Value, WechatError> {
        let response = sent.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(WechatError::HttpStatus(status.as_u16()));
        }
        let bytes = response.bytes().await.map_err(transport)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| WechatError::Decode(e.to_string()))?;
        let status: WechatStatus = serde_json::from_value(value.clone())
            .map_err(|e| WechatError::Decode(e.to_string()))?;
        if status.is_ok() {
            Ok(value)
        } else {
            Err(WechatError::Api {
                errcode: status.errcode,
                errmsg: status.errmsg,
            })
        }
    }

    /// Like [`post_value`](Self::post_value), decoded into `R`.
    pub async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        token: Option<(&str, &Secret)>,
        body: &B,
    ) -> Result<R, WechatError> {
        let value = self.post_value(path, token, body).await?;
        serde_json::from_value(value).map_err(|e| WechatError::Decode(e.to_string()))
    }
}
