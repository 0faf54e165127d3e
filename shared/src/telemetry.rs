//! Logging setup: JSON lines (Lambda's JSON log format), level from `LOG_LEVEL` (the
//! template's `LogLevel`), else `AWS_LAMBDA_LOG_LEVEL` (Lambda's advanced logging controls),
//! else `RUST_LOG` (a plain level such as `info`). Audit events (target `audit`) are written at
//! every level: an operator who turns the logs down to WARN keeps the audit trail (and the EMF
//! metric lines, which `services::metrics` prints itself).
//! Nothing secret is ever logged, at any level: secret-bearing types redact themselves in
//! `Debug`, handlers log ids and reasons only, and other crates are capped at INFO.
//!
//! A plain level filter, not `EnvFilter`: directive parsing pulls in the regex engine, which
//! costs binary size and cold-start time for no use here.

use tracing::Level;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Whether an event of `target` at `level` may be written. Our own code (the `shared` crate and
/// the function binaries) logs ids and reasons only, at any level. Other crates are capped at
/// INFO: at DEBUG and TRACE the Lambda runtime logs raw events (passwords, tokens) and the AWS
/// SDK logs request bodies (SMS texts with codes), which must never reach a log (§8.3).
fn allowed(target: &str, level: Level) -> bool {
    let ours = target == "shared"
        || target == "audit"
        || target.starts_with("shared::")
        || FUNCTIONS.contains(&target.split("::").next().unwrap_or(""));
    ours || level <= Level::INFO
}

/// Crate names of the function binaries (their log targets).
const FUNCTIONS: &[&str] = &[
    "add_otp_device",
    "add_phone",
    "add_role_to_user",
    "authenticate",
    "create_user",
    "delete_mfa",
    "delete_otp_device",
    "delete_phone",
    "fallback",
    "generate_bypass_codes",
    "get_domain",
    "get_otp_device",
    "get_phone",
    "get_user",
    "list_otp_devices",
    "list_phones",
    "revoke_token",
    "send_phone_code",
    "update_domain_enforcement",
    "update_mfa_settings",
    "validate_token",
    "verify_otp_device",
    "verify_phone",
];

fn level(raw: &str) -> LevelFilter {
    match raw.trim().to_ascii_lowercase().as_str() {
        "trace" => LevelFilter::TRACE,
        "debug" => LevelFilter::DEBUG,
        "warn" | "warning" => LevelFilter::WARN,
        "error" | "fatal" => LevelFilter::ERROR,
        "off" => LevelFilter::OFF,
        _ => LevelFilter::INFO,
    }
}

/// Whether an event passes at the configured `max` level: audit events always do (they are
/// written at INFO and nothing secret is in them), everything else within `max` and
/// [`allowed`].
fn passes(target: &str, level: Level, max: LevelFilter) -> bool {
    (target == AUDIT_TARGET && level <= Level::INFO) || (level <= max && allowed(target, level))
}

/// The target of audit events (`services::audit`).
pub const AUDIT_TARGET: &str = "audit";

/// Installs the global subscriber (call once in `main`).
pub fn init() {
    let raw = std::env::var("LOG_LEVEL")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let max = level(&raw);
    // The subscriber's own ceiling is at least INFO, so audit events reach the filter.
    let ceiling = std::cmp::max(max, LevelFilter::INFO);
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(ceiling)
        .with_current_span(false)
        .with_target(true)
        .with_ansi(false)
        .finish()
        .with(tracing_subscriber::filter::filter_fn(move |m| {
            passes(m.target(), *m.level(), max)
        }))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_case_insensitively_and_default_to_info() {
        assert_eq!(level("WARN"), LevelFilter::WARN);
        assert_eq!(level("fatal"), LevelFilter::ERROR);
        assert_eq!(level(""), LevelFilter::INFO);
        assert_eq!(level("shared=debug"), LevelFilter::INFO);
    }

    #[test]
    fn other_crates_are_capped_at_info_and_ours_are_not() {
        for noisy in [
            "lambda_runtime",
            "aws_smithy_runtime::client",
            "hyper_util",
            "h2",
        ] {
            assert!(!allowed(noisy, Level::TRACE), "{noisy}");
            assert!(!allowed(noisy, Level::DEBUG), "{noisy}");
            assert!(allowed(noisy, Level::INFO), "{noisy}");
            assert!(allowed(noisy, Level::ERROR), "{noisy}");
        }
        assert!(allowed("shared::ops::login", Level::TRACE));
        assert!(allowed("authenticate", Level::DEBUG));
        assert!(!allowed("sharedish", Level::DEBUG));
    }

    #[test]
    fn audit_events_pass_at_every_level_and_nothing_else_does_below_it() {
        for max in [LevelFilter::OFF, LevelFilter::ERROR, LevelFilter::WARN] {
            assert!(passes(AUDIT_TARGET, Level::INFO, max), "{max}");
            assert!(!passes("shared::ops::login", Level::INFO, max), "{max}");
            assert!(!passes("lambda_runtime", Level::INFO, max), "{max}");
        }
        assert!(passes(
            "shared::ops::login",
            Level::ERROR,
            LevelFilter::WARN
        ));
        assert!(!passes(AUDIT_TARGET, Level::DEBUG, LevelFilter::WARN));
        assert!(passes(
            "shared::ops::login",
            Level::DEBUG,
            LevelFilter::DEBUG
        ));
    }
}
