//! `POST /v2.0/tokens`: the password step, the OS-MF challenge and the passcode step (§2.16, §3).

use super::access_json;
use super::phones::{claim_sms, open_phone, send_claimed};
use super::users::is_locked;
use crate::app::App;
use crate::crypto;
use crate::domain::{FactorType, Username};
use crate::error::ApiError;
use crate::http::{Ctx, Reply, str_field};
use crate::policy::{self, LoginDecision};
use crate::store::{LoginClaim, SessionRec, UpdateOutcome, UserRec, UserUpdate};
use crate::totp;
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::{StatusCode, header};
use serde_json::{Map, Value, json};

const BAD_CREDENTIALS: ApiError =
    ApiError::Unauthorized("Unable to authenticate user with credentials provided.");
const BAD_SESSION: ApiError = ApiError::Unauthorized("Invalid or expired session");
const BAD_PASSCODE: ApiError = ApiError::Unauthorized("Invalid passcode");
const LOCKED: ApiError = ApiError::Forbidden("User is locked out of multi-factor authentication.");
const SCOPE: &str = "SETUP-MFA";

/// `POST /v2.0/tokens`.
///
/// # Errors
/// 400, 401, 403, 415, 503 as §2.16 lists.
pub async fn authenticate(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let body = ctx.json()?;
    let auth = match body.get("auth") {
        Some(Value::Object(a)) => a,
        _ => {
            return Err(ApiError::BadRequest(
                "Request body must contain an 'auth' object.",
            ));
        }
    };
    let kinds = [
        "passwordCredentials",
        "RAX-AUTH:passcodeCredentials",
        "RAX-KSKEY:apiKeyCredentials",
    ];
    let present: Vec<&str> = kinds
        .into_iter()
        .filter(|k| auth.contains_key(*k))
        .collect();
    let scoped = match auth.get("RAX-AUTH:scope") {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) if s == SCOPE => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "Invalid RAX-AUTH:scope. The only supported scope is SETUP-MFA.",
            ));
        }
    };
    match present.as_slice() {
        ["passwordCredentials"] => password_step(app, auth, scoped).await,
        ["RAX-AUTH:passcodeCredentials"] if !scoped => passcode_step(app, &ctx, auth).await,
        ["RAX-AUTH:passcodeCredentials"] => Err(ApiError::BadRequest(
            "RAX-AUTH:scope cannot be used with passcode credentials.",
        )),
        ["RAX-KSKEY:apiKeyCredentials"] => Err(ApiError::BadRequest(
            "API key credentials are not supported.",
        )),
        [] => Err(ApiError::BadRequest(
            "Request must contain passwordCredentials or RAX-AUTH:passcodeCredentials.",
        )),
        _ => Err(ApiError::BadRequest(
            "Request must contain exactly one type of credentials.",
        )),
    }
}

fn credentials<'a>(
    auth: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Map<String, Value>, ApiError> {
    match auth.get(key) {
        Some(Value::Object(m)) => Ok(m),
        _ => Err(ApiError::BadRequest("Credentials must be a JSON object.")),
    }
}

