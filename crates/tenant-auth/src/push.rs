//! Parsing the decrypted XML of component pushes (protocol.md §1, §2).
use serde::Deserialize;
use store::Secret;

/// A decrypted push to the authorization-event URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComponentPush {
    Ticket {
        appid: String,
        create_time: i64,
        /// A secret: `Debug` of the push must not print it.
        ticket: Secret,
    },
    /// `authorized` (new) or `updateauthorized` (sets changed).
    Authorized {
        appid: String,
        create_time: i64,
        is_update: bool,
        authorizer_appid: String,
        authorization_code: String,
        pre_auth_code: Option<String>,
    },
    Unauthorized {
        appid: String,
        create_time: i64,
        authorizer_appid: String,
    },
    /// Any other InfoType: acknowledged, not acted upon.
    Other { appid: String, info_type: String },
}

impl ComponentPush {
    pub fn appid(&self) -> &str {
        match self {
            ComponentPush::Ticket { appid, .. }
            | ComponentPush::Authorized { appid, .. }
            | ComponentPush::Unauthorized { appid, .. }
            | ComponentPush::Other { appid, .. } => appid,
        }
    }

    /// `CreateTime`, when the push kind carries one.
    pub fn create_time(&self) -> Option<i64> {
        match self {
            ComponentPush::Ticket { create_time, .. }
            | ComponentPush::Authorized { create_time, .. }
            | ComponentPush::Unauthorized { create_time, .. } => Some(*create_time),
            ComponentPush::Other { .. } => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PushParseError {
    /// A category only: the text of the message is never quoted (errors
    /// about external input reach logs and problem details).
    #[error("decrypted message is not valid: {0}")]
    Xml(&'static str),
    #[error("decrypted message lacks <{0}>")]
    Missing(&'static str),
}

#[derive(Deserialize)]
#[serde(rename = "xml")]
struct RawPush {
    #[serde(rename = "AppId")]
    app_id: Option<String>,
    #[serde(rename = "CreateTime")]
    create_time: Option<i64>,
    #[serde(rename = "InfoType")]
    info_type: Option<String>,
    #[serde(rename = "ComponentVerifyTicket")]
    ticket: Option<String>,
    #[serde(rename = "AuthorizerAppid")]
    authorizer_appid: Option<String>,
    #[serde(rename = "AuthorizationCode")]
    authorization_code: Option<String>,
    #[serde(rename = "PreAuthCode")]
    pre_auth_code: Option<String>,
}

fn required(value: Option<String>, name: &'static str) -> Result<String, PushParseError> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(PushParseError::Missing(name))
}

pub fn parse_component_push(xml: &str) -> Result<ComponentPush, PushParseError> {
    let raw: RawPush =
        quick_xml::de::from_str(xml).map_err(|_| PushParseError::Xml("not well-formed XML"))?;
    let appid = required(raw.app_id, "AppId")?;
    let info_type = required(raw.info_type, "InfoType")?;
    let create_time = raw.create_time.ok_or(PushParseError::Missing("CreateTime"));
    Ok(match info_type.as_str() {
        "component_verify_ticket" => ComponentPush::Ticket {
            appid,
            create_time: create_time?,
            ticket: Secret::new(required(raw.ticket, "ComponentVerifyTicket")?),
        },
        "authorized" | "updateauthorized" => ComponentPush::Authorized {
            appid,
            create_time: create_time?,
            is_update: info_type == "updateauthorized",
            authorizer_appid: required(raw.authorizer_appid, "AuthorizerAppid")?,
            authorization_code: required(raw.authorization_code, "AuthorizationCode")?,
            pre_auth_code: raw.pre_auth_code.filter(|c| !c.trim().is_empty()),
        },
        "unauthorized" => ComponentPush::Unauthorized {
            appid,
            create_time: create_time?,
            authorizer_appid: required(raw.authorizer_appid, "AuthorizerAppid")?,
        },
        _ => ComponentPush::Other { appid, info_type },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ticket() {
        let xml = "<xml><AppId><![CDATA[wx1]]></AppId><CreateTime>1413192605</CreateTime><InfoType><![CDATA[component_verify_ticket]]></InfoType><ComponentVerifyTicket><![CDATA[ticket@@@abc]]></ComponentVerifyTicket></xml>";
        assert_eq!(
            parse_component_push(xml).unwrap(),
            ComponentPush::Ticket {
                appid: "wx1".into(),
                create_time: 1413192605,
                ticket: Secret::new("ticket@@@abc")
            }
        );
    }

    #[test]
    fn parses_authorized_and_unauthorized() {
        let xml = "<xml><AppId>wx1</AppId><CreateTime>1</CreateTime><InfoType>updateauthorized</InfoType><AuthorizerAppid>wx2</AuthorizerAppid><AuthorizationCode>code</AuthorizationCode><AuthorizationCodeExpiredTime>600</AuthorizationCodeExpiredTime><PreAuthCode>pre</PreAuthCode></xml>";
        assert!(matches!(
            parse_component_push(xml).unwrap(),
            ComponentPush::Authorized { is_update: true, ref pre_auth_code, .. } if pre_auth_code.as_deref() == Some("pre")
        ));
        let xml = "<xml><AppId>wx1</AppId><CreateTime>1</CreateTime><InfoType>unauthorized</InfoType><AuthorizerAppid>wx2</AuthorizerAppid></xml>";
        assert!(matches!(
            parse_component_push(xml).unwrap(),
            ComponentPush::Unauthorized { .. }
        ));
    }

    #[test]
    fn rejects_garbage_and_missing_fields() {
        assert!(matches!(
            parse_component_push("not xml"),
            Err(PushParseError::Xml(_)) | Err(PushParseError::Missing(_))
        ));
        assert_eq!(
            parse_component_push(
                "<xml><AppId>wx1</AppId><CreateTime>1</CreateTime><InfoType>component_verify_ticket</InfoType></xml>"
            ),
            Err(PushParseError::Missing("ComponentVerifyTicket"))
        );
        assert_eq!(
            parse_component_push("<xml><CreateTime>1</CreateTime></xml>"),
            Err(PushParseError::Missing("AppId"))
        );
    }
}
