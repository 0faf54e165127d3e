//! Helpers for the OTP-device and MFA tests: TOTP codes computed independently with
//! Debian's `oathtool`, OTP devices, MFA settings, the two-step login (OS-MF challenge and
//! passcode step), bypass codes, domain enforcement, and raw-byte table scans.
//!
//! TOTP codes come from `oathtool --totp -b --now @<epoch> <BASE32>`, never from the
//! service's own crate, so a bug shared by the server and the tests cannot hide.

#![allow(dead_code)] // not every helper is used by every test module

use crate::helpers::{ApiResponse, TestApi, TestPhone, TestUser, extract_code, mf_path};
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// TOTP time step (contract §2.7).
pub const STEP_SECS: u64 = 30;

/// The 401 challenge message (contract §3.1).
pub const CHALLENGE_MESSAGE: &str = "Additional authentication credentials required";
/// Step-2 session failure (contract §3.2).
pub const INVALID_SESSION: &str = "Invalid or expired session";
/// Step-2 wrong passcode (contract §3.2).
pub const INVALID_PASSCODE: &str = "Invalid passcode";
/// Login of a user who must use MFA but has it off (contract §3.5).
pub const MUST_SETUP: &str = "User must setup multi-factor";

// ------------------------------------------------------------------------------------------
// Time and TOTP

/// Seconds since the Unix epoch.
pub fn now_epoch() -> u64 {
    u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0)
}

/// The current TOTP step.
pub fn current_step() -> u64 {
    now_epoch() / STEP_SECS
}

/// The 6-digit TOTP code of `secret` (base32) for time step `step`, from `oathtool`.
#[track_caller]
pub fn totp_at_step(secret: &str, step: u64) -> String {
    let at = format!("@{}", step * STEP_SECS);
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "--now", &at, secret])
        .output()
        .unwrap_or_else(|e| panic!("running oathtool (scripts/setup.sh installs it): {e}"));
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()),
        "oathtool printed {code:?}"
    );
    code
}

/// The 6-digit TOTP code of `secret` for now.
pub fn totp_now(secret: &str) -> String {
    totp_at_step(secret, current_step())
}

/// A 6-digit code that is not valid for `secret` in steps `now-2..=now+2`.
pub fn wrong_totp(secret: &str) -> String {
    let s = current_step();
    let valid: Vec<String> = (s - 2..=s + 2).map(|st| totp_at_step(secret, st)).collect();
    let mut n: u32 = rand::random::<u32>() % 1_000_000;
    loop {
        let c = format!("{n:06}");
        if !valid.contains(&c) {
            return c;
        }
        n = (n + 7919) % 1_000_000;
    }
}

/// RFC 4648 base32 (no padding) decoding; `None` on a character outside `A-Z2-7`.
pub fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').chars() {
        let v = match c {
            'A'..='Z' => u32::from(c) - u32::from('A'),
            '2'..='7' => u32::from(c) - u32::from('2') + 26,
            _ => return None,
        };
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buf >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

// ------------------------------------------------------------------------------------------
// OTP devices

/// `{MF}/otp-devices`.
pub fn otp_devices_path(user_id: &str) -> String {
    format!("{}/otp-devices", mf_path(user_id))
}

/// `{MF}/otp-devices/{deviceId}`.
pub fn otp_device_path(user_id: &str, device_id: &str) -> String {
    format!("{}/{device_id}", otp_devices_path(user_id))
}

/// `{MF}/bypass-codes`.
pub fn bypass_path(user_id: &str) -> String {
    format!("{}/bypass-codes", mf_path(user_id))
}

/// `/v2.0/RAX-AUTH/domains/{domainId}/multi-factor`.
pub fn domain_mf_path(domain_id: &str) -> String {
    format!("/v2.0/RAX-AUTH/domains/{domain_id}/multi-factor")
}

/// An OTP device as the test knows it: id, the base32 secret from its `keyUri`, and the
/// last TOTP step the test has spent on it (a step is accepted once per device).
#[derive(Debug)]
pub struct OtpDevice {
    /// Device id.
    pub id: String,
    /// Base32 secret (from `keyUri`).
    pub secret: String,
    /// The `keyUri` returned by add.
    pub key_uri: String,
    /// Last step used (verify or login).
    last_step: AtomicU64,
}

impl OtpDevice {
    /// A code for a step not yet spent on this device, if one is usable now (the current step
    /// or the next one; the server accepts ±1 step). Marks the step spent.
    pub fn try_code(&self) -> Option<String> {
        let now = current_step();
        let step = now.max(self.last_step.load(Ordering::SeqCst) + 1);
        (step <= now + 1).then(|| {
            self.last_step.store(step, Ordering::SeqCst);
            totp_at_step(&self.secret, step)
        })
    }

