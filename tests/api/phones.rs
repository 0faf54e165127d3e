//! SMS phones: add, send-code, verify, get, list, delete (contract §2.1–2.6, §5), the SMS
//! read back from moto, send limits, and what is stored at rest.

use crate::helpers::{
    INVALID_PIN, TestApi, TestPhone, TestUser, assert_error_shape, extract_code, is_hex32,
    other_code, phone_path, phones_path, random_id, sleep_secs,
};
use reqwest::Method;
use serde_json::json;

/// A fresh user-admin and one of its sub-users (the usual owner of a phone in these tests).
async fn owner(api: &TestApi) -> (TestUser, TestUser) {
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    (ua, sub)
}

/// A fresh phone added (unverified) to `user`.
async fn with_phone(api: &TestApi, user: &TestUser) -> (String, TestPhone) {
    let phone = api.fresh_phone().await;
    let id = api
        .add_phone_ok(&user.token, &user.id, &phone.display)
        .await;
    (id, phone)
}

/// Waits until another SMS to the same number is allowed (one spare second, so an
/// implementation that keeps whole-second timestamps is not caught on the boundary).
async fn wait_send_interval(api: &TestApi) {
    sleep_secs(api.settings.sms_min_interval_secs + 1).await;
}

// ------------------------------------------------------------------------------------------
// add-phone

#[tokio::test]
async fn add_phone_answers_201_with_location_and_echoes_the_submitted_number() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let phone = api.fresh_phone().await;

    let r = api.add_phone(&sub.token, &sub.id, &phone.display).await;

    r.expect_status(201);
    let p = &r.json["RAX-AUTH:mobilePhone"];
    let id = p["id"].as_str().unwrap_or_default();
    assert!(
        is_hex32(id),
        "phone id must be 32 lowercase hex: {}",
        r.text
    );
    assert_eq!(
        p["number"],
        phone.display.as_str(),
        "number is echoed as submitted"
    );
    assert_eq!(p["verified"], false);
    assert_eq!(r.location(), api.location_of(&phone_path(&sub.id, id)));
}

#[tokio::test]
async fn add_phone_rejects_missing_malformed_and_invalid_numbers() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let path = phones_path(&sub.id);
    let mut cases: Vec<(String, serde_json::Value)> = [
        "+1 235-435-623",   // one digit short (docs example)
        "+44 42 1123 4567", // unallocated UK range (docs example)
        "12345",
        "1 210-312-4600", // no leading plus
        "2103124600",
        "",
        "not a phone number",
        "+",
    ]
    .iter()
    .map(|n| {
        (
            format!("number {n:?}"),
            json!({"RAX-AUTH:mobilePhone": {"number": n}}),
        )
    })
    .collect();
    cases.push(("no number".into(), json!({"RAX-AUTH:mobilePhone": {}})));
    cases.push((
        "number is null".into(),
        json!({"RAX-AUTH:mobilePhone": {"number": null}}),
    ));
    cases.push(("no wrapper".into(), json!({"number": "+1 210-312-4600"})));
    cases.push(("empty object".into(), json!({})));

    for (what, body) in &cases {
        let r = api.post(&sub.token, &path, body).await;
        assert_eq!(r.code(), 400, "{what}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", what);
    }
    let list = api.list_phones(&sub.token, &sub.id).await;
    list.expect_status(200);
    assert_eq!(
        list.json["RAX-AUTH:mobilePhones"],
        json!([]),
        "nothing was added"
    );
}

#[tokio::test]
async fn add_phone_rejects_malformed_json_and_non_json_bodies() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let path = phones_path(&sub.id);

    let bad_json = api
        .raw(
            Method::POST,
            &path,
            Some(&sub.token),
            Some("application/json"),
            Some(b"{\"RAX-AUTH:mobilePhone\": {".to_vec()),
            &[],
        )
        .await;
    let no_body = api.post_empty(&sub.token, &path).await;
    let text = api
        .raw(
            Method::POST,
            &path,
            Some(&sub.token),
            Some("text/plain"),
            Some(br#"{"RAX-AUTH:mobilePhone": {"number": "+1 210-312-4600"}}"#.to_vec()),
            &[],
        )
        .await;

    bad_json.expect_error(400, "badRequest");
    no_body.expect_error(400, "badRequest");
    text.expect_error(415, "badMediaType");
}

