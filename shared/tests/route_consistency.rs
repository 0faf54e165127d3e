//! The route table (`shared::routes`), the SAM template's HttpApi events and the local
//! `cargo lambda watch` router in the workspace `Cargo.toml` must describe the same API:
//! same operations, same method + path pairs, and the fallback everywhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::fs;
use std::path::PathBuf;

use serde_norway::Value as Yaml;
use shared::routes::{FALLBACK, ROUTES};

type TestResult = Result<(), Box<dyn Error>>;

/// Methods the local router must send somewhere for every known path: the route's own
/// operation where the table has one, the fallback (405) otherwise.
const ROUTER_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];
/// Catch-all router entries that send unknown paths to the fallback (404).
const ROUTER_CATCH_ALLS: &[&str] = &["/", "/{*rest}"];

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn table_routes() -> BTreeSet<(String, String, String)> {
    ROUTES
        .iter()
        .map(|r| {
            (
                r.method.to_owned(),
                r.path.to_owned(),
                r.operation.to_owned(),
            )
        })
        .collect()
}

fn table_operations() -> BTreeSet<String> {
    ROUTES.iter().map(|r| r.operation.to_owned()).collect()
}

fn load_template() -> Result<Yaml, Box<dyn Error>> {
    let text = fs::read_to_string(workspace_root().join("template.yaml"))?;
    // CloudFormation short-form tags (`!Ref`, `!GetAtt`, ...) come back as `Yaml::Tagged`.
    Ok(serde_norway::from_str(&text)?)
}

/// `functions/<op>` -> the SAM function resource, for every AWS::Serverless::Function.
fn template_functions(template: &Yaml) -> Result<BTreeMap<String, Yaml>, Box<dyn Error>> {
    let resources = template
        .get("Resources")
        .and_then(Yaml::as_mapping)
        .ok_or("template.yaml has no Resources")?;
    let mut functions = BTreeMap::new();
    for (name, resource) in resources {
        if resource.get("Type").and_then(Yaml::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let code_uri = resource
            .get("Properties")
            .and_then(|p| p.get("CodeUri"))
            .and_then(Yaml::as_str)
            .ok_or_else(|| format!("{name:?} has no string CodeUri"))?;
        let op = code_uri
            .strip_prefix("functions/")
            .ok_or_else(|| format!("{name:?}: CodeUri {code_uri} is not functions/<op>"))?;
        let previous = functions.insert(op.to_owned(), resource.clone());
        assert!(
            previous.is_none(),
            "two template functions build functions/{op}"
        );
    }
    Ok(functions)
}

/// (method, path) of every HttpApi event of one function.
fn http_events(function: &Yaml) -> Result<BTreeSet<(String, String)>, Box<dyn Error>> {
    let events = function
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Yaml::as_mapping)
        .ok_or("function has no Events")?;
    let mut out = BTreeSet::new();
    for (name, event) in events {
        assert_eq!(
            event.get("Type").and_then(Yaml::as_str),
            Some("HttpApi"),
            "event {name:?}"
        );
        let props = event.get("Properties").ok_or("event without Properties")?;
        let method = props
            .get("Method")
            .and_then(Yaml::as_str)
            .ok_or("event without Method")?;
        let path = props
            .get("Path")
            .and_then(Yaml::as_str)
            .ok_or("event without Path")?;
        assert!(
            matches!(props.get("ApiId"), Some(Yaml::Tagged(t)) if t.tag == "Ref"),
            "event {name:?} must be attached to the template's HttpApi (ApiId: !Ref ...)"
        );
        let fresh = out.insert((method.to_owned(), path.to_owned()));
        assert!(fresh, "event {name:?} duplicates {method} {path}");
    }
    Ok(out)
}

/// Every IAM action granted to one function through its inline `Policies` statements.
fn granted_actions(function: &Yaml) -> BTreeSet<String> {
    let mut actions = BTreeSet::new();
    let policies = function.get("Properties").and_then(|p| p.get("Policies"));
    for policy in policies.and_then(Yaml::as_sequence).into_iter().flatten() {
        let statements = policy.get("Statement").and_then(Yaml::as_sequence);
        for statement in statements.into_iter().flatten() {
            match statement.get("Action") {
                Some(Yaml::String(a)) => {
                    actions.insert(a.clone());
                }
                Some(Yaml::Sequence(list)) => {
                    actions.extend(list.iter().filter_map(Yaml::as_str).map(str::to_owned));
                }
                _ => {}
            }
        }
    }
    actions
}

