//! Enforcement levels (contract §4): the password-login decision table (§4.2) for every
//! user/domain level combination, domain enforcement (§2.14) and who may set it, and the
//! token revocation rules of §4.3. The test stack creates domains at
//! `NEW_DOMAIN_ENFORCEMENT_LEVEL=OPTIONAL`.

use crate::helpers::{TestApi, TestUser, assert_error_shape, random_id};
use crate::mfa_helpers::{
    MUST_SETUP, add_verified_otp_as, authenticated_by, domain_mf_path, enable_mfa, enable_otp_mfa,
    expect_challenge, mfa_admin, mfa_user_admin, put_mfa, set_domain_level, token_works,
};
use serde_json::json;

const OWN_MFA_FIRST: &str = "You must set up multi-factor authentication on your account before you can set multi-factor domain-level enforcement.";

async fn domain_level(api: &TestApi, token: &str, domain_id: &str) -> String {
    let r = api
        .get(token, &format!("/v2.0/RAX-AUTH/domains/{domain_id}"))
        .await;
    r.expect_status(200);
    r.json["RAX-AUTH:domain"]["domainMultiFactorEnforcementLevel"]
        .as_str()
        .unwrap_or_else(|| panic!("get-domain: no level in {}", r.text))
        .to_string()
}

async fn set_user_level(api: &TestApi, token: &str, user: &TestUser, level: &str) {
    put_mfa(
        api,
        token,
        &user.id,
        json!({"userMultiFactorEnforcementLevel": level}),
    )
    .await
    .expect_status(204);
}

/// The answer to a password login by a user whose MFA is off, by the decision table.
#[track_caller]
fn assert_mfa_off_login(r: &crate::helpers::ApiResponse, required: bool, what: &str) {
    if required {
        assert_eq!(r.code(), 403, "{what}: {}", r.text);
        assert_eq!(
            r.json,
            json!({"forbidden": {"code": 403, "message": MUST_SETUP}}),
            "{what}"
        );
    } else {
        assert_eq!(r.code(), 200, "{what}: {}", r.text);
        assert_eq!(authenticated_by(r), ["PASSWORD"], "{what}");
        assert!(r.json["access"]["serviceCatalog"].is_array(), "{what}");
    }
}

// ------------------------------------------------------------------------------------------
// §4.2 decision table

#[tokio::test]
async fn with_mfa_off_every_user_and_domain_level_combination_follows_the_decision_table() {
    let api = TestApi::new();
    let (admin, _) = mfa_admin(&api).await;
    for domain in ["OPTIONAL", "REQUIRED", "RACKSPACE_MANDATED"] {
        let ua = api.new_user_admin_by(&admin).await;
        let mut users = Vec::new();
        for level in ["DEFAULT", "OPTIONAL", "REQUIRED"] {
            let sub = api.new_sub_user(&ua).await;
            if level != "DEFAULT" {
                set_user_level(&api, &admin.token, &sub, level).await;
            }
            users.push((level, sub));
        }
        if domain != api.settings.new_domain_level {
            set_domain_level(&api, &admin.token, ua.domain(), domain)
                .await
                .expect_status(204);
        }
        assert_eq!(domain_level(&api, &admin.token, ua.domain()).await, domain);

        for (level, sub) in &users {
            let required = *level == "REQUIRED" || (*level == "DEFAULT" && domain != "OPTIONAL");
            let what = format!("user {level} in a {domain} domain");

            let plain = api.login(&sub.username, &sub.password).await;
            let scoped = api.login_setup_mfa(&sub.username, &sub.password).await;

            assert_mfa_off_login(&plain, required, &what);
            assert_eq!(scoped.code(), 200, "{what}, SETUP-MFA: {}", scoped.text);
            assert!(
                scoped.json["access"].get("serviceCatalog").is_none(),
                "{what}: a scoped token has no serviceCatalog"
            );
            assert_eq!(
                scoped.json["access"]["token"]["RAX-AUTH:authenticatedBy"],
                json!(["PASSWORD"])
            );
        }
    }
}

#[tokio::test]
async fn with_mfa_on_a_login_is_challenged_whatever_the_levels_and_the_scope_is_400() {
    let api = TestApi::new();
    let (admin, _) = mfa_admin(&api).await;
    let ua = api.new_user_admin_by(&admin).await;
    let relaxed = api.new_sub_user(&ua).await; // DEFAULT in an OPTIONAL domain
    let strict = api.new_sub_user(&ua).await;
    set_user_level(&api, &admin.token, &strict, "REQUIRED").await;
    for sub in [&relaxed, &strict] {
        add_verified_otp_as(&api, &admin.token, &sub.id).await;
        enable_mfa(&api, &admin.token, &sub.id).await;
    }

    for sub in [&relaxed, &strict] {
        expect_challenge(&api.login(&sub.username, &sub.password).await);
        api.login_setup_mfa(&sub.username, &sub.password)
            .await
            .expect_error(400, "badRequest");
    }
}

