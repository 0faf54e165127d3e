//! Identity core: users, password login, tokens, domains, roles, routing and error shapes
//! (contract §1, §2.16 without MFA, §2.17, §6).

use crate::helpers::{
    BAD_CREDENTIALS, TestApi, TestUser, assert_error_shape, is_hex32, is_iso8601_millis_z,
    random_alnum, random_id, random_password, role, seconds_until, unique_username,
};
use reqwest::Method;
use serde_json::{Value, json};

/// Role names as the login response lists them (`roles[].name`).
fn role_names(access: &Value) -> Vec<String> {
    access["user"]["roles"]
        .as_array()
        .map(|roles| {
            roles
                .iter()
                .filter_map(|r| r["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts the roles list holds `{"id": id, "name": name, "description": <string>}`.
#[track_caller]
fn assert_has_role(access: &Value, id: &str, name: &str, description: Option<&str>) {
    let roles = access["user"]["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("access.user.roles is not a list: {access}"));
    let role = roles
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("role {name} missing from {roles:?}"));
    assert_eq!(role["id"], id, "id of role {name}");
    let desc = role["description"]
        .as_str()
        .unwrap_or_else(|| panic!("role {name} has no description string: {role}"));
    if let Some(d) = description {
        assert_eq!(desc, d, "description of role {name}");
    }
}

/// Logs `user` in and returns `access`.
async fn access_of(api: &TestApi, user: &TestUser) -> Value {
    let r = api.login(&user.username, &user.password).await;
    r.expect_status(200);
    r.json["access"].clone()
}

// ------------------------------------------------------------------------------------------
// create-user

#[tokio::test]
async fn service_admin_creates_an_admin_with_location_and_the_user_body() {
    let api = TestApi::new();
    let sa = api.service_admin_token().await;
    let username = unique_username("adm");
    let password = random_password();

    let r = api
        .create_user(&sa, &username, Some(&password), json!({}))
        .await;

    r.expect_status(201);
    let user = &r.json["user"];
    let id = user["id"].as_str().unwrap_or_default();
    assert!(is_hex32(id), "user.id must be 32 lowercase hex: {}", r.text);
    assert_eq!(r.location(), api.location_of(&format!("/v2.0/users/{id}")));
    assert_eq!(user["username"], username.as_str());
    assert_eq!(user["email"], format!("{username}@example.com").as_str());
    assert_eq!(user["enabled"], true);
    assert!(user["RAX-AUTH:defaultRegion"].is_string(), "{}", r.text);
    assert!(
        user.get("OS-KSADM:password").is_none(),
        "a supplied password must not be echoed: {}",
        r.text
    );
    assert!(!r.text.contains(&password), "password leaked in {}", r.text);

    let access = api.login(&username, &password).await;
    access.expect_status(200);
    assert_has_role(&access.json["access"], role::ADMIN, "identity:admin", None);
}

#[tokio::test]
async fn admin_creates_user_admins_each_in_a_new_domain() {
    let api = TestApi::new();
    let admin = api.new_admin().await;

    let ua1 = api.new_user_admin_by(&admin).await;
    let ua2 = api.new_user_admin_by(&admin).await;

    assert_ne!(
        ua1.domain(),
        ua2.domain(),
        "each user-admin gets its own domain"
    );
    let access = access_of(&api, &ua1).await;
    assert_has_role(
        &access,
        role::USER_ADMIN,
        "identity:user-admin",
        Some("User Admin Role."),
    );
    assert_eq!(access["user"]["RAX-AUTH:domainId"], ua1.domain());
}

#[tokio::test]
async fn admin_may_choose_the_domain_id_of_a_new_user_admin() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let domain_id = format!("{}", rand::random::<u32>() as u64 + 1_000_000_000);

    let ua = api
        .new_user_by(&admin.token, "uad", json!({"RAX-AUTH:domainId": domain_id}))
        .await;

    assert_eq!(ua.domain(), domain_id);
    let d = api
        .get(&ua.token, &format!("/v2.0/RAX-AUTH/domains/{domain_id}"))
        .await;
    d.expect_status(200);
    assert_eq!(d.json["RAX-AUTH:domain"]["id"], domain_id.as_str());
}

#[tokio::test]
async fn user_admin_creates_default_users_in_its_own_domain() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;

    let sub = api.new_sub_user(&ua).await;

    assert_eq!(sub.domain(), ua.domain());
    let access = access_of(&api, &sub).await;
    assert_has_role(
        &access,
        role::DEFAULT,
        "identity:default",
        Some("Default Role."),
    );
    assert!(
        !role_names(&access)
            .iter()
            .any(|n| n == "identity:user-admin"),
        "a sub-user is not a user-admin: {access}"
    );
}

#[tokio::test]
async fn every_creator_gets_201_with_an_absolute_location() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;

    for (who, token) in [("admin", &admin.token), ("user-admin", &ua.token)] {
        let r = api
            .create_user(
                token,
                &unique_username("loc"),
                Some(&random_password()),
                json!({}),
            )
            .await;
        r.expect_status(201);
        let id = r.json["user"]["id"].as_str().unwrap_or_default();
        assert!(is_hex32(id), "{who}: {}", r.text);
        assert_eq!(
            r.location(),
            api.location_of(&format!("/v2.0/users/{id}")),
            "{who}"
        );
        for key in [
            "id",
            "username",
            "email",
            "enabled",
            "RAX-AUTH:domainId",
            "RAX-AUTH:defaultRegion",
        ] {
            assert!(
                r.json["user"].get(key).is_some(),
                "{who}: user.{key} missing: {}",
                r.text
            );
        }
    }
}

#[tokio::test]
async fn default_users_cannot_create_users() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;

    let r = api
        .create_user(
            &sub.token,
            &unique_username("x"),
            Some(&random_password()),
            json!({}),
        )
        .await;

    r.expect_error(403, "forbidden");
}

#[tokio::test]
async fn create_user_without_a_token_is_unauthorized() {
    let api = TestApi::new();
    let body = json!({"user": {"username": unique_username("n"), "email": "n@example.com"}});

    let r = api
        .request(Method::POST, "/v2.0/users", None, Some(&body))
        .await;

    r.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn an_omitted_password_is_generated_and_returned_once() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let username = unique_username("gen");

    let r = api.create_user(&ua.token, &username, None, json!({})).await;

    r.expect_status(201);
    let password = r.json["user"]["OS-KSADM:password"]
        .as_str()
        .unwrap_or_else(|| panic!("generated password missing: {}", r.text))
        .to_string();
    assert!(password.len() >= 8, "generated password too short");
    assert!(!password.starts_with(' '));
    let id = r.json["user"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let token = api.login_token(&username, &password).await;
    let got = api.get_user(&token, &id).await;
    got.expect_status(200);
    assert!(
        !got.text.contains(&password) && got.json["user"].get("OS-KSADM:password").is_none(),
        "the generated password is returned only once: {}",
        got.text
    );
    api.assert_not_stored("generated password", &password).await;
}

#[tokio::test]
async fn create_user_rejects_missing_and_invalid_fields() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let name = || unique_username("v");
    let cases = vec![
        (
            "no user object",
            json!({"username": name(), "email": "a@example.com"}),
        ),
        ("user is not an object", json!({"user": "x"})),
        (
            "missing username",
            json!({"user": {"email": "a@example.com"}}),
        ),
        ("missing email", json!({"user": {"username": name()}})),
        (
            "empty username",
            json!({"user": {"username": "", "email": "a@example.com"}}),
        ),
        (
            "username starts with a digit",
            json!({"user": {"username": format!("1{}", random_alnum(8)), "email": "a@example.com"}}),
        ),
        (
            "username with a space",
            json!({"user": {"username": format!("a {}", random_alnum(8)), "email": "a@example.com"}}),
        ),
        (
            "username with a bang",
            json!({"user": {"username": format!("a!{}", random_alnum(8)), "email": "a@example.com"}}),
        ),
        (
            "password shorter than 8",
            json!({"user": {"username": name(), "email": "a@example.com", "OS-KSADM:password": "Ab3-xyz"}}),
        ),
        (
            "password with a leading space",
            json!({"user": {"username": name(), "email": "a@example.com", "OS-KSADM:password": " Abcdefgh123"}}),
        ),
        (
            "body is a list",
            json!([{"user": {"username": name(), "email": "a@example.com"}}]),
        ),
    ];

    for (what, body) in cases {
        let r = api.create_user_raw(&ua.token, &body).await;
        assert_eq!(
            r.code(),
            400,
            "{what}: expected 400, got {} {}",
            r.code(),
            r.text
        );
        assert_error_shape(&r.json, 400, "badRequest", what);
    }
}

#[tokio::test]
async fn create_user_rejects_malformed_json() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let body = br#"{"user": {"username": "abc", "email": "#.to_vec();

    let r = api
        .raw(
            Method::POST,
            "/v2.0/users",
            Some(&ua.token),
            Some("application/json"),
            Some(body),
            &[],
        )
        .await;

    r.expect_error(400, "badRequest");
}

