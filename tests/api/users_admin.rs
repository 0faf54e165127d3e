//! User management (contract §9.2): list-users, list-domain-users and update-user over the
//! real binaries. Lists are read from eventually consistent indexes, so positive
//! expectations on a list are polled briefly ([`list_until`]); negative ones are checked on
//! the same answer once it is complete.

use crate::helpers::{ApiResponse, BAD_CREDENTIALS, TestApi, TestUser, random_password, role};
use crate::mfa_helpers::{enable_otp_mfa, otp_challenge, token_works, user_view, wrong_totp};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn domain_users_path(domain_id: &str) -> String {
    format!("/v2.0/RAX-AUTH/domains/{domain_id}/users")
}

/// `?name=` / `?email=` with the value percent-encoded.
fn query(key: &str, value: &str) -> String {
    let enc: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/v2.0/users?{key}={enc}")
}

/// The ids in a `{"users": [...]}` answer (200 required).
#[track_caller]
fn ids(r: &ApiResponse) -> Vec<String> {
    r.expect_status(200);
    r.json["users"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: no users array in {}", r.request, r.text))
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The `users` entry for `id`.
fn entry<'a>(r: &'a ApiResponse, id: &str) -> &'a Value {
    r.json["users"]
        .as_array()
        .and_then(|a| a.iter().find(|u| u["id"] == id))
        .unwrap_or_else(|| panic!("{}: {id} not listed in {}", r.request, r.text))
}

/// GETs `path` until every id of `want` is listed (indexes are eventually consistent).
async fn list_until(api: &TestApi, token: &str, path: &str, want: &[&str]) -> ApiResponse {
    let mut last = None;
    for _ in 0..30 {
        let r = api.get(token, path).await;
        if r.code() == 200 && want.iter().all(|w| ids(&r).iter().any(|i| i == w)) {
            return r;
        }
        last = Some(r);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = last.expect("at least one answer");
    panic!(
        "{}: {want:?} never all listed; last: {} {}",
        r.request,
        r.code(),
        r.text
    );
}

async fn update(api: &TestApi, token: &str, user_id: &str, user: Value) -> ApiResponse {
    api.post(
        token,
        &format!("/v2.0/users/{user_id}"),
        &json!({ "user": user }),
    )
    .await
}

/// A user-admin's domain: the user-admin, a user-manage and a sub-user.
struct Domain {
    ua: TestUser,
    um: TestUser,
    sub: TestUser,
}

async fn domain(api: &TestApi) -> Domain {
    let ua = api.new_user_admin().await;
    let um = api.new_user_manage(&ua).await;
    let sub = api.new_sub_user(&ua).await;
    Domain { ua, um, sub }
}

// ------------------------------------------------------------------------------------------
// list-users

#[tokio::test]
async fn a_user_admin_lists_every_user_of_its_domain_with_their_mfa_status() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let other = domain(&api).await;

    let r = list_until(
        &api,
        &d.ua.token,
        "/v2.0/users",
        &[&d.ua.id, &d.um.id, &d.sub.id],
    )
    .await;

    let listed = ids(&r);
    assert_eq!(listed.len(), 3, "exactly the domain's users: {}", r.text);
    for foreign in [&other.ua.id, &other.um.id, &other.sub.id] {
        assert!(!listed.contains(foreign), "another domain's user leaked");
    }
    let sub = entry(&r, &d.sub.id);
    assert_eq!(sub["username"], d.sub.username.as_str());
    assert_eq!(sub["email"], d.sub.email.as_str());
    assert_eq!(sub["enabled"], true);
    assert_eq!(sub["RAX-AUTH:domainId"], d.ua.domain());
    assert_eq!(sub["RAX-AUTH:multiFactorEnabled"], false);
    assert_eq!(sub["RAX-AUTH:userMultiFactorEnforcementLevel"], "DEFAULT");
    assert!(sub.get("RAX-AUTH:multiFactorState").is_none(), "{sub}");
    assert_eq!(
        sub,
        &api.get_user(&d.ua.token, &d.sub.id).await.json["user"]
    );
}

#[tokio::test]
async fn a_user_manage_lists_only_the_default_users_of_its_domain() {
    let api = TestApi::new();
    let d = domain(&api).await;

    let r = list_until(&api, &d.um.token, "/v2.0/users", &[&d.um.id, &d.sub.id]).await;

    let listed = ids(&r);
    assert!(!listed.contains(&d.ua.id), "user-manage sees no user-admin");
    assert_eq!(listed.len(), 2, "{}", r.text);
}

