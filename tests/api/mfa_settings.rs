//! update-mfa-settings (contract §2.12) and delete-mfa (§2.15): device preconditions, factor
//! choice, token revocation on enable (§4.3), disable, unlock, the user enforcement level and
//! its limits, validation before anything is applied.

use crate::helpers::{TestApi, TestUser, assert_error_shape, random_id, role};
use crate::mfa_helpers::{
    INVALID_PASSCODE, MUST_SETUP, add_otp_ok, add_verified_otp, authenticated_by, delete_mfa,
    enable_mfa, enable_otp_mfa, enable_sms_mfa, expect_challenge, mfa_admin, mfa_user_admin,
    one_bypass_code, otp_devices_path, otp_login, put_mfa, set_domain_level, token_works,
    user_view,
};
use serde_json::json;

const NO_DEVICE: &str = "No multi-factor device on user account";
const PHONE_UNVERIFIED: &str = "Multi-factor phone on account is not verified";
const MANDATED: &str =
    "Cannot update user enforcement level when domain enforcement level set as RACKSPACE_MANDATED";

/// A fresh user-admin and one of its sub-users.
async fn owner(api: &TestApi) -> (TestUser, TestUser) {
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    (ua, sub)
}

// ------------------------------------------------------------------------------------------
// enabling

#[tokio::test]
async fn enabling_without_any_device_is_400_no_multi_factor_device() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;

    let own = put_mfa(&api, &sub.token, &sub.id, json!({"enabled": true})).await;
    let by_admin = put_mfa(&api, &ua.token, &sub.id, json!({"enabled": true})).await;
    // an unverified OTP device is no device either
    add_otp_ok(&api, &sub.token, &sub.id, "pending").await;
    let with_pending = put_mfa(&api, &sub.token, &sub.id, json!({"enabled": true})).await;

    own.expect_error_message(400, "badRequest", NO_DEVICE);
    by_admin.expect_error_message(400, "badRequest", NO_DEVICE);
    with_pending.expect_error(400, "badRequest");
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:multiFactorEnabled"],
        false
    );
}

#[tokio::test]
async fn enabling_with_an_unverified_phone_is_400_phone_not_verified() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;
    let phone = api.fresh_phone().await;
    api.add_phone_ok(&sub.token, &sub.id, &phone.display).await;

    let r = put_mfa(&api, &sub.token, &sub.id, json!({"enabled": true})).await;

    r.expect_error_message(400, "badRequest", PHONE_UNVERIFIED);
    assert!(token_works(&api, &sub.token, &sub.id).await);
}

#[tokio::test]
async fn enabling_with_a_verified_phone_turns_on_sms_mfa_in_state_active() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    api.add_verified_phone(&sub).await;
    let before = user_view(&api, &ua.token, &sub.id).await;

    let r = put_mfa(&api, &sub.token, &sub.id, json!({"enabled": true})).await;

    r.expect_status(204).expect_empty_body();
    let after = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(before["RAX-AUTH:multiFactorEnabled"], false);
    assert!(before.get("RAX-AUTH:factorType").is_none(), "{before}");
    assert!(
        before.get("RAX-AUTH:multiFactorState").is_none(),
        "{before}"
    );
    assert_eq!(after["RAX-AUTH:multiFactorEnabled"], true, "{after}");
    assert_eq!(after["RAX-AUTH:factorType"], "SMS", "{after}");
    assert_eq!(after["RAX-AUTH:multiFactorState"], "ACTIVE", "{after}");
    assert_eq!(after["RAX-AUTH:userMultiFactorEnforcementLevel"], "DEFAULT");
}

#[tokio::test]
async fn enabling_with_string_true_is_accepted() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    add_verified_otp(&api, &sub).await;

    put_mfa(&api, &ua.token, &sub.id, json!({"enabled": "true"}))
        .await
        .expect_status(204);

    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], true);
    assert_eq!(
        v["RAX-AUTH:factorType"], "OTP",
        "only a verified OTP device: OTP"
    );
}

