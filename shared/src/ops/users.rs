//! Identity core: create-user, get-user, get-domain, add-role-to-user (§2.17).

use super::{Rule, Scope, authorize, authorize_target, path_user, require};
use crate::app::App;
use crate::crypto;
use crate::domain::{EnforcementLevel, Password, Role, Username, parse_email};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply, bool_field, object, str_field};
use crate::policy;
use crate::store::{CreateUserError, DomainPlan, DomainRec, UpdateOutcome, UserRec, UserUpdate};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::{StatusCode, header};
use serde_json::{Value, json};

/// The `user` object of get-user (§2.17).
pub fn user_json(u: &UserRec, locked: bool) -> Value {
    let mut v = json!({
        "id": u.id,
        "username": u.username,
        "email": u.email,
        "enabled": u.enabled,
        "RAX-AUTH:defaultRegion": u.region,
        "RAX-AUTH:multiFactorEnabled": u.mfa_enabled,
        "RAX-AUTH:userMultiFactorEnforcementLevel": u.level.as_str(),
    });
    if let Some(d) = &u.domain_id {
        v["RAX-AUTH:domainId"] = json!(d);
    }
    if u.mfa_enabled {
        v["RAX-AUTH:multiFactorState"] = json!(if locked { "LOCKED" } else { "ACTIVE" });
        if let Some(f) = u.factor {
            v["RAX-AUTH:factorType"] = json!(f.as_str());
        }
    }
    v
}

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

/// `POST /v2.0/users`.
///
/// # Errors
/// 400, 401, 403, 409, 415, 503.
pub async fn create_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let role = policy::created_role(&caller.user.subject()).ok_or(errs::FORBIDDEN)?;
    let body = ctx.json()?;
    let u = object(&body, "user", "Request body must contain a 'user' object.")?;
    let username = str_field(u, "username", "username must be a string.")?
        .ok_or(ApiError::BadRequest("username is required."))?;
    let username = Username::parse(username)?;
    let email = str_field(u, "email", "email must be a string.")?
        .ok_or(ApiError::BadRequest("email is required."))?;
    let email = parse_email(email)?;
    let enabled = bool_field(u, "enabled", "enabled must be a boolean.")?.unwrap_or(true);
    let (password, generated) = match str_field(
        u,
        "OS-KSADM:password",
        "OS-KSADM:password must be a string.",
    )? {
        Some(p) => (Password::parse(p)?, false),
        None => (Password::parse(&crypto::generate_password())?, true),
    };
    let requested_domain = match u.get("RAX-AUTH:domainId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 64 => {
            Some(s.trim().to_string())
        }
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "RAX-AUTH:domainId must be a non-empty string.",
            ));
        }
    };

    let id = crypto::new_id();
    let (domain_id, plan) = match role {
        Role::Admin => (None, DomainPlan::None),
        Role::UserAdmin => {
            // Numeric like the examples, random so ids do not collide.
            let did = requested_domain.unwrap_or_else(|| format!("1{}", crypto::random_digits(11)));
            let d = DomainRec {
                id: did.clone(),
                name: did.clone(),
                enabled: true,
                description: format!("Domain of {}", username.as_str()),
                level: app.config.new_domain_level,
                users: 1,
                revoked_non_mfa: 0,
            };
            (Some(did), DomainPlan::Create(d))
        }
        _ => {
            let did = caller.user.domain_id.clone().ok_or(errs::FORBIDDEN)?;
            if requested_domain.as_deref().is_some_and(|r| r != did) {
                return Err(ApiError::Forbidden(
                    "Users can only be created in your own domain.",
                ));
            }
            (
                Some(did.clone()),
                DomainPlan::Join {
                    id: did,
                    limit: app.config.domain_user_limit,
                },
            )
        }
    };
    let password_hash = crypto::hash_password(password.expose())?;
    let now = app.now_ms();
    let user = UserRec {
        id: id.clone(),
        username: username.as_str().to_string(),
        email,
        enabled,
        domain_id,
        region: app.config.default_region.clone(),
        password_hash,
        roles: vec![role],
        level: EnforcementLevel::Default,
        level_since: now,
        ..UserRec::default()
    };
    match app.store.create_user(&user, &username.key(), plan).await {
        Ok(()) => {}
        Err(CreateUserError::Duplicate) => {
            return Err(ApiError::Conflict("Username already exists."));
        }
        Err(CreateUserError::DomainFull) => {
            return Err(ApiError::BadRequest(
                "The domain has reached its user limit.",
            ));
        }
        Err(CreateUserError::DomainTaken) => {
            return Err(ApiError::BadRequest("The domain already exists."));
        }
        Err(CreateUserError::NoDomain) => {
            return Err(ApiError::BadRequest("The domain does not exist."));
        }
        Err(CreateUserError::Api(e)) => return Err(e),
    }
    tracing::info!(user_id = %user.id, role = role.name(), "user created");
    let mut out = json!({
        "id": user.id,
        "username": user.username,
        "email": user.email,
        "enabled": user.enabled,
        "RAX-AUTH:defaultRegion": user.region,
    });
    if let Some(d) = &user.domain_id {
        out["RAX-AUTH:domainId"] = json!(d);
    }
    if generated {
        out["OS-KSADM:password"] = json!(password.expose());
    }
    Ok(
        Reply::json(StatusCode::CREATED, json!({ "user": out })).with_header(
            header::LOCATION,
            format!("{}/v2.0/users/{}", ctx.base_url, user.id),
        ),
    )
}

