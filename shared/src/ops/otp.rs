//! OTP devices (§2.7–2.11): add (otpauth URI + QR code), verify, get, list, delete.

use super::{Rule, Scope, mf_path, path_user};
use crate::app::App;
use crate::crypto;
use crate::error::{ApiError, errs};
use crate::http::{Ctx, Reply, object, str_field};
use crate::store::dynamo::TxWrite;
use crate::store::{DeviceRec, Store, UpdateOutcome, UserUpdate};
use crate::totp::{self, Seed};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::http::{StatusCode, header};
use serde_json::{Value, json};

const NO_DEVICE: ApiError = ApiError::NotFound("OTP device not found.");
/// Most devices per user, verified or not.
pub const MAX_DEVICES: u64 = 5;

fn seed_aad(user_id: &str, device_id: &str) -> String {
    format!("otp/{user_id}/{device_id}")
}

/// Opens a device's sealed seed.
///
/// # Errors
/// `503` when KMS is unavailable, `500` when the stored value does not open.
pub async fn open_seed(app: &App, d: &DeviceRec) -> Result<Seed, ApiError> {
    let ring = app.keyring().await?;
    let plain = ring.open(&d.sealed_seed, &seed_aad(&d.user_id, &d.id))?;
    Ok(Seed::from_bytes(plain.to_vec()))
}

fn device_json(d: &DeviceRec) -> Value {
    json!({"id": d.id, "name": d.name, "verified": d.verified})
}

/// `POST {MF}/otp-devices` — rule A, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn add(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let body = ctx.json()?;
    let d = object(
        &body,
        "RAX-AUTH:otpDevice",
        "Request body must contain a 'RAX-AUTH:otpDevice' object.",
    )?;
    let name = str_field(d, "name", "name must be a string.")?
        .ok_or(ApiError::BadRequest("name is required."))?;
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
    let ring = app.keyring().await?;
    let rec = DeviceRec {
        id: id.clone(),
        user_id: target.id.clone(),
        name: name.to_string(),
        verified: false,
        sealed_seed: ring.seal(seed.bytes(), &seed_aad(&target.id, &id))?,
        last_step: 0,
        fails: 0,
        last_fail: 0,
    };
    if !app.store.add_device(&rec, MAX_DEVICES).await? {
        return Err(FULL);
    }
    let uri = totp::key_uri(&seed, &target.username);
    let qr = totp::qr_data_url(&uri)?;
    tracing::info!(user_id = %target.id, device_id = %id, "otp device added");
    let mut out = device_json(&rec);
    out["keyUri"] = json!(uri.as_str());
    out["qrcode"] = json!(qr);
    Ok(
        Reply::json(StatusCode::CREATED, json!({"RAX-AUTH:otpDevice": out})).with_header(
            header::LOCATION,
            format!("{}{}/otp-devices/{}", ctx.base_url, mf_path(&target.id), id),
        ),
    )
}

/// Reserves one verification attempt on a device: at most `OTP_VERIFY_MAX_FAILURES` attempts
/// in a row, then none until `OTP_VERIFY_LOCK_SECONDS` after the last one. Reserving before
/// checking bounds guesses even when many requests run in parallel.
async fn reserve_attempt(app: &App, d: &DeviceRec) -> Result<bool, ApiError> {
    let now = app.now_ms();
    let cfg = &app.config;
    let mut u = UserUpdate::new();
    let (f, max) = (
        u.name("fails"),
        u.val(AttributeValue::N(cfg.otp_verify_max_failures.to_string())),
    );
    u.cond_exists()
        .cond(format!("{f} < {max}"))
        .add("fails", 1)
        .set("last_fail", AttributeValue::N(now.to_string()));
    match app.store.update_device(&d.user_id, &d.id, u).await? {
        UpdateOutcome::Done(_) => Ok(true),
        UpdateOutcome::ConditionFailed(None) => Err(NO_DEVICE),
        UpdateOutcome::ConditionFailed(Some(old)) => {
            let last = old
                .get("last_fail")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
            if now < last + cfg.otp_verify_lock_secs * 1000 {
                return Ok(false);
            }
            // The lock has expired: start a new run of attempts, unless someone else just did.
            let mut r = UserUpdate::new();
            r.cond_eq("last_fail", AttributeValue::N(last.to_string()))
                .set("fails", AttributeValue::N("1".into()))
                .set("last_fail", AttributeValue::N(now.to_string()));
            Ok(matches!(
                app.store.update_device(&d.user_id, &d.id, r).await?,
                UpdateOutcome::Done(_)
            ))
        }
    }
}

