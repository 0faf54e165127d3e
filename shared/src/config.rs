//! Configuration from environment variables, parsed once per cold start.

use crate::domain::EnforcementLevel;
use std::str::FromStr;

/// A configuration value was missing or malformed; the cold start fails with this message.
#[derive(Debug, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

/// Typed configuration of every function (all have defaults except `TABLE_NAME`).
#[derive(Debug, Clone)]
pub struct Config {
    /// DynamoDB table (`TABLE_NAME`).
    pub table_name: String,
    /// KMS-wrapped data keys that seal secrets at rest (`SEED_KEYS="1:<base64>,2:<base64>"`); newest seals.
    pub seed_keys: Vec<(u32, String)>,
    /// KMS key that wraps the data keys created on first need (`KMS_KEY_ID`), used when
    /// `SEED_KEYS` is not set.
    pub kms_key_id: Option<String>,
    /// Timeouts of every DynamoDB, SNS and KMS call, well inside the function's own.
    pub aws_timeouts: AwsTimeouts,
    /// Trust the platform's root certificates for AWS endpoints (`AWS_TRUST_NATIVE_ROOTS`,
    /// false): by default only the Amazon Trust Services roots that sign every AWS endpoint
    /// are trusted, which also spares each cold start reading the system's CA store.
    pub aws_native_roots: bool,
    /// SMS sender id (`SMS_SENDER_ID`).
    pub sms_sender_id: String,
    /// `TOTP_ISSUER`: the issuer in OTP devices' key URIs (`Rackspace`): the name an
    /// authenticator app shows beside the account.
    pub totp_issuer: String,
    /// Minimum seconds between two SMS to one number (`SMS_MIN_INTERVAL_SECONDS`, 30).
    pub sms_min_interval_secs: u64,
    /// Most SMS to one number per hour (`SMS_HOURLY_LIMIT`, 5).
    pub sms_hourly_limit: u64,
    /// Most SMS the whole deployment sends per clock hour (`SMS_HOURLY_CAP`, 1000; §9.3).
    pub sms_hourly_cap: u64,
    /// Phone-verification PIN lifetime (`PIN_TTL_SECONDS`, 600).
    pub pin_ttl_secs: u64,
    /// Wrong tries that kill a PIN (5).
    pub pin_max_tries: u64,
    /// MFA login session and SMS passcode lifetime (`SESSION_TTL_SECONDS`, 600).
    pub session_ttl_secs: u64,
    /// Consecutive failed passcodes that lock MFA login (`LOCKOUT_THRESHOLD`, 3).
    pub lockout_threshold: u64,
    /// How long a lock lasts after the last failure (`LOCKOUT_SECONDS`, 600).
    pub lockout_secs: u64,
    /// Consecutive failures after which the lock no longer expires (`LOCKOUT_CAP`, 100).
    pub lockout_cap: u64,
    /// Token lifetime (`TOKEN_TTL_SECONDS`, 86400).
    pub token_ttl_secs: u64,
    /// SETUP-MFA token lifetime (`SCOPED_TOKEN_TTL_SECONDS`, 3600).
    pub scoped_token_ttl_secs: u64,
    /// Level of newly created domains (`NEW_DOMAIN_ENFORCEMENT_LEVEL`, RACKSPACE_MANDATED).
    pub new_domain_level: EnforcementLevel,
    /// Wrong codes in a row that lock an OTP device's verification (`OTP_VERIFY_MAX_FAILURES`, 5).
    pub otp_verify_max_failures: u64,
    /// How long such a lock lasts (`OTP_VERIFY_LOCK_SECONDS`, 600).
    pub otp_verify_lock_secs: u64,
    /// `RAX-AUTH:defaultRegion` of new users (`DEFAULT_REGION`, DFW).
    pub default_region: String,
    /// Most users in one domain (`DOMAIN_USER_LIMIT`, 100).
    pub domain_user_limit: u64,
    /// Base of `Location` headers (`PUBLIC_BASE_URL`); derived from the request when unset.
    pub public_base_url: Option<String>,
}

