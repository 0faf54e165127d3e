//! OTP devices: add (keyUri + QR code), verify, get, list, delete (contract §2.7–2.11, §5),
//! codes computed independently with `oathtool`, replay, limits, authorization, storage.

use crate::helpers::{INVALID_PIN, TestApi, TestUser, assert_error_shape, is_hex32, random_id};
use crate::mfa_helpers::{
    INVALID_PASSCODE, OtpDevice, add_otp, add_otp_ok, add_verified_otp, assert_bytes_not_stored,
    assert_text_not_stored, base32_decode, count_status, current_step, decode_qr_data_url,
    enable_otp_mfa, expect_challenge, in_parallel, otp_device_path, otp_devices_path, put_mfa,
    settled_step, totp_at_step, totp_now, verify_otp, wrong_totp,
};
use reqwest::Method;
use serde_json::{Value, json};

/// A fresh user-admin and one of its sub-users.
async fn owner(api: &TestApi) -> (TestUser, TestUser) {
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    (ua, sub)
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    k.sort();
    k
}

async fn get_device(api: &TestApi, token: &str, user_id: &str, device_id: &str) -> Value {
    let r = api.get(token, &otp_device_path(user_id, device_id)).await;
    r.expect_status(200);
    r.json["RAX-AUTH:otpDevice"].clone()
}

async fn list_devices(api: &TestApi, token: &str, user_id: &str) -> Vec<Value> {
    let r = api.get(token, &otp_devices_path(user_id)).await;
    r.expect_status(200);
    r.json["RAX-AUTH:otpDevices"]
        .as_array()
        .unwrap_or_else(|| panic!("list-otp-devices: no array in {}", r.text))
        .clone()
}

// ------------------------------------------------------------------------------------------
// add

#[tokio::test]
async fn add_otp_device_answers_201_with_location_key_uri_and_a_qr_code_of_the_key_uri() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;

    let r = add_otp(&api, &sub.token, &sub.id, "NewOTPDevice").await;

    r.expect_status(201);
    let d = &r.json["RAX-AUTH:otpDevice"];
    assert_eq!(
        keys(d),
        ["id", "keyUri", "name", "qrcode", "verified"],
        "{}",
        r.text
    );
    let id = d["id"].as_str().unwrap_or_default();
    assert!(
        is_hex32(id),
        "device id must be 32 lowercase hex: {}",
        r.text
    );
    assert_eq!(d["name"], "NewOTPDevice");
    assert_eq!(d["verified"], false);
    assert_eq!(r.location(), api.location_of(&otp_device_path(&sub.id, id)));

    let key_uri = d["keyUri"].as_str().unwrap_or_default();
    let re = regex::Regex::new(&format!(
        r"^otpauth://totp/Rackspace:{}\?secret=([A-Z2-7]{{32}})&issuer=Rackspace$",
        regex::escape(&sub.username)
    ))
    .unwrap();
    let caps = re
        .captures(key_uri)
        .unwrap_or_else(|| panic!("keyUri {key_uri:?} does not match {re}"));
    let seed = base32_decode(&caps[1]).unwrap();
    assert_eq!(seed.len(), 20, "a 160-bit secret");

    let qrcode = d["qrcode"].as_str().unwrap_or_default();
    assert!(qrcode.starts_with("data:image/png;base64,"), "{qrcode:.40}");
    assert_eq!(
        decode_qr_data_url(qrcode),
        key_uri,
        "the QR code holds exactly keyUri"
    );
}

#[tokio::test]
async fn every_device_gets_its_own_secret() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let a = add_otp_ok(&api, &sub.token, &sub.id, "phone").await;
    let b = add_otp_ok(&api, &sub.token, &sub.id, "phone").await;
    assert_ne!(a.id, b.id);
    assert_ne!(a.secret, b.secret);
    let names: Vec<Value> = list_devices(&api, &sub.token, &sub.id)
        .await
        .iter()
        .map(|d| d["name"].clone())
        .collect();
    assert_eq!(names, ["phone", "phone"], "names need not be unique");
}

