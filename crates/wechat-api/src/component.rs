//! Component (third-party platform) token endpoints, protocol.md §4–§7.
//!
//! Field names are exactly WeChat's. Every answer here can also be a failure
//! (`{"errcode":61005,"errmsg":"…"}`): parse [`WechatStatus`](crate::WechatStatus)
//! first and the typed body only when it is ok.
use serde::{Deserialize, Serialize};

/// `Debug` for a WeChat body holding secrets (app secrets, tickets, tokens,
/// codes): the other fields as usual, the secret ones as `<redacted>`, so a
/// `{:?}` in a log line or an error never prints one.
macro_rules! debug_redacting {
    ($ty:ident { $($field:ident),* } secret { $($secret:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

/// Body of `POST /cgi-bin/component/api_component_token` (no token in the query).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct ComponentTokenRequest {
    pub component_appid: String,
    pub component_appsecret: String,
    /// The latest ticket from the component_verify_ticket push.
    pub component_verify_ticket: String,
}

/// Answer of `api_component_token`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct ComponentTokenResponse {
    /// Passed as the `component_access_token=` query parameter of component APIs.
    pub component_access_token: String,
    /// Lifetime in seconds (7200).
    pub expires_in: i64,
}

/// Body of `POST /cgi-bin/component/api_create_preauthcode?component_access_token=…`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PreAuthCodeRequest {
    pub component_appid: String,
}

/// Answer of `api_create_preauthcode`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PreAuthCodeResponse {
    pub pre_auth_code: String,
    /// Lifetime in seconds: trust this value (docs say 1800, examples show 600).
    pub expires_in: i64,
}

/// Body of `POST /cgi-bin/component/api_query_auth?component_access_token=…`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct QueryAuthRequest {
    pub component_appid: String,
    /// The `auth_code` from the redirect or the `authorized` push.
    pub authorization_code: String,
}

/// Answer of `api_query_auth`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct QueryAuthResponse {
    pub authorization_info: AuthorizationInfo,
}

/// What an account granted this platform.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct AuthorizationInfo {
    pub authorizer_appid: String,
    /// Present only when the account granted API permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// Present only when the account granted API permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_refresh_token: Option<String>,
    /// What was actually granted (may be a subset of what the platform asked).
    #[serde(default)]
    pub func_info: Vec<FuncInfo>,
}

impl AuthorizationInfo {
    /// The granted permission-set ids (`funcscope_category.id`), in order.
    pub fn funcscope_ids(&self) -> Vec<i64> {
        self.func_info
            .iter()
            .map(|f| f.funcscope_category.id)
            .collect()
    }
}

/// One granted permission set.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    pub funcscope_category: FuncscopeCategory,
    /// Carried by some entries only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_info: Option<ConfirmInfo>,
}

/// A permission set id (protocol.md §8), e.g. 18 or 142.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncscopeCategory {
    pub id: i64,
}

/// Confirmation state of a permission set that needs the admin's confirmation.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfirmInfo {
    #[serde(default)]
    pub need_confirm: i64,
    #[serde(default)]
    pub already_confirm: i64,
    #[serde(default)]
    pub can_confirm: i64,
}

/// Body of `POST /cgi-bin/component/api_authorizer_token?component_access_token=…`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct AuthorizerTokenRequest {
    pub component_appid: String,
    pub authorizer_appid: String,
    pub authorizer_refresh_token: String,
}

/// Answer of `api_authorizer_token`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct AuthorizerTokenResponse {
    pub authorizer_access_token: String,
    /// Lifetime in seconds (7200).
    pub expires_in: i64,
    /// Usually the same token echoed; persist whatever comes back.
    #[serde(default)]
    pub authorizer_refresh_token: String,
}

/// Body of `POST /cgi-bin/component/api_start_push_ticket` (no token).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct StartPushTicketRequest {
    pub component_appid: String,
    /// Named `component_secret` here, unlike `api_component_token`'s `component_appsecret`.
    pub component_secret: String,
}

/// Most accounts `api_get_authorizer_list` returns per page.
pub const AUTHORIZER_LIST_MAX_COUNT: u32 = 500;

