//! SMS phone factor (§2.1–2.6): add, send code, verify, get, list, delete.

use super::{Rule, Scope, mf_path, path_user};
use crate::app::App;
use crate::crypto;
use crate::domain::{FactorType, PhoneNumber};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply, object, str_field};
use crate::store::{PHONE_ATTRS, PIN_ATTRS, PhoneRec, UpdateOutcome, UserRec, UserUpdate};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::{StatusCode, header};
use serde_json::{Value, json};

const NO_PHONE: ApiError = ApiError::NotFound("Mobile phone not found.");
const HOUR: u64 = 3_600;

fn phone_aad(user_id: &str, phone_id: &str) -> String {
    format!("phone/{user_id}/{phone_id}")
}

/// Opens the sealed number of a user's phone.
///
/// # Errors
/// `503` when KMS is unavailable, `500` when the stored value does not open.
pub async fn open_phone(
    app: &App,
    user_id: &str,
    phone: &PhoneRec,
) -> Result<PhoneNumber, ApiError> {
    let ring = app.keyring().await?;
    let plain = ring.open(&phone.sealed, &phone_aad(user_id, &phone.id))?;
    let text =
        std::str::from_utf8(&plain).map_err(|_| anyhow::anyhow!("sealed phone is not utf-8"))?;
    let (display, e164) = text
        .split_once('\n')
        .ok_or_else(|| anyhow::anyhow!("sealed phone malformed"))?;
    Ok(PhoneNumber::from_parts(
        display.to_string(),
        e164.to_string(),
    ))
}

fn phone_json(p: &PhoneRec, number: &PhoneNumber) -> Value {
    json!({"id": p.id, "number": number.display(), "verified": p.verified})
}

/// Atomically counts one SMS to the user's phone against the send limits (§2.2): at most one
/// per `SMS_MIN_INTERVAL_SECONDS` and `SMS_HOURLY_LIMIT` per hour. A compare-and-set on the
/// last-send time makes concurrent senders (any Lambda) agree.
///
/// # Errors
/// `413` with the seconds until a send can succeed; `503` on DynamoDB faults.
pub async fn claim_sms(app: &App, user: &UserRec) -> Result<SmsClaim, ApiError> {
    let c = &app.config;
    let now = app.now_ms() / 1000;
    let since_last = now.saturating_sub(user.sms_last);
    if user.sms_last > 0 && since_last < c.sms_min_interval_secs {
        return Err(ApiError::OverLimit {
            retry_after_secs: c.sms_min_interval_secs - since_last,
        });
    }
    let window_open = user.sms_window > 0 && now < user.sms_window + HOUR;
    if window_open && user.sms_count >= c.sms_hourly_limit {
        return Err(ApiError::OverLimit {
            retry_after_secs: user.sms_window + HOUR - now,
        });
    }
    let mut u = UserUpdate::new();
    u.cond_exists();
    let last = u.name("sms_last");
    if user.sms_last == 0 {
        u.cond(format!("attribute_not_exists({last})"));
    } else {
        let old = u.val(AttributeValue::N(user.sms_last.to_string()));
        u.cond(format!("{last} = {old}"));
    }
    u.set("sms_last", AttributeValue::N(now.to_string()));
    if window_open {
        u.add("sms_count", 1);
    } else {
        u.set("sms_window", AttributeValue::N(now.to_string()));
        u.set("sms_count", AttributeValue::N("1".into()));
    }
    match app.store.update_user(&user.id, u).await? {
        UpdateOutcome::Done(_) => Ok(SmsClaim {
            at: now,
            previous: user.clone(),
        }),
        UpdateOutcome::ConditionFailed(_) => Err(ApiError::OverLimit {
            retry_after_secs: c.sms_min_interval_secs.max(1),
        }),
    }
}

/// A counted SMS send, to give back if the SMS could not be sent.
#[derive(Debug)]
pub struct SmsClaim {
    at: u64,
    previous: UserRec,
}

/// Sends an SMS under a claim; if SNS fails the claim is given back (best effort, and only if
/// no other send happened since), so an SMS the user never received does not count.
///
/// # Errors
/// `503` when SNS fails.
pub async fn send_claimed(
    app: &App,
    claim: SmsClaim,
    number: &PhoneNumber,
    message: &str,
) -> Result<(), ApiError> {
    let Err(e) = app.sms()?.send(number, message).await else {
        return Ok(());
    };
    let p = &claim.previous;
    let mut u = UserUpdate::new();
    u.cond_eq("sms_last", AttributeValue::N(claim.at.to_string()))
        .set("sms_count", AttributeValue::N(p.sms_count.to_string()))
        .set("sms_window", AttributeValue::N(p.sms_window.to_string()));
    if p.sms_last == 0 {
        u.remove("sms_last");
    } else {
        u.set("sms_last", AttributeValue::N(p.sms_last.to_string()));
    }
    if let Err(refund) = app.store.update_user(&p.id, u).await {
        tracing::warn!(user_id = %p.id, error = ?refund, "sms claim not given back");
    }
    Err(ApiError::Unavailable(e))
}

