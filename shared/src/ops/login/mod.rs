//! `POST /v2.0/tokens`: the password step, the OS-MF challenge and the passcode step (§2.16, §3).

use crate::app::App;
use crate::auth;
use crate::crypto;
use crate::domain::{FactorType, Username};
use crate::error::ApiError;
use crate::http::{Ctx, Reply, error_body};
use crate::policy::{self, LoginDecision};
use crate::services::tokens::SETUP_MFA;
use crate::services::{apikeys, audit, lockout, metrics, secrets, sms, throttle, tokens};
use crate::store::{Credential, SessionRec, UserRec};
use crate::wire::Field;
use crate::wire::requests::{
    ApiKeyCredentials, Auth, AuthRequest, PasswordCredentials, TokenCredentials,
};
use crate::wire::responses::Access;
use lambda_http::http::{StatusCode, header};

mod passcode;

const BAD_CREDENTIALS: ApiError =
    ApiError::Unauthorized("Unable to authenticate user with credentials provided.");
/// Length of a user id, the start of every MFA session id.
const USER_ID_LEN: usize = 32;
const BAD_SESSION: ApiError = ApiError::Unauthorized("Invalid or expired session");
const BAD_PASSCODE: ApiError = ApiError::Unauthorized("Invalid passcode");
const LOCKED: ApiError = ApiError::Forbidden("User is locked out of multi-factor authentication.");
const NOT_OBJECT: &str = "Credentials must be a JSON object.";
/// `POST /v2.0/tokens`.
///
/// # Errors
/// 400, 401, 403, 415, 503 as §2.16 lists.
pub async fn authenticate(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    const NO_AUTH: &str = "Request body must contain an 'auth' object.";
    let auth: Auth = ctx.body::<AuthRequest>()?.auth.required(NO_AUTH, NO_AUTH)?;
    let kinds = [
        auth.password.is_present(),
        auth.passcode.is_present(),
        auth.api_key.is_present(),
        auth.token.is_present(),
    ];
    let scoped = match auth.scope {
        Field::Absent | Field::Null => false,
        Field::Value(s) if s == SETUP_MFA => true,
        _ => {
            return Err(ApiError::BadRequest(
                "Invalid RAX-AUTH:scope. The only supported scope is SETUP-MFA.",
            ));
        }
    };
    match kinds {
        [true, false, false, false] => {
            let creds = auth.password.required(NOT_OBJECT, NOT_OBJECT)?;
            password_step(app, &ctx, creds, scoped).await
        }
        [false, true, false, false] if !scoped => {
            passcode::step(app, &ctx, auth.passcode.required(NOT_OBJECT, NOT_OBJECT)?).await
        }
        [false, true, false, false] => Err(ApiError::BadRequest(
            "RAX-AUTH:scope cannot be used with passcode credentials.",
        )),
        [false, false, true, false] if !scoped => {
            api_key_step(app, &ctx, auth.api_key.required(NOT_OBJECT, NOT_OBJECT)?).await
        }
        [false, false, true, false] => Err(ApiError::BadRequest(
            "RAX-AUTH:scope cannot be used with API key credentials.",
        )),
        [false, false, false, true] if !scoped => {
            token_step(app, &ctx, auth.token.required(NOT_OBJECT, NOT_OBJECT)?).await
        }
        [false, false, false, true] => Err(ApiError::BadRequest(
            "RAX-AUTH:scope cannot be used with token credentials.",
        )),
        [false, false, false, false] => Err(ApiError::BadRequest(
            "Request must contain passwordCredentials or RAX-AUTH:passcodeCredentials.",
        )),
        _ => Err(ApiError::BadRequest(
            "Request must contain exactly one type of credentials.",
        )),
    }
}