#[tokio::test]
async fn a_default_user_lists_only_itself() {
    let api = TestApi::new();
    let d = domain(&api).await;

    let r = api.get(&d.sub.token, "/v2.0/users").await;

    assert_eq!(ids(&r), vec![d.sub.id.clone()]);
    let by_name = api.get(&d.sub.token, &query("name", &d.ua.username)).await;
    by_name.expect_error(404, "itemNotFound");
    let own = api.get(&d.sub.token, &query("name", &d.sub.username)).await;
    own.expect_status(200);
    assert_eq!(own.json["user"]["id"], d.sub.id.as_str());
}

#[tokio::test]
async fn admins_must_give_a_name_or_an_email() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;
    let sa = api.service_admin_token().await;

    api.get(&admin.token, "/v2.0/users")
        .await
        .expect_error(400, "badRequest");
    api.get(&sa, "/v2.0/users")
        .await
        .expect_error(400, "badRequest");
    let both = format!("{}&email=x%40example.com", query("name", &ua.username));
    api.get(&admin.token, &both)
        .await
        .expect_error(400, "badRequest");

    let by_name = api.get(&admin.token, &query("name", &ua.username)).await;
    by_name.expect_status(200);
    assert_eq!(by_name.json["user"]["id"], ua.id.as_str());
    assert_eq!(by_name.json["user"]["RAX-AUTH:multiFactorEnabled"], false);
    // Usernames are unique case-insensitively, and found so.
    let upper = api
        .get(&sa, &query("name", &ua.username.to_uppercase()))
        .await;
    assert_eq!(upper.json["user"]["id"], ua.id.as_str(), "{}", upper.text);
    let by_email = list_until(&api, &admin.token, &query("email", &ua.email), &[&ua.id]).await;
    assert_eq!(ids(&by_email), vec![ua.id.clone()]);
    // An admin is not under another admin's rule A: not visible.
    let peer = api.new_admin().await;
    api.get(&admin.token, &query("name", &peer.username))
        .await
        .expect_error(404, "itemNotFound");
}

#[tokio::test]
async fn a_name_nobody_visible_holds_is_404() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let other = domain(&api).await;

    for name in [
        other.sub.username.as_str(),
        other.ua.username.as_str(),
        "nobody-has-this-name-xyz",
        "1-not-a-username",
    ] {
        api.get(&d.ua.token, &query("name", name))
            .await
            .expect_error(404, "itemNotFound");
    }
    api.get(&d.um.token, &query("name", &d.ua.username))
        .await
        .expect_error(404, "itemNotFound");
    let found = api.get(&d.ua.token, &query("name", &d.sub.username)).await;
    found.expect_status(200);
    assert_eq!(
        found.json["user"],
        api.get_user(&d.ua.token, &d.sub.id).await.json["user"]
    );
}

#[tokio::test]
async fn an_email_search_never_crosses_into_another_domain() {
    let api = TestApi::new();
    let d1 = domain(&api).await;
    let d2 = domain(&api).await;
    let shared = format!("shared-{}@example.com", crate::helpers::random_alnum(10));
    let a = api
        .new_user_by(&d1.ua.token, "eml", json!({"email": shared}))
        .await;
    let b = api
        .new_user_by(&d2.ua.token, "eml", json!({"email": shared.to_uppercase()}))
        .await;
    let admin = api.new_admin().await;

    let as_admin = list_until(
        &api,
        &admin.token,
        &query("email", &shared),
        &[&a.id, &b.id],
    )
    .await;
    let as_ua1 = list_until(&api, &d1.ua.token, &query("email", &shared), &[&a.id]).await;
    let as_ua2 = list_until(&api, &d2.ua.token, &query("email", &shared), &[&b.id]).await;

    assert_eq!(ids(&as_admin).len(), 2);
    assert_eq!(ids(&as_ua1), vec![a.id.clone()]);
    assert_eq!(ids(&as_ua2), vec![b.id.clone()]);
    let none = api
        .get(&d1.ua.token, &query("email", "nobody@nowhere.example"))
        .await;
    assert!(ids(&none).is_empty());
}

