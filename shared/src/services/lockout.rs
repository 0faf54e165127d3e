//! The MFA login lock (§3.4, §8.3): consecutive failed passcodes, counted atomically on the
//! user, each attempt reserved before its passcode is checked.

use crate::app::App;
use crate::error::ApiError;
use crate::policy;
use crate::store::UserRec;

/// Is the user's MFA login locked now?
pub fn is_locked(app: &App, u: &UserRec) -> bool {
    let c = &app.config;
    policy::is_locked(
        u.fails,
        u.last_fail,
        app.now_ms(),
        c.lockout_threshold,
        c.lockout_secs * 1000,
        c.lockout_cap,
    )
}

/// Reserves one passcode attempt for `user_id` under the lock rule (atomic, shared by every
/// Lambda instance): `false` when the user is locked. The attempt counts as a failure until a
/// successful login resets the count.
///
/// # Errors
/// `503` on DynamoDB faults.
pub async fn reserve_attempt(app: &App, user_id: &str) -> Result<bool, ApiError> {
    let c = &app.config;
    let reserved = app
        .store
        .reserve_passcode_attempt(
            user_id,
            app.now_ms(),
            c.lockout_threshold,
            c.lockout_secs * 1000,
            c.lockout_cap,
        )
        .await?;
    if let Some(attempts) = reserved {
        tracing::debug!(user_id = %user_id, attempts, "passcode attempt reserved");
    }
    Ok(reserved.is_some())
}
