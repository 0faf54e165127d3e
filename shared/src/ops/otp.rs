//! OTP devices (§2.7–2.11): add (otpauth URI + QR code), verify, get, list, delete.

use crate::app::App;
use crate::auth::{Rule, Scope, path_user, require_step_up};
use crate::crypto;
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply};
use crate::services::audit;
use crate::services::secrets;
use crate::store::{Attempt, DeviceRec, DeviceRemoval};
use crate::totp::{self, Seed};
use crate::wire::requests::{AddDeviceRequest, VerifyRequest};
use crate::wire::responses::{DeviceResponse, DeviceView, DevicesResponse, mf_path};
use lambda_http::http::{StatusCode, header};

const NO_DEVICE: ApiError = ApiError::NotFound("OTP device not found.");
/// Most devices per user, verified or not.
pub const MAX_DEVICES: u64 = 5;

/// `POST {MF}/otp-devices` — rule A, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn add(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    require_step_up(&caller, &target)?;
    const NO_BODY: &str = "Request body must contain a 'RAX-AUTH:otpDevice' object.";
    let name = ctx
        .body::<AddDeviceRequest>()?
        .device
        .required(NO_BODY, NO_BODY)?
        .name
        .required("name is required.", "name must be a string.")?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ApiError::BadRequest(
            "name must be 1 to 255 characters long.",
        ));
    }
    const FULL: ApiError =
        ApiError::BadRequest("The user already has the maximum of 5 OTP devices.");
    if target.otp_count >= MAX_DEVICES {
        return Err(FULL);
    }
    let seed = Seed::generate();
    let id = crypto::new_id();
    let rec = DeviceRec {
        id: id.clone(),
        user_id: target.id.clone(),
        name: name.to_string(),
        verified: false,
        sealed_seed: secrets::seal_seed(app, &target.id, &id, &seed).await?,
        last_step: 0,
        fails: 0,
        last_fail: 0,
    };
    if !app.store.add_device(&rec, MAX_DEVICES).await? {
        return Err(FULL);
    }
    let uri = totp::key_uri(&seed, &target.username, &app.config.totp_issuer);
    let qr = totp::qr_data_url(&uri)?;
    audit::acted(&ctx, "device.add", &caller.user, &target);
    let device = DeviceView {
        key_uri: Some(uri.to_string()),
        qrcode: Some(qr),
        ..DeviceView::from(&rec)
    };
    let location = ctx.location(&format!("{}/otp-devices/{id}", mf_path(&target.id)));
    Ok(Reply::body(StatusCode::CREATED, &DeviceResponse { device })
        .with_header(header::LOCATION, location))
}

/// `POST {MF}/otp-devices/{otpDeviceId}/verify` — rule A, scoped OK.
///
/// Each attempt is reserved before its code is checked (`OTP_VERIFY_MAX_FAILURES` in a row,
/// then a lock of `OTP_VERIFY_LOCK_SECONDS`), so parallel guesses gain nothing.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn verify(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    require_step_up(&caller, &target)?;
    const NO_BODY: &str = "Request body must contain a 'RAX-AUTH:verificationCode' object.";
    let code = ctx
        .body::<VerifyRequest>()?
        .code
        .required(NO_BODY, NO_BODY)?
        .code
        .required("code is required.", "code must be a string.")?;
    let device = app
        .store
        .get_device(&target.id, ctx.param("otpDeviceId"))
        .await?
        .ok_or(NO_DEVICE)?;
    if device.verified {
        return Err(errs::BAD_PIN);
    }
    let cfg = &app.config;
    let attempt = app
        .store
        .reserve_device_attempt(
            &target.id,
            &device.id,
            app.now_ms(),
            cfg.otp_verify_max_failures,
            cfg.otp_verify_lock_secs * 1000,
        )
        .await?;
    match attempt {
        Attempt::Reserved => {}
        Attempt::NoDevice => return Err(NO_DEVICE),
        Attempt::Locked => {
            audit::outcome(&ctx, "device.verify", "refused", &caller.user, &target);
            return Err(errs::BAD_PIN);
        }
    }
    let seed = secrets::open_seed(app, &device).await?;
    let Some(step) = totp::verify(&seed, code.trim(), app.now_ms() / 1000) else {
        audit::outcome(&ctx, "device.verify", "failure", &caller.user, &target);
        return Err(errs::BAD_PIN);
    };
    if !app
        .store
        .verify_device(&target.id, &device.id, step)
        .await?
    {
        return Err(errs::BAD_PIN);
    }
    audit::acted(&ctx, "device.verify", &caller.user, &target);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// `GET {MF}/otp-devices/{otpDeviceId}` — rule A, scoped OK. No secret.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let device = app
        .store
        .get_device(&target.id, ctx.param("otpDeviceId"))
        .await?
        .ok_or(NO_DEVICE)?;
    let device = DeviceView::from(&device);
    Ok(Reply::body(StatusCode::OK, &DeviceResponse { device }))
}

/// `GET {MF}/otp-devices` — rule A, scoped OK. No secrets.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn list(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let devices = if target.otp_count == 0 {
        Vec::new()
    } else {
        let bundle = app.store.get_bundle(&target.id).await?;
        bundle.devices.iter().map(DeviceView::from).collect()
    };
    Ok(Reply::body(StatusCode::OK, &DevicesResponse { devices }))
}

/// `DELETE {MF}/otp-devices/{otpDeviceId}` — rule A, scoped OK.
///
/// The last verified device cannot go while MFA is enabled with OTP (§5).
///
/// # Errors
/// 400, 401, 403, 404, 503.
pub async fn delete(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (caller, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    require_step_up(&caller, &target)?;
    let device = app
        .store
        .get_device(&target.id, ctx.param("otpDeviceId"))
        .await?
        .ok_or(NO_DEVICE)?;
    match app
        .store
        .remove_device(&target.id, &device.id, device.verified)
        .await?
    {
        DeviceRemoval::Removed => {}
        DeviceRemoval::LastVerified => {
            return Err(ApiError::BadRequest(
                "The last verified OTP device cannot be removed while multi-factor authentication is enabled with OTP.",
            ));
        }
        DeviceRemoval::Gone => return Err(NO_DEVICE),
    }
    audit::acted(&ctx, "device.delete", &caller.user, &target);
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