#[tokio::test]
async fn a_locked_user_is_listed_as_locked_exactly_as_get_user_shows_it() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let mut sub = d.sub.clone();
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let session = otp_challenge(&api, &sub).await;
    for _ in 0..3 {
        api.login_passcode(&session, &wrong_totp(&dev.secret))
            .await
            .expect_status(401);
    }
    let shown = user_view(&api, &d.ua.token, &sub.id).await;
    assert_eq!(shown["RAX-AUTH:multiFactorState"], "LOCKED", "{shown}");

    let mut listed = Value::Null;
    for _ in 0..30 {
        let r = list_until(&api, &d.ua.token, "/v2.0/users", &[&sub.id]).await;
        listed = entry(&r, &sub.id).clone();
        if listed["RAX-AUTH:multiFactorState"] == "LOCKED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    assert_eq!(listed, shown);
    assert_eq!(listed["RAX-AUTH:multiFactorEnabled"], true);
    assert_eq!(listed["RAX-AUTH:factorType"], "OTP");
}

// ------------------------------------------------------------------------------------------
// list-domain-users

#[tokio::test]
async fn list_domain_users_follows_the_same_sight() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;
    let um = api.new_user_manage(&ua).await;
    let sub = api.new_sub_user(&ua).await;
    let other = domain(&api).await;
    let path = domain_users_path(ua.domain());

    let as_admin = list_until(&api, &admin.token, &path, &[&ua.id, &um.id, &sub.id]).await;
    let sa = api.service_admin_token().await;
    let as_sa = list_until(&api, &sa, &path, &[&ua.id, &um.id, &sub.id]).await;
    let as_ua = list_until(&api, &ua.token, &path, &[&ua.id, &um.id, &sub.id]).await;
    let as_um = list_until(&api, &um.token, &path, &[&um.id, &sub.id]).await;

    assert_eq!(ids(&as_admin).len(), 3);
    assert_eq!(ids(&as_sa).len(), 3);
    assert_eq!(ids(&as_ua).len(), 3);
    assert_eq!(ids(&as_um).len(), 2, "user-manage: default users only");
    api.get(&sub.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.get(&other.ua.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.get(&other.um.token, &path)
        .await
        .expect_error(403, "forbidden");
    api.get(&admin.token, &domain_users_path("no-such-domain-9"))
        .await
        .expect_error(404, "itemNotFound");
    api.get(&ua.token, &domain_users_path("no-such-domain-9"))
        .await
        .expect_error(404, "itemNotFound");
    api.request(Method::POST, &path, Some(&admin.token), Some(&json!({})))
        .await
        .expect_error(405, "badMethod");
}

// ------------------------------------------------------------------------------------------
// update-user

#[tokio::test]
async fn a_user_admin_updates_a_sub_users_email_and_username() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let new_name = crate::helpers::unique_username("ren");

    let r = update(
        &api,
        &d.ua.token,
        &d.sub.id,
        json!({"email": "changed@example.com", "username": new_name}),
    )
    .await;

    r.expect_status(200);
    assert_eq!(r.json["user"]["email"], "changed@example.com");
    assert_eq!(r.json["user"]["username"], new_name.as_str());
    assert_eq!(r.json, api.get_user(&d.ua.token, &d.sub.id).await.json);
    // The reservation moved: the new name logs in, the old one is free again.
    api.login_token(&new_name, &d.sub.password).await;
    api.login(&d.sub.username, &d.sub.password)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    let reuse = api
        .create_user(
            &d.ua.token,
            &d.sub.username,
            Some(&random_password()),
            json!({}),
        )
        .await;
    reuse.expect_status(201);
    // Found by the new name and email, not by the old name.
    let by_name = api.get(&d.ua.token, &query("name", &new_name)).await;
    assert_eq!(by_name.json["user"]["id"], d.sub.id.as_str());
    list_until(
        &api,
        &d.ua.token,
        &query("email", "changed@example.com"),
        &[&d.sub.id],
    )
    .await;
    // Tokens survive an email or username change.
    assert!(token_works(&api, &d.sub.token, &d.sub.id).await);
}

#[tokio::test]
async fn put_is_the_same_operation_as_post() {
    let api = TestApi::new();
    let d = domain(&api).await;

    let r = api
        .put(
            &d.ua.token,
            &d.sub.user_path(),
            &json!({"user": {"email": "via-put@example.com"}}),
        )
        .await;

    r.expect_status(200);
    assert_eq!(r.json["user"]["email"], "via-put@example.com");
    assert_eq!(r.json["user"]["RAX-AUTH:multiFactorEnabled"], false);
}