#[tokio::test]
async fn enabling_on_oneself_revokes_every_token_of_the_user_including_the_callers() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    api.add_verified_phone(&sub).await;
    let other_token = api.login_token(&sub.username, &sub.password).await;
    let scoped = api.login_setup_mfa(&sub.username, &sub.password).await;
    scoped.expect_status(200);
    let scoped = scoped.json["access"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    enable_mfa(&api, &sub.token, &sub.id).await;

    assert!(
        !token_works(&api, &sub.token, &sub.id).await,
        "caller's own token"
    );
    assert!(
        !token_works(&api, &other_token, &sub.id).await,
        "another token"
    );
    assert!(
        !token_works(&api, &scoped, &sub.id).await,
        "SETUP-MFA token"
    );
    api.validate_token(&ua.token, &other_token)
        .await
        .expect_error(404, "itemNotFound");
    assert!(
        token_works(&api, &ua.token, &ua.id).await,
        "other users keep theirs"
    );
}

#[tokio::test]
async fn enabling_by_a_user_admin_revokes_the_sub_users_tokens_not_the_admins() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    add_verified_otp(&api, &sub).await;

    enable_mfa(&api, &ua.token, &sub.id).await;

    assert!(!token_works(&api, &sub.token, &sub.id).await);
    assert!(token_works(&api, &ua.token, &ua.id).await);
}

#[tokio::test]
async fn enabling_again_while_enabled_revokes_nothing() {
    let api = TestApi::new();
    let (_, mut sub) = owner(&api).await;
    enable_otp_mfa(&api, &mut sub).await;

    enable_mfa(&api, &sub.token, &sub.id).await;

    assert!(token_works(&api, &sub.token, &sub.id).await);
}

#[tokio::test]
async fn factor_type_otp_without_a_verified_otp_device_is_400_and_changes_nothing() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    api.add_verified_phone(&sub).await;
    add_otp_ok(&api, &sub.token, &sub.id, "unverified").await;

    let with_enable = put_mfa(
        &api,
        &ua.token,
        &sub.id,
        json!({"enabled": true, "factorType": "OTP"}),
    )
    .await;
    let alone = put_mfa(&api, &ua.token, &sub.id, json!({"factorType": "OTP"})).await;

    with_enable.expect_error(400, "badRequest");
    alone.expect_error(400, "badRequest");
    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], false);
    assert!(
        token_works(&api, &sub.token, &sub.id).await,
        "nothing revoked"
    );
}

#[tokio::test]
async fn factor_type_sms_without_a_verified_phone_is_400() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    enable_otp_mfa(&api, &mut sub).await;

    let r = put_mfa(&api, &ua.token, &sub.id, json!({"factorType": "SMS"})).await;

    r.expect_error(400, "badRequest");
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:factorType"],
        "OTP"
    );
}

#[tokio::test]
async fn switching_the_factor_from_sms_to_otp_revokes_nothing_and_changes_the_login() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    let dev = add_verified_otp(&api, &sub).await;
    let (_, phone) = enable_sms_mfa(&api, &mut sub).await;
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:factorType"],
        "SMS"
    );

    put_mfa(&api, &sub.token, &sub.id, json!({"factorType": "OTP"}))
        .await
        .expect_status(204);

    assert!(
        token_works(&api, &sub.token, &sub.id).await,
        "no revocation"
    );
    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:factorType"], "OTP");
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], true);
    let sms_before = api.sms_to(&phone.e164).await.len();
    otp_login(&api, &sub, &dev).await;
    assert_eq!(
        api.sms_to(&phone.e164).await.len(),
        sms_before,
        "no SMS for an OTP login"
    );
}

// ------------------------------------------------------------------------------------------
// disabling, unlock

