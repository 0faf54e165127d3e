//! Logging setup: JSON lines (Lambda's JSON log format), level from `RUST_LOG` or
//! `AWS_LAMBDA_LOG_LEVEL`. Nothing secret is ever logged: secret-bearing types redact
//! themselves in `Debug`, and handlers log ids and reasons only.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (call once in `main`).
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| {
            std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .map(|l| l.to_lowercase())
        })
        .unwrap_or_else(|| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(filter))
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .try_init();
}
