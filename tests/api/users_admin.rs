//! User management (contract §9.2): list-users and list-domain-users over the
//! real binaries. Lists are read from eventually consistent indexes, so positive
//! expectations on a list are polled briefly ([`list_until`]); negative ones are checked on
//! the same answer once it is complete.

use crate::helpers::{ApiResponse, TestApi, TestUser};
use crate::mfa_helpers::{enable_otp_mfa, otp_challenge, user_view, wrong_totp};
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
