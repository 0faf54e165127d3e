//! change-password (contract §9.2): `POST /v2.0/users/RAX-AUTH/change-pwd`, no token; the
//! username and its current password prove the caller, counted by the password login's
//! guessing throttle (§8.3).

use crate::helpers::{ApiResponse, BAD_CREDENTIALS, TestApi, TestUser, random_password};
use crate::mfa_helpers::{enable_otp_mfa, expect_challenge, token_works};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const PATH: &str = "/v2.0/users/RAX-AUTH/change-pwd";

async fn change_raw(api: &TestApi, body: &Value) -> ApiResponse {
    api.request(Method::POST, PATH, None, Some(body)).await
}

async fn change(api: &TestApi, username: &str, password: &str, new: &str) -> ApiResponse {
    let body = json!({"RAX-AUTH:changePasswordCredentials": {
        "username": username, "password": password, "newPassword": new,
    }});
    change_raw(api, &body).await
}

async fn sub_user(api: &TestApi) -> (TestUser, TestUser) {
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    (ua, sub)
}

/// The audit events of `user_id` in the stack's log (polled: the log is written a moment
/// after the answer).
async fn audit_actions(user_id: &str, want: usize) -> Vec<Value> {
    let path = std::env::var("STACK_LOG").expect("STACK_LOG (run through scripts/test.sh)");
    let mut events = Vec::new();
    for _ in 0..50 {
        let log = std::fs::read_to_string(&path).unwrap_or_default();
        events = log
            .lines()
            .filter(|l| l.contains(r#""target":"audit""#) && l.contains(user_id))
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| v["fields"].clone())
            .filter(|f| f["action"] == "user.password")
            .collect();
        if events.len() >= want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    events
}

#[tokio::test]
async fn change_password_replaces_the_password_and_revokes_every_token() {
    let api = TestApi::new();
    let (_, sub) = sub_user(&api).await;
    let second = api.login_token(&sub.username, &sub.password).await;
    let new = random_password();

    let r = change(&api, &sub.username, &sub.password, &new).await;

    r.expect_status(204).expect_empty_body();
    assert!(
        !token_works(&api, &sub.token, &sub.id).await,
        "token revoked"
    );
    assert!(!token_works(&api, &second, &sub.id).await, "every token");
    api.login(&sub.username, &sub.password)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    let fresh = api.login_token(&sub.username, &new).await;
    assert!(token_works(&api, &fresh, &sub.id).await);
    // The username is matched as the login matches it: case-insensitively.
    let newer = random_password();
    change(&api, &sub.username.to_uppercase(), &new, &newer)
        .await
        .expect_status(204);
    api.login_token(&sub.username, &newer).await;

    let events = audit_actions(&sub.id, 2).await;
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!(e["outcome"], "success");
        assert_eq!(e["actor_id"], sub.id.as_str());
        assert_eq!(e["target_id"], sub.id.as_str());
    }
    // No password reaches the log.
    let log = std::fs::read_to_string(std::env::var("STACK_LOG").unwrap()).unwrap();
    for secret in [&sub.password, &new, &newer] {
        assert!(!log.contains(secret.as_str()), "a password is in the log");
    }
}

#[tokio::test]
async fn a_wrong_current_password_or_unknown_username_is_the_password_steps_401() {
    let api = TestApi::new();
    let (_, sub) = sub_user(&api).await;
    let new = random_password();

    change(&api, &sub.username, "Wrong-password-1", &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    change(&api, "nobody-has-this-name-x1", "Wrong-password-1", &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    change(&api, "not a valid name!", "Wrong-password-1", &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    // An over-long current password is a wrong one, not a 5xx.
    change(&api, &sub.username, &"x".repeat(5000), &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);

    // Nothing changed: the token lives, the old password logs in, the new one does not.
    assert!(token_works(&api, &sub.token, &sub.id).await);
    api.login(&sub.username, &new)
        .await
        .expect_error(401, "unauthorized");
    api.login_token(&sub.username, &sub.password).await;
    // The two attempts on a known user are its `failure` events (an unknown name has none).
    let events = audit_actions(&sub.id, 2).await;
    assert_eq!(
        events.iter().filter(|e| e["outcome"] == "failure").count(),
        2,
        "{events:?}"
    );
}

#[tokio::test]
async fn wrong_current_passwords_count_on_the_password_logins_throttle() {
    let api = TestApi::new();
    let (_, sub) = sub_user(&api).await;
    let new = random_password();
    // Ten free failures, then one attempt per back-off (1 s, 2 s, 4 s, ...).
    for _ in 0..10 {
        change(&api, &sub.username, "Wrong-password-1", &new)
            .await
            .expect_error(401, "unauthorized");
    }
    // Two more evaluated failures: the back-off is then 4 s, ample for the checks below.
    let mut evaluated = 0;
    let mut throttled = 0;
    for _ in 0..100 {
        let r = change(&api, &sub.username, "Wrong-password-1", &new).await;
        match r.code() {
            401 => evaluated += 1,
            413 => {
                throttled += 1;
                r.expect_error(413, "overLimit");
                assert!(r.header("retry-after").is_some(), "Retry-After");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => panic!("{} {}", r.code(), r.text),
        }
        if evaluated == 2 {
            break;
        }
    }
    assert_eq!(evaluated, 2);
    assert!(throttled >= 1, "the 11th attempt within 1 s is throttled");

    // Throttled even with the right password, here and at the login: one counter.
    let r = change(&api, &sub.username, &sub.password, &new).await;
    r.expect_error(413, "overLimit");
    let secs: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=4).contains(&secs), "Retry-After {secs}");
    api.login(&sub.username, &sub.password)
        .await
        .expect_error(413, "overLimit");
    assert!(
        token_works(&api, &sub.token, &sub.id).await,
        "nothing changed"
    );

    // The login's failures count here too, and a right password clears the count.
    let (_, other) = sub_user(&api).await;
    for _ in 0..10 {
        api.login(&other.username, "Wrong-password-1")
            .await
            .expect_error(401, "unauthorized");
    }
    let r = change(&api, &other.username, &other.password, &new).await;
    assert!(matches!(r.code(), 204 | 413), "{} {}", r.code(), r.text);
    if r.code() == 413 {
        r.expect_error(413, "overLimit");
        return; // within the first back-off: throttled as the 11th login would be
    }
    for _ in 0..10 {
        api.login(&other.username, "Wrong-password-1")
            .await
            .expect_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn new_password_rules_and_bad_bodies_are_400_and_change_nothing() {
    let api = TestApi::new();
    let (_, sub) = sub_user(&api).await;
    let good = random_password();
    let bodies = [
        json!({}),
        json!({"changePasswordCredentials": {"username": sub.username, "password": sub.password, "newPassword": good}}),
        json!({"RAX-AUTH:changePasswordCredentials": "x"}),
        json!({"RAX-AUTH:changePasswordCredentials": null}),
        json!({"RAX-AUTH:changePasswordCredentials": {"password": sub.password, "newPassword": good}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "newPassword": good}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": sub.password}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": 5, "password": sub.password, "newPassword": good}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": true, "newPassword": good}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": sub.password, "newPassword": 12345678}}),
        // Password rules as create-user: 8 characters at least, no leading space, 256 bytes at most.
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": sub.password, "newPassword": "Short1"}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": sub.password, "newPassword": " Leading-space1"}}),
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": sub.password, "newPassword": "x".repeat(257)}}),
        // New = old.
        json!({"RAX-AUTH:changePasswordCredentials": {"username": sub.username, "password": sub.password, "newPassword": sub.password}}),
    ];
    for body in &bodies {
        let r = change_raw(&api, body).await;
        let message = r.expect_error(400, "badRequest");
        assert!(!message.is_empty(), "{body}");
    }
    let r = change(&api, &sub.username, &sub.password, &sub.password).await;
    assert!(r.text.contains("differ"), "{}", r.text);
    // Not JSON: 415.
    let r = api
        .raw(
            Method::POST,
            PATH,
            None,
            Some("text/plain"),
            Some(b"username=x".to_vec()),
            &[],
        )
        .await;
    r.expect_error(415, "badMediaType");
    // The path takes POST only, and is never read as a user id.
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let r = api.request(method, PATH, Some(&sub.token), None).await;
        r.expect_error(405, "badMethod");
    }
    // None of this spent a guessing attempt or changed anything.
    assert!(token_works(&api, &sub.token, &sub.id).await);
    for _ in 0..9 {
        change(&api, &sub.username, "Wrong-password-1", &good)
            .await
            .expect_error(401, "unauthorized");
    }
    api.login_token(&sub.username, &sub.password).await;
}