/// Timeouts of AWS calls (ms): connecting, one attempt, and the whole call with its retries.
#[derive(Debug, Clone, Copy)]
pub struct AwsTimeouts {
    /// `AWS_CONNECT_TIMEOUT_MS` (1000).
    pub connect_ms: u64,
    /// `AWS_ATTEMPT_TIMEOUT_MS` (2000).
    pub attempt_ms: u64,
    /// `AWS_OPERATION_TIMEOUT_MS` (4000).
    pub operation_ms: u64,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: FromStr>(name: &str, default: T) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name} has an invalid value"))),
    }
}

fn positive(name: &str, default: u64) -> Result<u64, ConfigError> {
    let v = parse(name, default)?;
    if v == 0 {
        return Err(ConfigError(format!("{name} must be positive")));
    }
    Ok(v)
}

impl Config {
    /// Reads the configuration from the environment.
    ///
    /// # Errors
    /// A missing `TABLE_NAME` or any malformed value.
    pub fn from_env() -> Result<Self, ConfigError> {
        let table_name =
            var("TABLE_NAME").ok_or_else(|| ConfigError("TABLE_NAME is not set".into()))?;
        let mut seed_keys = Vec::new();
        if let Some(raw) = var("SEED_KEYS") {
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (v, blob) = part.split_once(':').ok_or_else(|| {
                    ConfigError("SEED_KEYS entries must be <version>:<base64>".into())
                })?;
                let v: u32 = v
                    .parse()
                    .map_err(|_| ConfigError("SEED_KEYS version must be a number".into()))?;
                seed_keys.push((v, blob.to_string()));
            }
            seed_keys.sort_by_key(|(v, _)| *v);
        }
        let new_domain_level = match var("NEW_DOMAIN_ENFORCEMENT_LEVEL") {
            None => EnforcementLevel::RackspaceMandated,
            Some(v) => EnforcementLevel::parse_domain(&v).ok_or_else(|| {
                ConfigError(
                    "NEW_DOMAIN_ENFORCEMENT_LEVEL must be OPTIONAL, REQUIRED or RACKSPACE_MANDATED"
                        .into(),
                )
            })?,
        };
        Ok(Self {
            table_name,
            seed_keys,
            kms_key_id: var("KMS_KEY_ID"),
            aws_timeouts: AwsTimeouts {
                connect_ms: positive("AWS_CONNECT_TIMEOUT_MS", 1_000)?,
                attempt_ms: positive("AWS_ATTEMPT_TIMEOUT_MS", 2_000)?,
                operation_ms: positive("AWS_OPERATION_TIMEOUT_MS", 4_000)?,
            },
            aws_native_roots: parse("AWS_TRUST_NATIVE_ROOTS", false)?,
            sms_sender_id: var("SMS_SENDER_ID").unwrap_or_else(|| "Rackspace".into()),
            totp_issuer: var("TOTP_ISSUER").unwrap_or_else(|| crate::totp::ISSUER.into()),
            sms_min_interval_secs: parse("SMS_MIN_INTERVAL_SECONDS", 30)?,
            sms_hourly_limit: positive("SMS_HOURLY_LIMIT", 5)?,
            sms_hourly_cap: positive("SMS_HOURLY_CAP", 1000)?,
            pin_ttl_secs: positive("PIN_TTL_SECONDS", 600)?,
            pin_max_tries: 5,
            session_ttl_secs: positive("SESSION_TTL_SECONDS", 600)?,
            lockout_threshold: positive("LOCKOUT_THRESHOLD", 3)?,
            lockout_secs: positive("LOCKOUT_SECONDS", 600)?,
            lockout_cap: positive("LOCKOUT_CAP", 100)?,
            token_ttl_secs: positive("TOKEN_TTL_SECONDS", 86_400)?,
            scoped_token_ttl_secs: positive("SCOPED_TOKEN_TTL_SECONDS", 3_600)?,
            new_domain_level,
            otp_verify_max_failures: positive("OTP_VERIFY_MAX_FAILURES", 5)?,
            otp_verify_lock_secs: positive("OTP_VERIFY_LOCK_SECONDS", 600)?,
            default_region: var("DEFAULT_REGION").unwrap_or_else(|| "DFW".into()),
            domain_user_limit: positive("DOMAIN_USER_LIMIT", 100)?,
            public_base_url: var("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
        })
    }
}
