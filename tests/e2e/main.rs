//! End-to-end tests: the real tpgate router over HTTP, the WeChat simulator
//! playing WeChat, SQLite by default, Postgres when `TEST_DATABASE_URL` is set
//! (and Redis when `TEST_REDIS_URL` is set).
mod admin_api;
mod admin_jwt;
mod architecture_doc;
mod call_log;
mod calls_admin;
mod component_events;
mod console;
mod couriers;
mod crash_recovery;
mod deployment;
mod flow;
mod generated_client;
mod helpers;
mod hostile_http;
mod onboarding;
mod openapi_spec;
mod proxy;
mod proxy_limits;
mod receiver;
mod reconciliation;
mod request_ids;
mod reshipment;
mod sandbox;
mod shipments;
mod tokens;
mod webhooks;
mod wechat_host;
