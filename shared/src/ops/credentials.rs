//! API-key credentials (§8.1): list-credentials, get-api-key, reset-api-key, delete-api-key.
//! Rule A, not scoped OK.

use crate::app::App;
use crate::auth::{Rule, Scope, path_user, require_step_up};
use crate::domain::Role;
use crate::error::ApiError;
use crate::http::{Ctx, Reply};
use crate::services::audit;
use crate::services::{apikeys, secrets};
use crate::store::UserRec;
use crate::wire::responses::{ApiKeyResponse, ApiKeyView, CredentialsResponse};
use lambda_http::http::StatusCode;

const NO_KEY: ApiError = ApiError::NotFound("API key credentials not found.");

fn view(user: &UserRec, key: &str) -> ApiKeyResponse {
    ApiKeyResponse {
        credentials: ApiKeyView {
            username: user.username.clone(),
            api_key: key.to_string(),
        },
    }
}

/// `GET /v2.0/users/{userId}/OS-KSADM/credentials`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn list(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::FullOnly, Rule::A).await?;
    let credentials = apikeys::current(app, &target)
        .await?
        .map(|k| view(&target, &k))
        .into_iter()
        .collect();
    Ok(Reply::body(
        StatusCode::OK,
        &CredentialsResponse { credentials },
    ))
}

/// `GET /v2.0/users/{userId}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::FullOnly, Rule::A).await?;
    let key = apikeys::current(app, &target).await?.ok_or(NO_KEY)?;
    Ok(Reply::body(StatusCode::OK, &view(&target, &key)))
}

/// `POST …/RAX-KSKEY:apiKeyCredentials/RAX-AUTH/reset`: a new key replaces the old one;
/// tokens are not revoked.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn reset(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::A).await?;
    require_step_up(&caller, &target)?;
    let key = apikeys::generate();
    let sealed = secrets::seal_api_key(app, &target.id, &key).await?;
    if !app.store.replace_api_key(&target.id, &sealed).await? {
        return Err(crate::error::errs::NO_USER);
    }
    audit::acted(&ctx, "apikey.reset", &caller.user, &target);
    Ok(Reply::body(StatusCode::OK, &view(&target, &key)))
}

/// `DELETE …/RAX-KSKEY:apiKeyCredentials`: a user-admin may not delete its own key.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn delete(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::FullOnly, Rule::A).await?;
    require_step_up(&caller, &target)?;
    if caller.user.id == target.id && caller.user.roles.contains(&Role::UserAdmin) {
        return Err(ApiError::Forbidden(
            "A user-admin cannot delete its own API key.",
        ));
    }
    // A user created before keys existed has one too (made on first use): delete that.
    apikeys::current(app, &target).await?.ok_or(NO_KEY)?;
    if !app.store.delete_api_key(&target.id).await? {
        return Err(NO_KEY);
    }
    audit::acted(&ctx, "apikey.delete", &caller.user, &target);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