#[tokio::test]
async fn a_taken_username_is_409_whatever_its_case() {
    let api = TestApi::new();
    let d = domain(&api).await;

    let r = update(
        &api,
        &d.ua.token,
        &d.sub.id,
        json!({"username": d.um.username.to_uppercase()}),
    )
    .await;

    r.expect_error(409, "conflict");
    let still = api.get_user(&d.ua.token, &d.sub.id).await;
    assert_eq!(still.json["user"]["username"], d.sub.username.as_str());
    // Renaming to one's own name in another case is allowed (the reservation stays).
    let recased = update(
        &api,
        &d.sub.token,
        &d.sub.id,
        json!({"username": d.sub.username.to_uppercase()}),
    )
    .await;
    recased.expect_status(200);
    api.login_token(&d.sub.username, &d.sub.password).await;
}

#[tokio::test]
async fn two_renames_racing_for_one_name_have_exactly_one_winner() {
    let api = TestApi::new();
    let ua = api.new_user_admin().await;
    for _ in 0..4 {
        let a = api.new_sub_user(&ua).await;
        let b = api.new_sub_user(&ua).await;
        let name = crate::helpers::unique_username("race");

        let (ra, rb) = tokio::join!(
            update(&api, &ua.token, &a.id, json!({"username": name})),
            update(&api, &ua.token, &b.id, json!({"username": name})),
        );

        let mut codes = [ra.code(), rb.code()];
        codes.sort_unstable();
        assert_eq!(codes, [200, 409], "{} / {}", ra.text, rb.text);
        let (winner, loser) = if ra.code() == 200 { (&a, &b) } else { (&b, &a) };
        api.login_token(&name, &winner.password).await;
        let lost = api.get_user(&ua.token, &loser.id).await;
        assert_eq!(lost.json["user"]["username"], loser.username.as_str());
        api.login_token(&loser.username, &loser.password).await;
    }
}

#[tokio::test]
async fn self_may_change_email_and_password_but_never_enabled() {
    let api = TestApi::new();
    let d = domain(&api).await;

    for enabled in [json!(false), json!(true), json!("false")] {
        update(&api, &d.sub.token, &d.sub.id, json!({"enabled": enabled}))
            .await
            .expect_error(403, "forbidden");
    }
    update(&api, &d.ua.token, &d.ua.id, json!({"enabled": false}))
        .await
        .expect_error(403, "forbidden");
    let email = update(
        &api,
        &d.sub.token,
        &d.sub.id,
        json!({"email": "me@example.com"}),
    )
    .await;
    email.expect_status(200);
    assert!(token_works(&api, &d.sub.token, &d.sub.id).await);

    let new_password = random_password();
    let pw = update(
        &api,
        &d.sub.token,
        &d.sub.id,
        json!({"OS-KSADM:password": new_password}),
    )
    .await;

    pw.expect_status(200);
    assert_eq!(pw.json["user"]["email"], "me@example.com");
    assert!(
        !token_works(&api, &d.sub.token, &d.sub.id).await,
        "own token revoked"
    );
    api.login(&d.sub.username, &d.sub.password)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    api.login_token(&d.sub.username, &new_password).await;
}

#[tokio::test]
async fn a_password_change_by_an_admin_revokes_every_token_and_open_mfa_session() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let mut sub = d.sub.clone();
    let dev = enable_otp_mfa(&api, &mut sub).await;
    let mfa_token = sub.token.clone();
    let session = otp_challenge(&api, &sub).await;
    let new_password = random_password();

    update(
        &api,
        &d.ua.token,
        &sub.id,
        json!({"OS-KSADM:password": new_password}),
    )
    .await
    .expect_status(200);

    assert!(
        !token_works(&api, &mfa_token, &sub.id).await,
        "MFA token revoked"
    );
    // The session died with the change: even a right code would not count.
    api.login_passcode(&session, &wrong_totp(&dev.secret))
        .await
        .expect_error_message(401, "unauthorized", "Invalid or expired session");
    // MFA factors stay: the new password is challenged as before.
    let r = api.login(&sub.username, &new_password).await;
    r.expect_status(401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("OS-MF"))
    );
}

#[tokio::test]
async fn disabling_revokes_every_token_and_reenabling_does_not_revive_them() {
    let api = TestApi::new();
    let d = domain(&api).await;

    let off = update(&api, &d.ua.token, &d.sub.id, json!({"enabled": "false"})).await;

    off.expect_status(200);
    assert_eq!(off.json["user"]["enabled"], false);
    api.get_user(&d.sub.token, &d.sub.id)
        .await
        .expect_error(401, "unauthorized");
    api.login(&d.sub.username, &d.sub.password)
        .await
        .expect_error(403, "userDisabled");
    update(&api, &d.ua.token, &d.sub.id, json!({"enabled": true}))
        .await
        .expect_status(200);
    api.get_user(&d.sub.token, &d.sub.id)
        .await
        .expect_error(401, "unauthorized");
    let fresh = api.login_token(&d.sub.username, &d.sub.password).await;
    assert!(token_works(&api, &fresh, &d.sub.id).await);
}