fn load_router() -> Result<toml::Table, Box<dyn Error>> {
    let text = fs::read_to_string(workspace_root().join("Cargo.toml"))?;
    let manifest: toml::Value = toml::from_str(&text)?;
    let router = ["workspace", "metadata", "lambda", "watch", "router"]
        .iter()
        .try_fold(&manifest, |v, key| v.get(key))
        .and_then(toml::Value::as_table)
        .ok_or("Cargo.toml has no [workspace.metadata.lambda.watch.router]")?;
    Ok(router.clone())
}

#[test]
fn template_has_one_function_per_operation_plus_the_fallback() -> TestResult {
    let template = load_template()?;
    let in_template: BTreeSet<String> = template_functions(&template)?.into_keys().collect();
    let mut expected = table_operations();
    expected.insert(FALLBACK.to_owned());
    assert_eq!(in_template, expected);
    Ok(())
}

#[test]
fn template_events_are_exactly_the_route_table() -> TestResult {
    let template = load_template()?;
    let mut from_template = BTreeSet::new();
    for (op, function) in template_functions(&template)? {
        if op == FALLBACK {
            continue;
        }
        for (method, path) in http_events(&function)? {
            from_template.insert((method, path, op.clone()));
        }
    }
    assert_eq!(from_template, table_routes());
    Ok(())
}

#[test]
fn template_fallback_owns_the_default_route_only() -> TestResult {
    let template = load_template()?;
    let functions = template_functions(&template)?;
    let fallback = functions
        .get(FALLBACK)
        .ok_or("no fallback function in template.yaml")?;
    let expected = BTreeSet::from([("ANY".to_owned(), "$default".to_owned())]);
    assert_eq!(http_events(fallback)?, expected);
    Ok(())
}

#[test]
fn every_template_function_is_built_with_cargo_lambda() -> TestResult {
    let template = load_template()?;
    for (op, function) in template_functions(&template)? {
        let build = function
            .get("Metadata")
            .and_then(|m| m.get("BuildMethod"))
            .and_then(Yaml::as_str);
        assert_eq!(build, Some("rust-cargolambda"), "functions/{op}");
    }
    Ok(())
}

/// What a function's `main.rs` asks `App::init` for: (sms, seal).
fn declared_needs(op: &str) -> Result<(bool, bool), Box<dyn Error>> {
    let main_rs = workspace_root()
        .join("functions")
        .join(op)
        .join("src/main.rs");
    let text = fs::read_to_string(&main_rs).map_err(|e| format!("{}: {e}", main_rs.display()))?;
    if let Some(start) = text.find("Needs {") {
        let fields = text[start..]
            .split('}')
            .next()
            .unwrap_or_default()
            .replace(' ', "");
        return Ok((fields.contains("sms:true"), fields.contains("seal:true")));
    }
    let plain = text.contains("Needs::default()") || !text.contains("App::init");
    assert!(
        plain,
        "{}: cannot tell which Needs it declares",
        main_rs.display()
    );
    Ok((false, false))
}

#[test]
fn sns_and_kms_are_granted_exactly_where_main_declares_the_need() -> TestResult {
    let template = load_template()?;
    for (op, function) in template_functions(&template)? {
        let actions = granted_actions(&function);
        let (sms, seal) = declared_needs(&op)?;
        assert_eq!(actions.contains("sns:Publish"), sms, "sns:Publish on {op}");
        assert_eq!(actions.contains("kms:Decrypt"), seal, "kms:Decrypt on {op}");
        assert!(
            !actions
                .iter()
                .any(|a| a.ends_with(":*") || a == "*" || a == "dynamodb:Scan"),
            "{op} is granted a wildcard or Scan: {actions:?}"
        );
        if op == FALLBACK {
            assert!(
                actions.is_empty(),
                "the fallback needs no permissions: {actions:?}"
            );
        }
    }
    Ok(())
}