#[tokio::test]
async fn disabling_revokes_nothing_and_deletes_the_bypass_codes() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let code = one_bypass_code(&api, &sub.token, &sub.id).await;

    put_mfa(&api, &sub.token, &sub.id, json!({"enabled": false}))
        .await
        .expect_status(204);

    assert!(token_works(&api, &sub.token, &sub.id).await);
    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], false, "{v}");
    let login = api.login(&sub.username, &sub.password).await;
    assert_eq!(
        authenticated_by(&login),
        ["PASSWORD"],
        "password-only login again"
    );
    // the device and the factor are kept: enabling again needs no new setup
    enable_mfa(&api, &ua.token, &sub.id).await;
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:factorType"],
        "OTP"
    );
    let session = expect_challenge(&api.login(&sub.username, &sub.password).await);
    api.login_passcode(&session, &code)
        .await
        .expect_error_message(401, "unauthorized", INVALID_PASSCODE);
    let r = api.login_passcode(&session, &dev.next_code().await).await;
    assert_eq!(authenticated_by(&r), ["OTPPASSCODE", "PASSWORD"]);
}

#[tokio::test]
async fn unlock_on_oneself_is_403_and_an_admin_may_unlock() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    enable_otp_mfa(&api, &mut sub).await;

    let own = put_mfa(&api, &sub.token, &sub.id, json!({"unlock": true})).await;
    let by_admin = put_mfa(&api, &ua.token, &sub.id, json!({"unlock": true})).await;

    own.expect_error(403, "forbidden");
    by_admin.expect_status(204);
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:multiFactorState"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn unlock_false_alone_does_nothing_and_answers_204() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    enable_otp_mfa(&api, &mut sub).await;

    let r = put_mfa(&api, &ua.token, &sub.id, json!({"unlock": false})).await;

    r.expect_status(204);
    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], true);
    assert_eq!(v["RAX-AUTH:multiFactorState"], "ACTIVE");
}

// ------------------------------------------------------------------------------------------
// user enforcement level

#[tokio::test]
async fn a_default_user_cannot_set_an_enforcement_level_and_its_user_admin_can() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;

    let own = put_mfa(
        &api,
        &sub.token,
        &sub.id,
        json!({"userMultiFactorEnforcementLevel": "OPTIONAL"}),
    )
    .await;
    let by_admin = put_mfa(
        &api,
        &ua.token,
        &sub.id,
        json!({"userMultiFactorEnforcementLevel": "OPTIONAL"}),
    )
    .await;

    own.expect_error(403, "forbidden");
    by_admin.expect_status(204);
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:userMultiFactorEnforcementLevel"],
        "OPTIONAL"
    );
}

#[tokio::test]
async fn a_user_manage_user_sets_levels_on_sub_users_but_not_on_its_user_admin() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let um = api.new_user_manage(&ua).await;

    let on_sub = put_mfa(
        &api,
        &um.token,
        &sub.id,
        json!({"userMultiFactorEnforcementLevel": "REQUIRED"}),
    )
    .await;
    let on_ua = put_mfa(
        &api,
        &um.token,
        &ua.id,
        json!({"userMultiFactorEnforcementLevel": "REQUIRED"}),
    )
    .await;

    on_sub.expect_status(204);
    on_ua.expect_error(403, "forbidden");
}

#[tokio::test]
async fn in_a_rackspace_mandated_domain_only_rackspace_admins_set_user_levels() {
    let api = TestApi::new();
    let (admin, _) = mfa_admin(&api).await;
    let mut ua = api.new_user_admin_by(&admin).await;
    enable_otp_mfa(&api, &mut ua).await;
    let sub = api.new_sub_user(&ua).await;
    set_domain_level(&api, &admin.token, ua.domain(), "RACKSPACE_MANDATED")
        .await
        .expect_status(204);
    let body = json!({"userMultiFactorEnforcementLevel": "OPTIONAL"});

    let by_ua = put_mfa(&api, &ua.token, &sub.id, body.clone()).await;
    let by_admin = put_mfa(&api, &admin.token, &sub.id, body).await;

    by_ua.expect_error_message(403, "forbidden", MANDATED);
    by_admin.expect_status(204);
    assert_eq!(
        user_view(&api, &admin.token, &sub.id).await["RAX-AUTH:userMultiFactorEnforcementLevel"],
        "OPTIONAL"
    );
    // OPTIONAL overrides even RACKSPACE_MANDATED: a password login works again
    authenticated_by(&api.login(&sub.username, &sub.password).await);
}