#[tokio::test]
async fn a_user_may_have_only_one_phone() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    with_phone(&api, &sub).await;
    let second = api.fresh_phone().await;

    let r = api.add_phone(&sub.token, &sub.id, &second.display).await;

    r.expect_error(400, "badRequest");
    let list = api.list_phones(&sub.token, &sub.id).await;
    assert_eq!(
        list.json["RAX-AUTH:mobilePhones"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn one_number_may_be_shared_by_several_users() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let phone = api.fresh_phone().await;

    let a = api.add_phone(&sub.token, &sub.id, &phone.display).await;
    let b = api.add_phone(&ua.token, &ua.id, &phone.display).await;

    a.expect_status(201);
    b.expect_status(201);
    assert_ne!(
        a.json["RAX-AUTH:mobilePhone"]["id"],
        b.json["RAX-AUTH:mobilePhone"]["id"]
    );
}

// ------------------------------------------------------------------------------------------
// send-code and verify

#[tokio::test]
async fn send_code_texts_a_six_digit_pin_to_the_e164_number() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;

    let r = api.send_phone_code(&sub.token, &sub.id, &phone_id).await;

    r.expect_status(202).expect_empty_body();
    let msgs = api.wait_for_sms(&phone.e164, 1).await;
    assert_eq!(msgs.len(), 1, "exactly one SMS: {msgs:?}");
    let sms = &msgs[0];
    let pin = extract_code(sms, 6);
    let lower = sms.to_lowercase();
    assert!(
        lower.contains("verif"),
        "the SMS says what the PIN is for: {sms:?}"
    );
    assert!(
        lower.contains("expire") || lower.contains("valid"),
        "the SMS says when the PIN expires: {sms:?}"
    );
    assert!(
        !r.text.contains(&pin)
            && !r
                .headers
                .iter()
                .any(|(_, v)| v.as_bytes() == pin.as_bytes())
    );
}

#[tokio::test]
async fn uk_numbers_are_texted_in_e164_form() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let phone = api.fresh_uk_phone().await;
    let r = api.add_phone(&sub.token, &sub.id, &phone.display).await;
    r.expect_status(201);
    assert_eq!(
        r.json["RAX-AUTH:mobilePhone"]["number"],
        phone.display.as_str()
    );
    let phone_id = r.json["RAX-AUTH:mobilePhone"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    assert_eq!(pin.len(), 6);
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn verifying_with_the_texted_pin_marks_the_phone_verified_without_enabling_mfa() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    let r = api.verify_phone(&sub.token, &sub.id, &phone_id, &pin).await;

    r.expect_status(204).expect_empty_body();
    let got = api.get_phone(&sub.token, &sub.id, &phone_id).await;
    got.expect_status(200);
    assert_eq!(got.json["RAX-AUTH:mobilePhone"]["verified"], true);
    let list = api.list_phones(&sub.token, &sub.id).await;
    assert_eq!(list.json["RAX-AUTH:mobilePhones"][0]["verified"], true);
    let user = api.get_user(&sub.token, &sub.id).await;
    assert_eq!(
        user.json["user"]["RAX-AUTH:multiFactorEnabled"], false,
        "{}",
        user.text
    );
}

#[tokio::test]
async fn a_wrong_pin_is_rejected_and_a_used_pin_cannot_be_replayed() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    api.verify_phone(&sub.token, &sub.id, &phone_id, &other_code(&pin, 6))
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
}

#[tokio::test]
async fn verify_without_a_pending_pin_fails() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, _) = with_phone(&api, &sub).await;

    api.verify_phone(&sub.token, &sub.id, &phone_id, "123456")
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
}

