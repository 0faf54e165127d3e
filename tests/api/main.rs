//! Black-box API tests: the real functions under `cargo lambda watch`, DynamoDB Local and
//! moto (SNS, KMS), started by `scripts/test.sh`, which exports the environment that
//! [`helpers::Settings`] reads. One test binary (`cargo test -p api-tests`); each test
//! creates its own users and phone numbers, so tests run in parallel.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
// `helpers` is a toolbox shared by every test module: plain `pub` reads better than `pub(crate)`.
#![allow(unreachable_pub)]

mod helpers;

mod audit;
mod change_password;
mod cli;
mod console;
mod core;
mod credentials;
mod phones;
mod users_admin;

mod bypass;
mod enforcement;
mod hardening;
mod hardening3;
mod logs;
mod mfa_helpers;
mod mfa_login;
mod mfa_settings;
mod otp;