// ------------------------------------------------------------------------------------------
// validation

#[tokio::test]
async fn an_empty_multi_factor_object_or_a_missing_wrapper_is_400() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let path = crate::helpers::mf_path(&sub.id);

    for body in [
        json!({"RAX-AUTH:multiFactor": {}}),
        json!({}),
        json!({"enabled": true}),
        json!({"RAX-AUTH:multiFactor": {"unknownSetting": true}}),
    ] {
        let r = api.put(&ua.token, &path, &body).await;
        assert_eq!(r.code(), 400, "{body}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", &body.to_string());
    }
    api.put_empty(&ua.token, &path)
        .await
        .expect_error(400, "badRequest");
}

#[tokio::test]
async fn invalid_values_are_400_and_nothing_is_applied() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    api.add_verified_phone(&sub).await;

    let cases = [
        json!({"enabled": true, "userMultiFactorEnforcementLevel": "SOMETIMES"}),
        json!({"enabled": true, "factorType": "EMAIL"}),
        json!({"enabled": true, "unlock": "perhaps"}),
        json!({"enabled": "maybe"}),
        json!({"enabled": 1}),
        json!({"enabled": true, "userMultiFactorEnforcementLevel": "RACKSPACE_MANDATED"}),
        json!({"enabled": true, "factorType": "sms-please"}),
    ];
    for settings in cases {
        let r = put_mfa(&api, &ua.token, &sub.id, settings.clone()).await;
        assert_eq!(r.code(), 400, "{settings}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", &settings.to_string());
    }

    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], false, "{v}");
    assert_eq!(v["RAX-AUTH:userMultiFactorEnforcementLevel"], "DEFAULT");
    assert!(
        token_works(&api, &sub.token, &sub.id).await,
        "nothing revoked"
    );
}

#[tokio::test]
async fn update_settings_authorization_follows_rule_a() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let sibling = api.new_sub_user(&ua).await;
    let stranger = api.new_user_admin().await;
    add_verified_otp(&api, &sub).await;
    let body = json!({"enabled": true});

    put_mfa(&api, &sibling.token, &sub.id, body.clone())
        .await
        .expect_error(403, "forbidden");
    put_mfa(&api, &stranger.token, &sub.id, body.clone())
        .await
        .expect_error(403, "forbidden");
    put_mfa(&api, &sub.token, &ua.id, body.clone())
        .await
        .expect_error(403, "forbidden");
    put_mfa(&api, &ua.token, &random_id(), body.clone())
        .await
        .expect_error(404, "itemNotFound");
    assert!(token_works(&api, &sub.token, &sub.id).await);
}

// ------------------------------------------------------------------------------------------
// delete-mfa

