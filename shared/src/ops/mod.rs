//! The operations of the API (contract §7), one `async fn` each, plus what they share:
//! caller resolution, target lookup and response shapes. No HTTP types beyond [`Ctx`] and
//! [`Reply`].

pub mod fallback;
pub mod login;
pub mod mfa;
pub mod otp;
pub mod phones;
pub mod tokens;
pub mod users;

use crate::app::App;
use crate::crypto;
use crate::domain::{Role, format_ms};
use crate::error::{ApiError, errs};
use crate::http::Ctx;
use crate::policy;
use crate::store::{DomainRec, TokenRec, UserRec};
use serde_json::{Value, json};

/// The authenticated caller.
#[derive(Debug)]
pub struct Caller {
    /// The caller's user.
    pub user: UserRec,
    /// The token used.
    pub token: TokenRec,
}

impl Caller {
    /// Is this a SETUP-MFA scoped token?
    pub fn scoped(&self) -> bool {
        self.token.scope.is_some()
    }
}

/// Whether an operation accepts SETUP-MFA scoped tokens (on the token owner's own user).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Scoped tokens get 403.
    FullOnly,
    /// "scoped OK" in the contract.
    ScopedOk,
}

const NO_TOKEN: ApiError = ApiError::Unauthorized(
    "No valid token provided. Please use the 'X-Auth-Token' header with a valid token.",
);

/// Resolves the caller from `X-Auth-Token` and reads the target user in the same round trip.
///
/// Check order (§1): 401 token → 403 scoped limit → 404 target. The caller's rule (A/S/L) is
/// the operation's to apply.
///
/// # Errors
/// `401`, `403`, `404`, `503`.
pub async fn authorize(
    app: &App,
    ctx: &Ctx,
    target_id: Option<&str>,
    scope: Scope,
) -> Result<(Caller, Option<UserRec>), ApiError> {
    let raw = ctx.auth_token().ok_or(NO_TOKEN)?;
    if raw.len() > 256 {
        return Err(NO_TOKEN);
    }
    let now = app.now_ms();
    let token = app
        .store
        .get_token(&crypto::sha256_hex(raw))
        .await?
        .ok_or(NO_TOKEN)?;
    if token.expires <= now {
        return Err(NO_TOKEN);
    }
    let mut ids = vec![token.user_id.as_str()];
    if let Some(t) = target_id {
        ids.push(t);
    }
    let domain = if token.is_mfa() {
        None
    } else {
        token.domain_id.as_deref()
    };
    let (mut users, domain) = app.store.get_users_and_domain(&ids, domain).await?;
    let caller_user = users.get(&token.user_id).cloned().ok_or(NO_TOKEN)?;
    if !caller_user.enabled || !token_still_valid(&token, &caller_user, domain.as_ref()) {
        return Err(NO_TOKEN);
    }
    let target = target_id.map(|t| users.remove(t));
    if token.scope.is_some()
        && (scope == Scope::FullOnly || target_id.is_some_and(|t| t != caller_user.id))
    {
        return Err(ApiError::Forbidden(
            "A SETUP-MFA scoped token may only set up multi-factor on its own user.",
        ));
    }
    let target = match target {
        None => None,
        Some(Some(u)) => Some(u),
        Some(None) => return Err(errs::NO_USER),
    };
    Ok((
        Caller {
            user: caller_user,
            token,
        },
        target,
    ))
}

/// Checks a token against the user's and the domain's revocation markers (§4.3).
pub fn token_still_valid(token: &TokenRec, user: &UserRec, domain: Option<&DomainRec>) -> bool {
    let markers = user.markers(domain.map_or(0, |d| d.revoked_non_mfa));
    policy::token_valid(token.issued, token.is_mfa(), user.level, &markers)
}

/// Like [`authorize`] with a required target, returning it unwrapped.
///
/// # Errors
/// As [`authorize`].
pub async fn authorize_target(
    app: &App,
    ctx: &Ctx,
    target_id: &str,
    scope: Scope,
) -> Result<(Caller, UserRec), ApiError> {
    let (caller, target) = authorize(app, ctx, Some(target_id), scope).await?;
    let target = target.ok_or(errs::NO_USER)?;
    Ok((caller, target))
}

