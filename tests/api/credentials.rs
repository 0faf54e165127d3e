//! API keys and token credentials (contract §8.1, §8.2, §8.4) over the real binaries.

use crate::helpers::{ApiResponse, BAD_CREDENTIALS, TestApi, TestUser};
use crate::mfa_helpers::{
    assert_text_not_stored, authenticated_by, enable_otp_mfa, set_domain_level, token_of,
    token_works,
};
use reqwest::Method;
use serde_json::{Value, json};

fn creds_path(user_id: &str) -> String {
    format!("/v2.0/users/{user_id}/OS-KSADM/credentials")
}

fn key_path(user_id: &str) -> String {
    format!("{}/RAX-KSKEY:apiKeyCredentials", creds_path(user_id))
}

fn reset_path(user_id: &str) -> String {
    format!("{}/RAX-AUTH/reset", key_path(user_id))
}

async fn api_key_login(api: &TestApi, username: &str, key: &str) -> ApiResponse {
    let body =
        json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": key}}});
    api.request(Method::POST, "/v2.0/tokens", None, Some(&body))
        .await
}

async fn token_login(api: &TestApi, token: &str) -> ApiResponse {
    let body = json!({"auth": {"token": {"id": token}, "tenantId": "ignored"}});
    api.request(Method::POST, "/v2.0/tokens", None, Some(&body))
        .await
}

/// The key get-api-key shows (must answer 200).
async fn key_of(api: &TestApi, token: &str, user: &TestUser) -> String {
    let r = api.get(token, &key_path(&user.id)).await;
    r.expect_status(200);
    let c = &r.json["RAX-KSKEY:apiKeyCredentials"];
    assert_eq!(c["username"], json!(user.username));
    c["apiKey"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_new_user_has_a_32_hex_api_key_listed_among_its_credentials() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let key = key_of(&api, &ua.token, &ua).await;
    assert_eq!(key.len(), 32);
    assert!(
        key.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let r = api.get(&ua.token, &creds_path(&ua.id)).await;
    r.expect_status(200);
    assert_eq!(
        r.json,
        json!({"credentials": [{"RAX-KSKEY:apiKeyCredentials": {"username": ua.username, "apiKey": key}}]})
    );
    assert_text_not_stored(&api, "API key", &key).await;
}

#[tokio::test]
async fn credentials_follow_rule_a_and_refuse_setup_mfa_tokens() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let other = api.new_user_admin().await;
    let admin = api.new_admin().await;
    let sa = api.service_admin_token().await;
    // Allowed: self, the domain's user-admin, an admin over a user-admin, the service admin.
    for (token, user) in [
        (&sub.token, &sub),
        (&ua.token, &sub),
        (&admin.token, &ua),
        (&sa, &admin),
    ] {
        key_of(&api, token, user).await;
        api.get(token, &creds_path(&user.id))
            .await
            .expect_status(200);
    }
    // Refused: a sub-user over its user-admin, another domain's user-admin.
    for (token, user) in [(&sub.token, &ua), (&other.token, &sub)] {
        for r in [
            api.get(token, &key_path(&user.id)).await,
            api.get(token, &creds_path(&user.id)).await,
            api.post_empty(token, &reset_path(&user.id)).await,
            api.delete(token, &key_path(&user.id)).await,
        ] {
            r.expect_error(403, "forbidden");
        }
    }
    api.get(&sa, &key_path(&crate::helpers::random_id()))
        .await
        .expect_error(404, "itemNotFound");
    // Not scoped OK.
    let scoped = token_of(&api.login_setup_mfa(&sub.username, &sub.password).await);
    for r in [
        api.get(&scoped, &key_path(&sub.id)).await,
        api.get(&scoped, &creds_path(&sub.id)).await,
        api.post_empty(&scoped, &reset_path(&sub.id)).await,
        api.delete(&scoped, &key_path(&sub.id)).await,
    ] {
        r.expect_error(403, "forbidden");
    }
}

#[tokio::test]
async fn an_api_key_logs_in_with_apikey_and_a_reset_retires_the_old_key_but_not_tokens() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let old = key_of(&api, &sub.token, &sub).await;
    let r = api_key_login(&api, &sub.username, &old).await;
    r.expect_status(200);
    assert_eq!(authenticated_by(&r), ["APIKEY"]);
    let old_token = token_of(&r);
    assert!(token_works(&api, &old_token, &sub.id).await);

    let r = api.post_empty(&ua.token, &reset_path(&sub.id)).await;
    r.expect_status(200);
    let new = r.json["RAX-KSKEY:apiKeyCredentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    assert_eq!(key_of(&api, &sub.token, &sub).await, new);
    api_key_login(&api, &sub.username, &old)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    api_key_login(&api, &sub.username, &new)
        .await
        .expect_status(200);
    assert!(
        token_works(&api, &old_token, &sub.id).await,
        "a reset revokes no token"
    );
    api_key_login(&api, "nobody-at-all", &new)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
}

#[tokio::test]
async fn a_user_admin_cannot_delete_its_own_key_but_can_delete_a_sub_users() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    api.delete(&ua.token, &key_path(&ua.id))
        .await
        .expect_error(403, "forbidden");
    let key = key_of(&api, &sub.token, &sub).await;
    api.delete(&ua.token, &key_path(&sub.id))
        .await
        .expect_status(204);
    api.get(&sub.token, &key_path(&sub.id))
        .await
        .expect_error(404, "itemNotFound");
    api.delete(&ua.token, &key_path(&sub.id))
        .await
        .expect_error(404, "itemNotFound");
    let r = api.get(&sub.token, &creds_path(&sub.id)).await;
    assert_eq!(r.json, json!({"credentials": []}));
    api_key_login(&api, &sub.username, &key)
        .await
        .expect_error(401, "unauthorized");
    // A reset gives a key again.
    api.post_empty(&ua.token, &reset_path(&sub.id))
        .await
        .expect_status(200);
    let key = key_of(&api, &sub.token, &sub).await;
    api_key_login(&api, &sub.username, &key)
        .await
        .expect_status(200);
}