#[tokio::test]
async fn user_manage_limited_may_change_email_and_enabled_only() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let mut uml = api.new_sub_user(&d.ua).await;
    api.add_role(&d.ua.token, &uml.id, role::USER_MANAGE_LIMITED)
        .await
        .expect_status(200);
    uml.token = api.login_token(&uml.username, &uml.password).await;

    update(
        &api,
        &uml.token,
        &d.sub.id,
        json!({"email": "by-uml@example.com"}),
    )
    .await
    .expect_status(200);
    update(&api, &uml.token, &d.sub.id, json!({"enabled": false}))
        .await
        .expect_status(200);
    update(&api, &uml.token, &d.sub.id, json!({"enabled": true}))
        .await
        .expect_status(200);
    update(
        &api,
        &uml.token,
        &d.sub.id,
        json!({"username": "umlrename"}),
    )
    .await
    .expect_error(403, "forbidden");
    update(
        &api,
        &uml.token,
        &d.sub.id,
        json!({"OS-KSADM:password": random_password()}),
    )
    .await
    .expect_error(403, "forbidden");
    update(
        &api,
        &uml.token,
        &d.ua.id,
        json!({"email": "x@example.com"}),
    )
    .await
    .expect_error(403, "forbidden");
}

#[tokio::test]
async fn update_user_follows_rule_a_and_the_check_order() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let other = domain(&api).await;
    let body = json!({"email": "x@example.com"});

    update(&api, &d.sub.token, &d.ua.id, body.clone())
        .await
        .expect_error(403, "forbidden");
    update(&api, &d.um.token, &d.ua.id, body.clone())
        .await
        .expect_error(403, "forbidden");
    update(&api, &other.ua.token, &d.sub.id, body.clone())
        .await
        .expect_error(403, "forbidden");
    update(
        &api,
        &d.ua.token,
        &crate::helpers::random_id(),
        body.clone(),
    )
    .await
    .expect_error(404, "itemNotFound");
    update(&api, "not-a-token", &d.sub.id, body.clone())
        .await
        .expect_error(401, "unauthorized");
    // 403 before 400: an unauthorized caller learns nothing about the body.
    update(&api, &other.ua.token, &d.sub.id, json!({"email": 5}))
        .await
        .expect_error(403, "forbidden");
    // user-manage manages default users.
    update(&api, &d.um.token, &d.sub.id, body.clone())
        .await
        .expect_status(200);
    let scoped = api.login_setup_mfa(&d.sub.username, &d.sub.password).await;
    let scoped = scoped.json["access"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    update(&api, &scoped, &d.sub.id, body)
        .await
        .expect_error(403, "forbidden");
}

#[tokio::test]
async fn bad_update_bodies_are_400_and_change_nothing() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let path = d.sub.user_path();

    for body in [
        json!({}),
        json!({"user": null}),
        json!({"user": "x"}),
        json!({"user": {}}),
        json!({"user": {"unknown": 1}}),
        json!({"user": {"email": "not-an-email"}}),
        json!({"user": {"email": 7}}),
        json!({"user": {"username": "1starts-with-a-digit"}}),
        json!({"user": {"username": "has space"}}),
        json!({"user": {"enabled": "maybe"}}),
        json!({"user": {"OS-KSADM:password": "short"}}),
        json!({"user": {"OS-KSADM:password": " leading-space-pw"}}),
        json!({"user": {"email": "ok@example.com", "OS-KSADM:password": "short"}}),
    ] {
        api.post(&d.ua.token, &path, &body)
            .await
            .expect_error(400, "badRequest");
    }
    let raw = api
        .raw(
            Method::POST,
            &path,
            Some(&d.ua.token),
            Some("text/plain"),
            Some(b"user".to_vec()),
            &[],
        )
        .await;
    raw.expect_error(415, "badMediaType");
    let unchanged = api.get_user(&d.ua.token, &d.sub.id).await;
    assert_eq!(unchanged.json["user"]["email"], d.sub.email.as_str());
    assert!(token_works(&api, &d.sub.token, &d.sub.id).await);
}

// ------------------------------------------------------------------------------------------
// delete-user

