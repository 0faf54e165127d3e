//! The operator CLI (`identity-manage`) against the local stack: the built binary runs with the
//! stack's AWS environment (as `scripts/run-local.sh` runs its `bootstrap`), and its effects
//! are checked through the HTTP API.

use crate::helpers::{TestApi, TestUser, random_alnum};
use crate::mfa_helpers::{
    enable_otp_mfa, expect_challenge, otp_challenge, token_works, user_view, wrong_totp,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

/// The binary `cargo build --bins` (run by `scripts/run-local.sh`) produced, or
/// `IDENTITY_MANAGE`.
fn binary() -> PathBuf {
    if let Ok(p) = std::env::var("IDENTITY_MANAGE") {
        return PathBuf::from(p);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/identity-manage")
}

/// Runs `identity-manage ARGS` with the stack's environment (the test's own: `scripts/test.sh`
/// exports the table, the endpoints and the test timings the functions run with).
async fn run(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(binary())
            .args(&args)
            .env_remove("AWS_PROFILE")
            .env_remove("ADMIN_PASSWORD")
            .output()
            .expect("run identity-manage")
    })
    .await
    .expect("join")
}

/// Runs and requires success; the JSON document it printed (with `--json`).
#[track_caller]
fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "identity-manage failed: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[track_caller]
fn failed_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail: {stderr}");
    assert!(stderr.contains(needle), "stderr lacks {needle:?}: {stderr}");
}

/// The CLI's audit events (JSON lines on stderr) of `action`.
fn audit_events(out: &Output, action: &str) -> Vec<Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit" && v["fields"]["action"] == action)
        .map(|v| v["fields"].clone())
        .collect()
}

async fn sub_of_new_domain(api: &TestApi) -> (TestUser, TestUser) {
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    (ua, sub)
}

#[tokio::test]
async fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["bootstrap"],
        &["rotate-key"],
        &["backfill-user-index"],
        &["users"],
        &["users", "list"],
        &["users", "show"],
        &["users", "unlock"],
        &["users", "reset-mfa"],
        &["users", "disable"],
        &["users", "enable"],
        &["domains"],
        &["domains", "show"],
        &["domains", "enforce"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let out = run(&args).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{args:?}: {}", out.status);
        assert!(text.contains("Usage: identity-manage"), "{args:?}: {text}");
    }
    // A bad command line is a usage error, not a panic.
    let out = run(&["users", "frobnicate"]).await;
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["domains", "enforce", "123"]).await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn users_unlock_lets_a_locked_user_log_in_again() {
    let api = TestApi::new();
    let (ua, mut sub) = sub_of_new_domain(&api).await;
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let session = otp_challenge(&api, &sub).await;
    for _ in 0..3 {
        api.login_passcode(&session, &wrong_totp(&dev.secret))
            .await
            .expect_status(401);
    }
    let shown = ok_json(&run(&["users", "show", &sub.username, "--json"]).await);
    assert_eq!(shown["user"]["locked"], true, "{shown}");
    assert_eq!(shown["user"]["RAX-AUTH:multiFactorState"], "LOCKED");
    api.login(&sub.username, &sub.password)
        .await
        .expect_error(403, "forbidden");

    let out = run(&["users", "unlock", &sub.username, "--json"]).await;

    let v = ok_json(&out);
    assert_eq!(v["wasLocked"], true, "{v}");
    let events = audit_events(&out, "mfa.unlock");
    assert_eq!(events.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(events[0]["actor_id"], "cli");
    assert_eq!(events[0]["target_id"], sub.id.as_str());
    let view = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(view["RAX-AUTH:multiFactorState"], "ACTIVE", "{view}");
    let session = expect_challenge(&api.login(&sub.username, &sub.password).await);
    api.login_passcode(&session, &dev.next_code().await)
        .await
        .expect_status(200);
    // Text output names the user.
    let out = run(&["users", "show", &sub.username]).await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&sub.username) && text.contains("mfa OTP"),
        "{text}"
    );
    assert!(!text.contains("LOCKED"), "{text}");
}

