//! The MFA login lock (§3.4, §8.3): consecutive failed passcodes, counted atomically on the
//! user, each attempt reserved before its passcode is checked.

use crate::app::App;
use crate::error::ApiError;
use crate::http::Ctx;
use crate::policy;
use crate::services::{audit, metrics};
use crate::store::{LockRule, UserRec};

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

/// The lock rule as configured, at the clock's now (for a commit that must not lift a lock).
pub fn rule(app: &App) -> LockRule {
    let c = &app.config;
    LockRule {
        now_ms: app.now_ms(),
        threshold: c.lockout_threshold,
        lock_ms: c.lockout_secs * 1000,
        cap: c.lockout_cap,
    }
}

/// Reserves one passcode attempt for `user_id` under the lock rule (atomic, shared by every
/// Lambda instance): `None` when the user is locked, else the consecutive attempts including
/// this one. The attempt counts as a failure until a successful login resets the count.
///
/// # Errors
/// `503` on DynamoDB faults.
pub async fn reserve_attempt(app: &App, user_id: &str) -> Result<Option<u64>, ApiError> {
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
    Ok(reserved)
}

/// Records a failed attempt that was number `attempts` in a row: when it is the one that
/// engages the lock, an `mfa.lock` audit event and the `Lockouts` metric.
pub fn note_failure(app: &App, ctx: &Ctx, user: &UserRec, attempts: u64) {
    if attempts == app.config.lockout_threshold || attempts == app.config.lockout_cap {
        audit::Event::new("mfa.lock", "success")
            .by(&user.id, &user.id, user.domain_id.as_deref())
            .emit(ctx);
        metrics::count(app.now_ms(), "Lockouts", &[]);
    }
}