#[tokio::test]
async fn a_sixth_device_is_rejected_whether_or_not_the_others_are_verified() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    add_verified_otp(&api, &sub).await;
    for i in 0..4 {
        add_otp_ok(&api, &sub.token, &sub.id, &format!("device {i}")).await;
    }

    let r = add_otp(&api, &sub.token, &sub.id, "sixth").await;

    r.expect_error(400, "badRequest");
    assert_eq!(list_devices(&api, &sub.token, &sub.id).await.len(), 5);
}

#[tokio::test]
async fn device_names_must_be_1_to_255_characters() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let path = otp_devices_path(&sub.id);
    let cases = [
        ("no name", json!({"RAX-AUTH:otpDevice": {}})),
        ("null name", json!({"RAX-AUTH:otpDevice": {"name": null}})),
        ("empty name", json!({"RAX-AUTH:otpDevice": {"name": ""}})),
        (
            "256 chars",
            json!({"RAX-AUTH:otpDevice": {"name": "n".repeat(256)}}),
        ),
        ("number name", json!({"RAX-AUTH:otpDevice": {"name": 7}})),
        ("no wrapper", json!({"name": "device"})),
        ("empty object", json!({})),
    ];
    for (what, body) in &cases {
        let r = api.post(&sub.token, &path, body).await;
        assert_eq!(r.code(), 400, "{what}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", what);
    }
    assert!(
        list_devices(&api, &sub.token, &sub.id).await.is_empty(),
        "nothing was added"
    );

    let long = "é".repeat(255);
    let r = add_otp(&api, &sub.token, &sub.id, &long).await;
    r.expect_status(201);
    assert_eq!(r.json["RAX-AUTH:otpDevice"]["name"], long.as_str());
}

#[tokio::test]
async fn add_otp_device_needs_a_token_and_a_json_body() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let path = otp_devices_path(&sub.id);
    let body = br#"{"RAX-AUTH:otpDevice": {"name": "x"}}"#.to_vec();

    let no_token = api
        .raw(
            Method::POST,
            &path,
            None,
            Some("application/json"),
            Some(body.clone()),
            &[],
        )
        .await;
    let text = api
        .raw(
            Method::POST,
            &path,
            Some(&sub.token),
            Some("text/plain"),
            Some(body),
            &[],
        )
        .await;
    let bad_json = api
        .raw(
            Method::POST,
            &path,
            Some(&sub.token),
            Some("application/json"),
            Some(b"{\"RAX-AUTH:otpDevice\":".to_vec()),
            &[],
        )
        .await;

    no_token.expect_error(401, "unauthorized");
    text.expect_error(415, "badMediaType");
    bad_json.expect_error(400, "badRequest");
}

// ------------------------------------------------------------------------------------------
// verify, get, list

#[tokio::test]
async fn verifying_with_a_current_oathtool_code_marks_the_device_verified() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "Authenticator").await;
    let step = settled_step().await;

    let r = verify_otp(
        &api,
        &sub.token,
        &sub.id,
        &dev.id,
        &totp_at_step(&dev.secret, step),
    )
    .await;

    r.expect_status(204).expect_empty_body();
    let d = get_device(&api, &sub.token, &sub.id, &dev.id).await;
    assert_eq!(
        d,
        json!({"id": dev.id, "name": "Authenticator", "verified": true})
    );
}