#[tokio::test]
async fn verify_needs_a_json_body_with_a_code() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, _) = with_phone(&api, &sub).await;
    let path = format!("{}/verify", phone_path(&sub.id, &phone_id));

    api.post_empty(&sub.token, &path)
        .await
        .expect_error(400, "badRequest");
    api.post(&sub.token, &path, &json!({}))
        .await
        .expect_error(400, "badRequest");
    api.post(&sub.token, &path, &json!({"RAX-AUTH:verificationCode": {}}))
        .await
        .expect_error(400, "badRequest");
    api.raw(
        Method::POST,
        &path,
        Some(&sub.token),
        Some("text/plain"),
        Some(b"123456".to_vec()),
        &[],
    )
    .await
    .expect_error(415, "badMediaType");
}

#[tokio::test]
async fn a_resent_code_replaces_the_previous_pin() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let first = api.request_pin(&sub, &phone_id, &phone).await;
    wait_send_interval(&api).await;

    let second = api.request_pin(&sub, &phone_id, &phone).await;

    assert_eq!(api.sms_to(&phone.e164).await.len(), 2);
    if first != second {
        api.verify_phone(&sub.token, &sub.id, &phone_id, &first)
            .await
            .expect_error_message(400, "badRequest", INVALID_PIN);
    }
    api.verify_phone(&sub.token, &sub.id, &phone_id, &second)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn an_expired_pin_is_rejected() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    sleep_secs(api.settings.pin_ttl_secs + 1).await;

    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
    let got = api.get_phone(&sub.token, &sub.id, &phone_id).await;
    assert_eq!(got.json["RAX-AUTH:mobilePhone"]["verified"], false);
}

#[tokio::test]
async fn five_wrong_tries_kill_the_pin() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    for _ in 0..5 {
        api.verify_phone(&sub.token, &sub.id, &phone_id, &other_code(&pin, 6))
            .await
            .expect_error_message(400, "badRequest", INVALID_PIN);
    }

    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
    // A new code works again.
    wait_send_interval(&api).await;
    let fresh = api.request_pin(&sub, &phone_id, &phone).await;
    api.verify_phone(&sub.token, &sub.id, &phone_id, &fresh)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn four_wrong_tries_leave_the_pin_usable() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    for _ in 0..4 {
        api.verify_phone(&sub.token, &sub.id, &phone_id, &other_code(&pin, 6))
            .await
            .expect_error_message(400, "badRequest", INVALID_PIN);
    }

    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn two_concurrent_verifies_with_the_right_pin_succeed_once() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    let (a, b) = tokio::join!(
        api.verify_phone(&sub.token, &sub.id, &phone_id, &pin),
        api.verify_phone(&sub.token, &sub.id, &phone_id, &pin),
    );

    let mut codes = [a.code(), b.code()];
    codes.sort_unstable();
    assert_eq!(codes, [204, 400], "a: {} / b: {}", a.text, b.text);
    let loser = if a.code() == 400 { &a } else { &b };
    loser.expect_error_message(400, "badRequest", INVALID_PIN);
}

#[tokio::test]
async fn send_code_to_a_verified_phone_is_400() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = api.add_verified_phone(&sub).await;
    wait_send_interval(&api).await;

    let r = api.send_phone_code(&sub.token, &sub.id, &phone_id).await;

    r.expect_error(400, "badRequest");
    assert_eq!(
        api.sms_to(&phone.e164).await.len(),
        1,
        "no SMS for a verified phone"
    );
}

// ------------------------------------------------------------------------------------------
// Send limits