#[tokio::test]
async fn create_user_rejects_a_non_json_content_type() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let body = json!({"user": {"username": unique_username("ct"), "email": "a@example.com"}});

    for ct in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        let r = api
            .raw(
                Method::POST,
                "/v2.0/users",
                Some(&ua.token),
                Some(ct),
                Some(body.to_string().into_bytes()),
                &[],
            )
            .await;
        assert_eq!(r.code(), 415, "{ct}: {}", r.text);
        assert_error_shape(&r.json, 415, "badMediaType", ct);
    }
}

#[tokio::test]
async fn a_duplicate_username_is_a_conflict() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let username = unique_username("dup");
    api.create_user(&ua.token, &username, Some(&random_password()), json!({}))
        .await
        .expect_status(201);

    let r = api
        .create_user(&ua.token, &username, Some(&random_password()), json!({}))
        .await;

    r.expect_error(409, "conflict");
}

#[tokio::test]
async fn a_username_taken_in_another_domain_is_still_a_conflict() {
    let api = TestApi::new();
    let ua1 = api.new_user_admin().await;
    let ua2 = api.new_user_admin().await;
    let username = unique_username("dup");
    api.create_user(&ua1.token, &username, Some(&random_password()), json!({}))
        .await
        .expect_status(201);

    let r = api
        .create_user(&ua2.token, &username, Some(&random_password()), json!({}))
        .await;

    r.expect_error(409, "conflict");
}

