//! Encrypted pushes to the gateway's authorization-event URL, sent exactly as
//! WeChat sends them (protocol.md §1–§3): POST
//! `{url}?signature=&timestamp=&nonce=&encrypt_type=aes&msg_signature=` with
//! body `<xml><AppId>…</AppId><Encrypt>…</Encrypt></xml>` (text/xml), the
//! plaintext encrypted with the component appid as trailer.
use serde::{Deserialize, Serialize};
use wxcrypt::MsgCrypt;

use crate::Simulator;

/// Why a push could not be delivered. A gateway that answers at all, even
/// with an error status, is a [`PushOutcome`], not an error.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(
        "no gateway events URL is configured (SimConfig::gateway_events_url or POST /sim/gateway)"
    )]
    NoGateway,
    #[error("gateway events URL {url:?} is not a valid URL: {source}")]
    InvalidGatewayUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    #[error("the simulator's token or EncodingAESKey is invalid: {0}")]
    Crypto(#[from] wxcrypt::CryptError),
    #[error(
        "no gateway app-events URL is configured (SimConfig::gateway_app_events_url or POST /sim/gateway {{app_events_url}})"
    )]
    NoAppGateway,
    #[error("{0:?} is not an appid (1 to 64 characters of [A-Za-z0-9_-])")]
    InvalidAppid(String),
    #[error("the event cannot be pushed: {0}")]
    InvalidEvent(String),
    #[error("nothing has been pushed yet")]
    NothingPushed,
    #[error("push to the gateway failed: {0}")]
    Http(#[from] reqwest::Error),
}

/// What the gateway answered to a push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushOutcome {
    /// The ticket pushed (ticket pushes only).
    pub ticket: Option<String>,
    /// The gateway's HTTP status; WeChat expects 200.
    pub status: u16,
    /// The gateway's body; WeChat expects `success`.
    pub body: String,
}

/// `<![CDATA[value]]>`, safe even if `value` contains `]]>`.
/// Encrypts `plaintext` as WeChat's safe mode does (the component's key and
/// appid trailer, whatever the message is about) into the envelope with
/// `outer` as its clear field, and adds `signature`, `timestamp`, `nonce`,
/// `openid` (when given), `encrypt_type` and `msg_signature` to `url`.
/// Returns the envelope. Both kinds of push seal through here.
pub(crate) fn seal(
    config: &crate::SimConfig,
    url: &mut url::Url,
    outer: (&str, &str),
    plaintext: &str,
    now: i64,
    openid: Option<&str>,
) -> Result<String, SimError> {
    let crypt = MsgCrypt::new(
        &config.token,
        &config.encoding_aes_key,
        &config.component_appid,
    )?;
    let timestamp = now.to_string();
    let nonce = rand::random_range(100_000_000u32..4_000_000_000).to_string();
    let (body, msg_signature) = crypt.seal_push(Some(outer), plaintext, &timestamp, &nonce);
    // `signature` is sha1 over the sorted [token, timestamp, nonce]. An empty
    // fourth value sorts first and adds nothing to the digest, so
    // `msg_signature` with "" computes exactly that.
    let signature = wxcrypt::msg_signature(&config.token, &timestamp, &nonce, "");
    let mut query = url.query_pairs_mut();
    query
        .append_pair("signature", &signature)
        .append_pair("timestamp", &timestamp)
        .append_pair("nonce", &nonce);
    if let Some(openid) = openid {
        query.append_pair("openid", openid);
    }
    query
        .append_pair("encrypt_type", "aes")
        .append_pair("msg_signature", &msg_signature);
    drop(query);
    Ok(body)
}

pub(crate) fn cdata(value: &str) -> String {
    format!("<![CDATA[{}]]>", value.replace("]]>", "]]]]><![CDATA[>"))
}

impl Simulator {
    /// Encrypts `plaintext_xml`, signs it and POSTs it to the gateway.
    async fn push_xml(
        &self,
        plaintext_xml: &str,
        ticket: Option<String>,
    ) -> Result<PushOutcome, SimError> {
        let config = self.config();
        let raw_url = config
            .gateway_events_url
            .clone()
            .ok_or(SimError::NoGateway)?;
        self.lock().last_push = Some((plaintext_xml.to_owned(), ticket.clone()));
        let mut url = url::Url::parse(&raw_url).map_err(|source| SimError::InvalidGatewayUrl {
            url: raw_url.clone(),
            source,
        })?;
        let body = seal(
            &config,
            &mut url,
            ("AppId", &config.component_appid),
            plaintext_xml,
            self.now(),
            None,
        )?;
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.text().await?;
        Ok(PushOutcome {
            ticket,
            status,
            body,
        })
    }