/// API-key credentials (§8.1): never challenged, never refused for enforcement; the same
/// guessing throttle as passwords.
async fn api_key_step(
    app: &'static App,
    ctx: &Ctx,
    creds: ApiKeyCredentials,
) -> Result<Reply, ApiError> {
    let username = creds
        .username
        .required("username is required.", "username must be a string.")?;
    // A missing key is a wrong key (§8.1, §9.3): the password step's 401, counted the same.
    let candidate = creds
        .api_key
        .optional("apiKey must be a string.")?
        .unwrap_or_default();
    let Ok(username) = Username::parse(&username) else {
        return Err(BAD_CREDENTIALS);
    };
    let (key, found) = attempt(app, &username, Credential::ApiKey).await?;
    let Some((user_id, _)) = found else {
        record(app, ctx, "failure", None, "APIKEY");
        return Err(BAD_CREDENTIALS);
    };
    let user = app.store.get_user(&user_id).await?.ok_or(BAD_CREDENTIALS)?;
    if candidate.len() > 64 || !apikeys::matches(app, &user, &candidate).await? {
        record(app, ctx, "failure", Some(&user), "APIKEY");
        return Err(BAD_CREDENTIALS);
    }
    if !user.enabled {
        app.store
            .clear_password_attempts(&key, Credential::ApiKey)
            .await?;
        return Err(ApiError::UserDisabled);
    }
    let (id, token) =
        tokens::issue_after_login(app, &user, &key, Credential::ApiKey, &["APIKEY"], false).await?;
    record(app, ctx, "success", Some(&user), "APIKEY");
    let access = Access::new(&id, &token, &user).with_catalog();
    Ok(Reply::body(StatusCode::OK, &access.into_response()))
}

/// Token credentials (§8.2): the access object of that same token, never extended or upgraded.
async fn token_step(
    app: &'static App,
    ctx: &Ctx,
    creds: TokenCredentials,
) -> Result<Reply, ApiError> {
    let id = creds
        .id
        .required("token id is required.", "token id must be a string.")?;
    let caller = auth::token_caller(app, &id).await.map_err(|e| match e {
        ApiError::Unauthorized(_) => ApiError::Unauthorized("Token not authenticated."),
        other => other,
    })?;
    if caller.scoped() {
        return Err(ApiError::Forbidden(
            "A SETUP-MFA scoped token cannot be used to authenticate.",
        ));
    }
    record(app, ctx, "success", Some(&caller.user), "TOKEN");
    let access = Access::new(&id, &caller.token, &caller.user).with_catalog();
    Ok(Reply::body(StatusCode::OK, &access.into_response()))
}

async fn password_step(
    app: &'static App,
    ctx: &Ctx,
    creds: PasswordCredentials,
    scoped: bool,
) -> Result<Reply, ApiError> {
    let username = creds
        .username
        .required("username is required.", "username must be a string.")?;
    let password = creds
        .password
        .required("password is required.", "password must be a string.")?;
    let Ok(username) = Username::parse(&username) else {
        crypto::dummy_password_check(&password);
        return Err(BAD_CREDENTIALS);
    };
    let (key, found) = attempt(app, &username, Credential::Password).await?;
    let Some((user_id, domain_id)) = found else {
        crypto::dummy_password_check(&password);
        record(app, ctx, "failure", None, "PASSWORD");
        return Err(BAD_CREDENTIALS);
    };
    let (mut users, domain) = app
        .store
        .get_users_and_domain(&[user_id.as_str()], domain_id.as_deref())
        .await?;
    let user = users.remove(&user_id).ok_or(BAD_CREDENTIALS)?;
    let verified = crypto::check_password(&password, &user.password_hash);
    if !verified {
        record(app, ctx, "failure", Some(&user), "PASSWORD");
        return Err(BAD_CREDENTIALS);
    }
    if !user.enabled {
        return Err(ApiError::UserDisabled);
    }
    if user.api_key.is_none() && !user.api_key_deleted {
        // A user created before API keys existed gets its key now (§8.1); best effort.
        if let Err(e) = apikeys::current(app, &user).await {
            tracing::warn!(user_id = %user.id, error = ?e, "api key not created");
        }
    }
    let required = policy::effective_required(user.level, domain.as_ref().map(|d| d.level));
    let locked = lockout::is_locked(app, &user);
    let decision = policy::login_decision(user.mfa_enabled, required, scoped, locked);
    if !matches!(
        decision,
        LoginDecision::Token | LoginDecision::ScopedToken | LoginDecision::Challenge
    ) {
        // The password was right: the guessing count goes, whatever the answer.
        app.store
            .clear_password_attempts(&key, Credential::Password)
            .await?;
    }
    match decision {
        LoginDecision::Token => {
            let (id, token) = tokens::issue_after_login(
                app,
                &user,
                &key,
                Credential::Password,
                &["PASSWORD"],
                false,
            )
            .await?;
            record(app, ctx, "success", Some(&user), "PASSWORD");
            let access = Access::new(&id, &token, &user).with_catalog();
            Ok(Reply::body(StatusCode::OK, &access.into_response()))
        }
        LoginDecision::ScopedToken => {
            let (id, token) = tokens::issue_after_login(
                app,
                &user,
                &key,
                Credential::Password,
                &["PASSWORD"],
                true,
            )
            .await?;
            record(app, ctx, "success", Some(&user), "PASSWORD");
            let access = Access::new(&id, &token, &user);
            Ok(Reply::body(StatusCode::OK, &access.into_response()))
        }
        LoginDecision::Challenge => challenge(app, ctx, &user, &key).await,
        LoginDecision::Locked => {
            record(app, ctx, "refused", Some(&user), "PASSWORD");
            Err(LOCKED)
        }
        LoginDecision::MustSetup => Err(ApiError::Forbidden("User must setup multi-factor")),
        LoginDecision::ScopeNotAllowed => Err(ApiError::BadRequest(
            "SETUP-MFA scope is only available while multi-factor authentication is disabled.",
        )),
    }
}

