//! API keys (contract §8.1): 128 random bits as 32 lowercase hex, sealed at rest like TOTP
//! seeds, bound to their user. Every user gets one at creation; users created before keys
//! existed get theirs on first use, unless theirs was deleted on purpose.

use crate::app::App;
use crate::crypto;
use crate::error::ApiError;
use crate::services::secrets;
use crate::store::UserRec;
use zeroize::Zeroizing;

/// A new API key.
pub fn generate() -> Zeroizing<String> {
    Zeroizing::new(crypto::new_id())
}

/// The user's API key in clear, creating it for a user that never had one; `None` when it was
/// deleted.
///
/// # Errors
/// `503` on DynamoDB or KMS faults.
pub async fn current(app: &App, user: &UserRec) -> Result<Option<Zeroizing<String>>, ApiError> {
    if let Some(sealed) = &user.api_key {
        return Ok(Some(secrets::open_api_key(app, &user.id, sealed).await?));
    }
    if user.api_key_deleted {
        return Ok(None);
    }
    let key = generate();
    let sealed = secrets::seal_api_key(app, &user.id, &key).await?;
    if app.store.create_api_key(&user.id, &sealed).await? {
        tracing::info!(user_id = %user.id, "api key created on first use");
        return Ok(Some(key));
    }
    // Another request created (or deleted) it first: that one counts.
    match app.store.get_user(&user.id).await? {
        Some(u) => match &u.api_key {
            Some(sealed) => Ok(Some(secrets::open_api_key(app, &u.id, sealed).await?)),
            None => Ok(None),
        },
        None => Ok(None),
    }
}

/// Whether `candidate` is the user's API key (constant-time); `false` when it has none.
///
/// # Errors
/// `503` when KMS is unavailable.
pub async fn matches(app: &App, user: &UserRec, candidate: &str) -> Result<bool, ApiError> {
    let Some(sealed) = &user.api_key else {
        return Ok(false);
    };
    let key = secrets::open_api_key(app, &user.id, sealed).await?;
    Ok(crypto::ct_eq(&key, candidate))
}