#[tokio::test]
async fn api_keys_are_never_challenged_and_enabling_mfa_revokes_earlier_api_key_tokens() {
    let api = TestApi::new();
    let mut ua = api.new_user_admin().await;
    let mut sub = api.new_sub_user(&ua).await;
    let key = key_of(&api, &sub.token, &sub).await;
    let before = token_of(&api_key_login(&api, &sub.username, &key).await);
    enable_otp_mfa(&api, &mut sub).await;
    assert!(
        !token_works(&api, &before, &sub.id).await,
        "enable revokes API-key tokens"
    );
    let r = api_key_login(&api, &sub.username, &key).await;
    r.expect_status(200);
    assert_eq!(authenticated_by(&r), ["APIKEY"]);
    assert!(token_works(&api, &token_of(&r), &sub.id).await);

    // A domain that requires MFA does not refuse API keys either.
    let sub2 = api.new_sub_user(&ua).await;
    let key2 = key_of(&api, &sub2.token, &sub2).await;
    enable_otp_mfa(&api, &mut ua).await;
    set_domain_level(&api, &ua.token, ua.domain(), "REQUIRED")
        .await
        .expect_status(204);
    api.login(&sub2.username, &sub2.password)
        .await
        .expect_error(403, "forbidden");
    let r = api_key_login(&api, &sub2.username, &key2).await;
    r.expect_status(200);
    assert_eq!(authenticated_by(&r), ["APIKEY"]);
}

#[tokio::test]
async fn token_credentials_answer_the_same_token_and_tokens_carry_the_domain_as_tenant() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let r = token_login(&api, &ua.token).await;
    r.expect_status(200);
    let t = &r.json["access"]["token"];
    assert_eq!(t["id"], json!(ua.token));
    let validated = api.validate_token(&ua.token, &ua.token).await;
    assert_eq!(t["expires"], validated.json["access"]["token"]["expires"]);
    assert_eq!(t["RAX-AUTH:authenticatedBy"], json!(["PASSWORD"]));
    let domain = ua.domain().to_string();
    assert_eq!(t["tenant"], json!({"id": domain, "name": domain}));
    assert_eq!(
        validated.json["access"]["token"]["tenant"],
        json!({"id": domain, "name": domain})
    );
    // Users without a domain have no tenant.
    let sa = api.service_admin_token().await;
    let r = token_login(&api, &sa).await;
    assert_eq!(r.json["access"]["token"].get("tenant"), None::<&Value>);

    let scoped = token_of(&api.login_setup_mfa(&ua.username, &ua.password).await);
    token_login(&api, &scoped)
        .await
        .expect_error(403, "forbidden");
    let doomed = api.login_token(&ua.username, &ua.password).await;
    api.delete(&doomed, "/v2.0/tokens").await.expect_status(204);
    token_login(&api, &doomed)
        .await
        .expect_error(401, "unauthorized");
    token_login(&api, &crate::helpers::random_id())
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_missing_api_key_is_a_wrong_key_401_with_the_password_steps_message() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    for creds in [
        json!({"username": ua.username}),
        json!({"username": ua.username, "apiKey": null}),
        json!({"username": ua.username, "apiKey": ""}),
    ] {
        let body = json!({"auth": {"RAX-KSKEY:apiKeyCredentials": creds}});
        api.request(Method::POST, "/v2.0/tokens", None, Some(&body))
            .await
            .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    }
    // Another type is still a malformed body.
    let body =
        json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": ua.username, "apiKey": 7}}});
    api.request(Method::POST, "/v2.0/tokens", None, Some(&body))
        .await
        .expect_error(400, "badRequest");
}
