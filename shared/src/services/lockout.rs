//! The MFA login lock (§3.4): consecutive failed passcodes, counted atomically on the user.

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

/// Counts a failed passcode for `user_id` (atomic `ADD`, shared by every Lambda instance).
///
/// # Errors
/// `503` on DynamoDB faults.
pub async fn record_failure(app: &App, user_id: &str) -> Result<(), ApiError> {
    if let Some(fails) = app
        .store
        .record_passcode_failure(user_id, app.now_ms())
        .await?
    {
        tracing::info!(user_id = %user_id, fails, reason = "wrong passcode", "mfa login failed");
    }
    Ok(())
}
