//! Nothing secret reaches a log at any level (§8.3): the stack's functions run at TRACE
//! (`scripts/test.sh` sets `AWS_LAMBDA_LOG_LEVEL=TRACE`), this test drives every flow that
//! handles a secret, then scans the functions' log for each secret it used.

use crate::helpers::{TestApi, extract_code};
use crate::mfa_helpers::{
    add_verified_otp, bypass_codes, codes_of, enable_sms_mfa, expect_challenge, sms_challenge,
    token_of,
};
use serde_json::json;
use std::time::Duration;

/// `secret` appears in `log` as a whole word (short numeric codes may occur inside hex ids).
fn appears(log: &str, secret: &str) -> bool {
    regex::Regex::new(&format!(r"\b{}\b", regex::escape(secret)))
        .unwrap()
        .is_match(log)
}

#[tokio::test]
async fn no_secret_reaches_the_functions_log_even_at_trace() {
    let Ok(path) = std::env::var("STACK_LOG") else {
        panic!("STACK_LOG is not set (run the suite through scripts/test.sh)");
    };
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let mut sub = api.new_sub_user(&ua).await;
    let mut secrets = vec![sub.password.clone(), sub.token.clone(), ua.token.clone()];

    let scoped = api.login_setup_mfa(&sub.username, &sub.password).await;
    secrets.push(token_of(&scoped));
    let dev = add_verified_otp(&api, &sub).await;
    secrets.push(dev.secret.clone());

    let (_, phone) = enable_sms_mfa(&api, &mut sub).await;
    secrets.push(sub.token.clone());
    secrets.push(phone.digits().to_string());
    secrets.push(phone.national());
    let pins: Vec<String> = api
        .sms_to(&phone.e164)
        .await
        .iter()
        .filter(|m| m.contains("verification"))
        .map(|m| extract_code(m, 6))
        .collect();
    assert!(!pins.is_empty());
    secrets.extend(pins);

    let (session, passcode) = sms_challenge(&api, &sub, &phone).await;
    secrets.push(session.clone());
    secrets.push(passcode.clone());
    let r = api.login_passcode(&session, &passcode).await;
    secrets.push(token_of(&r));
    api.login_passcode(&session, "1234567").await;

    let codes = codes_of(
        &bypass_codes(
            &api,
            &sub.token,
            &sub.id,
            Some(json!({"RAX-AUTH:bypassCodes": {"numberOfCodes": 2}})),
        )
        .await,
    );
    secrets.extend(codes.iter().cloned());
    tokio::time::sleep(Duration::from_secs(api.settings.sms_min_interval_secs + 1)).await;
    let session = expect_challenge(&api.login(&sub.username, &sub.password).await);
    secrets.push(session.clone());
    let r = api.login_passcode(&session, &codes[0]).await;
    secrets.push(token_of(&r));
    let keys = api
        .get(
            &sub.token,
            &format!("/v2.0/users/{}/OS-KSADM/credentials", sub.id),
        )
        .await;
    let key = keys.json["credentials"][0]["RAX-KSKEY:apiKeyCredentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let body =
        json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": sub.username, "apiKey": key}}});
    let r = api
        .request(reqwest::Method::POST, "/v2.0/tokens", None, Some(&body))
        .await;
    secrets.push(token_of(&r));
    secrets.push(key);
    api.login(&sub.username, "not-the-password-Zq9").await;
    secrets.push("not-the-password-Zq9".into());
    secrets.push(api.settings.admin_password.clone());

    // Let the functions flush their last lines.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(&path).unwrap();
    // Positive controls: the log is there, verbose, and names the user by id.
    assert!(log.contains(&sub.id), "the user's id is not in {path}");
    assert!(
        log.contains(r#""level":"DEBUG""#),
        "the functions do not log at DEBUG/TRACE: the scan would prove nothing"
    );
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !appears(&log, s),
            "a secret ({} chars) is in the functions' log",
            s.len()
        );
    }
}