#[tokio::test]
async fn get_and_list_show_id_name_verified_and_never_the_secret() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    assert!(
        list_devices(&api, &sub.token, &sub.id).await.is_empty(),
        "[] when there are none"
    );
    let a = add_verified_otp(&api, &sub).await;
    let b = add_otp_ok(&api, &sub.token, &sub.id, "spare").await;

    let ga = get_device(&api, &sub.token, &sub.id, &a.id).await;
    let gb = get_device(&api, &sub.token, &sub.id, &b.id).await;
    let list = list_devices(&api, &sub.token, &sub.id).await;

    assert_eq!(
        ga,
        json!({"id": a.id, "name": "Authenticator", "verified": true})
    );
    assert_eq!(gb, json!({"id": b.id, "name": "spare", "verified": false}));
    assert_eq!(list.len(), 2);
    for d in &list {
        assert_eq!(keys(d), ["id", "name", "verified"], "{d}");
        assert!(d == &ga || d == &gb, "{d}");
    }
    for text in [ga.to_string(), gb.to_string(), json!(list).to_string()] {
        assert!(!text.contains(&a.secret) && !text.contains(&b.secret));
        assert!(!text.contains("otpauth") && !text.contains("data:image"));
    }
}

#[tokio::test]
async fn verifying_an_already_verified_device_is_400_invalid_pin() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_verified_otp(&api, &sub).await;

    let r = verify_otp(&api, &sub.token, &sub.id, &dev.id, &dev.next_code().await).await;

    r.expect_error_message(400, "badRequest", INVALID_PIN);
}

#[tokio::test]
async fn a_wrong_code_is_400_invalid_pin_and_leaves_the_device_unverified() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "Authenticator").await;
    let old = totp_at_step(&dev.secret, current_step() - 10);

    for code in [
        wrong_totp(&dev.secret),
        old,
        "12345".into(),
        "abcdef".into(),
    ] {
        let r = verify_otp(&api, &sub.token, &sub.id, &dev.id, &code).await;
        r.expect_error_message(400, "badRequest", INVALID_PIN);
    }

    let d = get_device(&api, &sub.token, &sub.id, &dev.id).await;
    assert_eq!(d["verified"], false);
}

#[tokio::test]
async fn verify_without_a_code_is_400() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "Authenticator").await;
    let path = format!("{}/verify", otp_device_path(&sub.id, &dev.id));

    for body in [
        json!({}),
        json!({"RAX-AUTH:verificationCode": {}}),
        json!({"code": totp_now(&dev.secret)}),
    ] {
        let r = api.post(&sub.token, &path, &body).await;
        r.expect_error(400, "badRequest");
    }
    api.post_empty(&sub.token, &path)
        .await
        .expect_error(400, "badRequest");
}

#[tokio::test]
async fn five_wrong_codes_lock_verification_until_the_lock_expires() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "Authenticator").await;
    for _ in 0..5 {
        verify_otp(&api, &sub.token, &sub.id, &dev.id, &wrong_totp(&dev.secret))
            .await
            .expect_error_message(400, "badRequest", INVALID_PIN);
    }

    let locked = verify_otp(&api, &sub.token, &sub.id, &dev.id, &totp_now(&dev.secret)).await;
    locked.expect_error_message(400, "badRequest", INVALID_PIN);
    assert_eq!(
        get_device(&api, &sub.token, &sub.id, &dev.id).await["verified"],
        false
    );

    crate::helpers::sleep_secs(api.settings.otp_verify_lock_secs).await;
    let step = settled_step().await;
    verify_otp(
        &api,
        &sub.token,
        &sub.id,
        &dev.id,
        &totp_at_step(&dev.secret, step),
    )
    .await
    .expect_status(204);
}

#[tokio::test]
async fn sixteen_concurrent_verifies_with_one_valid_code_yield_exactly_one_204() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "Authenticator").await;
    let code = totp_at_step(&dev.secret, settled_step().await);

    let rs = in_parallel(16, |_| {
        verify_otp(&api, &sub.token, &sub.id, &dev.id, &code)
    })
    .await;

    assert_eq!(
        count_status(&rs, 204),
        1,
        "{:?}",
        rs.iter().map(|r| r.code()).collect::<Vec<_>>()
    );
    for r in rs.iter().filter(|r| r.code() != 204) {
        r.expect_error_message(400, "badRequest", INVALID_PIN);
    }
}

