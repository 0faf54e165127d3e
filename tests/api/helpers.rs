//! The black-box test harness: configuration, typed HTTP helpers, users of every role,
//! phones and SMS read back from moto, and direct DynamoDB scans for "nothing in plaintext"
//! checks.
//!
//! Every test builds its own [`TestApi`] (`TestApi::new()`), creates its own users with
//! fresh random names and its own phone numbers, and never relies on state left by another
//! test: tests run in parallel against one stack.
//!
//! Typical use:
//! ```ignore
//! let api = TestApi::new();
//! let ua = api.new_user_admin().await;            // fresh admin + user-admin in a new domain
//! let sub = api.new_sub_user(&ua).await;           // identity:default in ua's domain
//! let (phone_id, phone) = api.add_verified_phone(&sub).await;
//! let r = api.get(&sub.token, &sub.user_path()).await.expect_status(200);
//! ```
//!
//! Environment (exported by `scripts/test.sh`; defaults match `scripts/run-local.sh`):
//! `API_URL`, `DYNAMODB_ENDPOINT`, `MOTO_URL`, `TABLE_NAME`, `ADMIN_USERNAME`,
//! `ADMIN_PASSWORD`, `PUBLIC_BASE_URL` (optional) and the function limits
//! `SMS_MIN_INTERVAL_SECONDS`, `SMS_HOURLY_LIMIT`, `PIN_TTL_SECONDS`, `SESSION_TTL_SECONDS`,
//! `LOCKOUT_SECONDS`, `OTP_VERIFY_LOCK_SECONDS`, `NEW_DOMAIN_ENFORCEMENT_LEVEL`,
//! `TOKEN_TTL_SECONDS`.

#![allow(dead_code)] // not every helper is used by every test module

use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;
use rand::distributions::Alphanumeric;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;
use tokio::sync::OnceCell;

// ------------------------------------------------------------------------------------------
// Contract constants

/// Role ids (contract §1).
pub mod role {
    /// `identity:admin`.
    pub const ADMIN: &str = "1";
    /// `identity:default` (sub-user).
    pub const DEFAULT: &str = "2";
    /// `identity:user-admin`.
    pub const USER_ADMIN: &str = "3";
    /// `identity:service-admin`.
    pub const SERVICE_ADMIN: &str = "4";
    /// `identity:user-manage`.
    pub const USER_MANAGE: &str = "7";
    /// `identity:user-manage-limited`.
    pub const USER_MANAGE_LIMITED: &str = "8";
}

/// Step-1 login failure text (contract §3.1).
pub const BAD_CREDENTIALS: &str = "Unable to authenticate user with credentials provided.";
/// Wrong/expired/consumed PIN or OTP code text (contract §2.3, §2.8).
pub const INVALID_PIN: &str = "The PIN provided is either invalid or expired";

// ------------------------------------------------------------------------------------------
// Configuration

/// Where the stack runs and the limits the functions were started with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL of the API, no trailing slash (`API_URL`).
    pub api_url: String,
    /// Expected base of `Location` headers (`PUBLIC_BASE_URL`, else `API_URL`).
    pub location_base: String,
    /// DynamoDB Local (`DYNAMODB_ENDPOINT`).
    pub dynamodb_endpoint: String,
    /// moto server (`MOTO_URL`).
    pub moto_url: String,
    /// The single table (`TABLE_NAME`).
    pub table_name: String,
    /// Seeded `identity:service-admin` (`ADMIN_USERNAME`).
    pub admin_username: String,
    /// Its password (`ADMIN_PASSWORD`).
    pub admin_password: String,
    /// Minimum seconds between two SMS to one number (`SMS_MIN_INTERVAL_SECONDS`).
    pub sms_min_interval_secs: u64,
    /// SMS per number per hour (`SMS_HOURLY_LIMIT`).
    pub sms_hourly_limit: u64,
    /// Phone-verification PIN lifetime (`PIN_TTL_SECONDS`).
    pub pin_ttl_secs: u64,
    /// MFA login session / SMS passcode lifetime (`SESSION_TTL_SECONDS`).
    pub session_ttl_secs: u64,
    /// MFA lockout duration (`LOCKOUT_SECONDS`).
    pub lockout_secs: u64,
    /// Consecutive failures after which the lock no longer expires (`LOCKOUT_CAP`).
    pub lockout_cap: u64,
    /// OTP-device verification lock (`OTP_VERIFY_LOCK_SECONDS`).
    pub otp_verify_lock_secs: u64,
    /// Level of newly created domains (`NEW_DOMAIN_ENFORCEMENT_LEVEL`).
    pub new_domain_level: String,
    /// Token lifetime (`TOKEN_TTL_SECONDS`, 24 h).
    pub token_ttl_secs: u64,
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn env_secs(name: &str, default: u64) -> u64 {
    env_or(name, &default.to_string())
        .parse()
        .unwrap_or_else(|_| panic!("{name} must be a non-negative integer"))
}

