//! The operator console at `/console`: a browser UI over the public admin
//! API (see `docs/console.md`).
//!
//! - `assets`: the UI's files (plain ES modules, one stylesheet), embedded
//!   in the binary and served with a strict Content-Security-Policy;
//! - `session`: signing in and out, and the layer through which the admin
//!   API takes the session cookie as a credential, with its CSRF checks.
//!
//! Everything the console shows or changes goes through `/admin/v1`, so
//! authorization is the admin API's and nothing here widens it.
#![forbid(unsafe_code)]

pub mod assets;
pub mod session;

pub use session::{
    ConsoleSettings, ConsoleState, SIGN_IN_LINK_VALIDITY, SessionCredential, sign_in_link,
};