// ------------------------------------------------------------------------------------------
// replay at login

#[tokio::test]
async fn a_totp_code_used_for_a_login_cannot_be_used_for_a_second_login() {
    let api = TestApi::new();
    let (_, mut sub) = owner(&api).await;
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let code = dev.next_code().await;

    let s1 = expect_challenge(&api.login(&sub.username, &sub.password).await);
    let first = api.login_passcode(&s1, &code).await;
    let s2 = expect_challenge(&api.login(&sub.username, &sub.password).await);
    let second = api.login_passcode(&s2, &code).await;

    first.expect_status(200);
    second.expect_error_message(401, "unauthorized", INVALID_PASSCODE);
}

// ------------------------------------------------------------------------------------------
// delete

#[tokio::test]
async fn deleting_a_device_answers_204_and_then_404() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "Authenticator").await;
    let path = otp_device_path(&sub.id, &dev.id);

    api.delete(&sub.token, &path)
        .await
        .expect_status(204)
        .expect_empty_body();

    api.get(&sub.token, &path)
        .await
        .expect_error(404, "itemNotFound");
    api.delete(&sub.token, &path)
        .await
        .expect_error(404, "itemNotFound");
    assert!(list_devices(&api, &sub.token, &sub.id).await.is_empty());
}

#[tokio::test]
async fn a_deleted_device_frees_a_slot() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let mut devs: Vec<OtpDevice> = Vec::new();
    for i in 0..5 {
        devs.push(add_otp_ok(&api, &sub.token, &sub.id, &format!("d{i}")).await);
    }
    add_otp(&api, &sub.token, &sub.id, "full")
        .await
        .expect_status(400);
    api.delete(&sub.token, &otp_device_path(&sub.id, &devs[0].id))
        .await
        .expect_status(204);

    add_otp(&api, &sub.token, &sub.id, "again")
        .await
        .expect_status(201);
}

#[tokio::test]
async fn the_last_verified_device_cannot_be_deleted_while_mfa_is_on_with_otp() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let spare = add_otp_ok(&api, &sub.token, &sub.id, "unverified spare").await;

    let last = api
        .delete(&sub.token, &otp_device_path(&sub.id, &dev.id))
        .await;
    let by_admin = api
        .delete(&ua.token, &otp_device_path(&sub.id, &dev.id))
        .await;
    let unverified = api
        .delete(&sub.token, &otp_device_path(&sub.id, &spare.id))
        .await;

    last.expect_error(400, "badRequest");
    by_admin.expect_error(400, "badRequest");
    unverified.expect_status(204);
    assert_eq!(
        get_device(&api, &sub.token, &sub.id, &dev.id).await["verified"],
        true
    );

    put_mfa(&api, &sub.token, &sub.id, json!({"enabled": false}))
        .await
        .expect_status(204);
    api.delete(&sub.token, &otp_device_path(&sub.id, &dev.id))
        .await
        .expect_status(204);
}

#[tokio::test]
async fn with_two_verified_devices_one_may_go_while_mfa_is_on() {
    let api = TestApi::new();
    let (_, mut sub) = owner(&api).await;
    let first = enable_otp_mfa(&api, &mut sub).await;
    let second = add_verified_otp(&api, &sub).await;

    api.delete(&sub.token, &otp_device_path(&sub.id, &first.id))
        .await
        .expect_status(204);
    api.delete(&sub.token, &otp_device_path(&sub.id, &second.id))
        .await
        .expect_error(400, "badRequest");
}

// ------------------------------------------------------------------------------------------
// authorization

