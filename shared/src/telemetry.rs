//! Logging setup: JSON lines (Lambda's JSON log format), level from `AWS_LAMBDA_LOG_LEVEL`
//! (set by Lambda's advanced logging controls) or `RUST_LOG` (a plain level such as `info`).
//! Nothing secret is ever logged: secret-bearing types redact themselves in `Debug`, and
//! handlers log ids and reasons only.
//!
//! A plain level filter, not `EnvFilter`: directive parsing pulls in the regex engine, which
//! costs binary size and cold-start time for no use here.

use tracing::level_filters::LevelFilter;

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

/// Installs the global subscriber (call once in `main`).
pub fn init() {
    let raw = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_default();
    let _ = tracing_subscriber::fmt()
        .json()
        .with_max_level(level(&raw))
        .with_current_span(false)
        .with_target(false)
        .with_ansi(false)
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
}