    /// Issues a new `component_verify_ticket` (`ticket@@@…`, accepted for
    /// 12 h) and pushes it.
    pub async fn push_ticket(&self) -> Result<PushOutcome, SimError> {
        if self.config().gateway_events_url.is_none() {
            return Err(SimError::NoGateway);
        }
        let (ticket, appid, now) = {
            let mut s = self.lock();
            (s.issue_ticket(), s.config.component_appid.clone(), s.now())
        };
        let xml = format!(
            "<xml><AppId>{}</AppId><CreateTime>{now}</CreateTime><InfoType>{}</InfoType><ComponentVerifyTicket>{}</ComponentVerifyTicket></xml>",
            cdata(&appid),
            cdata("component_verify_ticket"),
            cdata(&ticket),
        );
        let outcome = self.push_xml(&xml, Some(ticket)).await?;
        tracing::info!(
            info_type = "component_verify_ticket",
            gateway.status = outcome.status,
            "wechat-sim pushed"
        );
        Ok(outcome)
    }

    /// Authorizes `authorizer_appid` as the page would and pushes
    /// `info_type` (`authorized` or `updateauthorized`) with
    /// `AuthorizerAppid`, `AuthorizationCode` (valid 600 s, exchangeable with
    /// api_query_auth), `AuthorizationCodeExpiredTime` (unix seconds) and
    /// `PreAuthCode` (when given).
    ///
    /// The authorization gets a new refresh token (the old one stops working,
    /// 61023). Its permission sets: [`Simulator::set_next_authorization`]'s if
    /// that names this appid (consumed); else, for `updateauthorized`, the sets
    /// already granted; else the default sets. A known `pre_auth_code` is
    /// marked used, as the page visit this push follows would have; an unknown
    /// or used one is no error, so pushes can be repeated.
    pub async fn push_authorized(
        &self,
        info_type: &str,
        authorizer_appid: &str,
        pre_auth_code: Option<&str>,
    ) -> Result<PushOutcome, SimError> {
        if self.config().gateway_events_url.is_none() {
            return Err(SimError::NoGateway);
        }
        let issued = self
            .lock()
            .authorize_for_push(info_type, authorizer_appid, pre_auth_code);
        self.push_issued_authorization(info_type, authorizer_appid, &issued, pre_auth_code)
            .await
    }

    /// Pushes `authorized`/`updateauthorized` for a code already issued (the
    /// authorization page's own push carries the code of its redirect).
    pub(crate) async fn push_issued_authorization(
        &self,
        info_type: &str,
        authorizer_appid: &str,
        issued: &crate::state::IssuedAuthCode,
        pre_auth_code: Option<&str>,
    ) -> Result<PushOutcome, SimError> {
        let (appid, now) = {
            let s = self.lock();
            (s.config.component_appid.clone(), s.now())
        };
        let xml = format!(
            "<xml><AppId>{}</AppId><CreateTime>{now}</CreateTime><InfoType>{}</InfoType><AuthorizerAppid>{}</AuthorizerAppid><AuthorizationCode>{}</AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime>{}</xml>",
            cdata(&appid),
            cdata(info_type),
            cdata(authorizer_appid),
            cdata(&issued.code),
            issued.expires_at,
            pre_auth_code
                .map(|code| format!("<PreAuthCode>{}</PreAuthCode>", cdata(code)))
                .unwrap_or_default(),
        );
        let outcome = self.push_xml(&xml, None).await?;
        tracing::info!(
            info_type,
            authorizer.appid = authorizer_appid,
            gateway.status = outcome.status,
            "wechat-sim pushed"
        );
        Ok(outcome)
    }

    /// Sends the last push again, the same message freshly encrypted, as
    /// WeChat does when it got no `success` in time (it tries three times).
    pub async fn repeat_last_push(&self) -> Result<PushOutcome, SimError> {
        let last = self.lock().last_push.clone();
        let (xml, ticket) = last.ok_or(SimError::NothingPushed)?;
        self.push_xml(&xml, ticket).await
    }

    /// Revokes `authorizer_appid` (its tokens stop working; its refresh token
    /// gets 61003) and pushes `unauthorized`.
    pub async fn push_unauthorized(&self, authorizer_appid: &str) -> Result<PushOutcome, SimError> {
        if self.config().gateway_events_url.is_none() {
            return Err(SimError::NoGateway);
        }
        let (appid, now) = {
            let mut s = self.lock();
            s.revoke(authorizer_appid);
            (s.config.component_appid.clone(), s.now())
        };
        let xml = format!(
            "<xml><AppId>{}</AppId><CreateTime>{now}</CreateTime><InfoType>{}</InfoType><AuthorizerAppid>{}</AuthorizerAppid></xml>",
            cdata(&appid),
            cdata("unauthorized"),
            cdata(authorizer_appid),
        );
        let outcome = self.push_xml(&xml, None).await?;
        tracing::info!(
            info_type = "unauthorized",
            authorizer.appid = authorizer_appid,
            gateway.status = outcome.status,
            "wechat-sim pushed"
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::cdata;

    #[test]
    fn cdata_cannot_be_broken_out_of() {
        assert_eq!(cdata("a"), "<![CDATA[a]]>");
        assert_eq!(cdata("x]]>y"), "<![CDATA[x]]]]><![CDATA[>y]]>");
    }
}
