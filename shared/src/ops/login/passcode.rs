//! The passcode step of `POST /v2.0/tokens` (§3): session, attempt reservation, the factor's
//! check, and the one-transaction commit.

use super::{BAD_PASSCODE, BAD_SESSION, LOCKED, USER_ID_LEN, record};
use crate::app::App;
use crate::crypto;
use crate::domain::FactorType;
use crate::error::ApiError;
use crate::http::{Ctx, Reply};
use crate::services::{lockout, secrets, tokens};
use crate::store::{FinishLogin, LoginClaim, LoginGuard, SessionRec, UserBundle};
use crate::totp;
use crate::wire::requests::PasscodeCredentials;
use crate::wire::responses::Access;
use lambda_http::http::StatusCode;

pub(super) async fn step(
    app: &'static App,
    ctx: &Ctx,
    creds: PasscodeCredentials,
) -> Result<Reply, ApiError> {
    let passcode = creds
        .passcode
        .required("passcode is required.", "passcode must be a string.")?;
    let passcode = passcode.trim();
    let session_id = ctx.header("x-sessionid").ok_or(ApiError::BadRequest(
        "The X-SessionId header is required with passcode credentials.",
    ))?;
    if session_id.len() > 256 {
        return Err(BAD_SESSION);
    }
    let session_hash = crypto::sha256_hex(session_id);
    let now_s = app.now_ms() / 1000;
    // The session lives in its user's partition (the id starts with the user id): one Query
    // reads it with the user, the devices and the bypass codes.
    let user_id = session_id.get(..USER_ID_LEN).ok_or(BAD_SESSION)?;
    let bundle = app.store.get_bundle(user_id).await?;
    let session = bundle
        .sessions
        .iter()
        .find(|s| crypto::ct_eq(&s.hash, &session_hash))
        .ok_or(BAD_SESSION)?;
    if session.expires <= now_s {
        return Err(BAD_SESSION);
    }
    let user = bundle.user.as_ref().ok_or(BAD_SESSION)?;
    if !user.mfa_enabled || user.mfa_epoch != session.mfa_epoch {
        return Err(BAD_SESSION);
    }
    if !user.enabled {
        return Err(ApiError::UserDisabled);
    }
    // The attempt is counted before the passcode is looked at, so parallel guesses cannot
    // outrun the lock (§8.3); a success resets the count.
    let attempts = if lockout::is_locked(app, user) {
        None
    } else {
        lockout::reserve_attempt(app, &user.id).await?
    };
    let Some(attempts) = attempts else {
        record(app, ctx, "refused", Some(user), "PASSCODE");
        return Err(LOCKED);
    };
    let Some((claim, method)) = match_passcode(app, &bundle, session, passcode, now_s).await?
    else {
        record(app, ctx, "failure", Some(user), "PASSCODE");
        lockout::note_failure(app, ctx, user, attempts);
        return Err(BAD_PASSCODE);
    };
    let guard = LoginGuard {
        mfa_epoch: session.mfa_epoch,
        bypass_set: match &claim {
            LoginClaim::Bypass { .. } => user.bypass_set.as_deref(),
            _ => None,
        },
        attempts,
        lock: lockout::rule(app),
    };
    let (token_id, token) = tokens::mint(app, user, &[method, "PASSWORD"], false);
    match app
        .store
        .finish_login(session, &user.id, guard, claim, &token)
        .await?
    {
        FinishLogin::Done => {}
        FinishLogin::SessionGone => return Err(BAD_SESSION),
        FinishLogin::Locked => {
            // Wrong passcodes reserved after this one locked the user first (§8.3).
            record(app, ctx, "refused", Some(user), method);
            return Err(LOCKED);
        }
        FinishLogin::ClaimRefused => {
            // The code's time step was already used (replay), or the bypass code is gone.
            record(app, ctx, "failure", Some(user), method);
            lockout::note_failure(app, ctx, user, attempts);
            return Err(BAD_PASSCODE);
        }
    }
    let mut user = user.clone();
    user.fails = 0;
    record(app, ctx, "success", Some(&user), method);
    let access = Access::new(&token_id, &token, &user).with_catalog();
    Ok(Reply::body(StatusCode::OK, &access.into_response()))
}

/// The factor `passcode` matches (§3 steps 3–5), with the use-once item that a successful
/// login consumes and the `authenticatedBy` method; `None` when it matches nothing.
async fn match_passcode(
    app: &App,
    bundle: &UserBundle,
    session: &SessionRec,
    passcode: &str,
    now_s: u64,
) -> Result<Option<(LoginClaim, &'static str)>, ApiError> {
    let Some(user) = &bundle.user else {
        return Ok(None);
    };
    // 3. SMS passcode of this session.
    if user.factor == Some(FactorType::Sms)
        && passcode.len() == 7
        && let Some(stored) = session.passcode_hash.as_deref()
        && secrets::check_code(
            app,
            passcode,
            &secrets::passcode_context(&user.id, &session.hash),
            stored,
        )
        .await?
    {
        return Ok(Some((LoginClaim::None, "PASSCODE")));
    }
    // 4. TOTP code of any verified device, each step once.
    if user.factor == Some(FactorType::Otp) && passcode.len() == totp::DIGITS {
        for d in bundle.devices.iter().filter(|d| d.verified) {
            let seed = secrets::open_seed(app, d).await?;
            if let Some(step) = totp::verify(&seed, passcode, now_s)
                && step > d.last_step
            {
                let claim = LoginClaim::TotpStep {
                    device_id: d.id.clone(),
                    step,
                };
                return Ok(Some((claim, "OTPPASSCODE")));
            }
        }
    }
    // 5. An unused, unexpired bypass code of the current set.
    if passcode.len() == 9
        && let Some(current) = user.bypass_set.as_deref()
    {
        let context = secrets::bypass_context(&user.id, current);
        for c in bundle
            .bypass
            .iter()
            .filter(|c| c.set_id == current && c.expires > now_s)
        {
            if secrets::check_code(app, passcode, &context, &c.hash).await? {
                return Ok(Some((LoginClaim::Bypass { sk: c.sk.clone() }, "BYPASS")));
            }
        }
    }
    Ok(None)
}
