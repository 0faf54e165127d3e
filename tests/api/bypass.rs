//! Bypass codes (contract §2.13, §3.2 step 5, §5): counts, durations and their echo, limits
//! on another user, rule L, replacement, expiry, single use under concurrency.

use crate::helpers::{TestApi, TestUser, assert_error_shape, random_id, role};
use crate::mfa_helpers::{
    INVALID_PASSCODE, authenticated_by, bypass_codes, codes_of, count_status, enable_otp_mfa,
    expect_challenge, in_parallel, one_bypass_code, otp_challenge,
};
use serde_json::{Value, json};

/// A fresh user-admin and one of its sub-users with MFA on (OTP) and an MFA token.
async fn mfa_sub(api: &TestApi) -> (TestUser, TestUser) {
    let ua = api.new_user_admin().await;
    let mut sub = api.new_sub_user(&ua).await;
    enable_otp_mfa(api, &mut sub).await;
    (ua, sub)
}

fn spec(v: Value) -> Option<Value> {
    Some(json!({"RAX-AUTH:bypassCodes": v}))
}

#[track_caller]
fn duration_of(r: &crate::helpers::ApiResponse) -> String {
    r.expect_status(200);
    r.json["RAX-AUTH:bypassCodes"]["validityDuration"]
        .as_str()
        .unwrap_or_else(|| panic!("no validityDuration in {}", r.text))
        .to_string()
}

#[track_caller]
fn assert_codes(codes: &[String], n: usize) {
    assert_eq!(codes.len(), n, "{codes:?}");
    for c in codes {
        assert!(
            c.len() == 9 && c.chars().all(|ch| ch.is_ascii_digit()),
            "a 9-digit code: {c:?}"
        );
    }
    let mut unique = codes.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), n, "codes are distinct: {codes:?}");
}

/// Logs `user` in with `code` as the passcode (a fresh challenge each time).
async fn bypass_login(api: &TestApi, user: &TestUser, code: &str) -> crate::helpers::ApiResponse {
    let session = otp_challenge(api, user).await;
    api.login_passcode(&session, code).await
}

// ------------------------------------------------------------------------------------------
// on oneself

#[tokio::test]
async fn a_user_generates_ten_nine_digit_codes_and_the_duration_is_echoed() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;

    let r = bypass_codes(
        &api,
        &sub.token,
        &sub.id,
        spec(json!({"validityDuration": "PT20M", "numberOfCodes": 10})),
    )
    .await;

    assert_codes(&codes_of(&r), 10);
    assert_eq!(duration_of(&r), "PT20M0.000S");
    let inner = &r.json["RAX-AUTH:bypassCodes"];
    let mut keys: Vec<&String> = inner.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["codes", "validityDuration"], "{}", r.text);
}

#[tokio::test]
async fn without_a_body_one_code_for_thirty_minutes_is_generated() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;

    let none = bypass_codes(&api, &sub.token, &sub.id, None).await;
    let empty = bypass_codes(&api, &sub.token, &sub.id, spec(json!({}))).await;

    assert_codes(&codes_of(&none), 1);
    assert_eq!(duration_of(&none), "PT30M0.000S");
    assert_codes(&codes_of(&empty), 1);
    assert_eq!(duration_of(&empty), "PT30M0.000S");
}

#[tokio::test]
async fn number_of_codes_may_be_a_string_and_its_key_is_case_insensitive() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;

    let string = bypass_codes(
        &api,
        &sub.token,
        &sub.id,
        spec(json!({"numberOfCodes": "2"})),
    )
    .await;
    let lower = bypass_codes(&api, &sub.token, &sub.id, spec(json!({"numberofcodes": 3}))).await;

    assert_codes(&codes_of(&string), 2);
    assert_codes(&codes_of(&lower), 3);
}

#[tokio::test]
async fn number_of_codes_outside_1_to_10_is_400() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;

    for n in [
        json!(0),
        json!(11),
        json!(-1),
        json!("abc"),
        json!(1.5),
        json!(true),
    ] {
        let r = bypass_codes(&api, &sub.token, &sub.id, spec(json!({"numberOfCodes": n}))).await;
        assert_eq!(r.code(), 400, "numberOfCodes {n}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", &n.to_string());
    }
}