#[tokio::test]
async fn two_sends_within_the_minimum_interval_are_over_limit_with_retry_after() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    let r = api.send_phone_code(&sub.token, &sub.id, &phone_id).await;

    r.expect_error(413, "overLimit");
    let retry: u64 = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("413 without Retry-After: {:?}", r.headers))
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("Retry-After must be delay-seconds: {e}"));
    assert!(
        (1..=api.settings.sms_min_interval_secs + 1).contains(&retry),
        "Retry-After {retry} should be within the minimum interval"
    );
    assert_eq!(
        api.sms_to(&phone.e164).await.len(),
        1,
        "the refused send texts nothing"
    );
    // The refused send did not replace the pending PIN.
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn sends_beyond_the_hourly_limit_are_over_limit() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let limit = usize::try_from(api.settings.sms_hourly_limit).unwrap_or(5);
    // An implementation may count per clock hour: don't straddle an hour boundary.
    let now = time::OffsetDateTime::now_utc();
    let left_in_hour = 3600 - (u64::from(now.minute()) * 60 + u64::from(now.second()));
    if left_in_hour < 60 {
        sleep_secs(left_in_hour).await;
    }

    for i in 0..limit {
        if i > 0 {
            wait_send_interval(&api).await;
        }
        let r = api.send_phone_code(&sub.token, &sub.id, &phone_id).await;
        assert_eq!(r.code(), 202, "send #{}: {}", i + 1, r.text);
    }
    wait_send_interval(&api).await;
    let r = api.send_phone_code(&sub.token, &sub.id, &phone_id).await;

    r.expect_error(413, "overLimit");
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("413 without a numeric Retry-After: {:?}", r.headers));
    assert!(
        (1..=3600).contains(&retry),
        "Retry-After {retry} should point at the end of the hourly window"
    );
    assert_eq!(api.sms_to(&phone.e164).await.len(), limit);
}

// ------------------------------------------------------------------------------------------
// get, list, delete

#[tokio::test]
async fn list_phones_is_empty_then_shows_the_phone_and_get_returns_it() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;

    let empty = api.list_phones(&sub.token, &sub.id).await;
    empty.expect_status(200);
    assert_eq!(empty.json, json!({"RAX-AUTH:mobilePhones": []}));

    let (phone_id, phone) = with_phone(&api, &sub).await;
    let list = api.list_phones(&sub.token, &sub.id).await;
    list.expect_status(200);
    assert_eq!(
        list.json,
        json!({"RAX-AUTH:mobilePhones": [{"id": phone_id, "number": phone.display, "verified": false}]})
    );
    let got = api.get_phone(&sub.token, &sub.id, &phone_id).await;
    got.expect_status(200);
    assert_eq!(
        got.json,
        json!({"RAX-AUTH:mobilePhone": {"id": phone_id, "number": phone.display, "verified": false}})
    );
}

#[tokio::test]
async fn an_unknown_phone_id_is_404() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let id = random_id();

    api.get_phone(&sub.token, &sub.id, &id)
        .await
        .expect_error(404, "itemNotFound");
    api.send_phone_code(&sub.token, &sub.id, &id)
        .await
        .expect_error(404, "itemNotFound");
    api.verify_phone(&sub.token, &sub.id, &id, "123456")
        .await
        .expect_error(404, "itemNotFound");
    api.delete_phone(&sub.token, &sub.id, &id)
        .await
        .expect_error(404, "itemNotFound");
}

#[tokio::test]
async fn delete_phone_by_id_removes_it() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, _) = with_phone(&api, &sub).await;

    let r = api.delete_phone(&sub.token, &sub.id, &phone_id).await;

    r.expect_status(204).expect_empty_body();
    api.get_phone(&sub.token, &sub.id, &phone_id)
        .await
        .expect_error(404, "itemNotFound");
    assert_eq!(
        api.list_phones(&sub.token, &sub.id).await.json,
        json!({"RAX-AUTH:mobilePhones": []})
    );
    api.delete_phone(&sub.token, &sub.id, &phone_id)
        .await
        .expect_error(404, "itemNotFound");
    // The one-phone slot is free again.
    with_phone(&api, &sub).await;
}

#[tokio::test]
async fn delete_phone_without_an_id_removes_the_only_phone() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, _) = api.add_verified_phone(&sub).await;

    let r = api.delete(&sub.token, &sub.phones_path()).await;

    r.expect_status(204).expect_empty_body();
    api.get_phone(&sub.token, &sub.id, &phone_id)
        .await
        .expect_error(404, "itemNotFound");
    api.delete(&sub.token, &sub.phones_path())
        .await
        .expect_error(404, "itemNotFound");
}

#[tokio::test]
async fn deleting_a_phone_drops_its_pending_pin() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    api.delete_phone(&sub.token, &sub.id, &phone_id)
        .await
        .expect_status(204);
    let again = api.add_phone_ok(&sub.token, &sub.id, &phone.display).await;

    api.verify_phone(&sub.token, &sub.id, &again, &pin)
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_error(404, "itemNotFound");
}