#[tokio::test]
async fn concurrent_creates_of_one_username_yield_exactly_one_201_and_one_409() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let username = unique_username("race");
    let (p1, p2) = (random_password(), random_password());

    let (a, b) = tokio::join!(
        api.create_user(&ua.token, &username, Some(&p1), json!({})),
        api.create_user(&ua.token, &username, Some(&p2), json!({})),
    );

    let mut codes = [a.code(), b.code()];
    codes.sort_unstable();
    assert_eq!(codes, [201, 409], "a: {} / b: {}", a.text, b.text);
    let (winner_pw, loser) = if a.code() == 201 {
        (&p1, &b)
    } else {
        (&p2, &a)
    };
    assert_error_shape(&loser.json, 409, "conflict", "losing create");
    api.login(&username, winner_pw).await.expect_status(200);
}

#[tokio::test]
async fn create_user_accepts_string_booleans_and_ignores_unknown_keys() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let username = unique_username("len");
    let password = random_password();
    let body = json!({
        "user": {
            "username": username,
            "email": format!("{username}@example.com"),
            "enabled": "false",
            "OS-KSADM:password": password,
            "favouriteColour": "teal",
            "RAX-AUTH:somethingElse": {"nested": [1, 2]}
        },
        "unknownTopLevel": true
    });

    let r = api.create_user_raw(&ua.token, &body).await;

    r.expect_status(201);
    assert_eq!(
        r.json["user"]["enabled"], false,
        "output uses real booleans: {}",
        r.text
    );
    api.login(&username, &password)
        .await
        .expect_error(403, "userDisabled");
}

// ------------------------------------------------------------------------------------------
// authenticate (password, MFA off)

