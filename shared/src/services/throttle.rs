//! Password and API-key guessing (§8.3, §9.3): per username, known or not, and per credential
//! kind (a success resets only its own kind's count), ten free consecutive failures, then one attempt per back-off (1 s, doubling, at most 15 min), answered `413` with
//! `Retry-After` even when the secret is right. It never touches the MFA lock.

use crate::app::App;
use crate::error::ApiError;
use crate::store::{Credential, LoginAttempt};

/// Consecutive failed attempts that are evaluated without delay.
pub const FREE_ATTEMPTS: u64 = 10;
/// Longest back-off between attempts once they are exhausted.
pub const MAX_BACKOFF_SECS: u64 = 900;

/// Reserves one attempt for `username_key` before its secret is checked, and finds the user it
/// names: `Some((user id, domain id))`, or `None` for an unknown username (counted alike).
///
/// # Errors
/// `413` with the seconds to wait; `503` on DynamoDB faults.
pub async fn reserve(
    app: &App,
    username_key: &str,
    kind: Credential,
) -> Result<Option<(String, Option<String>)>, ApiError> {
    let attempt = app
        .store
        .reserve_password_attempt(
            username_key,
            kind,
            app.now_ms(),
            FREE_ATTEMPTS,
            MAX_BACKOFF_SECS,
        )
        .await?;
    match attempt {
        LoginAttempt::Known { user_id, domain_id } => Ok(Some((user_id, domain_id))),
        LoginAttempt::Unknown => Ok(None),
        LoginAttempt::Throttled { retry_after_secs } => {
            tracing::info!(reason = "throttled", "login refused");
            Err(ApiError::OverLimit { retry_after_secs })
        }
    }
}