/// Opens an MFA session and, for SMS, sends a 7-digit passcode; answers the OS-MF 401.
async fn challenge(
    app: &'static App,
    ctx: &Ctx,
    user: &UserRec,
    key: &str,
) -> Result<Reply, ApiError> {
    // The user id, then 256 random bits: the passcode step finds the session in the user's
    // partition, with one Query for everything it needs.
    let session_id = format!("{}{}", user.id, crypto::new_secret_token());
    let session_hash = crypto::sha256_hex(&session_id);
    let now_s = app.now_ms() / 1000;
    let mut passcode_hash = None;
    if user.factor != Some(FactorType::Otp) {
        let phone = user.verified_phone().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("sms factor without a verified phone"))
        })?;
        let number = secrets::open_phone(app, &user.id, phone).await?;
        let passcode = crypto::random_digits(7);
        let minutes = app.config.session_ttl_secs.div_ceil(60);
        let brand = &app.config.sms_sender_id;
        let message =
            format!("Your {brand} login passcode is {passcode}. It expires in {minutes} minutes.");
        // Sent before the session is stored: a failed send leaves no passcode behind.
        sms::send_limited(app, user, &number, &message, sms::SmsKind::LoginPasscode).await?;
        let context = secrets::passcode_context(&user.id, &session_hash);
        passcode_hash = Some(secrets::hash_code(app, &passcode, &context).await?);
    }
    let session = SessionRec {
        hash: session_hash,
        user_id: user.id.clone(),
        expires: now_s + app.config.session_ttl_secs,
        passcode_hash,
        mfa_epoch: user.mfa_epoch,
        slot: None,
    };
    app.store.put_session_after_login(&session, key).await?;
    let factor = user.factor.unwrap_or(FactorType::Sms).as_str();
    record(app, ctx, "challenge", Some(user), factor);
    let challenge = ApiError::Unauthorized("Additional authentication credentials required");
    // Beside the contract's error (clone extension, §9.1): which passcode is wanted, so a
    // person can be told whether a text message was sent or the authenticator app is needed.
    let mut body = error_body(&challenge);
    if let Some(map) = body.as_object_mut() {
        map.insert("RAX-AUTH:factorType".into(), factor.into());
    }
    Ok(Reply::json(StatusCode::UNAUTHORIZED, body).with_header(
        header::WWW_AUTHENTICATE,
        format!("OS-MF sessionId='{session_id}', factor='PASSCODE'"),
    ))
}

/// The username's key and the `(user id, domain id)` it names, after counting this attempt
/// against the username's guessing throttle — known username or not, before any secret is
/// looked at (§8.3). The same request that counts finds the user.
///
/// # Errors
/// `413` when throttled; `503`.
async fn attempt(
    app: &App,
    username: &Username,
    kind: Credential,
) -> Result<(String, Option<(String, Option<String>)>), ApiError> {
    let key = username.key();
    let found = throttle::reserve(app, &key, kind).await?;
    Ok((key, found))
}

/// The audit event and the `Logins` metric of one login outcome.
fn record(app: &App, ctx: &Ctx, outcome: &'static str, user: Option<&UserRec>, factor: &str) {
    let mut e = audit::Event::new("login", outcome).factor(factor);
    if let Some(u) = user {
        e = e.by(&u.id, &u.id, u.domain_id.as_deref());
    }
    e.emit(ctx);
    let dims = [("Outcome", outcome), ("Factor", factor)];
    metrics::count(app.now_ms(), "Logins", &dims);
}
