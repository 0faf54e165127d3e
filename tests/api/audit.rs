//! The audit trail of a full MFA walkthrough, event by event, and the metrics lines.

use crate::helpers::TestApi;
use crate::mfa_helpers::{
    add_verified_otp, bypass_codes, codes_of, delete_mfa, expect_challenge, otp_challenge, put_mfa,
    token_of,
};
use serde_json::{Value, json};
use std::time::Duration;

fn audit_events(log: &str, user_id: &str) -> Vec<Value> {
    log.lines()
        .filter(|l| l.contains(r#""target":"audit""#) && l.contains(user_id))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["fields"].clone())
        .collect()
}

#[tokio::test]
async fn a_full_mfa_walkthrough_leaves_one_audit_event_per_action_in_order() {
    let path = std::env::var("STACK_LOG").expect("STACK_LOG (run through scripts/test.sh)");
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;

    let (phone_id, _) = api.add_verified_phone(&sub).await;
    let dev = add_verified_otp(&api, &sub).await;
    put_mfa(
        &api,
        &ua.token,
        &sub.id,
        json!({"enabled": true, "factorType": "OTP"}),
    )
    .await
    .expect_status(204);
    let session = otp_challenge(&api, &sub).await;
    api.login_passcode(&session, "000000")
        .await
        .expect_status(401);
    let token = token_of(&api.login_passcode(&session, &dev.next_code().await).await);
    let codes = codes_of(
        &bypass_codes(
            &api,
            &token,
            &sub.id,
            Some(json!({"RAX-AUTH:bypassCodes": {}})),
        )
        .await,
    );
    let session = expect_challenge(&api.login(&sub.username, &sub.password).await);
    api.login_passcode(&session, &codes[0])
        .await
        .expect_status(200);
    put_mfa(&api, &ua.token, &sub.id, json!({"unlock": true}))
        .await
        .expect_status(204);
    put_mfa(&api, &ua.token, &sub.id, json!({"enabled": false}))
        .await
        .expect_status(204);
    delete_mfa(&api, &ua.token, &sub.id)
        .await
        .expect_status(204);
    let _ = phone_id;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(&path).unwrap();
    let events = audit_events(&log, &sub.id);
    let got: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap_or("").to_string(),
                e["outcome"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("login", "success"), // the sub-user's first password login (new_sub_user)
        ("phone.add", "success"),
        ("phone.verify", "success"),
        ("device.add", "success"),
        ("device.verify", "success"),
        ("mfa.enable", "success"),
        ("login", "challenge"),
        ("login", "failure"),
        ("login", "success"),
        ("bypass.generate", "success"),
        ("login", "challenge"),
        ("login", "success"),
        ("mfa.unlock", "success"),
        ("mfa.disable", "success"),
        ("mfa.delete", "success"),
    ]
    .iter()
    .map(|(a, o)| ((*a).to_string(), (*o).to_string()))
    .collect();
    assert_eq!(got, want, "{events:#?}");
    // Who did what: the user itself, or its user-admin.
    let actor = |i: usize| events[i]["actor_id"].as_str().unwrap_or("").to_string();
    assert_eq!(actor(1), sub.id);
    assert_eq!(actor(5), ua.id, "the user-admin enabled MFA");
    assert_eq!(events[8]["factor"], "OTPPASSCODE");
    assert_eq!(events[11]["factor"], "BYPASS");
    for e in &events {
        assert_eq!(e["target_id"], json!(sub.id));
        assert_eq!(e["domain_id"], json!(ua.domain()));
        assert!(e.get("request_id").is_some() && e.get("source_ip").is_some());
    }

    // Metrics: Embedded Metric Format lines for the logins.
    let emf = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Identity")
        .filter(|v| v["Logins"] == 1)
        .count();
    assert!(emf >= 5, "only {emf} Logins metric lines");
}