#[tokio::test]
async fn zero_negative_and_unparseable_durations_are_400() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;

    for d in [
        json!("PT0M"),
        json!("PT0S"),
        json!("P0D"),
        json!("-PT5M"),
        json!("PT-5M"),
        json!("soon"),
        json!(""),
        json!("30"),
        json!(30),
    ] {
        let r = bypass_codes(
            &api,
            &sub.token,
            &sub.id,
            spec(json!({"validityDuration": d})),
        )
        .await;
        assert_eq!(r.code(), 400, "validityDuration {d}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", &d.to_string());
    }
}

#[tokio::test]
async fn other_durations_are_echoed_as_minutes_and_seconds() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;

    for (asked, echoed) in [
        ("PT1H", "PT60M0.000S"),
        ("PT90S", "PT1M30.000S"),
        ("PT5M", "PT5M0.000S"),
        ("P1D", "PT1440M0.000S"),
    ] {
        let r = bypass_codes(
            &api,
            &sub.token,
            &sub.id,
            spec(json!({"validityDuration": asked})),
        )
        .await;
        assert_eq!(duration_of(&r), echoed, "{asked}");
    }
}

#[tokio::test]
async fn with_mfa_off_bypass_codes_are_400() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;

    bypass_codes(&api, &sub.token, &sub.id, None)
        .await
        .expect_error(400, "badRequest");
    bypass_codes(&api, &ua.token, &sub.id, None)
        .await
        .expect_error(400, "badRequest");
}

// ------------------------------------------------------------------------------------------
// on another user, rule L

#[tokio::test]
async fn on_another_user_exactly_one_code_valid_1_to_180_minutes() {
    let api = TestApi::new();
    let (ua, sub) = mfa_sub(&api).await;

    for bad in [
        json!({"numberOfCodes": 2}),
        json!({"numberOfCodes": "10"}),
        json!({"validityDuration": "PT181M"}),
        json!({"validityDuration": "PT30S"}),
        json!({"validityDuration": "P1D"}),
    ] {
        let r = bypass_codes(&api, &ua.token, &sub.id, spec(bad.clone())).await;
        assert_eq!(r.code(), 400, "{bad}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", &bad.to_string());
    }
    for (asked, echoed) in [
        ("PT180M", "PT180M0.000S"),
        ("PT1M", "PT1M0.000S"),
        ("PT3H", "PT180M0.000S"),
    ] {
        let r = bypass_codes(
            &api,
            &ua.token,
            &sub.id,
            spec(json!({"validityDuration": asked, "numberOfCodes": 1})),
        )
        .await;
        assert_codes(&codes_of(&r), 1);
        assert_eq!(duration_of(&r), echoed, "{asked}");
    }
    let defaults = bypass_codes(&api, &ua.token, &sub.id, None).await;
    assert_codes(&codes_of(&defaults), 1);
    assert_eq!(duration_of(&defaults), "PT30M0.000S");
}

#[tokio::test]
async fn user_manage_limited_generates_for_sub_users_of_its_domain_only() {
    let api = TestApi::new();
    let (ua, sub) = mfa_sub(&api).await;
    let mut limited = api.new_sub_user(&ua).await;
    api.add_role(&ua.token, &limited.id, role::USER_MANAGE_LIMITED)
        .await
        .expect_status(200);
    limited.token = api.login_token(&limited.username, &limited.password).await;
    let (_, other_sub) = mfa_sub(&api).await;

    let on_sub = bypass_codes(&api, &limited.token, &sub.id, None).await;
    let on_ua = bypass_codes(&api, &limited.token, &ua.id, None).await;
    let elsewhere = bypass_codes(&api, &limited.token, &other_sub.id, None).await;
    let unknown = bypass_codes(&api, &limited.token, &random_id(), None).await;

    assert_codes(&codes_of(&on_sub), 1);
    on_ua.expect_error(403, "forbidden");
    elsewhere.expect_error(403, "forbidden");
    unknown.expect_error(404, "itemNotFound");
    let code = codes_of(&on_sub).remove(0);
    assert_eq!(
        authenticated_by(&bypass_login(&api, &sub, &code).await),
        ["BYPASS", "PASSWORD"]
    );
}