#[tokio::test]
async fn another_users_phone_id_is_404_under_ones_own_path_and_403_under_theirs() {
    let api = TestApi::new();
    let (ua, owner_user) = owner(&api).await;
    let (phone_id, _) = with_phone(&api, &owner_user).await;
    let sibling = api.new_sub_user(&ua).await;

    // Own path, foreign phone id: the phone is "not one of mine".
    api.get_phone(&sibling.token, &sibling.id, &phone_id)
        .await
        .expect_error(404, "itemNotFound");
    api.delete_phone(&sibling.token, &sibling.id, &phone_id)
        .await
        .expect_error(404, "itemNotFound");
    api.send_phone_code(&sibling.token, &sibling.id, &phone_id)
        .await
        .expect_error(404, "itemNotFound");
    // Owner's path: rule S / rule A refuse before the phone is looked at.
    api.delete_phone(&sibling.token, &owner_user.id, &phone_id)
        .await
        .expect_error(403, "forbidden");
    api.get_phone(&sibling.token, &owner_user.id, &phone_id)
        .await
        .expect_error(403, "forbidden");
    // A user-admin may read its sub-user's phone but delete-phone is self only (rule S).
    api.get_phone(&ua.token, &owner_user.id, &phone_id)
        .await
        .expect_status(200);
    api.delete_phone(&ua.token, &owner_user.id, &phone_id)
        .await
        .expect_error(403, "forbidden");
    api.get_phone(&owner_user.token, &owner_user.id, &phone_id)
        .await
        .expect_status(200);
}

// ------------------------------------------------------------------------------------------
// Who may do what

#[tokio::test]
async fn only_the_owner_may_send_or_verify_codes_even_an_admin_may_not() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;
    let sub = api.new_sub_user(&ua).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let sa = api.service_admin_token().await;

    for (who, token) in [
        ("user-admin", &ua.token),
        ("admin", &admin.token),
        ("service-admin", &sa),
    ] {
        let send = api.send_phone_code(token, &sub.id, &phone_id).await;
        assert_eq!(send.code(), 403, "{who} send-code: {}", send.text);
        assert_error_shape(&send.json, 403, "forbidden", who);
        let verify = api.verify_phone(token, &sub.id, &phone_id, "123456").await;
        assert_eq!(verify.code(), 403, "{who} verify: {}", verify.text);
        assert_error_shape(&verify.json, 403, "forbidden", who);
    }
    assert!(api.sms_to(&phone.e164).await.is_empty(), "no SMS was sent");
    // The owner still can.
    let pin = api.request_pin(&sub, &phone_id, &phone).await;
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn a_user_admin_adds_reads_and_lists_its_sub_users_phone() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let phone = api.fresh_phone().await;

    let added = api.add_phone(&ua.token, &sub.id, &phone.display).await;

    added.expect_status(201);
    let phone_id = added.json["RAX-AUTH:mobilePhone"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        added.location(),
        api.location_of(&phone_path(&sub.id, &phone_id))
    );
    api.get_phone(&ua.token, &sub.id, &phone_id)
        .await
        .expect_status(200);
    let list = api.list_phones(&ua.token, &sub.id).await;
    list.expect_status(200);
    assert_eq!(
        list.json["RAX-AUTH:mobilePhones"][0]["id"],
        phone_id.as_str()
    );
    // The phone is the sub-user's: it can verify it itself.
    let pin = api.request_pin(&sub, &phone_id, &phone).await;
    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
}

#[tokio::test]
async fn users_without_authority_cannot_add_read_or_list_phones() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let (phone_id, _) = with_phone(&api, &sub).await;
    let other_ua = api.new_user_admin().await;
    let sibling = api.new_sub_user(&ua).await;
    let number = api.fresh_phone().await.display;

    for (who, token, target) in [
        ("other domain's user-admin", &other_ua.token, &sub.id),
        ("sibling sub-user", &sibling.token, &sub.id),
        ("sub-user over its user-admin", &sub.token, &ua.id),
    ] {
        for r in [
            api.add_phone(token, target, &number).await,
            api.list_phones(token, target).await,
        ] {
            assert_eq!(r.code(), 403, "{who}: {} {}", r.request, r.text);
            assert_error_shape(&r.json, 403, "forbidden", who);
        }
    }
    api.get_phone(&other_ua.token, &sub.id, &phone_id)
        .await
        .expect_error(403, "forbidden");
    api.list_phones(&ua.token, &ua.id).await.expect_status(200);
    assert_eq!(
        api.list_phones(&ua.token, &ua.id).await.json["RAX-AUTH:mobilePhones"],
        json!([]),
        "the refused adds added nothing"
    );
}