#[tokio::test]
async fn delete_mfa_wipes_phone_devices_codes_and_factor_keeps_the_level_and_revokes_nothing() {
    let api = TestApi::new();
    let (ua, mut sub) = owner(&api).await;
    add_verified_otp(&api, &sub).await;
    add_otp_ok(&api, &sub.token, &sub.id, "unverified").await;
    let (_, phone) = enable_sms_mfa(&api, &mut sub).await;
    let code = one_bypass_code(&api, &ua.token, &sub.id).await;
    put_mfa(
        &api,
        &ua.token,
        &sub.id,
        json!({"userMultiFactorEnforcementLevel": "REQUIRED"}),
    )
    .await
    .expect_status(204);
    assert!(token_works(&api, &sub.token, &sub.id).await, "an MFA token");

    let first = delete_mfa(&api, &ua.token, &sub.id).await;
    let again = delete_mfa(&api, &ua.token, &sub.id).await;

    first.expect_status(204).expect_empty_body();
    again.expect_status(204);
    let v = user_view(&api, &ua.token, &sub.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], false, "{v}");
    assert!(v.get("RAX-AUTH:factorType").is_none(), "{v}");
    assert!(v.get("RAX-AUTH:multiFactorState").is_none(), "{v}");
    assert_eq!(v["RAX-AUTH:userMultiFactorEnforcementLevel"], "REQUIRED");
    let phones = api.list_phones(&ua.token, &sub.id).await;
    phones.expect_status(200);
    assert_eq!(phones.json["RAX-AUTH:mobilePhones"], json!([]));
    let devices = api.get(&ua.token, &otp_devices_path(&sub.id)).await;
    devices.expect_status(200);
    assert_eq!(devices.json["RAX-AUTH:otpDevices"], json!([]));
    assert!(
        token_works(&api, &sub.token, &sub.id).await,
        "no token revoked"
    );
    // REQUIRED and MFA off: setup needed; enabling needs a new device
    api.login(&sub.username, &sub.password)
        .await
        .expect_error_message(403, "forbidden", MUST_SETUP);
    put_mfa(&api, &ua.token, &sub.id, json!({"enabled": true}))
        .await
        .expect_error_message(400, "badRequest", NO_DEVICE);

    // the old bypass code is gone too: set up again and try it
    let dev = add_verified_otp(&api, &sub).await;
    enable_mfa(&api, &ua.token, &sub.id).await;
    let session = expect_challenge(&api.login(&sub.username, &sub.password).await);
    api.login_passcode(&session, &code)
        .await
        .expect_error_message(401, "unauthorized", INVALID_PASSCODE);
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:factorType"],
        "OTP"
    );
    otp_login(&api, &sub, &dev).await;
    // the old phone can be added again as new (it was removed, not hidden)
    api.add_phone_ok(&ua.token, &sub.id, &phone.display).await;
}

#[tokio::test]
async fn delete_mfa_on_a_user_without_mfa_is_204() {
    let api = TestApi::new();
    let (_, sub) = owner(&api).await;

    delete_mfa(&api, &sub.token, &sub.id)
        .await
        .expect_status(204);
    assert!(token_works(&api, &sub.token, &sub.id).await);
}

#[tokio::test]
async fn delete_mfa_follows_rule_l() {
    let api = TestApi::new();
    let (ua, sub) = owner(&api).await;
    let sibling = api.new_sub_user(&ua).await;
    let stranger = api.new_user_admin().await;
    let mut limited = api.new_sub_user(&ua).await;
    api.add_role(&ua.token, &limited.id, role::USER_MANAGE_LIMITED)
        .await
        .expect_status(200);
    limited.token = api.login_token(&limited.username, &limited.password).await;
    add_verified_otp(&api, &sub).await;
    enable_mfa(&api, &ua.token, &sub.id).await;

    delete_mfa(&api, &sibling.token, &sub.id)
        .await
        .expect_error(403, "forbidden");
    delete_mfa(&api, &stranger.token, &sub.id)
        .await
        .expect_error(403, "forbidden");
    delete_mfa(&api, &limited.token, &ua.id)
        .await
        .expect_error(403, "forbidden");
    delete_mfa(&api, &ua.token, &random_id())
        .await
        .expect_error(404, "itemNotFound");
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:multiFactorEnabled"],
        true
    );

    delete_mfa(&api, &limited.token, &sub.id)
        .await
        .expect_status(204);
    assert_eq!(
        user_view(&api, &ua.token, &sub.id).await["RAX-AUTH:multiFactorEnabled"],
        false
    );
}

#[tokio::test]
async fn mfa_user_admin_helper_yields_a_working_mfa_token() {
    let api = TestApi::new();
    let (ua, _) = mfa_user_admin(&api).await;
    let v = user_view(&api, &ua.token, &ua.id).await;
    assert_eq!(v["RAX-AUTH:multiFactorEnabled"], true);
    assert_eq!(v["RAX-AUTH:factorType"], "OTP");
}