/// `POST {MF}/mobile-phones` — rule A, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn add(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let body = ctx.json()?;
    let p = object(
        &body,
        "RAX-AUTH:mobilePhone",
        "Request body must contain a 'RAX-AUTH:mobilePhone' object.",
    )?;
    let number = str_field(p, "number", "number must be a string.")?
        .ok_or(ApiError::BadRequest("number is required."))?;
    let number = PhoneNumber::parse(number)?;
    if target.phone.is_some() {
        return Err(ApiError::BadRequest(
            "The user already has a mobile phone. Only one phone is allowed.",
        ));
    }
    let phone_id = crypto::new_id();
    let ring = app.keyring().await?;
    let sealed = ring.seal(
        format!("{}\n{}", number.display(), number.e164()).as_bytes(),
        &phone_aad(&target.id, &phone_id),
    )?;
    let mut u = UserUpdate::new();
    let pid = u.name("phone_id");
    u.cond_exists().cond(format!("attribute_not_exists({pid})"));
    u.set("phone_id", AttributeValue::S(phone_id.clone()))
        .set("phone_sealed", AttributeValue::S(sealed))
        .set("phone_hint", AttributeValue::S(number.masked()))
        .set("phone_verified", AttributeValue::Bool(false));
    u.remove_all(PIN_ATTRS);
    if let UpdateOutcome::ConditionFailed(_) = app.store.update_user(&target.id, u).await? {
        return Err(ApiError::BadRequest(
            "The user already has a mobile phone. Only one phone is allowed.",
        ));
    }
    tracing::info!(user_id = %target.id, phone = %number.masked(), "phone added");
    let rec = PhoneRec {
        id: phone_id.clone(),
        sealed: String::new(),
        hint: String::new(),
        verified: false,
    };
    Ok(Reply::json(
        StatusCode::CREATED,
        json!({"RAX-AUTH:mobilePhone": phone_json(&rec, &number)}),
    )
    .with_header(
        header::LOCATION,
        format!(
            "{}{}/mobile-phones/{}",
            ctx.base_url,
            mf_path(&target.id),
            phone_id
        ),
    ))
}

fn user_phone<'a>(user: &'a UserRec, phone_id: &str) -> Result<&'a PhoneRec, ApiError> {
    user.phone
        .as_ref()
        .filter(|p| crypto::ct_eq(&p.id, phone_id))
        .ok_or(NO_PHONE)
}

/// `POST {MF}/mobile-phones/{phoneId}/verificationcode` — rule S, scoped OK.
///
/// The SMS goes out before the PIN is stored: if SNS fails, no PIN exists that the user never
/// received, and an earlier pending PIN stays as it was.
///
/// # Errors
/// 400, 401, 403, 404, 413, 503.
pub async fn send_code(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::S).await?;
    let phone = user_phone(&target, ctx.param("phoneId"))?;
    if phone.verified {
        return Err(ApiError::BadRequest(
            "The mobile phone is already verified.",
        ));
    }
    let number = open_phone(app, &target.id, phone).await?;
    let claim = claim_sms(app, &target).await?;
    let pin = crypto::random_digits(6);
    let minutes = app.config.pin_ttl_secs.div_ceil(60);
    let message = format!(
        "Your Rackspace phone verification code is {pin}. It expires in {minutes} minutes."
    );
    send_claimed(app, claim, &number, &message).await?;
    let now = app.now_ms() / 1000;
    let mut u = UserUpdate::new();
    u.cond_exists()
        .cond_eq("phone_id", AttributeValue::S(phone.id.clone()))
        .cond_eq("phone_verified", AttributeValue::Bool(false))
        .set("pin_id", AttributeValue::S(crypto::new_id()))
        .set("pin_hash", AttributeValue::S(crypto::hash_code(&pin)?))
        .set(
            "pin_expires",
            AttributeValue::N((now + app.config.pin_ttl_secs).to_string()),
        )
        .set("pin_tries", AttributeValue::N("0".into()));
    if let UpdateOutcome::ConditionFailed(_) = app.store.update_user(&target.id, u).await? {
        return Err(NO_PHONE);
    }
    tracing::info!(user_id = %target.id, phone = %phone.hint, "verification code sent");
    Ok(Reply::empty(StatusCode::ACCEPTED))
}