/// `POST {MF}/otp-devices/{otpDeviceId}/verify` — rule A, scoped OK.
///
/// # Errors
/// 400, 401, 403, 404, 415, 503.
pub async fn verify(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let body = ctx.json()?;
    let v = object(
        &body,
        "RAX-AUTH:verificationCode",
        "Request body must contain a 'RAX-AUTH:verificationCode' object.",
    )?;
    let code = str_field(v, "code", "code must be a string.")?
        .ok_or(ApiError::BadRequest("code is required."))?;
    let device = app
        .store
        .get_device(&target.id, ctx.param("otpDeviceId"))
        .await?
        .ok_or(NO_DEVICE)?;
    if device.verified {
        return Err(errs::BAD_PIN);
    }
    if !reserve_attempt(app, &device).await? {
        tracing::info!(user_id = %target.id, device_id = %device.id, reason = "locked", "otp verification refused");
        return Err(errs::BAD_PIN);
    }
    let seed = open_seed(app, &device).await?;
    let Some(step) = totp::verify(&seed, code.trim(), app.now_ms() / 1000) else {
        tracing::info!(user_id = %target.id, device_id = %device.id, reason = "wrong code", "otp verification failed");
        return Err(errs::BAD_PIN);
    };
    let mut d = UserUpdate::new();
    let (ls, st) = (
        d.name("last_step"),
        d.val(AttributeValue::N(step.to_string())),
    );
    d.cond_eq("verified", AttributeValue::Bool(false))
        .cond(format!("{ls} < {st}"))
        .set("verified", AttributeValue::Bool(true))
        .set("last_step", AttributeValue::N(step.to_string()))
        .set("fails", AttributeValue::N("0".into()));
    let mut u = UserUpdate::new();
    u.cond_exists().add("otp_verified", 1);
    let (dpk, dsk) = Store::device_key(&target.id, &device.id);
    let (upk, usk) = Store::user_key(&target.id);
    let writes = vec![
        TxWrite::Update {
            pk: dpk,
            sk: dsk,
            update: d,
        },
        TxWrite::Update {
            pk: upk,
            sk: usk,
            update: u,
        },
    ];
    if app.store.transact(writes).await?.is_some() {
        return Err(errs::BAD_PIN);
    }
    tracing::info!(user_id = %target.id, device_id = %device.id, "otp device verified");
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
    Ok(Reply::json(
        StatusCode::OK,
        json!({"RAX-AUTH:otpDevice": device_json(&device)}),
    ))
}

/// `GET {MF}/otp-devices` — rule A, scoped OK. No secrets.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn list(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let devices: Vec<Value> = if target.otp_count == 0 {
        Vec::new()
    } else {
        app.store
            .get_bundle(&target.id)
            .await?
            .devices
            .iter()
            .map(device_json)
            .collect()
    };
    Ok(Reply::json(
        StatusCode::OK,
        json!({"RAX-AUTH:otpDevices": devices}),
    ))
}

/// `DELETE {MF}/otp-devices/{otpDeviceId}` — rule A, scoped OK.
///
/// The last verified device cannot go while MFA is enabled with OTP (§5): the user item's
/// verified-device counter is decremented under that condition in the same transaction.
///
/// # Errors
/// 400, 401, 403, 404, 503.
pub async fn delete(app: &'static App, ctx: Ctx) -> Result<Reply, ApiError> {
    let (_, target) = path_user(app, &ctx, Scope::ScopedOk, Rule::A).await?;
    let device = app
        .store
        .get_device(&target.id, ctx.param("otpDeviceId"))
        .await?
        .ok_or(NO_DEVICE)?;
    const LAST: ApiError = ApiError::BadRequest(
        "The last verified OTP device cannot be removed while multi-factor authentication is enabled with OTP.",
    );
    let mut u = UserUpdate::new();
    u.cond_exists().add("otp_count", -1);
    if device.verified {
        let (en, fa, ov) = (
            u.name("mfa_enabled"),
            u.name("factor"),
            u.name("otp_verified"),
        );
        let (t, otp, one) = (
            u.val(AttributeValue::Bool(true)),
            u.val(AttributeValue::S("OTP".into())),
            u.val(AttributeValue::N("1".into())),
        );
        u.cond(format!(
            "NOT ({en} = {t} AND {fa} = {otp} AND {ov} <= {one})"
        ))
        .add("otp_verified", -1);
    }
    let (dpk, dsk) = Store::device_key(&target.id, &device.id);
    let (upk, usk) = Store::user_key(&target.id);
    let mut d = UserUpdate::new();
    d.cond_exists()
        .cond_eq("verified", AttributeValue::Bool(device.verified));
    let writes = vec![
        TxWrite::DeleteIf {
            pk: dpk,
            sk: dsk,
            cond: d,
        },
        TxWrite::Update {
            pk: upk,
            sk: usk,
            update: u,
        },
    ];
    match app.store.transact(writes).await? {
        None => {}
        Some(flags) if flags.get(1).copied().unwrap_or(false) => return Err(LAST),
        Some(_) => return Err(NO_DEVICE),
    }
    tracing::info!(user_id = %target.id, device_id = %device.id, "otp device deleted");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}
