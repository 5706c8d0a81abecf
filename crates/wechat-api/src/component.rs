//! Component (third-party platform) token endpoints (protocol.md §4–§7).
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ComponentTokenRequest {
    pub component_appid: String,
    pub component_appsecret: String,
    pub component_verify_ticket: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ComponentTokenResponse {
    pub component_access_token: String,
    pub expires_in: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PreAuthCodeRequest {
    pub component_appid: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct PreAuthCodeResponse {
    pub pre_auth_code: String,
    pub expires_in: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct QueryAuthRequest {
    pub component_appid: String,
    pub authorization_code: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct QueryAuthResponse {
    pub authorization_info: AuthorizationInfo,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationInfo {
    pub authorizer_appid: String,
    /// Present only when the account granted API permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_refresh_token: Option<String>,
    /// What was actually granted (may be a subset of what the platform asked).
    #[serde(default)]
    pub func_info: Vec<FuncInfo>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    pub funcscope_category: FuncscopeCategory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm_info: Option<ConfirmInfo>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct FuncscopeCategory {
    pub id: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfirmInfo {
    #[serde(default)]
    pub need_confirm: i64,
    #[serde(default)]
    pub already_confirm: i64,
    #[serde(default)]
    pub can_confirm: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerTokenRequest {
    pub component_appid: String,
    pub authorizer_appid: String,
    pub authorizer_refresh_token: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerTokenResponse {
    pub authorizer_access_token: String,
    pub expires_in: i64,
    /// Usually the same token echoed; persist whatever comes back.
    #[serde(default)]
    pub authorizer_refresh_token: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_auth_example_parses() {
        let json = r#"{"authorization_info":{"authorizer_appid":"wxf8b4f85f3a794e77","authorizer_access_token":"QXjUqNqfYVH0yBE1iI_7vuN_9gQbpjfK7hYwJ3P7xOa88a89-Aga5x1NMYJyB8G2yKt1KCl0nPC3W9GJzw0Zzq_dBxc8pxIGUNi_bFes0qM","expires_in":7200,"authorizer_refresh_token":"dTo-YCXPL4llX-u1W1pPpnp8Hgm4wpJtlR6iV0doKdY","func_info":[{"funcscope_category":{"id":1}},{"funcscope_category":{"id":18},"confirm_info":{"need_confirm":0,"already_confirm":0,"can_confirm":0}}]}}"#;
        let r: QueryAuthResponse = serde_json::from_str(json).unwrap();
        assert_eq!(r.authorization_info.func_info[1].funcscope_category.id, 18);
        assert!(r.authorization_info.func_info[1].confirm_info.is_some());
    }
}