#[tokio::test]
async fn a_default_user_cannot_generate_codes_for_another_user() {
    let api = TestApi::new();
    let (ua, sub) = mfa_sub(&api).await;
    let sibling = api.new_sub_user(&ua).await;
    let stranger = api.new_user_admin().await;

    bypass_codes(&api, &sibling.token, &sub.id, None)
        .await
        .expect_error(403, "forbidden");
    bypass_codes(&api, &stranger.token, &sub.id, None)
        .await
        .expect_error(403, "forbidden");
}

// ------------------------------------------------------------------------------------------
// use at login

#[tokio::test]
async fn a_new_set_replaces_the_old_one() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;
    let old =
        codes_of(&bypass_codes(&api, &sub.token, &sub.id, spec(json!({"numberOfCodes": 3}))).await);
    let new = one_bypass_code(&api, &sub.token, &sub.id).await;

    let with_old = bypass_login(&api, &sub, &old[1]).await;
    let with_new = bypass_login(&api, &sub, &new).await;

    with_old.expect_error_message(401, "unauthorized", INVALID_PASSCODE);
    assert_eq!(authenticated_by(&with_new), ["BYPASS", "PASSWORD"]);
}

#[tokio::test]
async fn each_code_of_a_set_works_once() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;
    let codes =
        codes_of(&bypass_codes(&api, &sub.token, &sub.id, spec(json!({"numberOfCodes": 2}))).await);

    let a = bypass_login(&api, &sub, &codes[0]).await;
    let b = bypass_login(&api, &sub, &codes[1]).await;
    let a_again = bypass_login(&api, &sub, &codes[0]).await;

    assert_eq!(authenticated_by(&a), ["BYPASS", "PASSWORD"]);
    assert_eq!(authenticated_by(&b), ["BYPASS", "PASSWORD"]);
    a_again.expect_error_message(401, "unauthorized", INVALID_PASSCODE);
}

#[tokio::test]
async fn an_expired_bypass_code_is_refused() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;
    let r = bypass_codes(
        &api,
        &sub.token,
        &sub.id,
        spec(json!({"validityDuration": "PT2S"})),
    )
    .await;
    assert_eq!(duration_of(&r), "PT0M2.000S");
    let code = codes_of(&r).remove(0);

    crate::helpers::sleep_secs(3).await;

    bypass_login(&api, &sub, &code).await.expect_error_message(
        401,
        "unauthorized",
        INVALID_PASSCODE,
    );
}

#[tokio::test]
async fn sixteen_parallel_logins_with_one_bypass_code_yield_exactly_one_token() {
    let api = TestApi::new();
    let (_, sub) = mfa_sub(&api).await;
    let code = one_bypass_code(&api, &sub.token, &sub.id).await;
    let mut sessions = Vec::new();
    for _ in 0..16 {
        sessions.push(expect_challenge(
            &api.login(&sub.username, &sub.password).await,
        ));
    }

    let rs = in_parallel(16, |i| api.login_passcode(&sessions[i], &code)).await;

    assert_eq!(
        count_status(&rs, 200),
        1,
        "{:?}",
        rs.iter().map(|r| r.code()).collect::<Vec<_>>()
    );
    let winner = rs.iter().find(|r| r.code() == 200).unwrap();
    assert_eq!(authenticated_by(winner), ["BYPASS", "PASSWORD"]);
    for r in rs.iter().filter(|r| r.code() != 200) {
        // losers see the code as used (401); once 3 of them have failed the account is
        // locked, and later ones may see the lock (403) instead
        assert!([401, 403].contains(&r.code()), "{}: {}", r.request, r.text);
    }
}
