//! Secrets sealed at rest under the KMS-wrapped data key, each bound to the item it belongs to
//! (the AAD names user and phone or device, so a sealed value moved elsewhere does not open).

use crate::app::App;
use crate::domain::PhoneNumber;
use crate::error::ApiError;
use crate::store::{DeviceRec, PhoneRec};
use crate::totp::Seed;

fn phone_aad(user_id: &str, phone_id: &str) -> String {
    format!("phone/{user_id}/{phone_id}")
}

fn seed_aad(user_id: &str, device_id: &str) -> String {
    format!("otp/{user_id}/{device_id}")
}

/// Seals a phone number (its submitted text and E.164) for phone `phone_id` of `user_id`.
///
/// # Errors
/// `503` when KMS is unavailable.
pub async fn seal_phone(
    app: &App,
    user_id: &str,
    phone_id: &str,
    number: &PhoneNumber,
) -> Result<String, ApiError> {
    let ring = app.keyring().await?;
    Ok(ring.seal(
        format!("{}\n{}", number.display(), number.e164()).as_bytes(),
        &phone_aad(user_id, phone_id),
    )?)
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
    let ring = app.keyring_for(&phone.sealed).await?;
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

/// Seals a TOTP seed for device `device_id` of `user_id`.
///
/// # Errors
/// `503` when KMS is unavailable.
pub async fn seal_seed(
    app: &App,
    user_id: &str,
    device_id: &str,
    seed: &Seed,
) -> Result<String, ApiError> {
    let ring = app.keyring().await?;
    Ok(ring.seal(seed.bytes(), &seed_aad(user_id, device_id))?)
}

/// Opens a device's sealed seed.
///
/// # Errors
/// `503` when KMS is unavailable, `500` when the stored value does not open.
pub async fn open_seed(app: &App, d: &DeviceRec) -> Result<Seed, ApiError> {
    let ring = app.keyring_for(&d.sealed_seed).await?;
    let plain = ring.open(&d.sealed_seed, &seed_aad(&d.user_id, &d.id))?;
    Ok(Seed::from_bytes(plain.to_vec()))
}

/// Keyed hash of a short code bound to `context` (contract §8.3).
///
/// # Errors
/// `503` when KMS is unavailable.
pub async fn hash_code(app: &App, code: &str, context: &str) -> Result<String, ApiError> {
    Ok(app.keyring().await?.code_mac(code, context)?)
}

/// Checks a short code against its stored hash: a keyed hash, or a salted Argon2 hash written
/// by an earlier release.
///
/// # Errors
/// `503` when KMS is unavailable.
pub async fn check_code(
    app: &App,
    code: &str,
    context: &str,
    stored: &str,
) -> Result<bool, ApiError> {
    if stored.starts_with("$argon2") {
        return Ok(crate::crypto::verify_legacy_code(code, stored));
    }
    Ok(app
        .keyring_for(stored)
        .await?
        .verify_code_mac(code, context, stored))
}

/// Context of a phone-verification PIN.
pub fn pin_context(user_id: &str, pin_id: &str) -> String {
    format!("pin/{user_id}/{pin_id}")
}

/// Context of an SMS login passcode.
pub fn passcode_context(user_id: &str, session_hash: &str) -> String {
    format!("passcode/{user_id}/{session_hash}")
}

/// Context of the bypass codes of one set.
pub fn bypass_context(user_id: &str, set_id: &str) -> String {
    format!("bypass/{user_id}/{set_id}")
}

fn api_key_aad(user_id: &str) -> String {
    format!("apikey/{user_id}")
}

/// Seals an API key for `user_id`.
///
/// # Errors
/// `503` when KMS is unavailable.
pub async fn seal_api_key(app: &App, user_id: &str, key: &str) -> Result<String, ApiError> {
    let ring = app.keyring().await?;
    Ok(ring.seal(key.as_bytes(), &api_key_aad(user_id))?)
}

/// Opens a user's sealed API key.
///
/// # Errors
/// `503` when KMS is unavailable, `500` when the stored value does not open.
pub async fn open_api_key(
    app: &App,
    user_id: &str,
    sealed: &str,
) -> Result<zeroize::Zeroizing<String>, ApiError> {
    let ring = app.keyring_for(sealed).await?;
    let plain = ring.open(sealed, &api_key_aad(user_id))?;
    let text = std::str::from_utf8(&plain).map_err(|_| anyhow::anyhow!("sealed key not utf-8"))?;
    Ok(zeroize::Zeroizing::new(text.to_string()))
}