/// Body of `POST /cgi-bin/component/api_get_authorizer_list?component_access_token=…`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerListRequest {
    pub component_appid: String,
    pub offset: u32,
    /// At most [`AUTHORIZER_LIST_MAX_COUNT`].
    pub count: u32,
}

/// Answer of `api_get_authorizer_list`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerListResponse {
    pub total_count: u64,
    #[serde(default)]
    pub list: Vec<AuthorizerListItem>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct AuthorizerListItem {
    pub authorizer_appid: String,
    /// Some accounts come back without it (protocol.md §7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub auth_time: i64,
}

/// Body of `POST /cgi-bin/component/api_get_authorizer_info?component_access_token=…`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerInfoRequest {
    pub component_appid: String,
    pub authorizer_appid: String,
}

/// Answer of `api_get_authorizer_info` (the fields tpgate uses; the rest is
/// ignored when reading).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerInfoResponse {
    pub authorizer_info: AuthorizerAccountInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_info: Option<AuthorizationInfo>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthorizerAccountInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    /// Original id, `gh_…`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_name: Option<String>,
    /// Present only for Mini Programs.
    #[serde(
        rename = "MiniProgramInfo",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub mini_program_info: Option<serde_json::Value>,
}

debug_redacting!(ComponentTokenRequest { component_appid } secret { component_appsecret, component_verify_ticket });
debug_redacting!(ComponentTokenResponse { expires_in } secret { component_access_token });
debug_redacting!(QueryAuthRequest { component_appid } secret { authorization_code });
debug_redacting!(AuthorizationInfo { authorizer_appid, expires_in, func_info } secret { authorizer_access_token, authorizer_refresh_token });
debug_redacting!(AuthorizerTokenRequest { component_appid, authorizer_appid } secret { authorizer_refresh_token });
debug_redacting!(AuthorizerTokenResponse { expires_in } secret { authorizer_access_token, authorizer_refresh_token });
debug_redacting!(StartPushTicketRequest { component_appid } secret { component_secret });
debug_redacting!(AuthorizerListItem { authorizer_appid, auth_time } secret { refresh_token });

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::WechatStatus;

    #[test]
    fn component_token_roundtrip_uses_wechat_names() {
        let req = ComponentTokenRequest {
            component_appid: "wxc".into(),
            component_appsecret: "s".into(),
            component_verify_ticket: "ticket@@@x".into(),
        };
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"component_appid": "wxc", "component_appsecret": "s", "component_verify_ticket": "ticket@@@x"})
        );
        let r: ComponentTokenResponse = serde_json::from_value(
            json!({"component_access_token": "61W3mEpU66027wgNZ_MhGHNQDHnFATkDa9-2llqrMBjUwxRSNPbVsMmyD-yq8wZETSoE5NQgecigDrSHkPtIYA", "expires_in": 7200}),
        )
        .unwrap();
        assert_eq!(r.expires_in, 7200);
    }

    #[test]
    fn pre_auth_code_and_authorizer_token_parse() {
        let r: PreAuthCodeResponse = serde_json::from_value(
            json!({"pre_auth_code": "Cx_Dk6qiBE0Dmx4EmlT3oRfArPvwSQ-oa3NL_fwHM7VI08r52wazoZX2Rhpz1dEw", "expires_in": 600}),
        )
        .unwrap();
        assert_eq!(r.expires_in, 600);
        let r: AuthorizerTokenResponse = serde_json::from_value(json!({
            "authorizer_access_token": "some-access-token", "expires_in": 7200,
            "authorizer_refresh_token": "refreshtoken@@@abc"
        }))
        .unwrap();
        assert_eq!(r.authorizer_refresh_token, "refreshtoken@@@abc");
    }

    #[test]
    fn query_auth_example_parses() {
        let json = r#"{"authorization_info":{"authorizer_appid":"wxf8b4f85f3a794e77","authorizer_access_token":"QXjUqNqfYVH0yBE1iI_7vuN_9gQbpjfK7hYwJ3P7xOa88a89-Aga5x1NMYJyB8G2yKt1KCl0nPC3W9GJzw0Zzq_dBxc8pxIGUNi_bFes0qM","expires_in":7200,"authorizer_refresh_token":"dTo-YCXPL4llX-u1W1pPpnp8Hgm4wpJtlR6iV0doKdY","func_info":[{"funcscope_category":{"id":1}},{"funcscope_category":{"id":18},"confirm_info":{"need_confirm":0,"already_confirm":0,"can_confirm":0}}]}}"#;
        let r: QueryAuthResponse = serde_json::from_str(json).unwrap();
        assert_eq!(r.authorization_info.funcscope_ids(), [1, 18]);
        assert!(r.authorization_info.func_info[0].confirm_info.is_none());
        assert!(r.authorization_info.func_info[1].confirm_info.is_some());
    }

    #[test]
    fn authorization_without_api_permissions_has_no_tokens() {
        let r: QueryAuthResponse =
            serde_json::from_value(json!({"authorization_info": {"authorizer_appid": "wx1"}}))
                .unwrap();
        let info = r.authorization_info;
        assert_eq!(info.authorizer_access_token, None);
        assert!(info.func_info.is_empty());
        // None fields are left out again, confirm_info included.
        let info = AuthorizationInfo {
            func_info: vec![FuncInfo {
                funcscope_category: FuncscopeCategory { id: 142 },
                confirm_info: None,
            }],
            ..info
        };
        assert_eq!(
            serde_json::to_value(&info).unwrap(),
            json!({"authorizer_appid": "wx1", "func_info": [{"funcscope_category": {"id": 142}}]})
        );
    }

    #[test]
    fn authorizer_list_and_info_parse() {
        let r: AuthorizerListResponse = serde_json::from_value(json!({
            "total_count": 2,
            "list": [
                {"authorizer_appid": "wx1", "refresh_token": "refreshtoken@@@a", "auth_time": 1522117226},
                {"authorizer_appid": "wx2", "auth_time": 1522117227}
            ]
        }))
        .unwrap();
        assert_eq!(r.list[0].refresh_token.as_deref(), Some("refreshtoken@@@a"));
        assert_eq!(r.list[1].refresh_token, None);
        let r: AuthorizerInfoResponse = serde_json::from_value(json!({
            "authorizer_info": {"nick_name": "微信SDK Demo", "head_img": "http://x", "service_type_info": {"id": 2},
              "user_name": "gh_eb5e3a772040", "principal_name": "腾讯计算机系统有限公司",
              "MiniProgramInfo": {"network": {}, "categories": [], "visit_status": 0}},
            "authorization_info": {"authorizer_appid": "wxf8b4f85f3a794e77", "func_info": [{"funcscope_category": {"id": 142}}]}
        }))
        .unwrap();
        assert_eq!(
            r.authorizer_info.user_name.as_deref(),
            Some("gh_eb5e3a772040")
        );
        assert!(r.authorizer_info.mini_program_info.is_some());
        assert_eq!(r.authorization_info.unwrap().funcscope_ids(), [142]);
    }

    #[test]
    fn failures_are_read_through_the_status_first() {
        let body = json!({"errcode": 61005, "errmsg": "component verify ticket is expired"});
        let status: WechatStatus = serde_json::from_value(body.clone()).unwrap();
        assert!(!status.is_ok());
        assert!(serde_json::from_value::<ComponentTokenResponse>(body).is_err());
    }

    #[test]
    fn debug_never_prints_a_secret() {
        let shown = format!(
            "{:?} {:?} {:?}",
            ComponentTokenRequest {
                component_appid: "wxc".into(),
                component_appsecret: "app-secret-value".into(),
                component_verify_ticket: "ticket@@@value".into(),
            },
            AuthorizerTokenResponse {
                authorizer_access_token: "access-value".into(),
                expires_in: 7200,
                authorizer_refresh_token: "refreshtoken@@@value".into(),
            },
            AuthorizerListItem {
                authorizer_appid: "wx1".into(),
                refresh_token: Some("refreshtoken@@@listed".into()),
                auth_time: 1,
            },
        );
        for secret in [
            "app-secret-value",
            "ticket@@@value",
            "access-value",
            "refreshtoken@@@",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("wxc") && shown.contains("7200"), "{shown}");
    }
}