// ------------------------------------------------------------------------------------------
// domain enforcement by a user-admin

#[tokio::test]
async fn a_user_admin_without_mfa_cannot_set_domain_enforcement() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;

    let r = set_domain_level(&api, &ua.token, ua.domain(), "REQUIRED").await;

    r.expect_error_message(403, "forbidden", OWN_MFA_FIRST);
    assert_eq!(
        domain_level(&api, &ua.token, ua.domain()).await,
        api.settings.new_domain_level
    );
}

#[tokio::test]
async fn domain_required_revokes_default_users_password_tokens_but_not_optional_or_mfa_ones() {
    let api = TestApi::new();
    let (ua, _) = mfa_user_admin(&api).await;
    let default_user = api.new_sub_user(&ua).await;
    let mut optional_user = api.new_sub_user(&ua).await;
    set_user_level(&api, &ua.token, &optional_user, "OPTIONAL").await;
    optional_user.token = api
        .login_token(&optional_user.username, &optional_user.password)
        .await;
    let mut mfa_user = api.new_sub_user(&ua).await;
    enable_otp_mfa(&api, &mut mfa_user).await;

    let r = set_domain_level(&api, &ua.token, ua.domain(), "REQUIRED").await;

    r.expect_status(204).expect_empty_body();
    assert_eq!(domain_level(&api, &ua.token, ua.domain()).await, "REQUIRED");
    assert!(
        !token_works(&api, &default_user.token, &default_user.id).await,
        "a DEFAULT user's password token is revoked"
    );
    assert_mfa_off_login(
        &api.login(&default_user.username, &default_user.password)
            .await,
        true,
        "DEFAULT user in a REQUIRED domain",
    );
    assert!(
        token_works(&api, &optional_user.token, &optional_user.id).await,
        "an OPTIONAL user's token stays valid"
    );
    assert_mfa_off_login(
        &api.login(&optional_user.username, &optional_user.password)
            .await,
        false,
        "OPTIONAL user in a REQUIRED domain",
    );
    assert!(
        token_works(&api, &mfa_user.token, &mfa_user.id).await,
        "MFA tokens stay valid"
    );
    assert!(
        token_works(&api, &ua.token, &ua.id).await,
        "the caller's MFA token"
    );
}

#[tokio::test]
async fn a_user_admin_may_set_its_domain_back_to_optional() {
    let api = TestApi::new();
    let (ua, _) = mfa_user_admin(&api).await;
    let sub = api.new_sub_user(&ua).await;
    set_domain_level(&api, &ua.token, ua.domain(), "REQUIRED")
        .await
        .expect_status(204);

    set_domain_level(&api, &ua.token, ua.domain(), "OPTIONAL")
        .await
        .expect_status(204);

    assert_eq!(domain_level(&api, &ua.token, ua.domain()).await, "OPTIONAL");
    assert_mfa_off_login(
        &api.login(&sub.username, &sub.password).await,
        false,
        "back to OPTIONAL",
    );
}

#[tokio::test]
async fn only_the_domains_user_admin_or_rackspace_admins_may_set_its_level() {
    let api = TestApi::new();
    let (ua, _) = mfa_user_admin(&api).await;
    let mut um = api.new_user_manage(&ua).await;
    enable_otp_mfa(&api, &mut um).await;
    let mut sub = api.new_sub_user(&ua).await;
    enable_otp_mfa(&api, &mut sub).await;
    let (other_ua, _) = mfa_user_admin(&api).await;

    for (who, token) in [
        ("user-manage", &um.token),
        ("sub-user", &sub.token),
        ("another domain's user-admin", &other_ua.token),
    ] {
        let r = set_domain_level(&api, token, ua.domain(), "REQUIRED").await;
        assert_eq!(r.code(), 403, "{who}: {}", r.text);
        assert_error_shape(&r.json, 403, "forbidden", who);
    }
    set_domain_level(&api, &ua.token, &random_id(), "REQUIRED")
        .await
        .expect_error(404, "itemNotFound");
    assert_eq!(
        domain_level(&api, &ua.token, ua.domain()).await,
        api.settings.new_domain_level
    );
}

#[tokio::test]
async fn a_missing_or_invalid_domain_level_is_400() {
    let api = TestApi::new();
    let (ua, _) = mfa_user_admin(&api).await;
    let path = domain_mf_path(ua.domain());

    for body in [
        json!({}),
        json!({"RAX-AUTH:multiFactorDomain": {}}),
        json!({"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": "DEFAULT"}}),
        json!({"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": "SOMETIMES"}}),
        json!({"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": 1}}),
        json!({"domainMultiFactorEnforcementLevel": "REQUIRED"}),
    ] {
        let r = api.put(&ua.token, &path, &body).await;
        assert_eq!(r.code(), 400, "{body}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", &body.to_string());
    }
    assert_eq!(
        domain_level(&api, &ua.token, ua.domain()).await,
        api.settings.new_domain_level
    );
}

