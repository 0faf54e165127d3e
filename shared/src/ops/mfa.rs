//! MFA settings (§2.12), bypass codes (§2.13), domain enforcement (§2.14) and delete-mfa (§2.15).

use super::{Rule, Scope, authorize, authorize_target, path_user, require};
use crate::app::App;
use crate::crypto;
use crate::domain::{
    EnforcementLevel, FactorType, Role, format_duration_secs, parse_duration_secs,
};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply, bool_field, field_ci, object, str_field};
use crate::policy;
use crate::store::{
    BypassRec, PHONE_ATTRS, PIN_ATTRS, Store, TxWrite, UpdateOutcome, UserRec, UserUpdate,
};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::StatusCode;
use serde_json::{Value, json};

const NO_DEVICE: ApiError = ApiError::BadRequest("No multi-factor device on user account");
const PHONE_UNVERIFIED: ApiError =
    ApiError::BadRequest("Multi-factor phone on account is not verified");
const NO_OTP: ApiError = ApiError::BadRequest("No verified OTP device on user account");
const MANDATED: ApiError = ApiError::Forbidden(
    "Cannot update user enforcement level when domain enforcement level set as RACKSPACE_MANDATED",
);

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

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

/// Adds the atomic guard that the factor's device is still verified at write time.
fn guard_factor(u: &mut UserUpdate, f: FactorType) {
    match f {
        FactorType::Sms => {
            u.cond_eq("phone_verified", AttributeValue::Bool(true));
        }
        FactorType::Otp => {
            let (ov, zero) = (u.name("otp_verified"), u.val(n(0)));
            u.cond(format!("{ov} > {zero}"));
        }
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
    let body = ctx.json()?;
    let m = object(
        &body,
        "RAX-AUTH:multiFactor",
        "Request body must contain a 'RAX-AUTH:multiFactor' object.",
    )?;
    let enabled = bool_field(m, "enabled", "enabled must be true or false.")?;
    let factor = match str_field(m, "factorType", "factorType must be SMS or OTP.")? {
        None => None,
        Some(f) => Some(
            FactorType::parse(f).ok_or(ApiError::BadRequest("factorType must be SMS or OTP."))?,
        ),
    };
    let unlock = bool_field(m, "unlock", "unlock must be true or false.")?;
    let level = match str_field(
        m,
        "userMultiFactorEnforcementLevel",
        "userMultiFactorEnforcementLevel must be a string.",
    )? {
        None => None,
        Some(l) => Some(EnforcementLevel::parse_user(l).ok_or(ApiError::BadRequest(
            "userMultiFactorEnforcementLevel must be DEFAULT, OPTIONAL or REQUIRED.",
        ))?),
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
    // Device preconditions.
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
    let mut u = UserUpdate::new();
    u.cond_exists();
    if let Some(f) = enable_factor.or(factor) {
        guard_factor(&mut u, f);
        u.set("factor", AttributeValue::S(f.as_str().into()));
    }
    match enabled {
        Some(true) => {
            u.set("mfa_enabled", AttributeValue::Bool(true));
            if !target.mfa_enabled {
                // Off -> on: every token of the user goes, SETUP-MFA tokens included (§4.3).
                u.set("revoked_all", n(now)).set("fails", n(0));
            }
        }
        Some(false) => {
            u.set("mfa_enabled", AttributeValue::Bool(false))
                .set("fails", n(0))
                .add("mfa_epoch", 1)
                .remove("bypass_set");
        }
        None => {}
    }
    if unlock == Some(true) && enabled != Some(false) {
        u.set("fails", n(0));
    }
    if let Some(new_level) = level {
        let markers = target.markers(domain.as_ref().map_or(0, |d| d.revoked_non_mfa));
        let domain_requires = domain.as_ref().is_some_and(|d| d.level.domain_requires());
        let non_mfa = if new_level == EnforcementLevel::Required
            || (new_level == EnforcementLevel::Default && domain_requires)
        {
            now
        } else {
            policy::fold_domain_marker(target.level, &markers)
        };
        u.set("level", AttributeValue::S(new_level.as_str().into()))
            .set("level_since", n(now))
            .set("revoked_non_mfa", n(non_mfa));
    }
    if !u.has_actions() {
        // Only `unlock: false` (or `unlock: true` with `enabled: false`): nothing to change.
        return Ok(Reply::empty(StatusCode::NO_CONTENT));
    }
    if let UpdateOutcome::ConditionFailed(_) = app.store.update_user(&target.id, u).await? {
        // A device changed between the read and the write.
        return Err(NO_DEVICE);
    }
    tracing::info!(user_id = %target.id, ?enabled, factor = ?enable_factor.or(factor), unlock = ?unlock, level = ?level, "mfa settings updated");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `POST {MF}/bypass-codes` — rule L.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn generate_bypass_codes(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::L).await?;
    let on_self = caller.user.id == target.id;
    let body = ctx.json_opt()?;
    let spec = match &body {
        None => None,
        Some(b) => match field_ci(b, "RAX-AUTH:bypassCodes") {
            None => None,
            Some((_, Value::Object(o))) => Some(o),
            Some(_) => {
                return Err(ApiError::BadRequest(
                    "RAX-AUTH:bypassCodes must be an object.",
                ));
            }
        },
    };
    const BAD_COUNT: ApiError = ApiError::BadRequest(
        "numberOfCodes must be a whole number from 1 to 10 (exactly 1 for another user).",
    );
    let count = match spec.and_then(|o| field_ci(o, "numberOfCodes")) {
        None | Some((_, Value::Null)) => 1,
        Some((_, Value::Number(x))) => x.as_i64().ok_or(BAD_COUNT)?,
        Some((_, Value::String(x))) => x.trim().parse().map_err(|_| BAD_COUNT)?,
        Some(_) => return Err(BAD_COUNT),
    };
    if !(1..=10).contains(&count) || (!on_self && count != 1) {
        return Err(BAD_COUNT);
    }
    let duration = match spec.and_then(|o| field_ci(o, "validityDuration")) {
        None | Some((_, Value::Null)) => 1800,
        Some((_, Value::String(d))) => parse_duration_secs(d)?,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "validityDuration must be an ISO 8601 duration such as PT30M.",
            ));
        }
    };
    if !on_self && !(60..=10_800).contains(&duration) {
        return Err(ApiError::BadRequest(
            "validityDuration for another user must be from 1 to 180 minutes.",
        ));
    }
    const MFA_OFF: ApiError = ApiError::BadRequest(
        "Multi-factor authentication must be enabled to generate bypass codes.",
    );
    if !target.mfa_enabled {
        return Err(MFA_OFF);
    }
    let now_s = app.now_ms() / 1000;
    let set_id = crypto::new_id();
    let mut codes = Vec::new();
    let mut recs = Vec::new();
    for i in 0..count {
        let code = crypto::random_digits(9);
        recs.push(BypassRec {
            sk: format!("BYPASS#{set_id}#{i}"),
            set_id: set_id.clone(),
            hash: crypto::hash_code(&code)?,
            expires: now_s.saturating_add(duration),
        });
        codes.push(code);
    }
    if !app.store.put_bypass_set(&target.id, &set_id, &recs).await? {
        return Err(MFA_OFF);
    }
    tracing::info!(user_id = %target.id, count, "bypass codes generated");
    Ok(Reply::json(
        StatusCode::OK,
        json!({"RAX-AUTH:bypassCodes": {"codes": codes, "validityDuration": format_duration_secs(duration)}}),
    ))
}

