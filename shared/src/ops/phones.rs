//! SMS phone factor (§2.1–2.6): add, send code, verify, get, list, delete.

use crate::app::App;
use crate::auth::{Rule, Scope, path_user, require_step_up};
use crate::crypto;
use crate::domain::{FactorType, PhoneNumber};
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply};
use crate::services::audit;
use crate::services::{secrets, sms};
use crate::store::{PhoneRec, PhoneRemoval, UserRec};
use crate::wire::requests::{AddPhoneRequest, VerifyRequest};
use crate::wire::responses::{PhoneResponse, PhoneView, PhonesResponse, mf_path};
use lambda_http::http::{StatusCode, header};

const NO_PHONE: ApiError = ApiError::NotFound("Mobile phone not found.");
const HAS_PHONE: ApiError =
    ApiError::BadRequest("The user already has a mobile phone. Only one phone is allowed.");
const IN_USE: ApiError = ApiError::BadRequest(
    "The phone cannot be removed while multi-factor authentication is enabled with SMS. Disable it or switch to OTP first.",
);

fn view(p: &PhoneRec, number: &PhoneNumber) -> PhoneView {
    PhoneView {
        id: p.id.clone(),
        number: number.display().to_string(),
        verified: p.verified,
    }
}

fn user_phone<'a>(user: &'a UserRec, phone_id: &str) -> Result<&'a PhoneRec, ApiError> {
    user.phone
        .as_ref()
        .filter(|p| crypto::ct_eq(&p.id, phone_id))
        .ok_or(NO_PHONE)
}

/// `POST {MF}/mobile-phones` — rule A, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn add(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    require_step_up(&caller, &target)?;
    const NO_BODY: &str = "Request body must contain a 'RAX-AUTH:mobilePhone' object.";
    let number = ctx
        .body::<AddPhoneRequest>()?
        .phone
        .required(NO_BODY, NO_BODY)?
        .number
        .required("number is required.", "number must be a string.")?;
    let number = PhoneNumber::parse(&number)?;
    if target.phone.is_some() {
        return Err(HAS_PHONE);
    }
    let phone_id = crypto::new_id();
    let sealed = secrets::seal_phone(app, &target.id, &phone_id, &number).await?;
    if !app
        .store
        .attach_phone(&target.id, &phone_id, &sealed, &number.masked())
        .await?
    {
        return Err(HAS_PHONE);
    }
    audit::acted(&ctx, "phone.add", &caller.user, &target);
    let location = ctx.location(&format!("{}/mobile-phones/{phone_id}", mf_path(&target.id)));
    let phone = PhoneView {
        id: phone_id,
        number: number.display().to_string(),
        verified: false,
    };
    Ok(Reply::body(StatusCode::CREATED, &PhoneResponse { phone })
        .with_header(header::LOCATION, location))
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
    let number = secrets::open_phone(app, &target.id, phone).await?;
    let pin = crypto::random_digits(6);
    let minutes = app.config.pin_ttl_secs.div_ceil(60);
    let brand = &app.config.sms_sender_id;
    let message =
        format!("Your {brand} phone verification code is {pin}. It expires in {minutes} minutes.");
    sms::send_limited(app, &target, &number, &message, sms::SmsKind::Verification).await?;
    let expires = app.now_ms() / 1000 + app.config.pin_ttl_secs;
    let pin_id = crypto::new_id();
    let hash = secrets::hash_code(app, &pin, &secrets::pin_context(&target.id, &pin_id)).await?;
    let stored = app
        .store
        .store_pin(&target.id, &phone.id, &pin_id, &hash, expires)
        .await?;
    if !stored {
        return Err(NO_PHONE);
    }
    tracing::info!(user_id = %target.id, phone = %phone.hint, "verification code sent");
    Ok(Reply::empty(StatusCode::ACCEPTED))
}

/// `POST {MF}/mobile-phones/{phoneId}/verify` — rule S, scoped OK.
///
/// Each try is reserved before the PIN is checked, so no more than five guesses ever reach a
/// PIN, even in parallel; the success write is conditional on the same PIN, so two correct
/// verifies cannot both succeed.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn verify(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::S).await?;
    require_step_up(&caller, &target)?;
    const NO_BODY: &str = "Request body must contain a 'RAX-AUTH:verificationCode' object.";
    let code = ctx
        .body::<VerifyRequest>()?
        .code
        .required(NO_BODY, NO_BODY)?
        .code
        .required("code is required.", "code must be a string.")?;
    let phone = user_phone(&target, ctx.param("phoneId"))?;
    let now = app.now_ms() / 1000;
    let max = app.config.pin_max_tries;
    let pin = match (&target.pin, phone.verified) {
        (Some(pin), false) if pin.expires > now && pin.tries < max => pin,
        _ => return Err(errs::BAD_PIN),
    };
    if !app.store.reserve_pin_try(&target.id, &pin.id, max).await? {
        return Err(errs::BAD_PIN);
    }
    let context = secrets::pin_context(&target.id, &pin.id);
    if code.len() > 16 || !secrets::check_code(app, code.trim(), &context, &pin.hash).await? {
        audit::outcome(&ctx, "phone.verify", "failure", &caller.user, &target);
        return Err(errs::BAD_PIN);
    }
    if !app.store.confirm_phone(&target.id, &pin.id).await? {
        return Err(errs::BAD_PIN);
    }
    audit::acted(&ctx, "phone.verify", &caller.user, &target);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `GET {MF}/mobile-phones/{phoneId}` — rule A, scoped OK.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let phone = user_phone(&target, ctx.param("phoneId"))?;
    let number = secrets::open_phone(app, &target.id, phone).await?;
    let phone = view(phone, &number);
    Ok(Reply::body(StatusCode::OK, &PhoneResponse { phone }))
}

/// `GET {MF}/mobile-phones` — rule A, scoped OK.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn list(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let mut phones = Vec::new();
    if let Some(phone) = &target.phone {
        let number = secrets::open_phone(app, &target.id, phone).await?;
        phones.push(view(phone, &number));
    }
    Ok(Reply::body(StatusCode::OK, &PhonesResponse { phones }))
}

/// `DELETE {MF}/mobile-phones/{phoneId}` and the id-less alias — rule S, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 503.
pub async fn delete(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::S).await?;
    require_step_up(&caller, &target)?;
    let phone = match ctx.param_opt("phoneId") {
        Some(id) => user_phone(&target, id)?,
        None => target.phone.as_ref().ok_or(NO_PHONE)?,
    };
    if target.mfa_enabled && target.factor == Some(FactorType::Sms) {
        return Err(IN_USE);
    }
    match app.store.detach_phone(&target.id, &phone.id).await? {
        PhoneRemoval::Removed => {}
        PhoneRemoval::InUse => return Err(IN_USE),
        PhoneRemoval::Gone => return Err(NO_PHONE),
    }
    audit::acted(&ctx, "phone.delete", &caller.user, &target);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
