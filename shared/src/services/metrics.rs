//! Metrics as CloudWatch Embedded Metric Format lines (one JSON object per line on stdout;
//! CloudWatch Logs turns them into metrics, no API call). Namespace `Identity`. The template's
//! alarms read them. Names and dimensions: `docs/operations.md`.

#![allow(clippy::print_stdout)]

use serde_json::{Map, Value, json};

/// The metric namespace.
pub const NAMESPACE: &str = "Identity";

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
                "Namespace": NAMESPACE,
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
