//! Sending an SMS within the send limits (§2.2, §8.3, §9.3): claim per destination number (for
//! verification PINs only) and per phone, send, and give the claims back if SNS fails, so an
//! SMS nobody received does not count.

use crate::app::App;
use crate::domain::PhoneNumber;
use crate::error::ApiError;
use crate::services::metrics;
use crate::store::{CapClaim, NumberClaim, SmsClaim, SmsRefusal, UserRec};

/// What an SMS is for: it decides which limits count it (§9.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsKind {
    /// A phone-verification PIN: counted per destination number (shared by every account that
    /// registered it) and per phone; a number that opted out of SMS is refused.
    Verification,
    /// The passcode of a login to the user's own verified MFA phone: counted per phone and user
    /// only, so another account that registered the same number can never block the login.
    LoginPasscode,
}

/// Sends `message` to `number`, the phone of `user`, counted against the limits of `kind`.
///
/// # Errors
/// `413` with `Retry-After` when a limit refuses it; `503` when DynamoDB or SNS fails.
pub async fn send_limited(
    app: &App,
    user: &UserRec,
    number: &PhoneNumber,
    message: &str,
    kind: SmsKind,
) -> Result<(), ApiError> {
    let c = &app.config;
    let now = app.now_ms() / 1000;
    let over = |r: SmsRefusal| {
        metrics::count(app.now_ms(), "SmsRefused", &[("Reason", "limit")]);
        ApiError::OverLimit {
            retry_after_secs: r.retry_after_secs,
        }
    };
    // Per number first (shared by every account that registered it; verification PINs only),
    // then per phone.
    let number_claim = if kind == SmsKind::Verification {
        let number_key = app.keyring().await?.code_mac(number.e164(), "sms-number")?;
        let claim = app
            .store
            .claim_number(
                &number_key,
                now,
                c.sms_min_interval_secs,
                c.sms_hourly_limit,
            )
            .await?
            .map_err(over)?;
        Some(claim)
    } else {
        None
    };
    let user_claim = match app
        .store
        .claim_sms(user, now, c.sms_min_interval_secs, c.sms_hourly_limit)
        .await
    {
        Ok(Ok(claim)) => claim,
        Ok(Err(refusal)) => {
            refund(app, &user.id, number_claim, None).await;
            return Err(over(refusal));
        }
        Err(e) => {
            refund(app, &user.id, number_claim, None).await;
            return Err(e.into());
        }
    };
    let check_opt_out = kind == SmsKind::Verification;
    // Last, the deployment-wide ceiling (§9.3): counted only for an SMS every other limit allows.
    let cap_claim = match app.store.claim_deployment_sms(now, c.sms_hourly_cap).await {
        Ok(Ok(claim)) => claim,
        Ok(Err(refusal)) => {
            metrics::count(app.now_ms(), "SmsCapReached", &[]);
            tracing::warn!(cap = c.sms_hourly_cap, "deployment sms ceiling reached");
            refund(app, &user.id, number_claim, Some(user_claim)).await;
            return Err(over(refusal));
        }
        Err(e) => {
            refund(app, &user.id, number_claim, Some(user_claim)).await;
            return Err(e.into());
        }
    };
    let Err(e) = app.sms()?.send(number, message, check_opt_out).await else {
        metrics::count(app.now_ms(), "SmsSent", &[]);
        return Ok(());
    };
    refund(app, &user.id, number_claim, Some(user_claim)).await;
    refund_cap(app, cap_claim).await;
    Err(ApiError::Unavailable(e))
}

/// Gives back claims whose SMS did not go out (best effort: a failed refund only delays the
/// next send).
async fn refund(app: &App, user_id: &str, number: Option<NumberClaim>, user: Option<SmsClaim>) {
    if let Some(number) = number
        && let Err(e) = app.store.refund_number(number).await
    {
        tracing::warn!(user_id = %user_id, error = ?e, "sms number claim not given back");
    }
    if let Some(claim) = user
        && let Err(e) = app.store.refund_sms(claim).await
    {
        tracing::warn!(user_id = %user_id, error = ?e, "sms claim not given back");
    }
}

/// Gives back a deployment-ceiling claim whose SMS did not go out (best effort).
async fn refund_cap(app: &App, claim: CapClaim) {
    if let Err(e) = app.store.refund_deployment_sms(claim).await {
        tracing::warn!(error = ?e, "sms ceiling claim not given back");
    }
}