#[tokio::test]
async fn users_disable_revokes_and_refuses_login_until_enable() {
    let api = TestApi::new();
    let (_, sub) = sub_of_new_domain(&api).await;

    let out = run(&["users", "disable", &sub.username]).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(audit_events(&out, "user.disable")[0]["actor_id"], "cli");
    assert!(
        !token_works(&api, &sub.token, &sub.id).await,
        "token revoked"
    );
    api.login(&sub.username, &sub.password)
        .await
        .expect_error(403, "userDisabled");
    let shown = ok_json(&run(&["--json", "users", "show", &sub.username.to_uppercase()]).await);
    assert_eq!(shown["user"]["enabled"], false);

    let v = ok_json(&run(&["users", "enable", &sub.username, "--json"]).await);

    assert_eq!(v["enabled"], true);
    let fresh = api.login_token(&sub.username, &sub.password).await;
    assert!(token_works(&api, &fresh, &sub.id).await);
    assert!(
        !token_works(&api, &sub.token, &sub.id).await,
        "stays revoked"
    );
    // Unknown users and bad names are clear errors.
    failed_with(
        &run(&["users", "disable", &format!("nobody{}", random_alnum(10))]).await,
        "no user named",
    );
    failed_with(&run(&["users", "show", "not a name!"]).await, "error");
}

#[tokio::test]
async fn users_list_and_reset_mfa() {
    let api = TestApi::new();
    let (ua, mut sub) = sub_of_new_domain(&api).await;
    let domain = sub.domain_id.clone().expect("sub-user domain");
    enable_otp_mfa(&api, &mut sub).await;

    // The by-domain index is eventually consistent: poll briefly.
    let mut listed = Value::Null;
    for _ in 0..30 {
        listed = ok_json(&run(&["users", "list", "--domain", &domain, "--json"]).await);
        let ids: Vec<&str> = listed["users"]
            .as_array()
            .map(|a| a.iter().filter_map(|u| u["id"].as_str()).collect())
            .unwrap_or_default();
        if ids.contains(&ua.id.as_str()) && ids.contains(&sub.id.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let users = listed["users"].as_array().expect("users");
    assert_eq!(users.len(), 2, "{listed}");
    let s = users.iter().find(|u| u["id"] == sub.id.as_str()).unwrap();
    assert_eq!(s["RAX-AUTH:multiFactorEnabled"], true);
    assert!(s.get("password").is_none() && !listed.to_string().contains("pwd"));
    failed_with(
        &run(&["users", "list", "--domain", "no-such-domain-x"]).await,
        "no domain",
    );

    let out = run(&["users", "reset-mfa", &sub.username]).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(audit_events(&out, "mfa.delete")[0]["actor_id"], "cli");
    let view = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(view["RAX-AUTH:multiFactorEnabled"], false, "{view}");
    // No challenge any more: the password alone logs in.
    api.login_token(&sub.username, &sub.password).await;
}

#[tokio::test]
async fn domains_enforce_sets_the_level_get_domain_shows() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let domain = ua.domain_id.clone().expect("user-admin domain");
    let path = format!("/v2.0/RAX-AUTH/domains/{domain}");

    let out = run(&["domains", "enforce", &domain, "required"]).await;

    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = audit_events(&out, "enforcement.domain");
    assert_eq!(events[0]["actor_id"], "cli");
    assert_eq!(events[0]["domain_id"], domain.as_str());
    assert_eq!(events[0]["factor"], "REQUIRED");
    let admin = api.service_admin_token().await;
    let r = api.get(&admin, &path).await;
    r.expect_status(200);
    assert_eq!(
        r.json["RAX-AUTH:domain"]["domainMultiFactorEnforcementLevel"], "REQUIRED",
        "{}",
        r.text
    );
    // The user-admin's password token is revoked: it must use MFA now.
    assert!(!token_works(&api, &ua.token, &ua.id).await);
    let shown = ok_json(&run(&["domains", "show", &domain, "--json"]).await);
    assert_eq!(
        shown["RAX-AUTH:domain"]["domainMultiFactorEnforcementLevel"],
        "REQUIRED"
    );
    assert_eq!(shown["RAX-AUTH:domain"]["id"], domain.as_str());

    ok_json(&run(&["domains", "enforce", &domain, "OPTIONAL", "--json"]).await);
    let r = api.get(&admin, &path).await;
    assert_eq!(
        r.json["RAX-AUTH:domain"]["domainMultiFactorEnforcementLevel"],
        "OPTIONAL"
    );
    failed_with(
        &run(&["domains", "enforce", &domain, "SOMETIMES"]).await,
        "LEVEL must be",
    );
    failed_with(
        &run(&["domains", "enforce", "no-such-domain-x", "REQUIRED"]).await,
        "no domain",
    );
    failed_with(
        &run(&["domains", "show", "no-such-domain-x"]).await,
        "no domain",
    );
}
