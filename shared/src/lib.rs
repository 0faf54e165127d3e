//! Domain crate of the RAX-AUTH multi-factor identity service.
//!
//! Every Lambda binary under `functions/` is a thin wrapper around this crate: it builds an
//! [`app::App`] once per cold start and hands each request to one operation in [`ops`].
//! Pure logic (policy, TOTP, parsing, hashing) is unit-tested here; the DynamoDB, SNS and
//! KMS adapters are exercised by the black-box suite in `tests/`.
#![warn(missing_docs)]

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod http;
pub mod ops;
pub mod policy;
pub mod routes;
pub mod seal;
pub mod services;
pub mod sms;
pub mod store;
pub mod telemetry;
pub mod totp;
pub mod wire;

pub use app::App;
pub use clock::{Clock, SystemClock};
pub use error::ApiError;
