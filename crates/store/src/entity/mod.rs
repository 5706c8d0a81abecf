//! sea-orm entities (2.0 format). Plain rows: secrets stay sealed bytes here and
//! nothing derives `Serialize`, so a row can never be sent to a client by accident.
pub mod api_key;
pub mod audit_entry;
pub mod authorizer;
pub mod authorizer_forced_refresh;
pub mod authorizer_funcscope;
pub mod authorizer_trade_management;
pub mod component_state;
pub mod console_session;
pub mod courier_list;
pub mod event;
pub mod idempotency_key;
pub mod onboarding_link;
pub mod onboarding_visit;
pub mod rate_limit_policy;
pub mod reconciliation;
pub mod shipment;
pub mod shipping_order;
pub mod shipping_upload;
pub mod tenant;
pub mod webhook_delivery;
pub mod webhook_endpoint;
pub mod wechat_call;
pub mod wechat_host_token;