// ------------------------------------------------------------------------------------------
// RACKSPACE_MANDATED

#[tokio::test]
async fn rackspace_mandated_is_set_and_left_only_by_rackspace_admins() {
    let api = TestApi::new();
    let (admin, _) = mfa_admin(&api).await;
    let mut ua = api.new_user_admin_by(&admin).await;
    enable_otp_mfa(&api, &mut ua).await;

    let by_ua = set_domain_level(&api, &ua.token, ua.domain(), "RACKSPACE_MANDATED").await;
    let by_admin = set_domain_level(&api, &admin.token, ua.domain(), "RACKSPACE_MANDATED").await;

    by_ua.expect_error(403, "forbidden");
    by_admin.expect_status(204);
    assert_eq!(
        domain_level(&api, &ua.token, ua.domain()).await,
        "RACKSPACE_MANDATED"
    );
    for level in ["REQUIRED", "OPTIONAL"] {
        set_domain_level(&api, &ua.token, ua.domain(), level)
            .await
            .expect_error(403, "forbidden");
    }
    assert_eq!(
        domain_level(&api, &admin.token, ua.domain()).await,
        "RACKSPACE_MANDATED"
    );
    set_domain_level(&api, &admin.token, ua.domain(), "OPTIONAL")
        .await
        .expect_status(204);
    assert_eq!(domain_level(&api, &ua.token, ua.domain()).await, "OPTIONAL");
}

#[tokio::test]
async fn rackspace_mandated_revokes_password_tokens_like_required() {
    let api = TestApi::new();
    let (admin, _) = mfa_admin(&api).await;
    let ua = api.new_user_admin_by(&admin).await;
    let sub = api.new_sub_user(&ua).await;

    set_domain_level(&api, &admin.token, ua.domain(), "RACKSPACE_MANDATED")
        .await
        .expect_status(204);

    assert!(!token_works(&api, &sub.token, &sub.id).await);
    assert!(
        !token_works(&api, &ua.token, &ua.id).await,
        "the user-admin's too"
    );
    assert_mfa_off_login(
        &api.login(&sub.username, &sub.password).await,
        true,
        "DEFAULT in RACKSPACE_MANDATED",
    );
}

// ------------------------------------------------------------------------------------------
// user level and §4.3

#[tokio::test]
async fn user_level_required_revokes_that_users_non_mfa_tokens_and_keeps_mfa_tokens() {
    let api = TestApi::new();
    let (ua, mut sub) = {
        let ua = api.new_user_admin().await;
        let sub = api.new_sub_user(&ua).await;
        (ua, sub)
    };
    enable_otp_mfa(&api, &mut sub).await;
    let mfa_token = sub.token.clone();
    put_mfa(&api, &ua.token, &sub.id, json!({"enabled": false}))
        .await
        .expect_status(204);
    let password_token = api.login_token(&sub.username, &sub.password).await;
    let sibling = api.new_sub_user(&ua).await;

    set_user_level(&api, &ua.token, &sub, "REQUIRED").await;

    assert!(
        !token_works(&api, &password_token, &sub.id).await,
        "password token revoked"
    );
    assert!(
        token_works(&api, &mfa_token, &sub.id).await,
        "MFA token kept"
    );
    assert!(
        token_works(&api, &sibling.token, &sibling.id).await,
        "other users untouched"
    );
    assert_mfa_off_login(
        &api.login(&sub.username, &sub.password).await,
        true,
        "REQUIRED user without MFA",
    );
}

#[tokio::test]
async fn user_level_default_while_the_domain_requires_mfa_revokes_non_mfa_tokens() {
    let api = TestApi::new();
    let (ua, _) = mfa_user_admin(&api).await;
    let mut sub = api.new_sub_user(&ua).await;
    set_user_level(&api, &ua.token, &sub, "OPTIONAL").await;
    sub.token = api.login_token(&sub.username, &sub.password).await;
    set_domain_level(&api, &ua.token, ua.domain(), "REQUIRED")
        .await
        .expect_status(204);
    assert!(
        token_works(&api, &sub.token, &sub.id).await,
        "OPTIONAL kept"
    );

    set_user_level(&api, &ua.token, &sub, "DEFAULT").await;

    assert!(!token_works(&api, &sub.token, &sub.id).await);
    assert_mfa_off_login(
        &api.login(&sub.username, &sub.password).await,
        true,
        "DEFAULT in a REQUIRED domain",
    );
}

#[tokio::test]
async fn user_level_optional_revokes_nothing() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;

    set_user_level(&api, &ua.token, &sub, "OPTIONAL").await;

    assert!(token_works(&api, &sub.token, &sub.id).await);
}