#[tokio::test]
async fn a_user_admin_manages_the_devices_of_its_sub_users() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;

    let dev = add_otp_ok(&api, &ua.token, &sub.id, "added by admin").await;
    let code = totp_at_step(&dev.secret, settled_step().await);
    verify_otp(&api, &ua.token, &sub.id, &dev.id, &code)
        .await
        .expect_status(204);
    let got = get_device(&api, &ua.token, &sub.id, &dev.id).await;
    let list = list_devices(&api, &ua.token, &sub.id).await;
    let own = list_devices(&api, &sub.token, &sub.id).await;
    api.delete(&ua.token, &otp_device_path(&sub.id, &dev.id))
        .await
        .expect_status(204);

    assert_eq!(got["verified"], true);
    assert_eq!(list, vec![got.clone()]);
    assert_eq!(own, vec![got]);
}

#[tokio::test]
async fn other_domains_and_sub_users_get_403_on_someone_elses_devices() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let other_sub = api.new_sub_user(&ua).await;
    let stranger = api.new_user_admin().await;
    let dev = add_otp_ok(&api, &sub.token, &sub.id, "mine").await;
    let path = otp_device_path(&sub.id, &dev.id);
    let code = totp_now(&dev.secret);

    for caller in [&stranger, &other_sub] {
        let who = &caller.username;
        let add = add_otp(&api, &caller.token, &sub.id, "intruder").await;
        let list = api.get(&caller.token, &otp_devices_path(&sub.id)).await;
        let get = api.get(&caller.token, &path).await;
        let verify = verify_otp(&api, &caller.token, &sub.id, &dev.id, &code).await;
        let delete = api.delete(&caller.token, &path).await;
        for r in [add, list, get, verify, delete] {
            assert_eq!(r.code(), 403, "{who}: {} -> {}", r.request, r.text);
            assert_error_shape(&r.json, 403, "forbidden", &r.request);
        }
    }
    // a sub-user cannot touch its user-admin's devices either
    let r = add_otp(&api, &sub.token, &ua.id, "upwards").await;
    r.expect_error(403, "forbidden");
    assert_eq!(list_devices(&api, &sub.token, &sub.id).await.len(), 1);
}

#[tokio::test]
async fn unknown_users_and_devices_and_other_users_device_ids_are_404() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let sibling = api.new_sub_user(&ua).await;
    let theirs = add_otp_ok(&api, &sibling.token, &sibling.id, "sibling's").await;
    let nobody = random_id();

    add_otp(&api, &ua.token, &nobody, "x")
        .await
        .expect_error(404, "itemNotFound");
    api.get(&ua.token, &otp_devices_path(&nobody))
        .await
        .expect_error(404, "itemNotFound");
    for device_id in [random_id(), theirs.id.clone()] {
        let path = otp_device_path(&sub.id, &device_id);
        let code = totp_now(&theirs.secret);
        for r in [
            api.get(&sub.token, &path).await,
            verify_otp(&api, &sub.token, &sub.id, &device_id, &code).await,
            api.delete(&sub.token, &path).await,
            api.get(&ua.token, &path).await,
        ] {
            assert_eq!(r.code(), 404, "{} -> {}", r.request, r.text);
            assert_error_shape(&r.json, 404, "itemNotFound", &r.request);
        }
    }
    assert_eq!(
        get_device(&api, &sibling.token, &sibling.id, &theirs.id).await["verified"],
        false,
        "the sibling's device is untouched"
    );
}

// ------------------------------------------------------------------------------------------
// storage

#[tokio::test]
async fn the_table_holds_no_otp_secret_key_uri_or_raw_seed() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let verified = add_verified_otp(&api, &sub).await;
    let pending = add_otp_ok(&api, &sub.token, &sub.id, "pending").await;

    assert_text_not_stored(&api, "otpauth URI", "otpauth").await;
    for dev in [&verified, &pending] {
        assert_text_not_stored(&api, "base32 secret", &dev.secret).await;
        assert_text_not_stored(
            &api,
            "base32 secret (lower case)",
            &dev.secret.to_lowercase(),
        )
        .await;
        let seed = base32_decode(&dev.secret).unwrap();
        assert_bytes_not_stored(&api, "raw TOTP seed", &seed).await;
    }
}
