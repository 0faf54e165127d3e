//! Metrics as CloudWatch Embedded Metric Format lines (one JSON object per line on stdout;
//! CloudWatch Logs turns them into metrics, no API call). Namespace `METRIC_NAMESPACE` (the
//! template sets `Identity/<stack name>`, so two stacks never share alarms), `Identity` when
//! unset. The template's alarms read them. Names and dimensions: `docs/operations.md`.

#![allow(clippy::print_stdout)]

use serde_json::{Map, Value, json};

/// The metric namespace when `METRIC_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "Identity";

/// The metric namespace, read once.
fn namespace() -> &'static str {
    static NS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NS.get_or_init(|| {
        std::env::var("METRIC_NAMESPACE")
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 255)
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned())
    })
}

/// Counts one occurrence of `name` with the given dimensions, at `now_ms`.
pub fn count(now_ms: u64, name: &str, dimensions: &[(&str, &str)]) {
    println!("{}", line(now_ms, name, dimensions));
}

fn line(now_ms: u64, name: &str, dimensions: &[(&str, &str)]) -> Value {
    let mut m = Map::new();
    m.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace(),
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": [{"Name": name, "Unit": "Count"}],
            }],
        }),
    );
    for (k, v) in dimensions {
        m.insert((*k).into(), json!(v));
    }
    m.insert(name.into(), json!(1));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_embedded_metric_format() {
        let l = line(
            1_700_000_000_000,
            "Logins",
            &[("Outcome", "success"), ("Factor", "PASSWORD")],
        );
        assert_eq!(l["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Identity");
        assert_eq!(
            l["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Outcome", "Factor"]])
        );
        assert_eq!(
            l["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "Logins"
        );
        assert_eq!(l["Outcome"], "success");
        assert_eq!(l["Logins"], 1);
        assert_eq!(l["_aws"]["Timestamp"], 1_700_000_000_000u64);
    }
}
