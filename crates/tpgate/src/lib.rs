//! The `tpgate` service: configuration, HTTP wiring and start-up.
//!
//! # Layout
//! - `config`: defaults ← file ← `TPGATE_*` env.
//! - `app`: [`Application`] (build → port → run_until_stopped), the public
//!   router and the ops router (probes, metrics, docs).
//! - `server`: the connection loop every listener runs (header-read and idle
//!   timeouts, graceful drain); `body_limit`: every body read bounded.
//! - `client_addr`: the client's address (`X-Forwarded-For` only from
//!   trusted proxies); `request_log`: every request's id (`X-Request-Id`,
//!   problem bodies, log lines, the WeChat calls it causes) and one log
//!   line per request, redacted.
//! - `routes/`: thin handlers for WeChat pushes, onboarding pages (landing,
//!   button, result; `routes/onboarding/pages.rs` renders them) and health;
//!   the admin API and the tenant proxy come from their own crates.
//! - `workers`: background tasks (ticket watchdog, token refresh sweep,
//!   proxy upkeep, webhook dispatcher, housekeeping).
//! - `sandbox` (cargo feature `sandbox`, on by default; production images
//!   build without it): the gateway plus an in-process WeChat simulator.
#![forbid(unsafe_code)]

mod app;
pub mod body_limit;
pub mod client_addr;
pub mod config;
mod request_data;
mod request_log;
mod routes;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod server;
mod spec_guard;
pub mod telemetry;
pub mod workers;

pub use app::{AppState, Application, openapi_service, spec_json};
pub use config::Config;