/// The caller's authority over the path's user (contract §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Rule A: self or the role hierarchy.
    A,
    /// Rule S: self only.
    S,
    /// Rule L: rule A plus user-manage-limited over its domain's sub-users.
    L,
}

/// Resolves the caller and the user of the path's `{userId}`, then applies `rule` — the
/// opening of every per-user operation, in the contract's check order.
///
/// # Errors
/// `401`, `403`, `404`, `503`.
pub async fn path_user(
    app: &App,
    ctx: &Ctx,
    scope: Scope,
    rule: Rule,
) -> Result<(Caller, UserRec), ApiError> {
    let (caller, target) = authorize_target(app, ctx, ctx.param("userId"), scope).await?;
    let (c, t) = (caller.user.subject(), target.subject());
    require(match rule {
        Rule::A => policy::can_manage(&c, &t),
        Rule::S => policy::is_self(&c, &t),
        Rule::L => policy::can_manage_limited(&c, &t),
    })?;
    Ok((caller, target))
}

/// Applies a rule, mapping a refusal to `403`.
///
/// # Errors
/// `403` when `allowed` is false.
pub fn require(allowed: bool) -> Result<(), ApiError> {
    if allowed {
        Ok(())
    } else {
        Err(errs::FORBIDDEN)
    }
}

/// `{"id", "name", "description"}` of each role.
pub fn roles_json(roles: &[Role]) -> Value {
    Value::Array(
        roles
            .iter()
            .map(|r| json!({"id": r.id(), "name": r.name(), "description": r.description()}))
            .collect(),
    )
}

/// The `access` object of §2.16 (without `serviceCatalog`).
pub fn access_json(token_id: &str, token: &TokenRec, user: &UserRec) -> Value {
    let mut tok = json!({
        "id": token_id,
        "expires": format_ms(token.expires),
        "RAX-AUTH:authenticatedBy": token.methods,
    });
    if let Some(scope) = &token.scope {
        tok["RAX-AUTH:scope"] = json!(scope);
    }
    let mut u = json!({
        "id": user.id,
        "name": user.username,
        "RAX-AUTH:defaultRegion": user.region,
        "RAX-AUTH:multiFactorEnabled": user.mfa_enabled,
        "roles": roles_json(&user.roles),
    });
    if let Some(d) = &user.domain_id {
        u["RAX-AUTH:domainId"] = json!(d);
    }
    json!({"token": tok, "user": u})
}

/// Creates and stores a token for `user`; returns its value and record.
///
/// # Errors
/// `503` on DynamoDB faults.
pub async fn issue_token(
    app: &App,
    user: &UserRec,
    methods: &[&str],
    scoped: bool,
) -> Result<(String, TokenRec), ApiError> {
    let (value, rec) = new_token(app, user, methods, scoped);
    app.store.put_token(&rec).await?;
    Ok((value, rec))
}

/// A new token record (not stored yet).
pub fn new_token(app: &App, user: &UserRec, methods: &[&str], scoped: bool) -> (String, TokenRec) {
    let value = crypto::new_secret_token();
    let now = app.now_ms();
    let ttl = if scoped {
        app.config.scoped_token_ttl_secs
    } else {
        app.config.token_ttl_secs
    };
    let rec = TokenRec {
        hash: crypto::sha256_hex(&value),
        user_id: user.id.clone(),
        domain_id: user.domain_id.clone(),
        issued: now,
        expires: now + ttl * 1000,
        methods: methods.iter().map(|m| (*m).to_string()).collect(),
        scope: scoped.then(|| "SETUP-MFA".to_string()),
    };
    (value, rec)
}

/// `{MF}` base path of a user.
pub fn mf_path(user_id: &str) -> String {
    format!("/v2.0/users/{user_id}/RAX-AUTH/multi-factor")
}
