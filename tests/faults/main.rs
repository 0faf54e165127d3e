//! AWS faults, as an operator would cause them: DynamoDB Local and moto (SNS, KMS) suspended
//! in turn (SIGSTOP) while requests arrive. Every affected call answers `503
//! serviceUnavailable` with `Retry-After` within a bounded time, nothing is half-written, a
//! refunded SMS claim lets the user resend at once, and the functions recover by themselves
//! when the emulator comes back (SIGCONT). Run alone, after the other suites
//! (`scripts/test.sh`): a suspended emulator would fail any test running beside it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    unreachable_pub,
    dead_code
)]

#[path = "../inproc/harness.rs"]
mod harness;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/mfa_helpers.rs"]
mod mfa_helpers;

use helpers::{ApiResponse, TestApi};
use serde_json::json;
use std::time::{Duration, Instant};

/// Longest a request may take to answer while a dependency hangs (the functions' AWS
/// operation timeout is 4 s; the rest is the local router and a cold start).
const BOUND: Duration = Duration::from_secs(10);

/// A suspended emulator, resumed when dropped (also when the test fails).
struct Suspended(String);

impl Suspended {
    fn new(name: &str) -> Self {
        let path = std::env::var("STACK_PIDS").expect("STACK_PIDS (run through scripts/test.sh)");
        let pids = std::fs::read_to_string(path).unwrap();
        let pid = pids
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no pid for {name}"))
            .trim()
            .to_string();
        signal("-STOP", &pid);
        Self(pid)
    }
}

impl Drop for Suspended {
    fn drop(&mut self) {
        signal("-CONT", &self.0);
    }
}

fn signal(sig: &str, pid: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, pid])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "kill {sig} {pid}");
}

#[track_caller]
fn assert_unavailable(r: &ApiResponse, took: Duration) {
    assert!(took < BOUND, "{} took {took:?}", r.request);
    r.expect_error(503, "serviceUnavailable");
    assert!(
        r.header("retry-after").is_some(),
        "{}: no Retry-After",
        r.request
    );
}

async fn timed<F: std::future::Future<Output = ApiResponse>>(f: F) -> (ApiResponse, Duration) {
    let t = Instant::now();
    let r = f.await;
    (r, t.elapsed())
}

#[tokio::test]
async fn with_dynamodb_suspended_calls_answer_503_quickly_and_recover_without_restart() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let phone = api.fresh_phone().await;
    let name = format!("fault{}", helpers::random_alnum(8).to_lowercase());
    {
        let _down = Suspended::new("dynamodb");
        let (login, get, add, create) = tokio::join!(
            timed(api.login(&sub.username, &sub.password)),
            timed(api.get_user(&sub.token, &sub.id)),
            timed(api.add_phone(&sub.token, &sub.id, &phone.display)),
            timed(api.create_user(&ua.token, &name, None, json!({}))),
        );
        for (r, took) in [&login, &get, &add, &create] {
            assert_unavailable(r, *took);
        }
    }
    // Back: the same functions answer, and nothing was half-written.
    api.login(&sub.username, &sub.password)
        .await
        .expect_status(200);
    api.get_user(&sub.token, &sub.id).await.expect_status(200);
    api.add_phone(&sub.token, &sub.id, &phone.display)
        .await
        .expect_status(201);
    let again = api.create_user(&ua.token, &name, None, json!({})).await;
    assert!(
        [201, 409].contains(&again.code()),
        "create-user after recovery: {}",
        again.text
    );
    // The username and the user exist together or not at all.
    let items = api.scan_items().await;
    let has = |pk: &str| {
        items.iter().any(|i| {
            i.get("pk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|v| v == pk)
        })
    };
    let name_item = has(&format!("NAME#{name}"));
    assert!(name_item, "the username is reserved after the second try");
    let created = api.login(&name, "x-not-the-password-9").await;
    assert_eq!(created.code(), 401);
}

#[tokio::test]
async fn with_sns_and_kms_suspended_an_sms_answers_503_and_can_be_resent_at_once() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let phone = api.fresh_phone().await;
    let phone_id = api.add_phone_ok(&sub.token, &sub.id, &phone.display).await;
    {
        let _down = Suspended::new("moto");
        let (r, took) = timed(api.send_phone_code(&sub.token, &sub.id, &phone_id)).await;
        assert_unavailable(&r, took);
    }
    // No SMS went out and no send was counted: the next send is not refused by the limits.
    api.send_phone_code(&sub.token, &sub.id, &phone_id)
        .await
        .expect_status(202);
    assert_eq!(api.wait_for_sms(&phone.e164, 1).await.len(), 1);
}

#[tokio::test]
async fn a_function_whose_first_kms_call_hangs_answers_503_then_recovers() {
    // A fresh instance (its keyring not unwrapped yet), as at a cold start.
    let w = harness::World::new().await;
    {
        let _down = Suspended::new("moto");
        let t = Instant::now();
        let r = w.app.keyring().await;
        assert!(t.elapsed() < BOUND, "took {:?}", t.elapsed());
        let err = r.expect_err("KMS is down");
        assert_eq!(err.status().as_u16(), 503);
    }
    assert!(
        w.app.keyring().await.is_ok(),
        "the next request after KMS returns succeeds"
    );
}

#[tokio::test]
async fn a_keyring_load_started_at_cold_start_while_kms_hangs_answers_503_in_time() {
    let w = harness::World::new().await;
    let sealer = w.app.sealer.as_ref().expect("the world seals");
    {
        let _down = Suspended::new("moto");
        sealer.prefetch();
        // The load in flight fails, then the request's own: two bounded calls, a 503 well
        // inside the function's 10 s.
        let t = Instant::now();
        let err = w.app.keyring().await.expect_err("KMS is down");
        assert!(t.elapsed() < BOUND, "took {:?}", t.elapsed());
        assert_eq!(err.status().as_u16(), 503);
    }
    assert!(
        w.app.keyring().await.is_ok(),
        "the next request after KMS returns succeeds"
    );
}

#[tokio::test]
async fn a_keyring_load_that_failed_at_cold_start_is_not_held_against_a_later_request() {
    let w = harness::World::new().await;
    let sealer = w.app.sealer.as_ref().expect("the world seals");
    {
        let _down = Suspended::new("moto");
        sealer.prefetch();
        // Let the background load run into its own timeout while no request needs the key
        // (as when the first requests are password-only logins).
        let limit = Duration::from_millis(w.app.config.aws_timeouts.operation_ms + 1_000);
        tokio::time::sleep(limit).await;
    }
    let t = Instant::now();
    assert!(
        w.app.keyring().await.is_ok(),
        "KMS is back: the first request that needs the key loads it afresh"
    );
    assert!(t.elapsed() < BOUND, "took {:?}", t.elapsed());
}