#[tokio::test]
async fn password_login_returns_the_access_object() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;

    let r = api.login(&ua.username, &ua.password).await;

    r.expect_status(200);
    let access = &r.json["access"];
    let token = &access["token"];
    assert!(
        token["id"].as_str().is_some_and(|t| !t.is_empty()),
        "{}",
        r.text
    );
    let expires = token["expires"].as_str().unwrap_or_default();
    assert!(
        is_iso8601_millis_z(expires),
        "expires must be UTC with ms and Z: {expires:?}"
    );
    let ttl = i64::try_from(api.settings.token_ttl_secs).unwrap_or(i64::MAX);
    let left = seconds_until(expires);
    assert!(
        (ttl - 120..=ttl + 5).contains(&left),
        "token should expire in about {ttl}s, expires in {left}s"
    );
    assert_eq!(token["RAX-AUTH:authenticatedBy"], json!(["PASSWORD"]));
    let user = &access["user"];
    assert_eq!(user["id"], ua.id.as_str());
    assert_eq!(user["name"], ua.username.as_str());
    assert_eq!(user["RAX-AUTH:domainId"], ua.domain());
    assert!(user["RAX-AUTH:defaultRegion"].is_string(), "{}", r.text);
    assert_eq!(user["RAX-AUTH:multiFactorEnabled"], false, "{}", r.text);
    let roles = user["roles"]
        .as_array()
        .unwrap_or_else(|| panic!("roles: {}", r.text));
    assert!(!roles.is_empty());
    for role in roles {
        assert!(role["id"].is_string(), "role.id must be a string: {role}");
        assert!(
            role["name"].is_string(),
            "role.name must be a string: {role}"
        );
        assert!(role["description"].is_string(), "role.description: {role}");
    }
    assert_has_role(
        access,
        role::USER_ADMIN,
        "identity:user-admin",
        Some("User Admin Role."),
    );
    assert_eq!(access["serviceCatalog"], json!([]));
    assert!(
        !r.text.contains(&ua.password),
        "password echoed in the login answer"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;

    let wrong = api.login(&ua.username, "Definitely-Not-It-42").await;
    let unknown = api
        .login(&unique_username("ghost"), &random_password())
        .await;

    wrong.expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    unknown.expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let username = unique_username("off");
    let password = random_password();
    api.create_user(
        &ua.token,
        &username,
        Some(&password),
        json!({"enabled": false}),
    )
    .await
    .expect_status(201);

    let r = api.login(&username, &password).await;

    r.expect_error(403, "userDisabled");
    // Wrong password comes first (§3.1): a disabled user with a bad password is a 401.
    api.login(&username, "Wrong-password-123")
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
}

#[tokio::test]
async fn login_rejects_malformed_bodies() {
    let api = TestApi::new();
    let cases = vec![
        (
            "no auth",
            json!({"passwordCredentials": {"username": "a", "password": "b"}}),
        ),
        ("auth is not an object", json!({"auth": "x"})),
        ("no credentials", json!({"auth": {}})),
        (
            "missing password",
            json!({"auth": {"passwordCredentials": {"username": "abc"}}}),
        ),
    ];
    for (what, body) in cases {
        let r = api
            .request(Method::POST, "/v2.0/tokens", None, Some(&body))
            .await;
        assert_eq!(r.code(), 400, "{what}: {}", r.text);
        assert_error_shape(&r.json, 400, "badRequest", what);
    }
    let r = api
        .raw(
            Method::POST,
            "/v2.0/tokens",
            None,
            Some("application/json"),
            Some(b"{\"auth\":".to_vec()),
            &[],
        )
        .await;
    r.expect_error(400, "badRequest");
    let r = api
        .raw(
            Method::POST,
            "/v2.0/tokens",
            None,
            Some("text/plain"),
            Some(b"{}".to_vec()),
            &[],
        )
        .await;
    r.expect_error(415, "badMediaType");
}

#[tokio::test]
async fn tokens_and_passwords_are_never_stored_in_plaintext() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let second_token = api.login_token(&sub.username, &sub.password).await;
    api.assert_stored("sub-user username", &sub.username).await;

    for (what, secret) in [
        ("user-admin password", &ua.password),
        ("sub-user password", &sub.password),
        ("user-admin token", &ua.token),
        ("sub-user token", &sub.token),
        ("second sub-user token", &second_token),
    ] {
        api.assert_not_stored(what, secret).await;
    }
}

// ------------------------------------------------------------------------------------------
// get-user and tokens

