//! Identity core: create-user, get-user, add-role-to-user (§2.17); update-user, delete-user,
//! change-password (§9.2).

use crate::app::App;
use crate::auth::{Rule, Scope, authorize, authorize_target, path_user, require};
use crate::crypto;
use crate::domain::{EnforcementLevel, Password, Role, Username, parse_email};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply};
use crate::policy;
use crate::services::{apikeys, audit, lockout, secrets, throttle};
use crate::store::{
    CreateRefusal, Credential, DeleteRefusal, DomainPlan, DomainRec, MAX_DOMAIN_ID, UpdateRefusal,
    UserChange, UserRec,
};
use crate::wire::requests::{ChangePasswordRequest, CreateUserRequest, UpdateUserRequest};
use crate::wire::responses::{
    CreatedUser, CreatedUserResponse, RoleResponse, RoleView, UserResponse, UserView,
};
use lambda_http::http::{StatusCode, header};

/// `POST /v2.0/users`.
///
/// # Errors
/// 400, 401, 403, 409, 415, 503.
pub async fn create_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let role = policy::created_role(&caller.user.subject()).ok_or(errs::FORBIDDEN)?;
    const NO_USER: &str = "Request body must contain a 'user' object.";
    let u = ctx
        .body::<CreateUserRequest>()?
        .user
        .required(NO_USER, NO_USER)?;
    let username = u
        .username
        .required("username is required.", "username must be a string.")?;
    let username = Username::parse(&username)?;
    let email = u
        .email
        .required("email is required.", "email must be a string.")?;
    let email = parse_email(&email)?;
    let enabled = u
        .enabled
        .optional("enabled must be a boolean.")?
        .is_none_or(|f| f.0);
    let (password, generated) = match u.password.optional("OS-KSADM:password must be a string.")? {
        Some(p) => (Password::parse(&p)?, false),
        None => (Password::parse(&crypto::generate_password())?, true),
    };
    const BAD_DOMAIN: ApiError =
        ApiError::BadRequest("RAX-AUTH:domainId must be a non-empty string.");
    let requested_domain = match u.domain_id.optional(BAD_DOMAIN.public_message())? {
        None => None,
        Some(d) if !d.0.trim().is_empty() && d.0.len() <= MAX_DOMAIN_ID => {
            Some(d.0.trim().to_string())
        }
        Some(_) => return Err(BAD_DOMAIN),
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
            let limit = app.config.domain_user_limit;
            (Some(did.clone()), DomainPlan::Join { id: did, limit })
        }
    };
    let password_hash = crypto::hash_password(password.expose())?;
    // Every user gets an API key at creation (§8.1), sealed to it.
    let api_key = secrets::seal_api_key(app, &id, &apikeys::generate()).await?;
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
        level_since: app.now_ms(),
        api_key: Some(api_key),
        ..UserRec::default()
    };
    if let Err(refusal) = app.store.create_user(&user, &username.key(), &plan).await? {
        return Err(match refusal {
            CreateRefusal::Duplicate => ApiError::Conflict("Username already exists."),
            CreateRefusal::DomainFull => {
                ApiError::BadRequest("The domain has reached its user limit.")
            }
            CreateRefusal::DomainTaken => ApiError::BadRequest("The domain already exists."),
            CreateRefusal::NoDomain => ApiError::BadRequest("The domain does not exist."),
        });
    }
    tracing::info!(user_id = %user.id, role = role.name(), "user created");
    let location = ctx.location(&format!("/v2.0/users/{}", user.id));
    let body = CreatedUserResponse {
        user: CreatedUser {
            id: user.id,
            username: user.username,
            email: user.email,
            enabled: user.enabled,
            default_region: user.region,
            domain_id: user.domain_id,
            password: generated.then(|| password.expose().to_string()),
        },
    };
    Ok(Reply::body(StatusCode::CREATED, &body).with_header(header::LOCATION, location))
}

/// `GET /v2.0/users/{userId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let user = UserView::new(&target, lockout::is_locked(app, &target));
    Ok(Reply::body(StatusCode::OK, &UserResponse { user }))
}

/// `PUT /v2.0/users/{userId}/roles/OS-KSADM/{roleId}`.
///
/// Only the sub-user roles (`identity:default`, `identity:user-manage`,
/// `identity:user-manage-limited`) can be granted here; user-manage holders keep `identity:default`.
///
/// # Errors
/// 400, 401, 403, 404, 409, 503.
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
        if !app
            .store
            .grant_role(&target.id, &target.roles, role)
            .await?
        {
            return Err(ApiError::Conflict(
                "The user's roles changed concurrently; retry.",
            ));
        }
        tracing::info!(user_id = %target.id, role = role.name(), "role added");
    }
    let role = RoleView::from(role);
    Ok(Reply::body(StatusCode::OK, &RoleResponse { role }))
}