/// `POST {MF}/mobile-phones/{phoneId}/verify` — rule S, scoped OK.
///
/// Each try is reserved with a conditional `ADD` before the PIN is checked, so no more than
/// five guesses ever reach a PIN, even in parallel; the success write is conditional on the
/// same PIN, so two correct verifies cannot both succeed.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn verify(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::S).await?;
    let body = ctx.json()?;
    let v = object(
        &body,
        "RAX-AUTH:verificationCode",
        "Request body must contain a 'RAX-AUTH:verificationCode' object.",
    )?;
    let code = str_field(v, "code", "code must be a string.")?
        .ok_or(ApiError::BadRequest("code is required."))?;
    let phone = user_phone(&target, ctx.param("phoneId"))?;
    let now = app.now_ms() / 1000;
    let pin = match (&target.pin, phone.verified) {
        (Some(pin), false) if pin.expires > now && pin.tries < app.config.pin_max_tries => pin,
        _ => return Err(errs::BAD_PIN),
    };
    let mut reserve = UserUpdate::new();
    let tries = reserve.name("pin_tries");
    let max = reserve.val(AttributeValue::N(app.config.pin_max_tries.to_string()));
    reserve
        .cond_eq("pin_id", AttributeValue::S(pin.id.clone()))
        .cond(format!("{tries} < {max}"))
        .add("pin_tries", 1);
    if let UpdateOutcome::ConditionFailed(_) = app.store.update_user(&target.id, reserve).await? {
        return Err(errs::BAD_PIN);
    }
    if code.len() > 16 || !crypto::verify_code(code.trim(), &pin.hash) {
        tracing::info!(user_id = %target.id, reason = "wrong pin", "phone verification failed");
        return Err(errs::BAD_PIN);
    }
    let mut done = UserUpdate::new();
    done.cond_eq("pin_id", AttributeValue::S(pin.id.clone()))
        .set("phone_verified", AttributeValue::Bool(true));
    done.remove_all(PIN_ATTRS);
    if let UpdateOutcome::ConditionFailed(_) = app.store.update_user(&target.id, done).await? {
        return Err(errs::BAD_PIN);
    }
    tracing::info!(user_id = %target.id, "phone verified");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `GET {MF}/mobile-phones/{phoneId}` — rule A, scoped OK.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let phone = user_phone(&target, ctx.param("phoneId"))?;
    let number = open_phone(app, &target.id, phone).await?;
    Ok(Reply::json(
        StatusCode::OK,
        json!({"RAX-AUTH:mobilePhone": phone_json(phone, &number)}),
    ))
}

/// `GET {MF}/mobile-phones` — rule A, scoped OK.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn list(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let mut phones = Vec::new();
    if let Some(phone) = &target.phone {
        let number = open_phone(app, &target.id, phone).await?;
        phones.push(phone_json(phone, &number));
    }
    Ok(Reply::json(
        StatusCode::OK,
        json!({"RAX-AUTH:mobilePhones": phones}),
    ))
}

/// `DELETE {MF}/mobile-phones/{phoneId}` and the id-less alias — rule S, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 503.
pub async fn delete(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::S).await?;
    let phone = match ctx.params.iter().find(|(k, _)| *k == "phoneId") {
        Some((_, id)) => user_phone(&target, id)?,
        None => target.phone.as_ref().ok_or(NO_PHONE)?,
    };
    const IN_USE: ApiError = ApiError::BadRequest(
        "The phone cannot be removed while multi-factor authentication is enabled with SMS. Disable it or switch to OTP first.",
    );
    if target.mfa_enabled && target.factor == Some(FactorType::Sms) {
        return Err(IN_USE);
    }
    let mut u = UserUpdate::new();
    let (en, fa) = (u.name("mfa_enabled"), u.name("factor"));
    let (t, sms) = (
        u.val(AttributeValue::Bool(true)),
        u.val(AttributeValue::S("SMS".into())),
    );
    u.cond_eq("phone_id", AttributeValue::S(phone.id.clone()))
        .cond(format!("NOT ({en} = {t} AND {fa} = {sms})"));
    u.remove_all(PHONE_ATTRS).remove_all(PIN_ATTRS);
    if let UpdateOutcome::ConditionFailed(old) = app.store.update_user(&target.id, u).await? {
        let still_there = old.as_ref().and_then(|i| i.get("phone_id")).is_some();
        return Err(if still_there { IN_USE } else { NO_PHONE });
    }
    tracing::info!(user_id = %target.id, phone = %phone.hint, "phone deleted");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