#[tokio::test]
async fn get_user_returns_the_user_without_mfa_state_while_mfa_is_off() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;

    for caller in [&sub.token, &ua.token] {
        let r = api.get_user(caller, &sub.id).await;
        r.expect_status(200);
        let u = &r.json["user"];
        assert_eq!(u["id"], sub.id.as_str());
        assert_eq!(u["username"], sub.username.as_str());
        assert_eq!(u["email"], sub.email.as_str());
        assert_eq!(u["enabled"], true);
        assert_eq!(u["RAX-AUTH:domainId"], ua.domain());
        assert!(u["RAX-AUTH:defaultRegion"].is_string(), "{}", r.text);
        assert_eq!(u["RAX-AUTH:multiFactorEnabled"], false, "{}", r.text);
        assert_eq!(
            u["RAX-AUTH:userMultiFactorEnforcementLevel"], "DEFAULT",
            "{}",
            r.text
        );
        assert!(u.get("RAX-AUTH:multiFactorState").is_none(), "{}", r.text);
        assert!(u.get("RAX-AUTH:factorType").is_none(), "{}", r.text);
        assert!(u.get("OS-KSADM:password").is_none(), "{}", r.text);
    }
}

#[tokio::test]
async fn missing_unknown_and_revoked_tokens_are_unauthorized() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let path = ua.user_path();

    let missing = api.request(Method::GET, &path, None, None).await;
    let unknown = api.get(&random_id(), &path).await;
    let doomed = api.login_token(&ua.username, &ua.password).await;
    api.delete(&doomed, "/v2.0/tokens").await.expect_status(204);
    let revoked = api.get(&doomed, &path).await;

    missing.expect_error(401, "unauthorized");
    unknown.expect_error(401, "unauthorized");
    revoked.expect_error(401, "unauthorized");
    api.get(&ua.token, &path).await.expect_status(200);
}

#[tokio::test]
async fn rule_a_limits_who_may_read_a_user() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;
    let other_ua = api.new_user_admin_by(&admin).await;
    let sub = api.new_sub_user(&ua).await;
    let sibling = api.new_sub_user(&ua).await;
    let sa = api.service_admin_token().await;

    // Allowed: self, user-admin over its sub-user, admin over user-admins and sub-users,
    // service-admin over admins.
    for (who, token, target) in [
        ("self", &sub.token, &sub.id),
        ("user-admin over its sub-user", &ua.token, &sub.id),
        ("admin over a user-admin", &admin.token, &ua.id),
        ("admin over a sub-user", &admin.token, &sub.id),
        ("service-admin over an admin", &sa, &admin.id),
    ] {
        let r = api.get_user(token, target).await;
        assert_eq!(r.code(), 200, "{who}: {}", r.text);
    }
    // Forbidden.
    for (who, token, target) in [
        ("sub-user over a sibling", &sub.token, &sibling.id),
        ("sub-user over its user-admin", &sub.token, &ua.id),
        (
            "user-admin over another domain's sub-user",
            &other_ua.token,
            &sub.id,
        ),
        (
            "user-admin over another user-admin",
            &other_ua.token,
            &ua.id,
        ),
        ("user-admin over an admin", &ua.token, &admin.id),
    ] {
        let r = api.get_user(token, target).await;
        assert_eq!(r.code(), 403, "{who}: {}", r.text);
        assert_error_shape(&r.json, 403, "forbidden", who);
    }
}

#[tokio::test]
async fn an_unknown_user_is_not_found_whoever_asks() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let sa = api.service_admin_token().await;

    for token in [&sa, &ua.token, &sub.token] {
        api.get_user(token, &random_id())
            .await
            .expect_error(404, "itemNotFound");
    }
}

