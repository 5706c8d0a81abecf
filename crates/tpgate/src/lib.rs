//! The `tpgate` service: configuration, HTTP wiring and start-up.
//!
//! # Layout
//! - `config`: defaults ← file ← `TPGATE_*` env.
//! - `app`: [`Application`] (build → port → run_until_stopped), the public
//!   router and the ops router (probes, metrics, docs).
//! - `server`: the connection loop every listener runs (header-read and idle
//!   timeouts, graceful drain); `body_limit`: every body read bounded.
//! - `routes/`: thin handlers for WeChat pushes, onboarding pages and health;
//!   the admin API and the tenant proxy come from their own crates.
//! - `workers`: background tasks (ticket watchdog, token refresh sweep).
//! - `sandbox`: the gateway plus an in-process WeChat simulator for newcomers.
#![forbid(unsafe_code)]

mod app;
pub mod body_limit;
pub mod client_addr;
pub mod config;
mod request_log;
mod routes;
pub mod sandbox;
pub mod server;
mod spec_guard;
pub mod telemetry;
pub mod workers;

pub use app::{AppState, Application, openapi_service, spec_json};
pub use config::Config;