    /// Like [`Self::try_code`], waiting for the clock when both usable steps are spent.
    pub async fn next_code(&self) -> String {
        loop {
            if let Some(c) = self.try_code() {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Records that a code of `step` was spent outside [`Self::next_code`].
    pub fn spent(&self, step: u64) {
        self.last_step.fetch_max(step, Ordering::SeqCst);
    }
}

/// The `secret` query parameter of an `otpauth://` URI.
#[track_caller]
pub fn secret_of(key_uri: &str) -> String {
    key_uri
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("secret="))
        .unwrap_or_else(|| panic!("no secret in {key_uri:?}"))
        .to_string()
}

/// Decodes the QR code of a `data:image/png;base64,…` URL and returns its text.
#[track_caller]
pub fn decode_qr_data_url(data_url: &str) -> String {
    let b64 = data_url
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a PNG data URL: {data_url:.60}"));
    let png_bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("qrcode is not base64: {e}"));
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("qrcode is not a PNG: {e}"));
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .unwrap_or_else(|e| panic!("qrcode PNG frame: {e}"));
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let grey = |x: usize, y: usize| -> u8 {
        let i = (y * w + x) * channels;
        match channels {
            1 | 2 => buf[i],
            _ => {
                let sum = u32::from(buf[i]) + u32::from(buf[i + 1]) + u32::from(buf[i + 2]);
                u8::try_from(sum / 3).unwrap_or(255)
            }
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, grey);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code in the PNG");
    let (_, text) = grids[0]
        .decode()
        .unwrap_or_else(|e| panic!("QR code does not decode: {e:?}"));
    text
}

/// `POST {MF}/otp-devices` with `{"RAX-AUTH:otpDevice": {"name": name}}`.
pub async fn add_otp(api: &TestApi, token: &str, user_id: &str, name: &str) -> ApiResponse {
    let body = json!({"RAX-AUTH:otpDevice": {"name": name}});
    api.post(token, &otp_devices_path(user_id), &body).await
}

/// Adds a device as `token` (must answer 201).
pub async fn add_otp_ok(api: &TestApi, token: &str, user_id: &str, name: &str) -> OtpDevice {
    let r = add_otp(api, token, user_id, name).await;
    r.expect_status(201);
    let d = &r.json["RAX-AUTH:otpDevice"];
    let key_uri = d["keyUri"]
        .as_str()
        .unwrap_or_else(|| panic!("add-otp-device: no keyUri in {}", r.text))
        .to_string();
    OtpDevice {
        id: d["id"]
            .as_str()
            .unwrap_or_else(|| panic!("add-otp-device: no id in {}", r.text))
            .to_string(),
        secret: secret_of(&key_uri),
        key_uri,
        last_step: AtomicU64::new(0),
    }
}

/// `POST {MF}/otp-devices/{id}/verify` with `{"RAX-AUTH:verificationCode": {"code": code}}`.
pub async fn verify_otp(
    api: &TestApi,
    token: &str,
    user_id: &str,
    device_id: &str,
    code: &str,
) -> ApiResponse {
    let body = json!({"RAX-AUTH:verificationCode": {"code": code}});
    api.post(
        token,
        &format!("{}/verify", otp_device_path(user_id, device_id)),
        &body,
    )
    .await
}

/// The current step, once at least 4 s remain in it (so a code of the previous step, valid
/// now by the ±1 rule, is still valid when the server checks it).
pub async fn settled_step() -> u64 {
    while now_epoch() % STEP_SECS >= STEP_SECS - 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    current_step()
}

/// A code of any of `devs` usable now (see [`OtpDevice::try_code`]), waiting if none is.
pub async fn code_of_any(devs: &[&OtpDevice]) -> String {
    loop {
        if let Some(c) = devs.iter().find_map(|d| d.try_code()) {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Adds a device to `user` as `token` and verifies it with an `oathtool` code (204). The
/// code is the previous step's (accepted by the ±1 rule), which leaves the current and the
/// next step free for two logins without waiting for the clock.
pub async fn add_verified_otp_as(api: &TestApi, token: &str, user_id: &str) -> OtpDevice {
    let dev = add_otp_ok(api, token, user_id, "Authenticator").await;
    let step = settled_step().await - 1;
    dev.spent(step);
    let code = totp_at_step(&dev.secret, step);
    verify_otp(api, token, user_id, &dev.id, &code)
        .await
        .expect_status(204);
    dev
}

/// Adds and verifies a device on `user` with its own token.
pub async fn add_verified_otp(api: &TestApi, user: &TestUser) -> OtpDevice {
    add_verified_otp_as(api, &user.token, &user.id).await
}

// ------------------------------------------------------------------------------------------
// MFA settings, bypass codes, delete-mfa, domain enforcement

/// `PUT {MF}` with `{"RAX-AUTH:multiFactor": settings}`.
pub async fn put_mfa(api: &TestApi, token: &str, user_id: &str, settings: Value) -> ApiResponse {
    api.put(
        token,
        &mf_path(user_id),
        &json!({"RAX-AUTH:multiFactor": settings}),
    )
    .await
}

/// `PUT {MF}` `{"enabled": true}` (must answer 204).
pub async fn enable_mfa(api: &TestApi, token: &str, user_id: &str) {
    put_mfa(api, token, user_id, json!({"enabled": true}))
        .await
        .expect_status(204);
}

/// `DELETE {MF}`.
pub async fn delete_mfa(api: &TestApi, token: &str, user_id: &str) -> ApiResponse {
    api.delete(token, &mf_path(user_id)).await
}

/// `POST {MF}/bypass-codes` with `body` (`None` = no body at all).
pub async fn bypass_codes(
    api: &TestApi,
    token: &str,
    user_id: &str,
    body: Option<Value>,
) -> ApiResponse {
    match body {
        Some(b) => api.post(token, &bypass_path(user_id), &b).await,
        None => api.post_empty(token, &bypass_path(user_id)).await,
    }
}

/// The codes of a 200 bypass-codes answer.
#[track_caller]
pub fn codes_of(r: &ApiResponse) -> Vec<String> {
    r.expect_status(200);
    r.json["RAX-AUTH:bypassCodes"]["codes"]
        .as_array()
        .unwrap_or_else(|| panic!("no codes array in {}", r.text))
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_string())
        .collect()
}

/// Generates one bypass code for `user_id` as `token` (defaults) and returns it.
pub async fn one_bypass_code(api: &TestApi, token: &str, user_id: &str) -> String {
    let r = bypass_codes(api, token, user_id, None).await;
    codes_of(&r)
        .pop()
        .unwrap_or_else(|| panic!("no bypass code"))
}

/// `PUT /v2.0/RAX-AUTH/domains/{domainId}/multi-factor` with a level.
pub async fn set_domain_level(
    api: &TestApi,
    token: &str,
    domain_id: &str,
    level: &str,
) -> ApiResponse {
    let body = json!({"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": level}});
    api.put(token, &domain_mf_path(domain_id), &body).await
}

/// `GET /v2.0/users/{id}` as `token` (must answer 200); returns the `user` object.
pub async fn user_view(api: &TestApi, token: &str, user_id: &str) -> Value {
    let r = api.get_user(token, user_id).await;
    r.expect_status(200);
    r.json["user"].clone()
}

/// Whether `token` is still accepted (`GET` of its owner's user as itself: 200 vs 401).
pub async fn token_works(api: &TestApi, token: &str, user_id: &str) -> bool {
    let r = api.get_user(token, user_id).await;
    match r.code() {
        200 => true,
        401 => false,
        other => panic!("GET user with a token answered {other}: {}", r.text),
    }
}

/// `RAX-AUTH:authenticatedBy` of a 200 login answer.
#[track_caller]
pub fn authenticated_by(r: &ApiResponse) -> Vec<String> {
    r.expect_status(200);
    r.json["access"]["token"]["RAX-AUTH:authenticatedBy"]
        .as_array()
        .unwrap_or_else(|| panic!("no authenticatedBy in {}", r.text))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_string())
        .collect()
}

/// `access.token.id` of a 200 login answer.
#[track_caller]
pub fn token_of(r: &ApiResponse) -> String {
    r.expect_status(200);
    r.json["access"]["token"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no access.token.id in {}", r.text))
        .to_string()
}

// ------------------------------------------------------------------------------------------
// Two-step login

/// Parses `OS-MF sessionId='<id>', factor='PASSCODE'`; returns `(session, factor)`.
#[track_caller]
pub fn parse_os_mf(header: &str) -> (String, String) {
    let re = regex::Regex::new(r"^OS-MF sessionId='([^']+)', factor='([^']+)'$").expect("regex");
    let caps = re
        .captures(header)
        .unwrap_or_else(|| panic!("WWW-Authenticate is not an OS-MF challenge: {header:?}"));
    (caps[1].to_string(), caps[2].to_string())
}

/// Asserts `r` is the OS-MF challenge (status, header, body) and returns the session id.
#[track_caller]
pub fn expect_challenge(r: &ApiResponse) -> String {
    r.expect_status(401);
    let header = r
        .header("www-authenticate")
        .unwrap_or_else(|| panic!("{}: 401 without WWW-Authenticate: {}", r.request, r.text));
    let (session, factor) = parse_os_mf(header);
    assert_eq!(factor, "PASSCODE", "factor is PASSCODE for SMS and OTP");
    let wanted = r.json["RAX-AUTH:factorType"].as_str().unwrap_or_default();
    assert!(
        wanted == "SMS" || wanted == "OTP",
        "challenge body names the factor: {}",
        r.text
    );
    assert_eq!(
        r.json,
        json!({"unauthorized": {"code": 401, "message": CHALLENGE_MESSAGE},
               "RAX-AUTH:factorType": wanted}),
        "challenge body"
    );
    session
}

/// Like [`expect_challenge`], and the body must name `factor` (`SMS` or `OTP`) as the one
/// whose passcode is wanted (clone extension, §9.1).
#[track_caller]
pub fn expect_challenge_for(r: &ApiResponse, factor: &str) -> String {
    let session = expect_challenge(r);
    assert_eq!(r.json["RAX-AUTH:factorType"], factor, "{}", r.text);
    session
}

/// A password login that retries while an SMS send limit answers 413 (the per-user minimum
/// interval between two SMS), honouring `Retry-After`.
pub async fn login_retrying_sms_limit(
    api: &TestApi,
    username: &str,
    password: &str,
) -> ApiResponse {
    for _ in 0..20 {
        let r = api.login(username, password).await;
        if r.code() != 413 {
            return r;
        }
        let wait: u64 = r
            .header("retry-after")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(1);
        assert!(
            wait <= 60,
            "Retry-After {wait}s: hourly SMS limit hit by a test"
        );
        tokio::time::sleep(Duration::from_secs(wait.max(1))).await;
    }
    panic!("login of {username}: still 413 after 20 tries");
}

/// Step 1 for an SMS user: the challenge and the 7-digit passcode read from moto.
/// Returns `(session, passcode)`.
pub async fn sms_challenge(api: &TestApi, user: &TestUser, phone: &TestPhone) -> (String, String) {
    let before = api.sms_to(&phone.e164).await.len();
    let r = login_retrying_sms_limit(api, &user.username, &user.password).await;
    let session = expect_challenge_for(&r, "SMS");
    let msgs = api.wait_for_sms(&phone.e164, before + 1).await;
    (session, extract_code(&msgs[before], 7))
}

/// Step 1 for an OTP (or bypass) login: the challenge's session id.
pub async fn otp_challenge(api: &TestApi, user: &TestUser) -> String {
    let r = api.login(&user.username, &user.password).await;
    expect_challenge(&r)
}

/// A full SMS MFA login; returns the token.
pub async fn sms_login(api: &TestApi, user: &TestUser, phone: &TestPhone) -> String {
    let (session, passcode) = sms_challenge(api, user, phone).await;
    let r = api.login_passcode(&session, &passcode).await;
    assert_eq!(authenticated_by(&r), ["PASSCODE", "PASSWORD"]);
    token_of(&r)
}

/// A full OTP MFA login; returns the token.
pub async fn otp_login(api: &TestApi, user: &TestUser, dev: &OtpDevice) -> String {
    let r = api.login(&user.username, &user.password).await;
    let session = expect_challenge_for(&r, "OTP");
    let code = dev.next_code().await;
    let r = api.login_passcode(&session, &code).await;
    assert_eq!(authenticated_by(&r), ["OTPPASSCODE", "PASSWORD"]);
    token_of(&r)
}

/// Gives `user` a verified OTP device, enables MFA (factor OTP) and logs in again with a
/// TOTP code, replacing `user.token` (enabling revoked the old one). Returns the device.
pub async fn enable_otp_mfa(api: &TestApi, user: &mut TestUser) -> OtpDevice {
    let dev = add_verified_otp(api, user).await;
    put_mfa(
        api,
        &user.token,
        &user.id,
        json!({"enabled": true, "factorType": "OTP"}),
    )
    .await
    .expect_status(204);
    user.token = otp_login(api, user, &dev).await;
    dev
}

/// Gives `user` a verified phone, enables MFA (SMS) and logs in again with an SMS passcode,
/// replacing `user.token`. Returns the phone id and number.
pub async fn enable_sms_mfa(api: &TestApi, user: &mut TestUser) -> (String, TestPhone) {
    let (phone_id, phone) = api.add_verified_phone(user).await;
    enable_mfa(api, &user.token, &user.id).await;
    user.token = sms_login(api, user, &phone).await;
    (phone_id, phone)
}

/// A fresh user-admin (own domain) with MFA on by OTP and an MFA token; and its device.
pub async fn mfa_user_admin(api: &TestApi) -> (TestUser, OtpDevice) {
    let mut ua = api.new_user_admin().await;
    let dev = enable_otp_mfa(api, &mut ua).await;
    (ua, dev)
}

/// A fresh `identity:admin` with MFA on by OTP and an MFA token; and its device. (Setting a
/// domain's level needs the caller's own MFA, contract §2.14.)
pub async fn mfa_admin(api: &TestApi) -> (TestUser, OtpDevice) {
    let mut admin = api.new_admin().await;
    let dev = enable_otp_mfa(api, &mut admin).await;
    (admin, dev)
}

// ------------------------------------------------------------------------------------------
// Table scans on raw attribute values

/// Every string and binary value in the table, nested ones included (binaries raw).
pub async fn table_values(api: &TestApi) -> (Vec<String>, Vec<Vec<u8>>) {
    fn walk(v: &AttributeValue, s: &mut Vec<String>, b: &mut Vec<Vec<u8>>) {
        match v {
            AttributeValue::S(x) | AttributeValue::N(x) => s.push(x.clone()),
            AttributeValue::B(x) => b.push(x.as_ref().to_vec()),
            AttributeValue::Ss(l) | AttributeValue::Ns(l) => s.extend(l.iter().cloned()),
            AttributeValue::Bs(l) => b.extend(l.iter().map(|x| x.as_ref().to_vec())),
            AttributeValue::L(l) => l.iter().for_each(|x| walk(x, s, b)),
            AttributeValue::M(m) => m.iter().for_each(|(k, x)| {
                s.push(k.clone());
                walk(x, s, b);
            }),
            _ => {}
        }
    }
    let (mut strings, mut bins) = (Vec::new(), Vec::new());
    for item in api.scan_items().await {
        for (k, v) in &item {
            strings.push(k.clone());
            walk(v, &mut strings, &mut bins);
        }
    }
    (strings, bins)
}

/// Asserts that the raw bytes `secret` appear nowhere in the table: not inside a binary
/// value, and not as hex, base64 (standard or URL-safe) or base32 text inside a string.
pub async fn assert_bytes_not_stored(api: &TestApi, what: &str, secret: &[u8]) {
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let engines = [
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
    ];
    let (strings, bins) = table_values(api).await;
    for b in &bins {
        assert!(
            !b.windows(secret.len()).any(|w| w == secret),
            "{what}: raw bytes stored in a binary attribute"
        );
    }
    for s in &strings {
        let lower = s.to_ascii_lowercase();
        assert!(!lower.contains(&hex), "{what}: stored as hex in {s:?}");
        for e in &engines {
            // the first 20 chars of an unpadded encoding do not depend on what follows
            let prefix = &e[..20.min(e.len())];
            assert!(!s.contains(prefix), "{what}: stored as base64 in {s:?}");
        }
    }
}

/// Asserts that `needle` (a case-sensitive string) appears in no string value or attribute
/// name of the table, nor in any binary value.
pub async fn assert_text_not_stored(api: &TestApi, what: &str, needle: &str) {
    let (strings, bins) = table_values(api).await;
    for s in &strings {
        assert!(!s.contains(needle), "{what} ({needle:?}) stored in {s:?}");
    }
    for b in &bins {
        assert!(
            !b.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{what} ({needle:?}) stored in a binary attribute"
        );
    }
}

/// Runs `n` copies of `f(i)` at once and returns their answers.
pub async fn in_parallel<F, Fut>(n: usize, f: F) -> Vec<ApiResponse>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ApiResponse>,
{
    futures::future::join_all((0..n).map(f)).await
}

/// Counts answers by status.
pub fn count_status(rs: &[ApiResponse], status: u16) -> usize {
    rs.iter().filter(|r| r.code() == status).count()
}

/// A raw `POST /v2.0/tokens` with passcode credentials and optional headers.
pub async fn passcode_request(
    api: &TestApi,
    passcode: &str,
    headers: &[(&str, &str)],
) -> ApiResponse {
    let body = json!({"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": passcode}}});
    api.raw(
        Method::POST,
        "/v2.0/tokens",
        None,
        Some("application/json"),
        Some(serde_json::to_vec(&body).expect("body")),
        headers,
    )
    .await
}
