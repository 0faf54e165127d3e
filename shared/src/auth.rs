//! Authorization: who is calling (`X-Auth-Token`), may a SETUP-MFA token do this, and the
//! caller's authority over the path's user (rules A, S and L of contract §1), applied in the
//! contract's check order: `401` token → `403` scoped limit → `404` target → `403` rule.

use crate::app::App;
use crate::crypto;
use crate::error::{ApiError, errs};
use crate::http::Ctx;
use crate::policy;
use crate::store::{DomainRec, TokenRec, UserRec};

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

const NO_TOKEN: ApiError = ApiError::Unauthorized(
    "No valid token provided. Please use the 'X-Auth-Token' header with a valid token.",
);

/// Resolves the caller from `X-Auth-Token` and reads the target user in the same round trip
/// (`GetItem` token + one `BatchGetItem` for caller, target and the caller's domain).
///
/// # Errors
/// `401`, `403` (scoped limit), `404` (target), `503`.
pub async fn authorize(
    app: &App,
    ctx: &Ctx,
    target_id: Option<&str>,
    scope: Scope,
) -> Result<(Caller, Option<UserRec>), ApiError> {
    let raw = ctx.auth_token().ok_or(NO_TOKEN)?;
    let (caller, target) = resolve(app, raw, target_id).await?;
    if caller.scoped()
        && (scope == Scope::FullOnly || target_id.is_some_and(|t| t != caller.user.id))
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
    Ok((caller, target))
}

/// The caller a token value stands for, if the token is valid now (token credentials, §8.2).
///
/// # Errors
/// `401` when unknown, expired, revoked or its user disabled; `503`.
pub async fn token_caller(app: &App, raw: &str) -> Result<Caller, ApiError> {
    resolve(app, raw, None).await.map(|(c, _)| c)
}

/// Token → caller (and the target, read in the same `BatchGetItem`): `None` when no target
/// was asked for, `Some(None)` when it does not exist.
async fn resolve(
    app: &App,
    raw: &str,
    target_id: Option<&str>,
) -> Result<(Caller, Option<Option<UserRec>>), ApiError> {
    if raw.len() > 256 {
        return Err(NO_TOKEN);
    }
    let token = app
        .store
        .get_token(&crypto::sha256_hex(raw))
        .await?
        .ok_or(NO_TOKEN)?;
    if token.expires <= app.now_ms() {
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
    let user = users.get(&token.user_id).cloned().ok_or(NO_TOKEN)?;
    if !user.enabled || !token_still_valid(&token, &user, domain.as_ref()) {
        return Err(NO_TOKEN);
    }
    let target = target_id.map(|t| users.remove(t));
    Ok((Caller { user, token }, target))
}

/// Checks a token against the user's and the domain's revocation markers (§4.3), and against
/// the user's MFA state: a token authenticated by a password alone never outlives MFA being on
/// or (unless it is a SETUP-MFA token) required, whatever the timing of the login that minted
/// it (§8.3).
pub fn token_still_valid(token: &TokenRec, user: &UserRec, domain: Option<&DomainRec>) -> bool {
    let markers = user.markers(domain.map_or(0, |d| d.revoked_non_mfa));
    if !policy::token_valid(token.issued, token.is_mfa(), user.level, &markers) {
        return false;
    }
    let password_only = token.methods.iter().all(|m| m == "PASSWORD");
    if !password_only {
        return true;
    }
    let required = policy::effective_required(user.level, domain.map(|d| d.level));
    !(user.mfa_enabled || (required && token.scope.is_none()))
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

/// Resolves the caller and the user of the path's `{userId}`, then applies `rule`: the
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

/// Step-up (§9.3): a caller acting on itself while its MFA is enabled changes its factors,
/// bypass codes, MFA settings or API key only with a token authenticated by a second factor;
/// an `APIKEY` token (or token credentials of one) is refused. Acting on others is unchanged.
///
/// # Errors
/// `403` when the token lacks the second factor.
pub fn require_step_up(caller: &Caller, target: &UserRec) -> Result<(), ApiError> {
    if caller.user.id == target.id && target.mfa_enabled && !caller.token.is_mfa() {
        return Err(ApiError::Forbidden(
            "Multi-factor authentication is required for this change",
        ));
    }
    Ok(())
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
