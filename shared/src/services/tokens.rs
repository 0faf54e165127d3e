//! API tokens: 256-bit random values, stored only as their SHA-256.

use crate::app::App;
use crate::crypto;
use crate::error::ApiError;
use crate::store::{Credential, TokenRec, UserRec};

/// Scope name of the restricted token of §3.5.
pub const SETUP_MFA: &str = "SETUP-MFA";

/// A new token for `user` authenticated by `methods` (not stored yet): its value and record.
pub fn mint(app: &App, user: &UserRec, methods: &[&str], scoped: bool) -> (String, TokenRec) {
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
        scope: scoped.then(|| SETUP_MFA.to_string()),
    };
    (value, rec)
}

/// Mints and stores a token (1 `PutItem`).
///
/// # Errors
/// `503` on DynamoDB faults.
pub async fn issue(
    app: &App,
    user: &UserRec,
    methods: &[&str],
    scoped: bool,
) -> Result<(String, TokenRec), ApiError> {
    let (value, rec) = mint(app, user, methods, scoped);
    app.store.put_token(&rec).await?;
    Ok((value, rec))
}

/// Mints and stores a token after a successful password or API-key step, clearing the
/// username's failed attempts of that `kind` in the same write.
///
/// # Errors
/// `503` on DynamoDB faults.
pub async fn issue_after_login(
    app: &App,
    user: &UserRec,
    username_key: &str,
    kind: Credential,
    methods: &[&str],
    scoped: bool,
) -> Result<(String, TokenRec), ApiError> {
    let (value, rec) = mint(app, user, methods, scoped);
    app.store
        .put_token_after_login(&rec, username_key, kind)
        .await?;
    Ok((value, rec))
}