/// `GET /v2.0/users/{userId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let locked = is_locked(app, &target);
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "user": user_json(&target, locked) }),
    ))
}

/// `GET /v2.0/RAX-AUTH/domains/{domainId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get_domain(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let domain = app
        .store
        .get_domain(ctx.param("domainId"))
        .await?
        .ok_or(ApiError::NotFound("Domain not found."))?;
    let c = caller.user.subject();
    let own = caller.user.domain_id.as_deref() == Some(domain.id.as_str())
        && (caller.user.roles.contains(&Role::UserAdmin)
            || caller.user.roles.contains(&Role::UserManage));
    require(own || policy::is_rackspace(&c))?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"RAX-AUTH:domain": {
            "id": domain.id,
            "name": domain.name,
            "enabled": domain.enabled,
            "description": domain.description,
            "domainMultiFactorEnforcementLevel": domain.level.as_str(),
        }}),
    ))
}

/// `PUT /v2.0/users/{userId}/roles/OS-KSADM/{roleId}`.
///
/// Only the sub-user roles (`identity:default`, `identity:user-manage`,
/// `identity:user-manage-limited`) can be granted here; user-manage holders keep `identity:default`.
///
/// # Errors
/// 400, 401, 403, 404, 503.
pub async fn add_role_to_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) =
        authorize_target(app, &ctx, ctx.param("userId"), Scope::FullOnly).await?;
    let c = caller.user.subject();
    let t = target.subject();
    require(c.id != t.id && policy::can_manage(&c, &t))?;
    let role = Role::from_id(ctx.param("roleId")).ok_or(ApiError::NotFound("Role not found."))?;
    if !matches!(
        role,
        Role::UserManage | Role::UserManageLimited | Role::Default
    ) || !target.roles.contains(&Role::Default)
    {
        return Err(ApiError::Forbidden(
            "This role cannot be assigned to this user.",
        ));
    }
    if !target.roles.contains(&role) {
        let mut roles: Vec<AttributeValue> = target
            .roles
            .iter()
            .map(|r| AttributeValue::S(r.id().into()))
            .collect();
        roles.push(AttributeValue::S(role.id().into()));
        let old: Vec<AttributeValue> = target
            .roles
            .iter()
            .map(|r| AttributeValue::S(r.id().into()))
            .collect();
        let mut u = UserUpdate::new();
        // Compare-and-set on the role list, so two concurrent grants cannot lose one.
        u.cond_exists()
            .cond_eq("roles", AttributeValue::L(old))
            .set("roles", AttributeValue::L(roles));
        if let UpdateOutcome::ConditionFailed(_) = app.store.update_user(&target.id, u).await? {
            return Err(ApiError::Conflict(
                "The user's roles changed concurrently; retry.",
            ));
        }
        tracing::info!(user_id = %target.id, role = role.name(), "role added");
    }
    Ok(Reply::json(
        StatusCode::OK,
        json!({"role": {"id": role.id(), "name": role.name(), "description": role.description()}}),
    ))
}