async fn password_step(
    app: &'static App,
    auth: &Map<String, Value>,
    scoped: bool,
) -> Result<Reply, ApiError> {
    let creds = credentials(auth, "passwordCredentials")?;
    let username = str_field(creds, "username", "username must be a string.")?
        .ok_or(ApiError::BadRequest("username is required."))?;
    let password = str_field(creds, "password", "password must be a string.")?
        .ok_or(ApiError::BadRequest("password is required."))?;
    let Ok(username) = Username::parse(username) else {
        crypto::dummy_password_check(password);
        return Err(BAD_CREDENTIALS);
    };
    let Some((user_id, domain_id)) = app.store.get_username(&username.key()).await? else {
        crypto::dummy_password_check(password);
        tracing::info!(reason = "unknown user", "login failed");
        return Err(BAD_CREDENTIALS);
    };
    let (mut users, domain) = app
        .store
        .get_users_and_domain(&[user_id.as_str()], domain_id.as_deref())
        .await?;
    let user = users.remove(&user_id).ok_or(BAD_CREDENTIALS)?;
    if password.len() > 1024 || !crypto::verify_password(password, &user.password_hash) {
        tracing::info!(user_id = %user.id, reason = "wrong password", "login failed");
        return Err(BAD_CREDENTIALS);
    }
    if !user.enabled {
        return Err(ApiError::UserDisabled);
    }
    let required = policy::effective_required(user.level, domain.as_ref().map(|d| d.level));
    match policy::login_decision(user.mfa_enabled, required, scoped, is_locked(app, &user)) {
        LoginDecision::Token => {
            let (id, token) = super::issue_token(app, &user, &["PASSWORD"], false).await?;
            tracing::info!(user_id = %user.id, "token issued");
            let mut access = access_json(&id, &token, &user);
            access["serviceCatalog"] = json!([]);
            Ok(Reply::json(StatusCode::OK, json!({ "access": access })))
        }
        LoginDecision::ScopedToken => {
            let (id, token) = super::issue_token(app, &user, &["PASSWORD"], true).await?;
            tracing::info!(user_id = %user.id, "setup-mfa token issued");
            Ok(Reply::json(
                StatusCode::OK,
                json!({ "access": access_json(&id, &token, &user) }),
            ))
        }
        LoginDecision::Challenge => challenge(app, &user).await,
        LoginDecision::Locked => Err(LOCKED),
        LoginDecision::MustSetup => Err(ApiError::Forbidden("User must setup multi-factor")),
        LoginDecision::ScopeNotAllowed => Err(ApiError::BadRequest(
            "SETUP-MFA scope is only available while multi-factor authentication is disabled.",
        )),
    }
}

/// Opens an MFA session and, for SMS, sends a 7-digit passcode; answers the OS-MF 401.
async fn challenge(app: &'static App, user: &UserRec) -> Result<Reply, ApiError> {
    let session_id = crypto::new_secret_token();
    let now_s = app.now_ms() / 1000;
    let mut passcode_hash = None;
    if user.factor != Some(FactorType::Otp) {
        let phone = user.verified_phone().ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("sms factor without a verified phone"))
        })?;
        let number = open_phone(app, &user.id, phone).await?;
        let claim = claim_sms(app, user).await?;
        let passcode = crypto::random_digits(7);
        let minutes = app.config.session_ttl_secs.div_ceil(60);
        let message = format!(
            "Your Rackspace login passcode is {passcode}. It expires in {minutes} minutes."
        );
        // Sent before the session is stored: a failed send leaves no passcode behind.
        send_claimed(app, claim, &number, &message).await?;
        passcode_hash = Some(crypto::hash_code(&passcode)?);
    }
    let session = SessionRec {
        hash: crypto::sha256_hex(&session_id),
        user_id: user.id.clone(),
        expires: now_s + app.config.session_ttl_secs,
        passcode_hash,
        mfa_epoch: user.mfa_epoch,
    };
    app.store.put_session(&session).await?;
    tracing::info!(user_id = %user.id, "mfa challenge issued");
    Ok(Reply::json(
        StatusCode::UNAUTHORIZED,
        json!({"unauthorized": {"code": 401, "message": "Additional authentication credentials required"}}),
    )
    .with_header(header::WWW_AUTHENTICATE, format!("OS-MF sessionId='{session_id}', factor='PASSCODE'")))
}