#[tokio::test]
async fn phone_operations_on_an_unknown_user_are_404() {
    let api = TestApi::new();
    let sa = api.service_admin_token().await;
    let ua = api.new_user_admin().await;
    let ghost = random_id();
    let number = api.fresh_phone().await.display;

    for token in [&sa, &ua.token] {
        api.add_phone(token, &ghost, &number)
            .await
            .expect_error(404, "itemNotFound");
        api.list_phones(token, &ghost)
            .await
            .expect_error(404, "itemNotFound");
        api.get_phone(token, &ghost, &random_id())
            .await
            .expect_error(404, "itemNotFound");
    }
}

#[tokio::test]
async fn phone_operations_need_a_valid_token() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, _) = with_phone(&api, &sub).await;
    let body = json!({"RAX-AUTH:mobilePhone": {"number": "+1 210-312-4600"}});

    let cases = [
        api.request(Method::POST, &sub.phones_path(), None, Some(&body))
            .await,
        api.request(Method::GET, &sub.phones_path(), None, None)
            .await,
        api.request(
            Method::GET,
            &phone_path(&sub.id, &phone_id),
            Some(&random_id()),
            None,
        )
        .await,
        api.request(
            Method::POST,
            &format!("{}/verificationcode", phone_path(&sub.id, &phone_id)),
            None,
            None,
        )
        .await,
        api.request(Method::DELETE, &phone_path(&sub.id, &phone_id), None, None)
            .await,
    ];
    for r in cases {
        assert_eq!(r.code(), 401, "{}: {}", r.request, r.text);
        assert_error_shape(&r.json, 401, "unauthorized", &r.request);
    }
}

// ------------------------------------------------------------------------------------------
// SMS failure and storage

/// Needs the implementation to ask SNS `CheckIfPhoneNumberIsOptedOut` before `Publish` and
/// to treat an opted-out number as an SMS failure: moto 5.2.5 accepts every `Publish` to a
/// well-formed E.164 number, but reports every number ending in `99` as opted out.
#[tokio::test]
async fn an_sms_failure_answers_503_and_leaves_the_phone_unverified() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let phone = api.opted_out_phone().await;
    let phone_id = api.add_phone_ok(&sub.token, &sub.id, &phone.display).await;

    let r = api.send_phone_code(&sub.token, &sub.id, &phone_id).await;

    r.expect_error(503, "serviceUnavailable");
    let got = api.get_phone(&sub.token, &sub.id, &phone_id).await;
    assert_eq!(got.json["RAX-AUTH:mobilePhone"]["verified"], false);
    assert!(
        api.sms_to(&phone.e164).await.is_empty(),
        "nothing was texted"
    );
    api.verify_phone(&sub.token, &sub.id, &phone_id, "123456")
        .await
        .expect_error_message(400, "badRequest", INVALID_PIN);
}

#[tokio::test]
async fn neither_the_pin_nor_the_phone_number_is_stored_in_plaintext() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let (phone_id, phone) = with_phone(&api, &sub).await;
    let pin = api.request_pin(&sub, &phone_id, &phone).await;

    api.assert_stored("phone id", &phone_id).await;
    // While the PIN is pending.
    api.assert_code_not_stored("pending phone PIN", &pin).await;
    api.assert_phone_not_stored(&phone).await;

    api.verify_phone(&sub.token, &sub.id, &phone_id, &pin)
        .await
        .expect_status(204);
    api.assert_code_not_stored("used phone PIN", &pin).await;
    api.assert_phone_not_stored(&phone).await;
}
