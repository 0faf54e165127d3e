//! Small services that endpoints call: each does one job over the store and the AWS
//! adapters, so that no endpoint needs another endpoint.
//!
//! - [`tokens`]: mint and store API tokens.
//! - [`apikeys`]: API keys (create on first use, compare).
//! - [`sms`]: send an SMS within the send limits, giving the claim back if SNS fails.
//! - [`secrets`]: seal and open phone numbers and TOTP seeds.
//! - [`lockout`]: the MFA login lock (state and failure counting).
//! - [`audit`], [`metrics`]: the audit trail and CloudWatch metrics (EMF).
//! - [`throttle`]: the per-username throttle on password and API-key guessing.

pub mod apikeys;
pub mod audit;
pub mod lockout;
pub mod metrics;
pub mod secrets;
pub mod sms;
pub mod throttle;
pub mod tokens;