/// `POST /v2.0/users/{userId}` and `PUT` on the same path (update-user, §9.2).
///
/// Rule A; rule L is enough for `email` and `enabled`; a user never changes its own
/// `enabled`. Disabling and any password change revoke every token of the user and end its
/// open MFA sessions, in the same write.
///
/// # Errors
/// 400, 401, 403, 404, 409, 415, 503.
pub async fn update_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::L).await?;
    let (c, t) = (caller.user.subject(), target.subject());
    let rule_a = policy::can_manage(&c, &t);
    let on_self = policy::is_self(&c, &t);
    const NO_USER: &str = "Request body must contain a 'user' object.";
    let u = ctx
        .body::<UpdateUserRequest>()?
        .user
        .required(NO_USER, NO_USER)?;
    let username = match u.username.optional("username must be a string.")? {
        Some(n) => Some(Username::parse(&n)?),
        None => None,
    };
    let email = match u.email.optional("email must be a string.")? {
        Some(e) => Some(parse_email(&e)?),
        None => None,
    };
    let enabled = u
        .enabled
        .optional("enabled must be a boolean.")?
        .map(|f| f.0);
    let password = match u.password.optional("OS-KSADM:password must be a string.")? {
        Some(p) => Some(Password::parse(&p)?),
        None => None,
    };
    if username.is_none() && email.is_none() && enabled.is_none() && password.is_none() {
        return Err(ApiError::BadRequest(
            "Nothing to update: give username, email, enabled or OS-KSADM:password.",
        ));
    }
    // Rule L (user-manage-limited) covers email and enabled only.
    require(rule_a || (username.is_none() && password.is_none()))?;
    if on_self && enabled.is_some() {
        return Err(ApiError::Forbidden(
            "Users cannot change the enabled status of their own account.",
        ));
    }
    // The password of an MFA user is changed only with a second factor behind the token
    // (§9.2 change-password): an API-key token alone must not replace it.
    if on_self && password.is_some() && target.mfa_enabled && !caller.token.is_mfa() {
        return Err(ApiError::Forbidden(
            "Multi-factor authentication is required for this change",
        ));
    }
    let password_hash = match &password {
        Some(p) => Some(crypto::hash_password(p.expose())?),
        None => None,
    };
    let revoke = enabled == Some(false) || password_hash.is_some();
    let change = UserChange {
        username: username
            .filter(|n| n.as_str() != target.username)
            .map(|n| (n.as_str().to_string(), n.key())),
        email: email.filter(|e| *e != target.email),
        enabled,
        password_hash,
        revoke_all_at: revoke.then(|| app.now_ms()),
    };
    match app.store.change_user(&target, &change).await? {
        Ok(()) => {}
        Err(UpdateRefusal::Duplicate) => {
            return Err(ApiError::Conflict("Username already exists."));
        }
        Err(UpdateRefusal::Changed) => {
            return Err(ApiError::Conflict(
                "The user was changed concurrently; read it again and retry.",
            ));
        }
    }
    tracing::info!(user_id = %target.id, revoked = revoke, "user updated");
    audit::acted(&ctx, "user.update", &caller.user, &target);
    if change.password_hash.is_some() {
        audit::acted(&ctx, "user.password", &caller.user, &target);
    }
    match enabled {
        Some(false) if target.enabled => audit::acted(&ctx, "user.disable", &caller.user, &target),
        Some(true) if !target.enabled => audit::acted(&ctx, "user.enable", &caller.user, &target),
        _ => {}
    }
    let mut updated = target;
    if let Some((name, _)) = change.username {
        updated.username = name;
    }
    if let Some(e) = change.email {
        updated.email = e;
    }
    if let Some(en) = enabled {
        updated.enabled = en;
    }
    let user = UserView::new(&updated, lockout::is_locked(app, &updated));
    Ok(Reply::body(StatusCode::OK, &UserResponse { user }))
}

