//! Every call tpgate makes to WeChat, on the record: the request id that
//! caused it, what WeChat answered, how long it took. Written off the hot
//! path: calls wait in a bounded queue and a writer inserts them in batches;
//! when the queue is full, calls are dropped and counted, never waited on.
//!
//! # Layout
//! - [`request`]: the request id and the per-request scope that collects
//!   the calls a request causes (stamped with its final status at the end).
//! - [`log`]: the queue, the batch writer and its settings.
//! - [`body`]: bounded, token-free body capture.
//! - [`metrics`]: call counters, latency and errcodes with bounded labels.
#![forbid(unsafe_code)]

pub mod body;
pub mod log;
pub mod metrics;
pub mod request;

pub use log::{CallLog, CallLogSettings};
pub use request::{RequestId, RequestScope};
pub use store::calls::{CallOutcome, NewCall};
