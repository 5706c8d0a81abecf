//! Delivery of tenants' events to their webhook endpoints.
//!
//! Events and their deliveries are written together (the outbox, in
//! `store::deliveries`); the [`Dispatcher`] claims due deliveries, POSTs the
//! JSON body ([`payload`]) signed Stripe-style ([`signature`]), and records
//! the outcome: delivered, retried on the [`schedule`] (jittered, over more
//! than 24 h), or dead-lettered. At-least-once: receivers dedupe on the
//! event `id`.
#![forbid(unsafe_code)]

pub mod dispatcher;
pub mod payload;
pub mod schedule;
pub mod signature;
pub mod target;

pub use dispatcher::{BuildError, Dispatcher, DispatcherSettings};
pub use schedule::RetrySchedule;
