//! Which permission sets (funcscope ids) allow which WeChat API: the map
//! lives in `tenant_auth::api_permissions`, where the admin API's health
//! view reads it too.
pub use tenant_auth::api_permissions::PermissionMap;
