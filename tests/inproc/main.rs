//! In-process tests: every expiry and lock rule, driven through the real operations against
//! DynamoDB Local and moto (SNS, KMS), with a clock the test moves by hand. Nothing sleeps, so
//! they run in milliseconds and cannot be flaky. Run by `scripts/test.sh` (stage `api`), which
//! starts the emulators and exports their endpoints.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    unreachable_pub
)]

mod budget;
mod directory;
mod expiry;
mod harness;
mod keys;
mod locks;
mod third;
mod throttle;
