//! Encrypted pushes to the gateway's authorization-event URL, as WeChat sends them.
use serde::Serialize;
use wxcrypt::MsgCrypt;

use crate::Simulator;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("no gateway events URL is configured")]
    NoGateway,
    #[error("simulator crypto configuration is invalid: {0}")]
    Crypto(#[from] wxcrypt::CryptError),
    #[error("push failed: {0}")]
    Http(String),
}

/// What the gateway answered to a push.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    /// The ticket pushed, for ticket pushes.
    pub ticket: Option<String>,
    pub status: u16,
    pub body: String,
}

impl Simulator {
    async fn push_xml(
        &self,
        inner_xml: String,
        ticket: Option<String>,
    ) -> Result<PushOutcome, SimError> {
        let config = self.config();
        let url = config
            .gateway_events_url
            .clone()
            .ok_or(SimError::NoGateway)?;
        let crypt = MsgCrypt::new(
            &config.token,
            &config.encoding_aes_key,
            &config.component_appid,
        )?;
        let timestamp = self.now().to_string();
        let nonce = crate::state::random_hex(5);
        let (body, msg_signature) = crypt.seal_push(
            Some(("AppId", &config.component_appid)),
            &inner_xml,
            &timestamp,
            &nonce,
        );
        // `signature` is sha1 of sorted [token, timestamp, nonce]; an empty
        // fourth part sorts first and adds nothing, so msg_signature computes it.
        let signature = wxcrypt::msg_signature(&config.token, &timestamp, &nonce, "");
        let mut url =
            url::Url::parse(&url).map_err(|e| SimError::Http(format!("gateway URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("signature", &signature)
            .append_pair("timestamp", &timestamp)
            .append_pair("nonce", &nonce)
            .append_pair("encrypt_type", "aes")
            .append_pair("msg_signature", &msg_signature);
        let response = self
            .http
            .post(url)
            .header("content-type", "text/xml")
            .body(body)
            .send()
            .await
            .map_err(|e| SimError::Http(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .text()
            .await
            .map_err(|e| SimError::Http(e.to_string()))?;
        Ok(PushOutcome {
            ticket,
            status,
            body,
        })
    }

    /// Pushes a new `component_verify_ticket`.
    pub async fn push_ticket(&self) -> Result<PushOutcome, SimError> {
        let (ticket, appid, now) = {
            let mut s = self.lock();
            (s.new_ticket(), s.config.component_appid.clone(), s.now())
        };
        let xml = format!(
            "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{now}</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[{ticket}]]></ComponentVerifyTicket></xml>"
        );
        self.push_xml(xml, Some(ticket)).await
    }

    /// Grants `authorizer_appid` (default sets) and pushes `authorized` /
    /// `updateauthorized` with a fresh auth code, as WeChat does after the page.
    pub async fn push_authorized(
        &self,
        info_type: &str,
        authorizer_appid: &str,
        pre_auth_code: Option<&str>,
    ) -> Result<PushOutcome, SimError> {
        let (code, appid, now) = {
            let mut s = self.lock();
            let funcs = s.config.default_func_ids.clone();
            (
                s.grant(authorizer_appid, funcs),
                s.config.component_appid.clone(),
                s.now(),
            )
        };
        let pre = pre_auth_code
            .map(|p| format!("<PreAuthCode><![CDATA[{p}]]></PreAuthCode>"))
            .unwrap_or_default();
        let xml = format!(
            "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{now}</CreateTime><InfoType><![CDATA[{info_type}]]></InfoType><AuthorizerAppid><![CDATA[{authorizer_appid}]]></AuthorizerAppid><AuthorizationCode><![CDATA[{code}]]></AuthorizationCode><AuthorizationCodeExpiredTime>{}</AuthorizationCodeExpiredTime>{pre}</xml>",
            now + 600
        );
        self.push_xml(xml, None).await
    }

    /// Revokes and pushes `unauthorized`.
    pub async fn push_unauthorized(&self, authorizer_appid: &str) -> Result<PushOutcome, SimError> {
        let (appid, now) = {
            let mut s = self.lock();
            s.revoke(authorizer_appid);
            (s.config.component_appid.clone(), s.now())
        };
        let xml = format!(
            "<xml><AppId><![CDATA[{appid}]]></AppId><CreateTime>{now}</CreateTime><InfoType><![CDATA[unauthorized]]></InfoType><AuthorizerAppid><![CDATA[{authorizer_appid}]]></AuthorizerAppid></xml>"
        );
        self.push_xml(xml, None).await
    }
}
