//! MFA settings (§2.12) and delete-mfa (§2.15).

use crate::app::App;
use crate::auth::{Rule, Scope, authorize_target, path_user, require, require_step_up};
use crate::domain::{EnforcementLevel, FactorType};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply};
use crate::policy;
use crate::services::audit;
use crate::store::{LevelChange, MfaChange, UserRec};
use crate::wire::requests::MfaSettingsRequest;
use lambda_http::http::StatusCode;

const NO_DEVICE: ApiError = ApiError::BadRequest("No multi-factor device on user account");
const PHONE_UNVERIFIED: ApiError =
    ApiError::BadRequest("Multi-factor phone on account is not verified");
const NO_OTP: ApiError = ApiError::BadRequest("No verified OTP device on user account");
const MANDATED: ApiError = ApiError::Forbidden(
    "Cannot update user enforcement level when domain enforcement level set as RACKSPACE_MANDATED",
);

/// The factor that `enabled: true` would use (§2.12), checked against the user's verified devices.
fn factor_for_enable(
    user: &UserRec,
    requested: Option<FactorType>,
) -> Result<FactorType, ApiError> {
    let factor = requested.or(user.factor).or_else(|| {
        if user.verified_phone().is_some() {
            Some(FactorType::Sms)
        } else if user.otp_verified > 0 {
            Some(FactorType::Otp)
        } else {
            None
        }
    });
    match factor {
        Some(f) => check_factor(user, f).map(|()| f),
        None if user.phone.is_some() => Err(PHONE_UNVERIFIED),
        None => Err(NO_DEVICE),
    }
}

fn check_factor(user: &UserRec, f: FactorType) -> Result<(), ApiError> {
    match f {
        FactorType::Sms if user.verified_phone().is_some() => Ok(()),
        FactorType::Sms if user.phone.is_some() => Err(PHONE_UNVERIFIED),
        FactorType::Sms => Err(NO_DEVICE),
        FactorType::Otp if user.otp_verified > 0 => Ok(()),
        FactorType::Otp => Err(NO_OTP),
    }
}