/// `DELETE /v2.0/users/{userId}` (delete-user, §9.2): rule A, never self; a user-admin only
/// as the last user of its domain. Everything the user owns goes; its username is free at
/// once; `404` afterwards.
///
/// # Errors
/// 401, 403, 404, 409, 503.
pub async fn delete_user(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::A).await?;
    if caller.user.id == target.id {
        return Err(ApiError::Forbidden(
            "Users cannot delete their own account.",
        ));
    }
    let last_only = target.roles.contains(&Role::UserAdmin);
    // A device added between the read and the write changes the snapshot: read again.
    for _ in 0..3 {
        let bundle = app.store.get_bundle(&target.id).await?;
        if bundle.user.is_none() {
            return Err(errs::NO_USER);
        }
        match app.store.delete_user(&bundle, last_only).await? {
            Ok(()) => {
                tracing::info!(user_id = %target.id, "user deleted");
                audit::acted(&ctx, "user.delete", &caller.user, &target);
                return Ok(Reply::empty(StatusCode::NO_CONTENT));
            }
            Err(DeleteRefusal::NotLast) => {
                return Err(ApiError::Forbidden(
                    "A user-admin can be deleted only when it is the last user of its domain.",
                ));
            }
            Err(DeleteRefusal::Changed) => {}
        }
    }
    Err(ApiError::Conflict(
        "The user was changed concurrently; read it again and retry.",
    ))
}

/// The password step's answer to a wrong username or password (§2.16).
const BAD_CREDENTIALS: ApiError =
    ApiError::Unauthorized("Unable to authenticate user with credentials provided.");
/// `POST /v2.0/users/RAX-AUTH/change-pwd` (change-password, §9.2): no token; the username and
/// its current password prove the caller.
///
/// The body is checked first (a request that cannot succeed costs no guessing attempt); then
/// one attempt is reserved against the username's guessing throttle, the same counter as the
/// password login (§8.3), before the current password is looked at. A right password clears
/// the count. A disabled user gets `403 userDisabled`, a user with MFA enabled `403` (the
/// current password alone must not replace it). The change revokes every token of the user
/// and ends its open MFA sessions, in the same write, as update-user does.
///
/// # Errors
/// 400, 401, 403, 409, 413, 415, 503.
pub async fn change_password(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    const NO_CREDS: &str =
        "Request body must contain a 'RAX-AUTH:changePasswordCredentials' object.";
    let creds = ctx
        .body::<ChangePasswordRequest>()?
        .credentials
        .required(NO_CREDS, NO_CREDS)?;
    let username = creds
        .username
        .required("username is required.", "username must be a string.")?;
    let current = creds
        .password
        .required("password is required.", "password must be a string.")?;
    let new = creds
        .new_password
        .required("newPassword is required.", "newPassword must be a string.")?;
    let new = Password::parse(&new)?;
    if new.expose() == current {
        return Err(ApiError::BadRequest(
            "The new password must differ from the current password.",
        ));
    }
    let Ok(username) = Username::parse(&username) else {
        crypto::dummy_password_check(&current);
        return Err(BAD_CREDENTIALS);
    };
    let key = username.key();
    let Some((user_id, _)) = throttle::reserve(app, &key, Credential::Password).await? else {
        crypto::dummy_password_check(&current);
        audit::Event::new("user.password", "failure")
            .factor("PASSWORD")
            .emit(&ctx);
        return Err(BAD_CREDENTIALS);
    };
    let user = app.store.get_user(&user_id).await?.ok_or(BAD_CREDENTIALS)?;
    let verified = crypto::check_password(&current, &user.password_hash);
    if !verified {
        audit::Event::new("user.password", "failure")
            .by(&user.id, &user.id, user.domain_id.as_deref())
            .factor("PASSWORD")
            .emit(&ctx);
        return Err(BAD_CREDENTIALS);
    }
    // The password was right: the guessing count goes, whatever the answer.
    app.store
        .clear_password_attempts(&key, Credential::Password)
        .await?;
    if !user.enabled {
        audit::outcome(&ctx, "user.password", "refused", &user, &user);
        return Err(ApiError::UserDisabled);
    }
    if user.mfa_enabled {
        audit::outcome(&ctx, "user.password", "refused", &user, &user);
        return Err(ApiError::Forbidden(
            "Multi-factor authentication is enabled for this user: change the password with update-user and a multi-factor token.",
        ));
    }
    let change = UserChange {
        username: None,
        email: None,
        enabled: None,
        password_hash: Some(crypto::hash_password(new.expose())?),
        revoke_all_at: Some(app.now_ms()),
    };
    match app.store.change_user(&user, &change).await? {
        Ok(()) => {}
        Err(UpdateRefusal::Duplicate | UpdateRefusal::Changed) => {
            return Err(ApiError::Conflict(
                "The user was changed concurrently; retry.",
            ));
        }
    }
    tracing::info!(user_id = %user.id, "password changed");
    audit::acted(&ctx, "user.password", &user, &user);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