#[tokio::test]
async fn deleting_a_user_removes_everything_it_owns_and_frees_its_name() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let mut sub = d.sub.clone();
    let _dev = enable_otp_mfa(&api, &mut sub).await;
    let _session = otp_challenge(&api, &sub).await;

    api.delete(&d.ua.token, &sub.user_path())
        .await
        .expect_status(204)
        .expect_empty_body();

    api.get_user(&d.ua.token, &sub.id)
        .await
        .expect_error(404, "itemNotFound");
    api.get_user(&sub.token, &sub.id)
        .await
        .expect_error(401, "unauthorized");
    api.login(&sub.username, &sub.password)
        .await
        .expect_error_message(401, "unauthorized", BAD_CREDENTIALS);
    api.delete(&d.ua.token, &sub.user_path())
        .await
        .expect_error(404, "itemNotFound");
    let pk = format!("USER#{}", sub.id);
    let left: Vec<_> = api
        .scan_items()
        .await
        .into_iter()
        .filter(|i| i.get("pk").and_then(|v| v.as_s().ok()) == Some(&pk))
        .collect();
    assert!(
        left.is_empty(),
        "items left in the user's partition: {left:?}"
    );
    api.create_user(
        &d.ua.token,
        &sub.username,
        Some(&random_password()),
        json!({}),
    )
    .await
    .expect_status(201);
    let r = list_until(&api, &d.ua.token, "/v2.0/users", &[&d.ua.id]).await;
    assert!(!ids(&r).contains(&sub.id));
}

#[tokio::test]
async fn delete_user_follows_rule_a_never_self() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let other = domain(&api).await;
    let sub2 = api.new_sub_user(&d.ua).await;

    api.delete(&d.sub.token, &d.sub.user_path())
        .await
        .expect_error(403, "forbidden");
    api.delete(&d.sub.token, &sub2.user_path())
        .await
        .expect_error(403, "forbidden");
    api.delete(&d.um.token, &d.ua.user_path())
        .await
        .expect_error(403, "forbidden");
    api.delete(&other.ua.token, &d.sub.user_path())
        .await
        .expect_error(403, "forbidden");
    api.delete(
        &d.ua.token,
        &format!("/v2.0/users/{}", crate::helpers::random_id()),
    )
    .await
    .expect_error(404, "itemNotFound");
    api.delete(&d.um.token, &sub2.user_path())
        .await
        .expect_status(204);
    assert!(token_works(&api, &d.sub.token, &d.sub.id).await);
}

#[tokio::test]
async fn a_user_admin_is_deleted_only_as_the_last_user_of_its_domain() {
    let api = TestApi::new();
    let admin = api.new_admin().await;
    let ua = api.new_user_admin_by(&admin).await;
    let sub = api.new_sub_user(&ua).await;

    api.delete(&admin.token, &ua.user_path())
        .await
        .expect_error(403, "forbidden");
    api.delete(&ua.token, &ua.user_path())
        .await
        .expect_error(403, "forbidden");
    api.delete(&ua.token, &sub.user_path())
        .await
        .expect_status(204);
    api.delete(&admin.token, &ua.user_path())
        .await
        .expect_status(204);

    api.get_user(&admin.token, &ua.id)
        .await
        .expect_error(404, "itemNotFound");
}

#[tokio::test]
async fn an_mfa_user_changes_its_own_password_only_with_a_second_factor_token() {
    let api = TestApi::new();
    let d = domain(&api).await;
    let mut sub = d.sub.clone();
    enable_otp_mfa(&api, &mut sub).await;
    let key_path = format!(
        "{}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
        sub.user_path()
    );
    let key = api.get(&sub.token, &key_path).await;
    key.expect_status(200);
    let key = key.json["RAX-KSKEY:apiKeyCredentials"]["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let login = api
        .request(
            Method::POST,
            "/v2.0/tokens",
            None,
            Some(&json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": sub.username, "apiKey": key}}})),
        )
        .await;
    login.expect_status(200);
    let api_key_token = login.json["access"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"OS-KSADM:password": random_password()});

    update(&api, &api_key_token, &sub.id, body.clone())
        .await
        .expect_error_message(
            403,
            "forbidden",
            "Multi-factor authentication is required for this change",
        );
    update(
        &api,
        &api_key_token,
        &sub.id,
        json!({"email": "k@example.com"}),
    )
    .await
    .expect_status(200);
    update(&api, &sub.token, &sub.id, body)
        .await
        .expect_status(200);
}