impl Settings {
    /// Reads the environment, with the defaults of `scripts/run-local.sh` and the test config.
    pub fn from_env() -> Self {
        let api_url = env_or("API_URL", "http://127.0.0.1:9000")
            .trim_end_matches('/')
            .to_string();
        let location_base = env_or("PUBLIC_BASE_URL", &api_url)
            .trim_end_matches('/')
            .to_string();
        Self {
            location_base,
            api_url,
            dynamodb_endpoint: env_or("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
            moto_url: env_or("MOTO_URL", "http://127.0.0.1:5000")
                .trim_end_matches('/')
                .to_string(),
            table_name: env_or("TABLE_NAME", "identity"),
            admin_username: env_or("ADMIN_USERNAME", "admin"),
            admin_password: env_or("ADMIN_PASSWORD", ""),
            sms_min_interval_secs: env_secs("SMS_MIN_INTERVAL_SECONDS", 2),
            sms_hourly_limit: env_secs("SMS_HOURLY_LIMIT", 5),
            pin_ttl_secs: env_secs("PIN_TTL_SECONDS", 20),
            session_ttl_secs: env_secs("SESSION_TTL_SECONDS", 60),
            lockout_secs: env_secs("LOCKOUT_SECONDS", 6),
            lockout_cap: env_secs("LOCKOUT_CAP", 5),
            otp_verify_lock_secs: env_secs("OTP_VERIFY_LOCK_SECONDS", 6),
            new_domain_level: env_or("NEW_DOMAIN_ENFORCEMENT_LEVEL", "OPTIONAL"),
            token_ttl_secs: env_secs("TOKEN_TTL_SECONDS", 86_400),
        }
    }
}

// ------------------------------------------------------------------------------------------
// Responses

/// One HTTP answer: status, headers, raw text and the body parsed as JSON
/// (`Value::Null` when the body is empty or not JSON).
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// `"METHOD /path"`, for failure messages.
    pub request: String,
    /// Status code.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub text: String,
    /// Parsed body.
    pub json: Value,
}

impl ApiResponse {
    /// Status as a number.
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Panics (with the request and body) unless the status is `status`.
    #[track_caller]
    pub fn expect_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.code(),
            status,
            "{} answered {} (expected {status}); body: {}",
            self.request,
            self.code(),
            self.text
        );
        self
    }

    /// Asserts the status and the contract's error shape `{"<key>": {"code": N, "message": "…"}}`
    /// (one top-level key, `code` = status, non-empty `message`; an optional `details`).
    /// Returns the message.
    #[track_caller]
    pub fn expect_error(&self, status: u16, key: &str) -> String {
        self.expect_status(status);
        assert_error_shape(&self.json, status, key, &self.request);
        self.json[key]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Like [`Self::expect_error`], and the message must equal `message`.
    #[track_caller]
    pub fn expect_error_message(&self, status: u16, key: &str, message: &str) {
        let got = self.expect_error(status, key);
        assert_eq!(got, message, "{}: error message", self.request);
    }

    /// The body must be empty (202/204 answers).
    #[track_caller]
    pub fn expect_empty_body(&self) -> &Self {
        assert!(
            self.text.trim().is_empty(),
            "{}: expected an empty body, got {:?}",
            self.request,
            self.text
        );
        self
    }

    /// The `Location` header (panics if absent).
    #[track_caller]
    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("{}: no Location header", self.request))
    }
}

