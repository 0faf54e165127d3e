//! Sending an SMS within the send limits (§2.2): claim, send, and give the claim back if SNS
//! fails, so an SMS the user never received does not count.

use crate::app::App;
use crate::domain::PhoneNumber;
use crate::error::ApiError;
use crate::store::UserRec;

/// Sends `message` to `number`, the phone of `user`, counted against the user's limits.
///
/// # Errors
/// `413` with `Retry-After` when a limit refuses it; `503` when DynamoDB or SNS fails.
pub async fn send_limited(
    app: &App,
    user: &UserRec,
    number: &PhoneNumber,
    message: &str,
) -> Result<(), ApiError> {
    let c = &app.config;
    let claim = app
        .store
        .claim_sms(
            user,
            app.now_ms() / 1000,
            c.sms_min_interval_secs,
            c.sms_hourly_limit,
        )
        .await?
        .map_err(|r| ApiError::OverLimit {
            retry_after_secs: r.retry_after_secs,
        })?;
    let Err(e) = app.sms()?.send(number, message).await else {
        return Ok(());
    };
    if let Err(refund) = app.store.refund_sms(claim).await {
        tracing::warn!(user_id = %user.id, error = ?refund, "sms claim not given back");
    }
    Err(ApiError::Unavailable(e))
}