#[tokio::test]
async fn a_user_with_mfa_enabled_is_403_and_keeps_its_password() {
    let api = TestApi::new();
    let (_, mut sub) = sub_user(&api).await;
    enable_otp_mfa(&api, &mut sub).await;
    let new = random_password();

    let r = change(&api, &sub.username, &sub.password, &new).await;

    r.expect_error(403, "forbidden");
    assert!(r.text.contains("ulti-factor"), "{}", r.text);
    // A wrong password is still the 401, whatever the MFA state.
    change(&api, &sub.username, "Wrong-password-1", &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    assert!(token_works(&api, &sub.token, &sub.id).await);
    expect_challenge(&api.login(&sub.username, &sub.password).await);
    api.login(&sub.username, &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
}

#[tokio::test]
async fn a_disabled_user_is_403_user_disabled_and_stays_disabled() {
    let api = TestApi::new();
    let (ua, sub) = sub_user(&api).await;
    api.post(
        &ua.token,
        &format!("/v2.0/users/{}", sub.id),
        &json!({"user": {"enabled": false}}),
    )
    .await
    .expect_status(200);
    let new = random_password();

    change(&api, &sub.username, &sub.password, &new)
        .await
        .expect_error(403, "userDisabled");
    change(&api, &sub.username, "Wrong-password-1", &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    api.login(&sub.username, &sub.password)
        .await
        .expect_error(403, "userDisabled");
    api.login(&sub.username, &new)
        .await
        .expect_error(401, "unauthorized");
}