/// Asserts the contract's error body shape (§6) on an arbitrary JSON value.
#[track_caller]
pub fn assert_error_shape(body: &Value, status: u16, key: &str, context: &str) {
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{context}: error body is not a JSON object: {body}"));
    assert_eq!(
        obj.keys().collect::<Vec<_>>(),
        vec![key],
        "{context}: error body must have the single key {key:?}: {body}"
    );
    let inner = &obj[key];
    assert_eq!(
        inner["code"].as_u64(),
        Some(u64::from(status)),
        "{context}: {key}.code must be the number {status}: {body}"
    );
    let message = inner["message"].as_str().unwrap_or_default();
    assert!(
        !message.is_empty(),
        "{context}: {key}.message must be a non-empty string: {body}"
    );
    for k in inner
        .as_object()
        .map(|m| m.keys().collect::<Vec<_>>())
        .unwrap_or_default()
    {
        assert!(
            ["code", "message", "details"].contains(&k.as_str()),
            "{context}: unexpected field {k:?} in error body: {body}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Users

/// A user created by a test, logged in (its `token` is a fresh password-login token).
#[derive(Debug, Clone)]
pub struct TestUser {
    /// User id (32 lowercase hex).
    pub id: String,
    /// Username.
    pub username: String,
    /// Password in clear (test side only).
    pub password: String,
    /// Email.
    pub email: String,
    /// `RAX-AUTH:domainId`, when the user has one.
    pub domain_id: Option<String>,
    /// An `X-Auth-Token` from a password login.
    pub token: String,
}

impl TestUser {
    /// `/v2.0/users/{id}`.
    pub fn user_path(&self) -> String {
        format!("/v2.0/users/{}", self.id)
    }

    /// `{MF}` = `/v2.0/users/{id}/RAX-AUTH/multi-factor`.
    pub fn mf_path(&self) -> String {
        mf_path(&self.id)
    }

    /// `{MF}/mobile-phones`.
    pub fn phones_path(&self) -> String {
        phones_path(&self.id)
    }

    /// The domain id, panicking if the user has none.
    #[track_caller]
    pub fn domain(&self) -> &str {
        self.domain_id
            .as_deref()
            .unwrap_or_else(|| panic!("user {} has no domain", self.username))
    }
}

/// `{MF}` for a user id.
pub fn mf_path(user_id: &str) -> String {
    format!("/v2.0/users/{user_id}/RAX-AUTH/multi-factor")
}

/// `{MF}/mobile-phones` for a user id.
pub fn phones_path(user_id: &str) -> String {
    format!("{}/mobile-phones", mf_path(user_id))
}

/// `{MF}/mobile-phones/{phoneId}`.
pub fn phone_path(user_id: &str, phone_id: &str) -> String {
    format!("{}/{phone_id}", phones_path(user_id))
}

/// `n` random lowercase letters and digits.
pub fn random_alnum(n: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect()
}

/// A fresh valid username: `prefix` (must start with a letter) + 12 random chars.
pub fn unique_username(prefix: &str) -> String {
    format!("{prefix}{}", random_alnum(12))
}

/// A fresh strong password (24 chars, mixed case, a digit and a symbol).
pub fn random_password() -> String {
    let body: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(20)
        .map(char::from)
        .collect();
    format!("Pw{body}-9x")
}

/// 32 random lowercase hex chars: the shape of every id, never issued by the server.
pub fn random_id() -> String {
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Whether `s` is 32 lowercase hex chars (contract §1 ids).
pub fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
}

/// Whether `s` is a UTC ISO 8601 date-time with milliseconds and `Z` (contract §6).
pub fn is_iso8601_millis_z(s: &str) -> bool {
    regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
        .map(|re| re.is_match(s))
        .unwrap_or(false)
}

/// Seconds from now until the ISO 8601 instant `s` (negative if past).
#[track_caller]
pub fn seconds_until(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("not an RFC 3339 date-time {s:?}: {e}"));
    (t - time::OffsetDateTime::now_utc()).whole_seconds()
}

// ------------------------------------------------------------------------------------------
// Phones

/// A phone number as submitted (`display`, E.123) and as SNS/moto sees it (`e164`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPhone {
    /// E.123 text submitted to the API, e.g. `+1 210-312-4600`; echoed back as is.
    pub display: String,
    /// E.164 form, e.g. `+12103124600` (moto's `phone_number`).
    pub e164: String,
}

impl TestPhone {
    /// The E.164 digits without `+` (what must never be stored in plaintext).
    pub fn digits(&self) -> &str {
        self.e164.trim_start_matches('+')
    }

    /// The national significant number (e.g. `2103124600`).
    pub fn national(&self) -> String {
        phonenumber::parse(None, &self.e164)
            .map(|n| n.national().value().to_string())
            .unwrap_or_else(|_| self.digits().to_string())
    }
}

/// Area codes used for generated US numbers (all assigned, so libphonenumber accepts
/// `NPA-[2-9]XX-XXXX`).
const US_AREA_CODES: &[&str] = &[
    "210", "212", "312", "415", "512", "617", "713", "206", "303",
];

/// Whether `text` is a valid number under libphonenumber (the rule the API applies, §5).
pub fn is_valid_number(text: &str) -> bool {
    phonenumber::parse(None, text).is_ok_and(|n| phonenumber::is_valid(&n))
}

fn e164_of(text: &str) -> String {
    let n = phonenumber::parse(None, text).unwrap_or_else(|e| panic!("{text}: {e}"));
    n.format().mode(phonenumber::Mode::E164).to_string()
}

/// A random valid US number, formatted `+1 NPA-NXX-XXXX`. `tail` forces the last two digits
/// (used for moto's opted-out numbers); otherwise it never ends in `99`.
fn us_number(tail: Option<&str>) -> TestPhone {
    let mut rng = rand::thread_rng();
    loop {
        let area = US_AREA_CODES[rng.gen_range(0..US_AREA_CODES.len())];
        let exchange = format!("{}{:02}", rng.gen_range(2..10), rng.gen_range(0..100));
        if exchange.ends_with("11") || exchange == "555" {
            continue;
        }
        let line = match tail {
            Some(t) => format!("{:02}{t}", rng.gen_range(0..100)),
            None => format!("{:04}", rng.gen_range(0..10_000)),
        };
        if tail.is_none() && line.ends_with("99") {
            continue;
        }
        let display = format!("+1 {area}-{exchange}-{line}");
        if is_valid_number(&display) {
            let e164 = e164_of(&display);
            return TestPhone { display, e164 };
        }
    }
}

/// A random valid US number (not checked against moto; prefer [`TestApi::fresh_phone`]).
pub fn random_phone() -> TestPhone {
    us_number(None)
}

/// A random valid UK mobile number formatted `+44 7xxx xxxxxx`.
pub fn random_uk_mobile() -> TestPhone {
    let mut rng = rand::thread_rng();
    loop {
        let display = format!(
            "+44 7{}{:02} {:06}",
            rng.gen_range(4..10),
            rng.gen_range(0..100),
            rng.gen_range(0..1_000_000)
        );
        // 07 also holds pagers (076) and personal numbers: only MOBILE numbers get SMS (§8.3).
        let mobile = phonenumber::parse(None, &display).is_ok_and(|n| {
            n.number_type(&phonenumber::metadata::DATABASE) == phonenumber::Type::Mobile
        });
        if !display.ends_with("99") && is_valid_number(&display) && mobile {
            let e164 = e164_of(&display);
            return TestPhone { display, e164 };
        }
    }
}

/// The one standalone run of exactly `digits` digits in an SMS (PIN: 6, login passcode: 7).
#[track_caller]
pub fn extract_code(message: &str, digits: usize) -> String {
    let runs: Vec<&str> = regex::Regex::new(r"\d+")
        .map(|re| re.find_iter(message).map(|m| m.as_str()).collect())
        .unwrap_or_default();
    let codes: Vec<&str> = runs.into_iter().filter(|r| r.len() == digits).collect();
    assert_eq!(
        codes.len(),
        1,
        "expected exactly one {digits}-digit code in the SMS {message:?}"
    );
    codes[0].to_string()
}

/// A code of `digits` digits different from `not`.
pub fn other_code(not: &str, digits: usize) -> String {
    let mut rng = rand::thread_rng();
    loop {
        let c: String = (0..digits)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect();
        if c != not {
            return c;
        }
    }
}

// ------------------------------------------------------------------------------------------
// The API client

/// Per-test handle on the running stack.
#[derive(Debug)]
pub struct TestApi {
    /// Configuration read from the environment.
    pub settings: Settings,
    http: reqwest::Client,
    dynamo: OnceCell<aws_sdk_dynamodb::Client>,
    service_admin_token: OnceCell<String>,
}

impl Default for TestApi {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApi {
    /// A handle configured from the environment.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        Self {
            settings: Settings::from_env(),
            http,
            dynamo: OnceCell::new(),
            service_admin_token: OnceCell::new(),
        }
    }

    /// Absolute URL of an API path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.api_url)
    }

    /// What a `Location` header for `path` must be (contract §1: base URL + path).
    pub fn location_of(&self, path: &str) -> String {
        format!("{}{path}", self.settings.location_base)
    }

    // -- raw requests ------------------------------------------------------------------------

    /// Sends any request. `body` is sent as is with `content_type` (if given).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
        extra_headers: &[(&str, &str)],
    ) -> ApiResponse {
        let request = format!("{method} {path}");
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.header("X-Auth-Token", t);
        }
        if let Some(ct) = content_type {
            rb = rb.header("Content-Type", ct);
        }
        for (k, v) in extra_headers {
            rb = rb.header(*k, *v);
        }
        if let Some(b) = body {
            rb = rb.body(b);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{request}: request failed (is the stack up?): {e}"));
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{request}: reading the body: {e}"));
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        ApiResponse {
            request,
            status,
            headers,
            text,
            json,
        }
    }

    /// A request with an optional JSON body (sent as `application/json`).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> ApiResponse {
        match body {
            Some(b) => {
                let bytes = serde_json::to_vec(b).expect("serialize body");
                self.raw(
                    method,
                    path,
                    token,
                    Some("application/json"),
                    Some(bytes),
                    &[],
                )
                .await
            }
            None => self.raw(method, path, token, None, None, &[]).await,
        }
    }

    /// `GET path` with a token.
    pub async fn get(&self, token: &str, path: &str) -> ApiResponse {
        self.request(Method::GET, path, Some(token), None).await
    }

    /// `POST path` with a token and a JSON body.
    pub async fn post(&self, token: &str, path: &str, body: &Value) -> ApiResponse {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    /// `POST path` with a token and no body.
    pub async fn post_empty(&self, token: &str, path: &str) -> ApiResponse {
        self.request(Method::POST, path, Some(token), None).await
    }

    /// `PUT path` with a token and a JSON body.
    pub async fn put(&self, token: &str, path: &str, body: &Value) -> ApiResponse {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }

    /// `PUT path` with a token and no body.
    pub async fn put_empty(&self, token: &str, path: &str) -> ApiResponse {
        self.request(Method::PUT, path, Some(token), None).await
    }

    /// `DELETE path` with a token.
    pub async fn delete(&self, token: &str, path: &str) -> ApiResponse {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    // -- tokens ------------------------------------------------------------------------------

    /// `POST /v2.0/tokens` with password credentials.
    pub async fn login(&self, username: &str, password: &str) -> ApiResponse {
        let body =
            json!({"auth": {"passwordCredentials": {"username": username, "password": password}}});
        self.request(Method::POST, "/v2.0/tokens", None, Some(&body))
            .await
    }

    /// `POST /v2.0/tokens` with password credentials and `"RAX-AUTH:scope": "SETUP-MFA"`.
    pub async fn login_setup_mfa(&self, username: &str, password: &str) -> ApiResponse {
        let body = json!({"auth": {
            "RAX-AUTH:scope": "SETUP-MFA",
            "passwordCredentials": {"username": username, "password": password}}});
        self.request(Method::POST, "/v2.0/tokens", None, Some(&body))
            .await
    }

    /// Step 2 of an MFA login: `X-SessionId` + passcode credentials.
    pub async fn login_passcode(&self, session_id: &str, passcode: &str) -> ApiResponse {
        let body = json!({"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": passcode}}});
        let bytes = serde_json::to_vec(&body).expect("serialize body");
        self.raw(
            Method::POST,
            "/v2.0/tokens",
            None,
            Some("application/json"),
            Some(bytes),
            &[("X-SessionId", session_id)],
        )
        .await
    }

    /// A password login that must succeed; returns `access.token.id`.
    pub async fn login_token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        r.expect_status(200);
        r.json["access"]["token"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("login of {username}: no access.token.id in {}", r.text))
            .to_string()
    }

    /// A token of the seeded `identity:service-admin` (logged in once per `TestApi`).
    pub async fn service_admin_token(&self) -> String {
        self.service_admin_token
            .get_or_init(|| async {
                assert!(
                    !self.settings.admin_password.is_empty(),
                    "ADMIN_PASSWORD is not set (run the suite through scripts/test.sh)"
                );
                self.login_token(&self.settings.admin_username, &self.settings.admin_password)
                    .await
            })
            .await
            .clone()
    }

    /// `GET /v2.0/tokens/{token_id}` as `caller`.
    pub async fn validate_token(&self, caller: &str, token_id: &str) -> ApiResponse {
        self.get(caller, &format!("/v2.0/tokens/{token_id}")).await
    }

    // -- users -------------------------------------------------------------------------------

    /// `POST /v2.0/users` with an arbitrary body.
    pub async fn create_user_raw(&self, token: &str, body: &Value) -> ApiResponse {
        self.post(token, "/v2.0/users", body).await
    }

    /// `POST /v2.0/users` with a fresh username, its email and `password`
    /// (`None` = let the server generate one). `extra` keys are merged into `user`.
    pub async fn create_user(
        &self,
        token: &str,
        username: &str,
        password: Option<&str>,
        extra: Value,
    ) -> ApiResponse {
        let mut user = json!({"username": username, "email": format!("{username}@example.com")});
        if let Some(p) = password {
            user["OS-KSADM:password"] = json!(p);
        }
        if let (Some(u), Some(e)) = (user.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                u.insert(k.clone(), v.clone());
            }
        }
        self.create_user_raw(token, &json!({"user": user})).await
    }

    /// Creates a user as `creator_token` (must succeed), then logs it in.
    /// `prefix` starts the username; `extra` keys go into the `user` object.
    pub async fn new_user_by(&self, creator_token: &str, prefix: &str, extra: Value) -> TestUser {
        let username = unique_username(prefix);
        let password = random_password();
        let r = self
            .create_user(creator_token, &username, Some(&password), extra)
            .await;
        r.expect_status(201);
        let u = &r.json["user"];
        let id = u["id"]
            .as_str()
            .unwrap_or_else(|| panic!("create-user: no user.id in {}", r.text))
            .to_string();
        let domain_id = u["RAX-AUTH:domainId"].as_str().map(str::to_string);
        let token = self.login_token(&username, &password).await;
        TestUser {
            id,
            email: format!("{username}@example.com"),
            username,
            password,
            domain_id,
            token,
        }
    }

    /// A fresh `identity:admin` (created by the seeded service-admin).
    pub async fn new_admin(&self) -> TestUser {
        let sa = self.service_admin_token().await;
        self.new_user_by(&sa, "adm", json!({})).await
    }

    /// A fresh `identity:user-admin` in a new domain, created by `admin`.
    pub async fn new_user_admin_by(&self, admin: &TestUser) -> TestUser {
        self.new_user_by(&admin.token, "uad", json!({})).await
    }

    /// A fresh `identity:user-admin` in a new domain (creates a fresh admin for it).
    pub async fn new_user_admin(&self) -> TestUser {
        let admin = self.new_admin().await;
        self.new_user_admin_by(&admin).await
    }

    /// A fresh `identity:default` sub-user created by `parent` (a user-admin or user-manage),
    /// in the parent's domain.
    pub async fn new_sub_user(&self, parent: &TestUser) -> TestUser {
        self.new_user_by(&parent.token, "sub", json!({})).await
    }

    /// `PUT /v2.0/users/{user_id}/roles/OS-KSADM/{role_id}` as `token`.
    pub async fn add_role(&self, token: &str, user_id: &str, role_id: &str) -> ApiResponse {
        self.put_empty(
            token,
            &format!("/v2.0/users/{user_id}/roles/OS-KSADM/{role_id}"),
        )
        .await
    }

    /// A fresh `identity:user-manage` user in `user_admin`'s domain: a sub-user created by
    /// the user-admin, then given role 7. Its token is from a login after the role change.
    pub async fn new_user_manage(&self, user_admin: &TestUser) -> TestUser {
        let mut u = self.new_sub_user(user_admin).await;
        self.add_role(&user_admin.token, &u.id, role::USER_MANAGE)
            .await
            .expect_status(200);
        u.token = self.login_token(&u.username, &u.password).await;
        u
    }

    /// `GET /v2.0/users/{user_id}` as `token`.
    pub async fn get_user(&self, token: &str, user_id: &str) -> ApiResponse {
        self.get(token, &format!("/v2.0/users/{user_id}")).await
    }

    // -- phones ------------------------------------------------------------------------------

    /// `POST {MF}/mobile-phones` with `{"RAX-AUTH:mobilePhone": {"number": number}}`.
    pub async fn add_phone(&self, token: &str, user_id: &str, number: &str) -> ApiResponse {
        let body = json!({"RAX-AUTH:mobilePhone": {"number": number}});
        self.post(token, &phones_path(user_id), &body).await
    }

    /// Adds `number` (must answer 201) and returns the phone id.
    pub async fn add_phone_ok(&self, token: &str, user_id: &str, number: &str) -> String {
        let r = self.add_phone(token, user_id, number).await;
        r.expect_status(201);
        r.json["RAX-AUTH:mobilePhone"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("add-phone: no id in {}", r.text))
            .to_string()
    }

    /// `POST {MF}/mobile-phones/{phoneId}/verificationcode` (no body).
    pub async fn send_phone_code(&self, token: &str, user_id: &str, phone_id: &str) -> ApiResponse {
        self.post_empty(
            token,
            &format!("{}/verificationcode", phone_path(user_id, phone_id)),
        )
        .await
    }

    /// `POST {MF}/mobile-phones/{phoneId}/verify` with `{"RAX-AUTH:verificationCode": {"code"}}`.
    pub async fn verify_phone(
        &self,
        token: &str,
        user_id: &str,
        phone_id: &str,
        code: &str,
    ) -> ApiResponse {
        let body = json!({"RAX-AUTH:verificationCode": {"code": code}});
        self.post(
            token,
            &format!("{}/verify", phone_path(user_id, phone_id)),
            &body,
        )
        .await
    }

    /// `GET {MF}/mobile-phones/{phoneId}`.
    pub async fn get_phone(&self, token: &str, user_id: &str, phone_id: &str) -> ApiResponse {
        self.get(token, &phone_path(user_id, phone_id)).await
    }

    /// `GET {MF}/mobile-phones`.
    pub async fn list_phones(&self, token: &str, user_id: &str) -> ApiResponse {
        self.get(token, &phones_path(user_id)).await
    }

    /// `DELETE {MF}/mobile-phones/{phoneId}`.
    pub async fn delete_phone(&self, token: &str, user_id: &str, phone_id: &str) -> ApiResponse {
        self.delete(token, &phone_path(user_id, phone_id)).await
    }

    /// Sends a verification code as the owner (must answer 202) and returns the PIN read
    /// from the new SMS in moto.
    pub async fn request_pin(&self, user: &TestUser, phone_id: &str, phone: &TestPhone) -> String {
        let before = self.sms_to(&phone.e164).await.len();
        self.send_phone_code(&user.token, &user.id, phone_id)
            .await
            .expect_status(202);
        let msgs = self.wait_for_sms(&phone.e164, before + 1).await;
        extract_code(&msgs[before], 6)
    }

    /// Adds a fresh phone to `user` and verifies it through send-code + verify with the PIN
    /// read from moto. Returns the phone id and the number. MFA is **not** enabled.
    pub async fn add_verified_phone(&self, user: &TestUser) -> (String, TestPhone) {
        let phone = self.fresh_phone().await;
        let phone_id = self
            .add_phone_ok(&user.token, &user.id, &phone.display)
            .await;
        let pin = self.request_pin(user, &phone_id, &phone).await;
        self.verify_phone(&user.token, &user.id, &phone_id, &pin)
            .await
            .expect_status(204);
        (phone_id, phone)
    }

    // -- moto (SNS) --------------------------------------------------------------------------

    /// Every SMS moto has recorded, as `(phone_number, message)` in sending order.
    pub async fn all_sms(&self) -> Vec<(String, String)> {
        let url = format!("{}/moto-api/data.json", self.settings.moto_url);
        let data: Value = self
            .http
            .get(&url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
        data["sns"]["SMS"]
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|m| {
                        (
                            m["phone_number"].as_str().unwrap_or_default().to_string(),
                            m["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The messages sent to `e164`, oldest first.
    pub async fn sms_to(&self, e164: &str) -> Vec<String> {
        self.all_sms()
            .await
            .into_iter()
            .filter(|(to, _)| to == e164)
            .map(|(_, m)| m)
            .collect()
    }

    /// Waits (up to 10 s) until at least `count` SMS went to `e164`; returns them all.
    pub async fn wait_for_sms(&self, e164: &str, count: usize) -> Vec<String> {
        for _ in 0..50 {
            let msgs = self.sms_to(e164).await;
            if msgs.len() >= count {
                return msgs;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let msgs = self.sms_to(e164).await;
        assert!(
            msgs.len() >= count,
            "expected {count} SMS to {e164}, moto has {}: {msgs:?}",
            msgs.len()
        );
        msgs
    }

    /// A random valid US number no SMS has gone to yet (safe to reuse one moto across runs).
    pub async fn fresh_phone(&self) -> TestPhone {
        loop {
            let p = random_phone();
            if self.sms_to(&p.e164).await.is_empty() {
                return p;
            }
        }
    }

    /// A random valid UK mobile number no SMS has gone to yet.
    pub async fn fresh_uk_phone(&self) -> TestPhone {
        loop {
            let p = random_uk_mobile();
            if self.sms_to(&p.e164).await.is_empty() {
                return p;
            }
        }
    }

    /// A valid US number that moto reports as opted out of SMS (moto 5.2.5's
    /// `CheckIfPhoneNumberIsOptedOut` says yes for every number ending in `99`).
    pub async fn opted_out_phone(&self) -> TestPhone {
        loop {
            let p = us_number(Some("99"));
            if self.sms_to(&p.e164).await.is_empty() {
                return p;
            }
        }
    }

    // -- DynamoDB ----------------------------------------------------------------------------

    /// A DynamoDB client on DynamoDB Local (credentials test/test, us-east-1).
    pub async fn dynamo(&self) -> &aws_sdk_dynamodb::Client {
        self.dynamo
            .get_or_init(|| async {
                let creds = aws_sdk_dynamodb::config::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "api-tests",
                );
                let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new("us-east-1"))
                    .endpoint_url(&self.settings.dynamodb_endpoint)
                    .credentials_provider(creds)
                    .load()
                    .await;
                aws_sdk_dynamodb::Client::new(&conf)
            })
            .await
    }

    /// Every item of the table (full scan, all pages).
    pub async fn scan_items(&self) -> Vec<HashMap<String, AttributeValue>> {
        let client = self.dynamo().await;
        let mut items = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let out = client
                .scan()
                .table_name(&self.settings.table_name)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .unwrap_or_else(|e| panic!("scan {}: {e:?}", self.settings.table_name));
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        items
    }

    /// The table dumped as text: one string per item holding every attribute name and
    /// every value (strings, numbers, binaries as lossy UTF-8, nested lists/maps/sets).
    pub async fn table_dump(&self) -> Vec<String> {
        self.scan_items()
            .await
            .iter()
            .map(|item| {
                let mut s = String::new();
                let mut keys: Vec<_> = item.keys().collect();
                keys.sort();
                for k in keys {
                    let _ = write!(s, "{k}=");
                    flatten(&item[k], &mut s);
                    s.push('\n');
                }
                s
            })
            .collect()
    }

    /// Asserts that `needle` appears nowhere in the table (names or values).
    pub async fn assert_not_stored(&self, what: &str, needle: &str) {
        assert!(
            !needle.is_empty(),
            "assert_not_stored({what}): empty needle"
        );
        let dump = self.table_dump().await;
        if let Some(item) = dump.iter().find(|i| i.contains(needle)) {
            panic!("{what} ({needle:?}) is stored in plaintext in item:\n{item}");
        }
    }

    /// Asserts that `needle` does appear in the table: a positive control proving that a
    /// scan sees the data (use a user id or username next to `assert_not_stored`).
    pub async fn assert_stored(&self, what: &str, needle: &str) {
        let dump = self.table_dump().await;
        assert!(
            dump.iter().any(|i| i.contains(needle)),
            "{what} ({needle:?}) not found in table {}: is TABLE_NAME right?",
            self.settings.table_name
        );
    }

    /// Asserts that the numeric code `code` appears nowhere in the table as a standalone word:
    /// a run of letters and digits equal to the code. A plain substring or digit-run check
    /// would hit timestamps and hex digests (`…b3e781640a36…`) by chance.
    pub async fn assert_code_not_stored(&self, what: &str, code: &str) {
        let re = regex::Regex::new(r"[0-9A-Za-z]+").expect("regex");
        let dump = self.table_dump().await;
        for item in &dump {
            if re.find_iter(item).any(|m| m.as_str() == code) {
                panic!("{what} ({code:?}) is stored in plaintext in item:\n{item}");
            }
        }
    }

    /// Asserts that neither the E.164 digits nor the national number of `phone` (nor the
    /// submitted text) appear in the table.
    pub async fn assert_phone_not_stored(&self, phone: &TestPhone) {
        let dump = self.table_dump().await;
        let national = phone.national();
        for (what, needle) in [
            ("E.164 digits", phone.digits()),
            ("national number", national.as_str()),
            ("submitted number", phone.display.as_str()),
        ] {
            if let Some(item) = dump.iter().find(|i| i.contains(needle)) {
                panic!("phone {what} ({needle:?}) is stored in plaintext in item:\n{item}");
            }
        }
    }
}

fn flatten(v: &AttributeValue, out: &mut String) {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::B(b) => out.push_str(&String::from_utf8_lossy(b.as_ref())),
        AttributeValue::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        AttributeValue::Null(_) => out.push_str("null"),
        AttributeValue::Ss(l) | AttributeValue::Ns(l) => {
            for s in l {
                out.push_str(s);
                out.push(' ');
            }
        }
        AttributeValue::Bs(l) => {
            for b in l {
                out.push_str(&String::from_utf8_lossy(b.as_ref()));
                out.push(' ');
            }
        }
        AttributeValue::L(l) => {
            for x in l {
                flatten(x, out);
                out.push(' ');
            }
        }
        AttributeValue::M(m) => {
            for (k, x) in m {
                let _ = write!(out, "{k}=");
                flatten(x, out);
                out.push(' ');
            }
        }
        _ => {
            let _ = write!(out, "{v:?}");
        }
    }
}

/// Sleeps `secs` seconds (plus 300 ms of slack for clock granularity).
pub async fn sleep_secs(secs: u64) {
    tokio::time::sleep(Duration::from_secs(secs) + Duration::from_millis(300)).await;
}

// ------------------------------------------------------------------------------------------
// Self-checks of the harness (no stack needed)

#[cfg(test)]
mod harness_tests {
    use super::*;

    #[test]
    fn generated_phone_numbers_are_valid_and_map_to_e164() {
        for _ in 0..200 {
            let p = random_phone();
            assert!(is_valid_number(&p.display), "{p:?}");
            assert!(p.e164.starts_with("+1") && p.e164.len() == 12, "{p:?}");
            assert!(!p.e164.ends_with("99"), "{p:?}");
            let u = random_uk_mobile();
            assert!(is_valid_number(&u.display), "{u:?}");
            assert!(u.e164.starts_with("+447") && u.e164.len() == 13, "{u:?}");
            let o = us_number(Some("99"));
            assert!(
                is_valid_number(&o.display) && o.e164.ends_with("99"),
                "{o:?}"
            );
        }
        assert_eq!(e164_of("+1 210-312-4600"), "+12103124600");
    }

    #[test]
    fn the_contracts_rejected_numbers_are_invalid_under_libphonenumber() {
        for bad in [
            "+1 235-435-623",
            "+44 42 1123 4567",
            "12345",
            "2103124600",
            "1 210-312-4600",
        ] {
            assert!(!is_valid_number(bad), "{bad} should be invalid");
        }
        assert!(is_valid_number("+1 210-312-4600"));
        // libphonenumber has no notion of fictional numbers: 555-01xx parses as valid.
        assert!(is_valid_number("+1 201-555-0123"));
    }

    #[test]
    fn codes_are_extracted_as_standalone_digit_runs() {
        assert_eq!(
            extract_code(
                "Your verification PIN is 123456. It expires in 10 minutes.",
                6
            ),
            "123456"
        );
        assert_eq!(extract_code("Rackspace passcode: 1234567", 7), "1234567");
    }

    #[test]
    fn iso8601_millis_z_is_recognised() {
        assert!(is_iso8601_millis_z("2015-06-05T16:24:57.637Z"));
        assert!(!is_iso8601_millis_z("2015-06-05T16:24:57Z"));
        assert!(!is_iso8601_millis_z("2015-06-05T16:24:57.637+00:00"));
    }
}