/// `PUT /v2.0/RAX-AUTH/domains/{domainId}/multi-factor`.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn update_domain_enforcement(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let domain = app
        .store
        .get_domain(ctx.param("domainId"))
        .await?
        .ok_or(ApiError::NotFound("Domain not found."))?;
    let c = caller.user.subject();
    let own_admin = caller.user.roles.contains(&Role::UserAdmin)
        && caller.user.domain_id.as_deref() == Some(domain.id.as_str());
    require(own_admin || policy::is_rackspace(&c))?;
    let body = ctx.json()?;
    let m = object(
        &body,
        "RAX-AUTH:multiFactorDomain",
        "Request body must contain a 'RAX-AUTH:multiFactorDomain' object.",
    )?;
    const BAD_LEVEL: ApiError = ApiError::BadRequest(
        "domainMultiFactorEnforcementLevel must be OPTIONAL, REQUIRED or RACKSPACE_MANDATED.",
    );
    let level = str_field(
        m,
        "domainMultiFactorEnforcementLevel",
        BAD_LEVEL.public_message(),
    )?
    .and_then(EnforcementLevel::parse_domain)
    .ok_or(BAD_LEVEL)?;
    if !caller.user.mfa_enabled {
        return Err(ApiError::Forbidden(
            "You must set up multi-factor authentication on your account before you can set multi-factor domain-level enforcement.",
        ));
    }
    let touches_mandated = level == EnforcementLevel::RackspaceMandated
        || domain.level == EnforcementLevel::RackspaceMandated;
    if touches_mandated && !policy::is_rackspace(&c) {
        return Err(ApiError::Forbidden(
            "Only Rackspace can set or change the RACKSPACE_MANDATED level. Open a support ticket.",
        ));
    }
    let mut u = UserUpdate::new();
    u.cond_exists()
        .set("level", AttributeValue::S(level.as_str().into()));
    if level.domain_requires() {
        // Non-MFA tokens of the domain's requiring users go (§4.3), checked at validation.
        u.set("revoked_non_mfa", n(app.now_ms()));
    }
    if let UpdateOutcome::ConditionFailed(_) = app.store.update_domain(&domain.id, u).await? {
        return Err(ApiError::NotFound("Domain not found."));
    }
    tracing::info!(domain_id = %domain.id, level = level.as_str(), "domain enforcement updated");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `DELETE {MF}` — rule L, idempotent, one transaction (§2.15).
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn delete_mfa(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::FullOnly, Rule::L).await?;
    // Retry if a device is added between the read and the write (the count guards it).
    for _ in 0..3 {
        let bundle = app.store.get_bundle(&target.id).await?;
        let user = bundle.user.ok_or(errs::NO_USER)?;
        let mut u = UserUpdate::new();
        u.cond_exists()
            .cond_eq("otp_count", n(user.otp_count))
            .set("mfa_enabled", AttributeValue::Bool(false))
            .set("fails", n(0))
            .set("otp_count", n(0))
            .set("otp_verified", n(0))
            .add("mfa_epoch", 1);
        u.remove_all(&["factor", "bypass_set"])
            .remove_all(PHONE_ATTRS)
            .remove_all(PIN_ATTRS);
        let (upk, usk) = Store::user_key(&target.id);
        let mut writes = vec![TxWrite::Update {
            pk: upk,
            sk: usk,
            update: u,
        }];
        for d in &bundle.devices {
            let (pk, sk) = Store::device_key(&target.id, &d.id);
            writes.push(TxWrite::Delete {
                pk,
                sk,
                if_exists: false,
            });
        }
        // Codes of the current set go in the transaction; older sets are already void (the
        // user's `bypass_set` no longer names them) and expire by TTL. Keeps the transaction
        // well under DynamoDB's 100-item limit.
        let current = user.bypass_set.as_deref().unwrap_or("");
        for c in bundle.bypass.iter().filter(|c| c.set_id == current) {
            writes.push(TxWrite::Delete {
                pk: Store::user_key(&target.id).0,
                sk: c.sk.clone(),
                if_exists: false,
            });
        }
        if app.store.transact(writes).await?.is_none() {
            tracing::info!(user_id = %target.id, "mfa deleted");
            return Ok(Reply::empty(StatusCode::NO_CONTENT));
        }
    }
    Err(ApiError::Conflict(
        "The user's multi-factor devices changed concurrently; retry.",
    ))
}
