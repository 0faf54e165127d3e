//! The user indexes (`by-domain`, `by-email`) are declared three times: the store reads them
//! (`shared::store::USER_INDEX_PROJECTION`), `template.yaml` deploys them and
//! `scripts/local_aws.py` creates them locally. All three must agree, or list-users would
//! miss attributes in production or only locally.

use std::error::Error;
use std::fs;
use std::path::PathBuf;

use serde_norway::Value as Yaml;
use shared::store::USER_INDEX_PROJECTION;

type TestResult = Result<(), Box<dyn Error>>;

const INDEXES: &[(&str, &str)] = &[("by-domain", "by_domain"), ("by-email", "by_email")];

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_template_declares_the_user_indexes_the_store_reads() -> TestResult {
    let text = fs::read_to_string(workspace_root().join("template.yaml"))?;
    let doc: Yaml = serde_norway::from_str(&text)?;
    let props = doc
        .get("Resources")
        .and_then(|r| r.get("Table"))
        .and_then(|t| t.get("Properties"))
        .ok_or("template.yaml has no Table")?;
    let gsis = props
        .get("GlobalSecondaryIndexes")
        .and_then(Yaml::as_sequence)
        .ok_or("Table has no GlobalSecondaryIndexes")?;
    assert_eq!(gsis.len(), INDEXES.len());
    for (name, attr) in INDEXES {
        let gsi = gsis
            .iter()
            .find(|g| g.get("IndexName").and_then(Yaml::as_str) == Some(name))
            .ok_or_else(|| format!("no index {name}"))?;
        let keys = gsi
            .get("KeySchema")
            .and_then(Yaml::as_sequence)
            .ok_or("no KeySchema")?;
        assert_eq!(keys.len(), 1, "{name}: a partition key only");
        assert_eq!(
            keys[0].get("AttributeName").and_then(Yaml::as_str),
            Some(*attr)
        );
        let projection = gsi.get("Projection").ok_or("no Projection")?;
        assert_eq!(
            projection.get("ProjectionType").and_then(Yaml::as_str),
            Some("INCLUDE"),
            "{name}: only the listed attributes (no hash or sealed value)"
        );
        let attrs: Vec<&str> = projection
            .get("NonKeyAttributes")
            .and_then(Yaml::as_sequence)
            .ok_or("no NonKeyAttributes")?
            .iter()
            .filter_map(Yaml::as_str)
            .collect();
        assert_eq!(attrs, USER_INDEX_PROJECTION, "{name}: projection");
        let defined = props
            .get("AttributeDefinitions")
            .and_then(Yaml::as_sequence)
            .ok_or("no AttributeDefinitions")?
            .iter()
            .any(|d| d.get("AttributeName").and_then(Yaml::as_str) == Some(*attr));
        assert!(defined, "{attr} is not in AttributeDefinitions");
    }
    Ok(())
}

#[test]
fn the_local_table_gets_the_same_indexes() -> TestResult {
    let text = fs::read_to_string(workspace_root().join("scripts/local_aws.py"))?;
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("USER_INDEX_PROJECTION = ["))
        .skip(1)
        .take_while(|l| !l.starts_with(']'))
        .collect::<Vec<_>>()
        .join(" ");
    let attrs: Vec<&str> = line
        .split(',')
        .map(|a| a.trim().trim_matches('"'))
        .filter(|a| !a.is_empty())
        .collect();
    assert_eq!(attrs, USER_INDEX_PROJECTION, "local_aws.py projection");
    for (name, attr) in INDEXES {
        assert!(
            text.contains(&format!("\"{name}\": \"{attr}\"")),
            "local_aws.py lacks index {name} on {attr}"
        );
    }
    Ok(())
}
