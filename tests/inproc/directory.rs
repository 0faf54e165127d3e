//! User management (§9.2) in process: the DynamoDB request budget of list-users, update-user
//! and delete-user (`docs/data-model.md`), and the operator's index backfill for users
//! written before the user indexes existed.

use crate::budget::counted;
use crate::harness::World;
use serde_json::json;
use shared::clock::Clock;
use shared::domain::{EnforcementLevel, Role};
use shared::store::{DomainPlan, DomainRec, UserRec};
use shared::{crypto, services};

/// A user of `role` in `domain` (created with it when `create`), with a full token:
/// (id, username, token).
async fn member(w: &World, role: Role, domain: &str, create: bool) -> (String, String, String) {
    let username = format!("dir{}", crypto::new_id().get(..12).unwrap());
    let user = UserRec {
        id: crypto::new_id(),
        username: username.clone(),
        email: format!("{username}@example.com"),
        enabled: true,
        domain_id: Some(domain.to_string()),
        region: "DFW".into(),
        password_hash: "x".into(),
        roles: vec![role],
        level: EnforcementLevel::Default,
        level_since: w.clock.now_ms(),
        ..UserRec::default()
    };
    let plan = if create {
        DomainPlan::Create(DomainRec {
            id: domain.to_string(),
            name: domain.to_string(),
            enabled: true,
            description: String::new(),
            level: EnforcementLevel::Optional,
            users: 1,
            revoked_non_mfa: 0,
        })
    } else {
        DomainPlan::Join {
            id: domain.to_string(),
            limit: 100,
        }
    };
    let created = w
        .app
        .store
        .create_user(&user, &username.to_ascii_lowercase(), &plan)
        .await;
    assert!(matches!(created, Ok(Ok(()))), "{created:?}");
    let (token, _) = services::tokens::issue(w.app, &user, &["PASSWORD"], false)
        .await
        .unwrap();
    (user.id, username, token)
}

#[tokio::test]
async fn user_management_costs_the_requests_the_data_model_states() {
    let (w, requests) = counted().await;
    let domain = format!("9{}", crypto::random_digits(11));
    let (_, _, ua_token) = member(&w, Role::UserAdmin, &domain, true).await;
    let (sub, sub_name, _) = member(&w, Role::Default, &domain, false).await;
    let auth = [("x-auth-token", ua_token.as_str())];
    let ops = shared::ops::directory::list_users;
    requests.take();

    w.call("list-users", ops, "GET", "/v2.0/users", &auth, None)
        .await
        .expect(200);
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "Query"],
        "list-users"
    );

    let by_name = format!("/v2.0/users?name={sub_name}");
    w.call("list-users", ops, "GET", &by_name, &auth, None)
        .await
        .expect(200);
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "GetItem", "GetItem"],
        "list-users ?name="
    );

    let by_email = format!("/v2.0/users?email={sub_name}%40example.com");
    let found = w
        .call("list-users", ops, "GET", &by_email, &auth, None)
        .await;
    found.expect(200);
    assert_eq!(found.body["users"][0]["id"], sub.as_str());
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "Query"],
        "list-users ?email="
    );

    let domain_path = format!("/v2.0/RAX-AUTH/domains/{domain}/users");
    let listed = w
        .call(
            "list-domain-users",
            shared::ops::directory::list_domain_users,
            "GET",
            &domain_path,
            &auth,
            None,
        )
        .await;
    listed.expect(200);
    assert_eq!(listed.body["users"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "Query"],
        "list-domain-users, own domain"
    );

    let user_path = format!("/v2.0/users/{sub}");
    let update = shared::ops::users::update_user;
    w.call(
        "update-user",
        update,
        "POST",
        &user_path,
        &auth,
        Some(json!({"user": {"email": "new@example.com", "enabled": false}})),
    )
    .await
    .expect(200);
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "UpdateItem"],
        "update-user"
    );
    let renamed = format!("{sub_name}x");
    w.call(
        "update-user",
        update,
        "PUT",
        &user_path,
        &auth,
        Some(json!({"user": {"username": renamed}})),
    )
    .await
    .expect(200);
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "TransactWriteItems"],
        "update-user, rename"
    );

    w.call(
        "delete-user",
        shared::ops::users::delete_user,
        "DELETE",
        &user_path,
        &auth,
        None,
    )
    .await
    .expect(204);
    assert_eq!(
        requests.take(),
        ["GetItem", "BatchGetItem", "Query", "TransactWriteItems"],
        "delete-user"
    );
}

#[tokio::test]
async fn the_backfill_indexes_users_written_before_the_indexes() {
    let w = World::new().await;
    let domain = format!("8{}", crypto::random_digits(11));
    let (ua, _, _) = member(&w, Role::UserAdmin, &domain, true).await;
    let (sub, _, _) = member(&w, Role::Default, &domain, false).await;
    // Make them look like users written by the previous release: no index attributes.
    let config = shared::config::Config::from_env().unwrap();
    let aws = shared::app::aws_settings(&config).await;
    let raw = aws_sdk_dynamodb::Client::new(&aws);
    for id in [&ua, &sub] {
        raw.update_item()
            .table_name(&config.table_name)
            .key(
                "pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{id}")),
            )
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("USER".into()),
            )
            .update_expression("REMOVE by_domain, by_email")
            .send()
            .await
            .unwrap();
    }
    assert!(
        w.app
            .store
            .list_domain_users(&domain)
            .await
            .unwrap()
            .is_empty()
    );

    let first = w.app.store.backfill_user_indexes().await.unwrap();
    let second = w.app.store.backfill_user_indexes().await.unwrap();

    assert!(first.updated >= 2, "{first:?}");
    assert_eq!(second.missing, 0, "idempotent: {second:?}");
    let listed: Vec<String> = w
        .app
        .store
        .list_domain_users(&domain)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert!(listed.contains(&ua) && listed.contains(&sub), "{listed:?}");
    let email = format!(
        "{}@example.com",
        w.app.store.get_user(&sub).await.unwrap().unwrap().username
    );
    let by_email = w.app.store.find_users_by_email(&email).await.unwrap();
    assert_eq!(by_email.len(), 1);
}
