//! validate-token and revoke-token (§2.17).

use super::{Scope, access_json, authorize, require, token_still_valid};
use crate::app::App;
use crate::crypto;
use crate::error::ApiError;
use crate::http::{Ctx, Reply};
use crate::policy;
use lambda_http::http::StatusCode;
use serde_json::json;

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
    let (caller, _) = authorize(
        app,
        &ctx,
        None,
        if own {
            Scope::ScopedOk
        } else {
            Scope::FullOnly
        },
    )
    .await?;
    if own {
        // `authorize` has just validated this very token against every revocation marker.
        let access = access_json(&token_id, &caller.token, &caller.user);
        return Ok(Reply::json(StatusCode::OK, json!({ "access": access })));
    }
    let token = app
        .store
        .get_token(&crypto::sha256_hex(&token_id))
        .await?
        .ok_or(NO_TOKEN)?;
    if token.expires <= app.now_ms() {
        return Err(NO_TOKEN);
    }
    let (owner, domain) = if token.user_id == caller.user.id {
        let (_, d) = app
            .store
            .get_users_and_domain(
                &[],
                if token.is_mfa() {
                    None
                } else {
                    token.domain_id.as_deref()
                },
            )
            .await?;
        (caller.user.clone(), d)
    } else {
        let (mut users, d) = app
            .store
            .get_users_and_domain(
                &[token.user_id.as_str()],
                if token.is_mfa() {
                    None
                } else {
                    token.domain_id.as_deref()
                },
            )
            .await?;
        (users.remove(&token.user_id).ok_or(NO_TOKEN)?, d)
    };
    require(policy::can_manage(&caller.user.subject(), &owner.subject()))?;
    if !owner.enabled || !token_still_valid(&token, &owner, domain.as_ref()) {
        return Err(NO_TOKEN);
    }
    Ok(Reply::json(
        StatusCode::OK,
        json!({ "access": access_json(&token_id, &token, &owner) }),
    ))
}

/// `DELETE /v2.0/tokens` and `DELETE /v2.0/tokens/{tokenId}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn revoke(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let target = ctx
        .params
        .iter()
        .find(|(k, _)| *k == "tokenId")
        .map(|(_, v)| v.clone());
    let (caller, _) = authorize(app, &ctx, None, Scope::ScopedOk).await?;
    let hash = match &target {
        None => caller.token.hash.clone(),
        Some(t) => {
            let hash = crypto::sha256_hex(t);
            if hash != caller.token.hash {
                if caller.scoped() {
                    return Err(ApiError::Forbidden(
                        "A SETUP-MFA scoped token may only revoke itself.",
                    ));
                }
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
    tracing::info!(user_id = %caller.user.id, "token revoked");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
