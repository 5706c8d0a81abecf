//! `POST /wxa/plugin` (plugin management, permission set 40): how a
//! platform applies, on a Mini Program's behalf, for a plugin such as the
//! logistics-query plugin, whose background APIs (`trace_waybill`,
//! `query_trace`, `update_waybill_goods`) only work for Mini Programs that
//! use it ("引用了物流查询插件的商家,才可以调用后台API", seed 000).
//!
//! Source: developers.weixin.qq.com/miniprogram/dev/server/API/plugin-management/api_manageplugin
//! (actions `apply`, `list`, `unbind`, `update`; "该接口所属的权限集 id 为:40")
//! and the third-party platform's plugin page
//! (doc/oplatform/Third-party_Platforms/2.0/api/Business/pluginManager.html).
//!
//! # Rules, in the order they are checked (all 40097)
//! | field | rule |
//! |---|---|
//! | `action` | `apply`, `list`, `unbind` or `update` |
//! | `plugin_appid` | not blank, except for `list` |
//!
//! `reason` is not required locally: the newer page says "当action是apply时
//! 必填", the older page and both pages' examples apply without it.
use poem_openapi::Object;
use serde::{Deserialize, Serialize};

use super::blank;
use crate::{Validate, ValidationError, errcode as ec};

/// The appid of WeChat's logistics-query plugin (物流查询插件), as its
/// `provider` in a Mini Program's `app.json` (seed 000: `wx9ad912bf20548d92`).
pub const LOGISTICS_PLUGIN_APPID: &str = "wx9ad912bf20548d92";

/// The actions of `/wxa/plugin`.
pub const PLUGIN_ACTIONS: [&str; 4] = ["apply", "list", "unbind", "update"];

/// Values of [`PluginInfo::status`].
pub mod plugin_status {
    /// 1: applied for, pending.
    pub const PENDING: i64 = 1;
    /// 2: approved (in use).
    pub const APPROVED: i64 = 2;
    /// 3: refused.
    pub const REFUSED: i64 = 3;
    /// 4: the application timed out.
    pub const TIMED_OUT: i64 = 4;
}

/// Body of `POST /wxa/plugin`: applies for a plugin (`apply`), lists the Mini Program's plugins (`list`), removes one (`unbind`) or updates its version quickly (`update`). Apply for the logistics-query plugin with `plugin_appid` `wx9ad912bf20548d92`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[oai(skip_serializing_if_is_none, example)]
pub struct ManagePluginRequest {
    /// `apply` (apply to use the plugin), `list` (the plugins added), `unbind` (remove the plugin) or `update` (update its version).
    pub action: String,
    /// The plugin's appid; every action but `list` needs it. The logistics-query plugin is `wx9ad912bf20548d92`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_appid: Option<String>,
    /// Why the plugin is applied for (action `apply`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The version to update to (action `update`); the plugin version must support quick updates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_version: Option<String>,
}

impl poem_openapi::types::Example for ManagePluginRequest {
    /// Applying for the logistics-query plugin.
    fn example() -> Self {
        Self {
            action: "apply".to_owned(),
            plugin_appid: Some(LOGISTICS_PLUGIN_APPID.to_owned()),
            reason: Some("展示订单物流轨迹".to_owned()),
            user_version: None,
        }
    }
}

/// A plugin the Mini Program has applied for or uses.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default)]
pub struct PluginInfo {
    /// The plugin's appid.
    pub appid: String,
    /// Application status: 1 pending; 2 approved; 3 refused; 4 timed out (see [`plugin_status`]).
    pub status: i64,
    /// The plugin's nickname.
    pub nickname: String,
    /// The plugin's avatar URL.
    pub headimgurl: String,
}

/// Answer of `/wxa/plugin`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Object, Default)]
#[serde(default)]
#[oai(default, skip_serializing_if_is_none)]
pub struct ManagePluginResponse {
    /// Error code; 0 on success.
    pub errcode: i64,
    /// Error reason; `ok` on success.
    pub errmsg: String,
    /// The plugins applied for or in use (action `list` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin_list: Option<Vec<PluginInfo>>,
}

impl Validate for ManagePluginRequest {
    /// `action` is one of [`PLUGIN_ACTIONS`]; `plugin_appid` is given
    /// except for `list` (both 40097).
    fn validate(&self) -> Result<(), ValidationError> {
        let action = self.action.trim();
        if !PLUGIN_ACTIONS.contains(&action) {
            return Err(ValidationError::new(
                "action",
                ec::INVALID_PARAMETER,
                format!(
                    "action must be apply, list, unbind or update, got {:?}",
                    self.action
                ),
            ));
        }
        if action != "list" && blank(self.plugin_appid.as_deref()) {
            return Err(ValidationError::new(
                "plugin_appid",
                ec::INVALID_PARAMETER,
                format!(
                    "plugin_appid is required for {action}: the plugin's appid (the logistics-query plugin is {LOGISTICS_PLUGIN_APPID})"
                ),
            ));
        }
        Ok(())
    }
}
