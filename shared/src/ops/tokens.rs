//! validate-token and revoke-token (§2.17).

use crate::app::App;
use crate::auth::{Scope, authorize, require, token_still_valid};
use crate::crypto;
use crate::error::ApiError;
use crate::http::{Ctx, Reply};
use crate::policy;
use crate::services::audit;
use crate::wire::responses::Access;
use lambda_http::http::StatusCode;

const NO_TOKEN: ApiError = ApiError::NotFound("Token not found.");

/// `GET /v2.0/tokens/{tokenId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn validate(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let token_id = ctx.param("tokenId").to_string();
    let own = ctx
        .auth_token()
        .is_some_and(|t| crypto::ct_eq(t, &token_id));
    let scope = if own {
        Scope::ScopedOk
    } else {
        Scope::FullOnly
    };
    let (caller, _) = authorize(app, &ctx, None, scope).await?;
    if own {
        // `authorize` has just validated this very token against every revocation marker.
        let access = Access::new(&token_id, &caller.token, &caller.user);
        return Ok(Reply::body(StatusCode::OK, &access.into_response()));
    }
    let token = app
        .store
        .get_token(&crypto::sha256_hex(&token_id))
        .await?
        .ok_or(NO_TOKEN)?;
    if token.expires <= app.now_ms() {
        return Err(NO_TOKEN);
    }
    let domain_id = if token.is_mfa() {
        None
    } else {
        token.domain_id.as_deref()
    };
    let others: &[&str] = if token.user_id == caller.user.id {
        &[]
    } else {
        &[token.user_id.as_str()]
    };
    let (mut users, domain) = app.store.get_users_and_domain(others, domain_id).await?;
    let owner = if others.is_empty() {
        caller.user.clone()
    } else {
        users.remove(&token.user_id).ok_or(NO_TOKEN)?
    };
    require(policy::can_manage(&caller.user.subject(), &owner.subject()))?;
    if !owner.enabled || !token_still_valid(&token, &owner, domain.as_ref()) {
        return Err(NO_TOKEN);
    }
    let access = Access::new(&token_id, &token, &owner);
    Ok(Reply::body(StatusCode::OK, &access.into_response()))
}

/// `DELETE /v2.0/tokens` and `DELETE /v2.0/tokens/{tokenId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn revoke(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    // Not scoped OK (§8.3): a SETUP-MFA token gets 403, even on itself.
    let (caller, _) = authorize(app, &ctx, None, Scope::FullOnly).await?;
    let hash = match ctx.param_opt("tokenId") {
        None => caller.token.hash.clone(),
        Some(t) => {
            let hash = crypto::sha256_hex(t);
            if hash != caller.token.hash {
                let token = app.store.get_token(&hash).await?.ok_or(NO_TOKEN)?;
                if token.user_id != caller.user.id {
                    let owner = app.store.get_user(&token.user_id).await?.ok_or(NO_TOKEN)?;
                    require(policy::can_manage(&caller.user.subject(), &owner.subject()))?;
                }
            }
            hash
        }
    };
    if !app.store.delete_token(&hash).await? {
        return Err(NO_TOKEN);
    }
    audit::Event::new("token.revoke", "success")
        .by(
            &caller.user.id,
            &caller.user.id,
            caller.user.domain_id.as_deref(),
        )
        .emit(&ctx);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