#[tokio::test]
async fn validate_token_answers_the_owner_and_those_with_authority() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;

    for caller in [&sub.token, &ua.token] {
        let r = api.validate_token(caller, &sub.token).await;
        r.expect_status(200);
        let access = &r.json["access"];
        assert_eq!(access["token"]["id"], sub.token.as_str());
        assert!(is_iso8601_millis_z(
            access["token"]["expires"].as_str().unwrap_or_default()
        ));
        assert_eq!(
            access["token"]["RAX-AUTH:authenticatedBy"],
            json!(["PASSWORD"])
        );
        assert_eq!(access["user"]["id"], sub.id.as_str());
        assert_eq!(access["user"]["name"], sub.username.as_str());
        assert_has_role(
            access,
            role::DEFAULT,
            "identity:default",
            Some("Default Role."),
        );
        assert!(
            access.get("serviceCatalog").is_none(),
            "no serviceCatalog: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn validate_token_is_404_for_unknown_or_revoked_and_403_across_domains() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let other_ua = api.new_user_admin().await;
    let revoked = api.login_token(&ua.username, &ua.password).await;
    api.delete(&revoked, "/v2.0/tokens")
        .await
        .expect_status(204);

    api.validate_token(&ua.token, &random_id())
        .await
        .expect_error(404, "itemNotFound");
    api.validate_token(&ua.token, &revoked)
        .await
        .expect_error(404, "itemNotFound");
    api.validate_token(&other_ua.token, &ua.token)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn revoking_ones_own_token_ends_it_and_only_it() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let other = api.login_token(&ua.username, &ua.password).await;

    let r = api.delete(&ua.token, "/v2.0/tokens").await;

    r.expect_status(204).expect_empty_body();
    api.get_user(&ua.token, &ua.id)
        .await
        .expect_error(401, "unauthorized");
    api.delete(&ua.token, "/v2.0/tokens")
        .await
        .expect_error(401, "unauthorized");
    api.get_user(&other, &ua.id).await.expect_status(200);
}

#[tokio::test]
async fn revoking_a_token_by_id_needs_authority_over_its_owner() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let other_ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let sibling = api.new_sub_user(&ua).await;
    let path = format!("/v2.0/tokens/{}", sub.token);

    api.delete(&other_ua.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.delete(&sibling.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.get_user(&sub.token, &sub.id).await.expect_status(200);

    api.delete(&ua.token, &path)
        .await
        .expect_status(204)
        .expect_empty_body();
    api.get_user(&sub.token, &sub.id)
        .await
        .expect_error(401, "unauthorized");
    api.validate_token(&ua.token, &sub.token)
        .await
        .expect_error(404, "itemNotFound");
}

#[tokio::test]
async fn a_user_may_revoke_its_own_token_by_id_and_unknown_ids_are_404() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let spare = api.login_token(&ua.username, &ua.password).await;

    api.delete(&ua.token, &format!("/v2.0/tokens/{spare}"))
        .await
        .expect_status(204);
    api.get_user(&spare, &ua.id)
        .await
        .expect_error(401, "unauthorized");
    api.delete(&ua.token, &format!("/v2.0/tokens/{}", random_id()))
        .await
        .expect_error(404, "itemNotFound");
}

// ------------------------------------------------------------------------------------------
// get-domain

#[tokio::test]
async fn get_domain_answers_its_user_admin_with_the_enforcement_level() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;
    let path = format!("/v2.0/RAX-AUTH/domains/{}", ua.domain());

    let r = api.get(&ua.token, &path).await;

    r.expect_status(200);
    let d = &r.json["RAX-AUTH:domain"];
    assert_eq!(d["id"], ua.domain());
    assert!(d.get("name").is_some(), "domain.name: {}", r.text);
    assert!(
        d.get("description").is_some(),
        "domain.description: {}",
        r.text
    );
    assert_eq!(d["enabled"], true, "{}", r.text);
    assert_eq!(
        d["domainMultiFactorEnforcementLevel"],
        api.settings.new_domain_level.as_str(),
        "new domains start at NEW_DOMAIN_ENFORCEMENT_LEVEL: {}",
        r.text
    );
    let sa = api.service_admin_token().await;
    for (who, token) in [("admin", &admin.token), ("service-admin", &sa)] {
        let r = api.get(token, &path).await;
        assert_eq!(r.code(), 200, "{who}: {}", r.text);
    }
}

