//! Persistence: one DynamoDB table (map: `docs/data-model.md`). The store alone speaks
//! DynamoDB: nothing outside this module sees an `AttributeValue`, a key layout or a condition
//! expression. Its methods are named after what they do for the domain, and each states the
//! invariant it guarantees under any concurrency and the requests it makes.
//!
//! - [`records`]: the plain structs read and written.
//! - `users`, `directory` (list and find users; index backfill), `credentials`, `phone`, `devices`, `login`, `guessing`, `mfa`, `domains`,
//!   `limits`, `keys`: the methods, by aggregate.
//! - `client` (generic requests, error classification, retries), `expr` (expression builder)
//!   and `item` (record <-> item mapping) are private.
//!
//! A condition that fails is an answer, returned as `Ok` (a `bool` or an outcome enum); every
//! other failure is a [`StoreError`], which tells a transaction conflict from a throttle, an
//! outage and a request DynamoDB refused.

mod client;
mod credentials;
mod devices;
mod directory;
mod domains;
mod expr;
mod guessing;
mod item;
mod keys;
mod limits;
mod login;
mod mfa;
mod phone;
pub mod records;
mod users;

pub use devices::{Attempt, DeviceRemoval};
pub use directory::Backfill;
pub use domains::LevelSet;
pub use guessing::{Credential, LoginAttempt, MAX_OPEN_SESSIONS};
pub use item::USER_INDEX_PROJECTION;
pub use limits::{CapClaim, NumberClaim, SmsClaim, SmsRefusal};
pub use login::{FinishLogin, LockRule, LoginClaim, LoginGuard};
pub use mfa::{LevelChange, MfaChange};
pub use phone::PhoneRemoval;
pub use records::{
    BypassRec, DeviceRec, DomainRec, PhoneRec, PinRec, SessionRec, TokenRec, UserBundle, UserRec,
};
pub use users::{CreateRefusal, DeleteRefusal, DomainPlan, UpdateRefusal, UserChange};

/// What went wrong talking to DynamoDB (a failed condition is not an error: see the module).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A transaction kept conflicting with concurrent ones (after retries).
    #[error("transaction conflict")]
    Conflict(#[source] anyhow::Error),
    /// DynamoDB throttled the request (after retries).
    #[error("throttled")]
    Throttled(#[source] anyhow::Error),
    /// DynamoDB could not be reached or failed.
    #[error("dynamodb unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// DynamoDB refused the request as malformed: a bug here, not a fault there.
    #[error("request rejected")]
    Rejected(#[source] anyhow::Error),
}

impl StoreError {
    /// Worth retrying at once (the request did not happen).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Conflict(_) | Self::Throttled(_))
    }
}

/// The table.
#[derive(Debug, Clone)]
pub struct Store {
    table: client::Table,
}

impl Store {
    /// A store over a client and a table name.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self {
            table: client::Table::new(client, table),
        }
    }
}

/// Whether `id` has the form of the ids this service issues (32 lowercase hex): anything else
/// names nothing, and is answered without a request (and so never reaches a key).
pub(crate) fn is_issued_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Longest domain id accepted (contract §8.3).
pub const MAX_DOMAIN_ID: usize = 64;

/// Whether `id` can be a domain id.
pub(crate) fn is_domain_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_DOMAIN_ID
}