async fn passcode_step(
    app: &'static App,
    ctx: &Ctx,
    auth: &Map<String, Value>,
) -> Result<Reply, ApiError> {
    let creds = credentials(auth, "RAX-AUTH:passcodeCredentials")?;
    let passcode = str_field(creds, "passcode", "passcode must be a string.")?
        .ok_or(ApiError::BadRequest("passcode is required."))?
        .trim()
        .to_string();
    let session_id = ctx.header("x-sessionid").ok_or(ApiError::BadRequest(
        "The X-SessionId header is required with passcode credentials.",
    ))?;
    if session_id.len() > 256 {
        return Err(BAD_SESSION);
    }
    let session_hash = crypto::sha256_hex(session_id);
    let now_ms = app.now_ms();
    let now_s = now_ms / 1000;
    let session = app
        .store
        .get_session(&session_hash)
        .await?
        .ok_or(BAD_SESSION)?;
    if session.expires <= now_s {
        return Err(BAD_SESSION);
    }
    let bundle = app.store.get_bundle(&session.user_id).await?;
    let user = bundle.user.ok_or(BAD_SESSION)?;
    if !user.mfa_enabled || user.mfa_epoch != session.mfa_epoch {
        return Err(BAD_SESSION);
    }
    if !user.enabled {
        return Err(ApiError::UserDisabled);
    }
    if is_locked(app, &user) {
        return Err(LOCKED);
    }

    let mut matched: Option<(LoginClaim, &'static str)> = None;
    // 3. SMS passcode of this session.
    if user.factor == Some(FactorType::Sms)
        && passcode.len() == 7
        && session
            .passcode_hash
            .as_deref()
            .is_some_and(|h| crypto::verify_code(&passcode, h))
    {
        matched = Some((LoginClaim::None, "PASSCODE"));
    }
    // 4. TOTP code of any verified device, each step once.
    if matched.is_none() && user.factor == Some(FactorType::Otp) && passcode.len() == totp::DIGITS {
        for d in bundle.devices.iter().filter(|d| d.verified) {
            let seed = super::otp::open_seed(app, d).await?;
            if let Some(step) = totp::verify(&seed, &passcode, now_s)
                && step > d.last_step
            {
                matched = Some((
                    LoginClaim::TotpStep {
                        device_id: d.id.clone(),
                        step,
                    },
                    "OTPPASSCODE",
                ));
                break;
            }
        }
    }
    // 5. An unused, unexpired bypass code of the current set.
    if matched.is_none() && passcode.len() == 9 {
        let current = user.bypass_set.as_deref().unwrap_or("");
        for c in bundle
            .bypass
            .iter()
            .filter(|c| !current.is_empty() && c.set_id == current && c.expires > now_s)
        {
            if crypto::verify_code(&passcode, &c.hash) {
                matched = Some((LoginClaim::Bypass { sk: c.sk.clone() }, "BYPASS"));
                break;
            }
        }
    }
    let Some((claim, method)) = matched else {
        record_failure(app, &user).await?;
        return Err(BAD_PASSCODE);
    };
    let mut user = user;
    let (token_id, token) = super::new_token(app, &user, &[method, "PASSWORD"], false);
    if let Some(flags) = app
        .store
        .finish_login(&session_hash, &user.id, claim, &token, now_s)
        .await?
    {
        if flags.first().copied().unwrap_or(true) {
            // A concurrent request consumed the session first.
            return Err(BAD_SESSION);
        }
        // The code's time step was already used (replay).
        record_failure(app, &user).await?;
        return Err(BAD_PASSCODE);
    }
    user.fails = 0;
    tracing::info!(user_id = %user.id, method, "mfa login succeeded");
    let mut access = access_json(&token_id, &token, &user);
    access["serviceCatalog"] = json!([]);
    Ok(Reply::json(StatusCode::OK, json!({ "access": access })))
}

/// Counts a failed passcode (atomic `ADD`, shared by every Lambda).
async fn record_failure(app: &App, user: &UserRec) -> Result<(), ApiError> {
    let mut u = UserUpdate::new();
    u.cond_exists()
        .add("fails", 1)
        .set("last_fail", AttributeValue::N(app.now_ms().to_string()));
    if let UpdateOutcome::Done(after) = app.store.update_user(&user.id, u).await? {
        let fails = after
            .get("fails")
            .and_then(|v| v.as_n().ok())
            .cloned()
            .unwrap_or_default();
        tracing::info!(user_id = %user.id, fails = %fails, reason = "wrong passcode", "mfa login failed");
    }
    Ok(())
}