#[test]
fn watch_router_sends_each_method_to_its_operation_or_the_fallback() -> TestResult {
    let router = load_router()?;
    let routes = table_routes();
    let table_paths: BTreeSet<&str> = ROUTES.iter().map(|r| r.path).collect();

    for path in &table_paths {
        let entries = router
            .get(*path)
            .and_then(toml::Value::as_array)
            .ok_or_else(|| format!("router has no method list for {path}"))?;
        let mut mapped = BTreeMap::new();
        for entry in entries {
            let method = entry
                .get("method")
                .and_then(toml::Value::as_str)
                .ok_or("entry without method")?;
            let function = entry
                .get("function")
                .and_then(toml::Value::as_str)
                .ok_or("entry without function")?;
            let previous = mapped.insert(method.to_owned(), function.to_owned());
            assert!(previous.is_none(), "{method} {path} is routed twice");
        }
        for method in ROUTER_METHODS {
            assert!(
                mapped.contains_key(*method),
                "router: {method} {path} is not routed"
            );
        }
        for (method, function) in &mapped {
            let owner = ROUTES
                .iter()
                .find(|r| r.path == *path && r.method == method);
            let expected = owner.map_or(FALLBACK, |r| r.operation);
            assert_eq!(function, expected, "router: {method} {path}");
        }
        for (method, route_path, _) in &routes {
            if route_path == path {
                assert!(
                    mapped.contains_key(method),
                    "router: {method} {path} is missing"
                );
            }
        }
    }

    for (path, target) in &router {
        if table_paths.contains(path.as_str()) {
            continue;
        }
        assert!(
            ROUTER_CATCH_ALLS.contains(&path.as_str()),
            "router path {path} is neither in the route table nor a catch-all"
        );
        assert_eq!(
            target.as_str(),
            Some(FALLBACK),
            "router: {path} must go to the fallback"
        );
    }
    for catch_all in ROUTER_CATCH_ALLS {
        assert!(
            router.contains_key(*catch_all),
            "router: catch-all {catch_all} is missing"
        );
    }
    Ok(())
}

#[test]
fn every_operation_has_its_own_package_directory() -> TestResult {
    let mut operations = table_operations();
    operations.insert(FALLBACK.to_owned());
    for op in operations {
        let manifest = workspace_root()
            .join("functions")
            .join(&op)
            .join("Cargo.toml");
        let text =
            fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
        let manifest: toml::Table = toml::from_str(&text)?;
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str);
        assert_eq!(
            name,
            Some(op.as_str()),
            "functions/{op}/Cargo.toml package name"
        );
    }
    Ok(())
}

#[test]
fn the_openapi_document_describes_exactly_the_routes_of_the_table() -> TestResult {
    let text = fs::read_to_string(workspace_root().join("openapi.yaml"))?;
    let doc: Yaml = serde_norway::from_str(&text)?;
    assert_eq!(
        doc.get("openapi").and_then(Yaml::as_str),
        Some("3.1.0"),
        "OpenAPI 3.1"
    );
    let paths = doc
        .get("paths")
        .and_then(Yaml::as_mapping)
        .ok_or("openapi.yaml has no paths")?;
    let mut documented = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths {
        let path = path.as_str().ok_or("path is not a string")?;
        for method in ["get", "post", "put", "delete", "patch", "head", "options"] {
            if let Some(op) = item.get(method) {
                documented.insert((method.to_uppercase(), path.to_owned()));
                let id = op
                    .get("operationId")
                    .and_then(Yaml::as_str)
                    .ok_or("operation without operationId")?;
                assert!(
                    operation_ids.insert(id.to_owned()),
                    "duplicate operationId {id}"
                );
                assert!(
                    op.get("responses").is_some(),
                    "{method} {path} has no responses"
                );
            }
        }
    }
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routed, "openapi.yaml vs shared::routes::ROUTES");
    // Every operation of the contract is there under its own name (or a named alias of it).
    for op in table_operations() {
        assert!(
            operation_ids.contains(&op),
            "no operationId {op} in openapi.yaml"
        );
    }
    Ok(())
}

/// The value behind a `!Ref`, if `v` is one.
fn ref_target(v: Option<&Yaml>) -> Option<String> {
    match v {
        Some(Yaml::Tagged(t)) if t.tag == "Ref" => t.value.as_str().map(str::to_owned),
        _ => None,
    }
}

#[test]
fn every_function_logs_to_its_own_log_group_kept_for_log_retention_days() -> TestResult {
    let template = load_template()?;
    let resources = template
        .get("Resources")
        .and_then(Yaml::as_mapping)
        .ok_or("template.yaml has no Resources")?;
    let mut groups = BTreeSet::new();
    for (op, function) in template_functions(&template)? {
        let group = ref_target(
            function
                .get("Properties")
                .and_then(|p| p.get("LoggingConfig"))
                .and_then(|l| l.get("LogGroup")),
        )
        .ok_or_else(|| {
            format!(
                "functions/{op}: no LoggingConfig.LogGroup (run scripts/template_log_groups.py)"
            )
        })?;
        assert!(
            groups.insert(group.clone()),
            "{group} is shared by two functions"
        );
        let resource = resources
            .get(group.as_str())
            .ok_or_else(|| format!("{group} is not a resource"))?;
        assert_eq!(
            resource.get("Type").and_then(Yaml::as_str),
            Some("AWS::Logs::LogGroup"),
            "{group}"
        );
        assert_eq!(
            ref_target(
                resource
                    .get("Properties")
                    .and_then(|p| p.get("RetentionInDays"))
            )
            .as_deref(),
            Some("LogRetentionDays"),
            "{group}: retention"
        );
    }
    Ok(())
}