/// `PUT {MF}` — rule A plus per-field limits; scoped OK for `enabled`/`factorType` on self.
///
/// All fields are validated before any is applied; the write is one conditional update of the
/// user item, which also carries the revocation markers (§4.3).
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn update_settings(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) =
        authorize_target(app, &ctx, ctx.param("userId"), Scope::ScopedOk).await?;
    let c = caller.user.subject();
    let t = target.subject();
    require(policy::can_manage(&c, &t))?;
    require_step_up(&caller, &target)?;
    const NO_BODY: &str = "Request body must contain a 'RAX-AUTH:multiFactor' object.";
    const BAD_FACTOR: &str = "factorType must be SMS or OTP.";
    const BAD_LEVEL: &str =
        "userMultiFactorEnforcementLevel must be DEFAULT, OPTIONAL or REQUIRED.";
    let m = ctx
        .body::<MfaSettingsRequest>()?
        .settings
        .required(NO_BODY, NO_BODY)?;
    let enabled = m
        .enabled
        .optional("enabled must be true or false.")?
        .map(|f| f.0);
    let factor = match m.factor_type.optional(BAD_FACTOR)? {
        None => None,
        Some(f) => Some(FactorType::parse(&f).ok_or(ApiError::BadRequest(BAD_FACTOR))?),
    };
    let unlock = m
        .unlock
        .optional("unlock must be true or false.")?
        .map(|f| f.0);
    let level = match m
        .level
        .optional("userMultiFactorEnforcementLevel must be a string.")?
    {
        None => None,
        Some(l) => Some(EnforcementLevel::parse_user(&l).ok_or(ApiError::BadRequest(BAD_LEVEL))?),
    };
    if enabled.is_none() && factor.is_none() && unlock.is_none() && level.is_none() {
        return Err(ApiError::BadRequest(
            "At least one multi-factor setting is required.",
        ));
    }
    if caller.scoped() && (unlock.is_some() || level.is_some()) {
        return Err(ApiError::Forbidden(
            "A SETUP-MFA scoped token may only enable multi-factor or choose its factor.",
        ));
    }
    if unlock == Some(true) && c.id == t.id {
        return Err(ApiError::Forbidden(
            "Users cannot unlock their own multi-factor authentication.",
        ));
    }
    let domain = match (level, &target.domain_id) {
        (Some(_), Some(d)) => app.store.get_domain(d).await?,
        _ => None,
    };
    if level.is_some() {
        require(policy::is_admin_kind(&c))?;
        if domain
            .as_ref()
            .is_some_and(|d| d.level == EnforcementLevel::RackspaceMandated)
            && !policy::is_rackspace(&c)
        {
            return Err(MANDATED);
        }
    }
    // Device preconditions, checked here and guarded again at write time.
    let enable_factor = match enabled {
        Some(true) => Some(factor_for_enable(&target, factor)?),
        _ => {
            if let Some(f) = factor {
                check_factor(&target, f)?;
            }
            None
        }
    };

    let now = app.now_ms();
    let turning_on = enabled == Some(true) && !target.mfa_enabled;
    let change = MfaChange {
        factor: enable_factor.or(factor),
        enabled,
        drop_bypass: target
            .bypass_set
            .clone()
            .filter(|_| enabled == Some(false))
            .map(|s| (s, target.bypass_count)),
        // Off -> on: every token of the user goes, SETUP-MFA tokens included (§4.3).
        revoke_all_at: turning_on.then_some(now),
        reset_fails: turning_on || enabled == Some(false) || unlock == Some(true),
        level: level.map(|new_level| {
            let markers = target.markers(domain.as_ref().map_or(0, |d| d.revoked_non_mfa));
            let domain_requires = domain.as_ref().is_some_and(|d| d.level.domain_requires());
            let revoked_non_mfa = if new_level == EnforcementLevel::Required
                || (new_level == EnforcementLevel::Default && domain_requires)
            {
                now
            } else {
                policy::fold_domain_marker(target.level, &markers)
            };
            LevelChange {
                level: new_level,
                since: now,
                revoked_non_mfa,
            }
        }),
        // The level the permission check read must still be the domain's (§9.3).
        domain_guard: level.and(domain.as_ref()).map(|d| (d.id.clone(), d.level)),
    };
    if change.is_noop() {
        // Only `unlock: false`: nothing to change.
        return Ok(Reply::empty(StatusCode::NO_CONTENT));
    }
    if !app.store.apply_mfa_change(&target.id, &change).await? {
        if let Some((domain_id, read)) = &change.domain_guard {
            let now_level = app.store.get_domain(domain_id).await?.map(|d| d.level);
            if now_level != Some(*read) {
                // The domain's level changed after the permission check read it.
                if now_level == Some(EnforcementLevel::RackspaceMandated)
                    && !policy::is_rackspace(&c)
                {
                    return Err(MANDATED);
                }
                return Err(ApiError::Conflict(
                    "The domain's enforcement level changed concurrently; retry.",
                ));
            }
        }
        // A device changed between the read and the write.
        return Err(NO_DEVICE);
    }
    let (actor, t) = (&caller.user, &target);
    match enabled {
        Some(true) if !target.mfa_enabled => audit::acted(&ctx, "mfa.enable", actor, t),
        Some(false) if target.mfa_enabled => audit::acted(&ctx, "mfa.disable", actor, t),
        _ => {}
    }
    if unlock == Some(true) {
        audit::acted(&ctx, "mfa.unlock", actor, t);
    }
    if level.is_some() {
        audit::acted(&ctx, "enforcement.user", actor, t);
    }
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `DELETE {MF}` — rule L, idempotent, one transaction (§2.15).
///
/// # Errors
/// 401, 403, 404, 409, 503.
pub async fn delete_mfa(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::L).await?;
    require_step_up(&caller, &target)?;
    // Read again if a device is added between the read and the write (the count guards it).
    for _ in 0..3 {
        let bundle = app.store.get_bundle(&target.id).await?;
        if bundle.user.is_none() {
            return Err(errs::NO_USER);
        }
        if app.store.delete_mfa(&bundle).await? {
            audit::acted(&ctx, "mfa.delete", &caller.user, &target);
            return Ok(Reply::empty(StatusCode::NO_CONTENT));
        }
    }
    Err(ApiError::Conflict(
        "The user's multi-factor devices changed concurrently; retry.",
    ))
}