#[tokio::test]
async fn get_domain_is_forbidden_to_other_domains_and_sub_users_and_404_when_unknown() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let other_ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let path = format!("/v2.0/RAX-AUTH/domains/{}", ua.domain());

    api.get(&other_ua.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.get(&sub.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.get(
        &ua.token,
        &format!("/v2.0/RAX-AUTH/domains/nodomain{}", random_alnum(10)),
    )
    .await
    .expect_error(404, "itemNotFound");
}

// ------------------------------------------------------------------------------------------
// add-role-to-user

#[tokio::test]
async fn a_user_admin_can_make_a_sub_user_user_manage_who_then_creates_users() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    api.create_user(
        &sub.token,
        &unique_username("no"),
        Some(&random_password()),
        json!({}),
    )
    .await
    .expect_error(403, "forbidden");

    let r = api.add_role(&ua.token, &sub.id, role::USER_MANAGE).await;

    r.expect_status(200);
    let token = api.login_token(&sub.username, &sub.password).await;
    let manager = crate::helpers::TestUser {
        token,
        ..sub.clone()
    };
    let access = access_of(&api, &manager).await;
    assert_has_role(&access, role::USER_MANAGE, "identity:user-manage", None);
    let created = api.new_sub_user(&manager).await;
    assert_eq!(created.domain(), ua.domain());
    let created_access = access_of(&api, &created).await;
    assert_has_role(
        &created_access,
        role::DEFAULT,
        "identity:default",
        Some("Default Role."),
    );
    // A user-manage user manages sub-users of its domain (rule A.4) and may read the domain.
    api.get_user(&manager.token, &created.id)
        .await
        .expect_status(200);
    api.get(
        &manager.token,
        &format!("/v2.0/RAX-AUTH/domains/{}", ua.domain()),
    )
    .await
    .expect_status(200);
}

#[tokio::test]
async fn add_role_is_refused_on_oneself_without_authority_and_for_unknown_users() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let other_ua = api.new_user_admin().await;
    let sub = api.new_sub_user(&ua).await;
    let sibling = api.new_sub_user(&ua).await;

    api.add_role(&ua.token, &ua.id, role::USER_MANAGE)
        .await
        .expect_error(403, "forbidden");
    api.add_role(&sub.token, &sub.id, role::USER_MANAGE)
        .await
        .expect_error(403, "forbidden");
    api.add_role(&sibling.token, &sub.id, role::USER_MANAGE)
        .await
        .expect_error(403, "forbidden");
    api.add_role(&other_ua.token, &sub.id, role::USER_MANAGE)
        .await
        .expect_error(403, "forbidden");
    api.add_role(&ua.token, &random_id(), role::USER_MANAGE)
        .await
        .expect_error(404, "itemNotFound");
}

// ------------------------------------------------------------------------------------------
// Routing and error shapes

#[tokio::test]
async fn a_known_path_with_a_wrong_method_is_405_bad_method() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    let cases = [
        (Method::PUT, "/v2.0/tokens".to_string()),
        (Method::GET, "/v2.0/tokens".to_string()),
        (Method::DELETE, "/v2.0/users".to_string()),
        (Method::PATCH, ua.user_path()),
        (Method::PUT, "/v2.0/users".to_string()),
        (
            Method::POST,
            format!("/v2.0/RAX-AUTH/domains/{}/users", ua.domain()),
        ),
        (Method::PUT, ua.phones_path()),
    ];
    for (method, path) in cases {
        let what = format!("{method} {path}");
        let r = api.request(method, &path, Some(&ua.token), None).await;
        assert_eq!(r.code(), 405, "{what}: {}", r.text);
        assert_error_shape(&r.json, 405, "badMethod", &what);
    }
}

#[tokio::test]
async fn an_unknown_path_is_404_item_not_found_in_json() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    for path in [
        "/v2.0/nothing-here".to_string(),
        "/v2.0/users/abc/RAX-AUTH/multifactor".to_string(),
        format!("{}/mobile-phones/x/y/z", ua.mf_path()),
    ] {
        let r = api.get(&ua.token, &path).await;
        assert_eq!(r.code(), 404, "{path}: {}", r.text);
        assert_error_shape(&r.json, 404, "itemNotFound", &path);
        assert!(
            r.header("content-type").is_some_and(|c| c.contains("json")),
            "{path}: error answers are JSON"
        );
    }
}

#[tokio::test]
async fn responses_are_json_whatever_accept_says() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;

    let r = api
        .raw(
            Method::GET,
            &ua.user_path(),
            Some(&ua.token),
            None,
            None,
            &[("Accept", "application/xml")],
        )
        .await;

    r.expect_status(200);
    assert!(r.json["user"].is_object(), "{}", r.text);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.contains("application/json"))
    );
}
