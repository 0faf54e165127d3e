//! Bypass codes (§2.13).

use crate::app::App;
use crate::auth::{Rule, Scope, path_user, require_step_up};
use crate::crypto;
use crate::domain::{format_duration_secs, parse_duration_secs};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply};
use crate::services::audit;
use crate::services::secrets;
use crate::store::BypassRec;
use crate::wire::CaseInsensitive;
use crate::wire::requests::{BypassRequest, BypassSpec};
use crate::wire::responses::{BypassCodes, BypassResponse};
use lambda_http::http::StatusCode;

/// Longest validity of codes a user generates for itself (contract §8.3: `P365D`).
const MAX_SELF_VALIDITY_SECS: u64 = 365 * 86_400;

/// `POST {MF}/bypass-codes` — rule L.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn generate_bypass_codes(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::L).await?;
    require_step_up(&caller, &target)?;
    let on_self = caller.user.id == target.id;
    let spec = match ctx.body_opt::<CaseInsensitive<BypassRequest>>()? {
        None => BypassSpec::default(),
        Some(CaseInsensitive(b)) => b
            .spec
            .optional("RAX-AUTH:bypassCodes must be an object.")?
            .map(|CaseInsensitive(s)| s)
            .unwrap_or_default(),
    };
    const BAD_COUNT: ApiError = ApiError::BadRequest(
        "numberOfCodes must be a whole number from 1 to 10 (exactly 1 for another user).",
    );
    let count = spec
        .number_of_codes
        .optional(BAD_COUNT.public_message())?
        .map_or(1, |n| n.0);
    if !(1..=10).contains(&count) || (!on_self && count != 1) {
        return Err(BAD_COUNT);
    }
    let duration = match spec
        .validity_duration
        .optional("validityDuration must be an ISO 8601 duration such as PT30M.")?
    {
        None => 1800,
        Some(d) => parse_duration_secs(&d)?,
    };
    if !on_self && !(60..=10_800).contains(&duration) {
        return Err(ApiError::BadRequest(
            "validityDuration for another user must be from 1 to 180 minutes.",
        ));
    }
    if duration > MAX_SELF_VALIDITY_SECS {
        return Err(ApiError::BadRequest(
            "validityDuration must be at most P365D.",
        ));
    }
    const MFA_OFF: ApiError = ApiError::BadRequest(
        "Multi-factor authentication must be enabled to generate bypass codes.",
    );
    if !target.mfa_enabled {
        return Err(MFA_OFF);
    }
    let expires = (app.now_ms() / 1000).saturating_add(duration);
    let set_id = crypto::new_id();
    let mut codes = Vec::new();
    let mut recs = Vec::new();
    let context = secrets::bypass_context(&target.id, &set_id);
    for i in 0..usize::try_from(count).unwrap_or(1) {
        let code = crypto::random_digits(9);
        let hash = secrets::hash_code(app, &code, &context).await?;
        recs.push(BypassRec::new(&set_id, i, hash, expires));
        codes.push(code);
    }
    // The new set replaces the current one in the same transaction; if another generation
    // got there first, read the user again and replace that one instead.
    let mut user = target;
    for attempt in 1..=3 {
        let previous = user.bypass_set.as_deref().map(|s| (s, user.bypass_count));
        if app
            .store
            .put_bypass_set(&user.id, &set_id, &recs, previous)
            .await?
        {
            break;
        }
        user = app.store.get_user(&user.id).await?.ok_or(errs::NO_USER)?;
        if !user.mfa_enabled {
            return Err(MFA_OFF);
        }
        if attempt == 3 {
            return Err(ApiError::Conflict(
                "The user's bypass codes changed concurrently; retry.",
            ));
        }
    }
    let target = user;
    audit::acted(&ctx, "bypass.generate", &caller.user, &target);
    let codes = BypassCodes {
        codes,
        validity_duration: format_duration_secs(duration),
    };
    Ok(Reply::body(StatusCode::OK, &BypassResponse { codes }))
}
