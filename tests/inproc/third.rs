//! The third hardening round (contract §9.3), in process: rules about time and races, driven
//! with the controllable clock and, where two requests must interleave at an exact point, a
//! hook that runs the other request just before a given DynamoDB request goes out.

use crate::harness::{User, World, fresh_number};
use serde_json::json;
use shared::clock::Clock;

/// A user whose MFA is on with the SMS factor, on the number `display` (`e164`).
async fn sms_user(w: &World, display: &str, e164: &str) -> (User, String) {
    let mut u = w.user().await;
    let phone = w.add_phone_number(&u, display).await;
    w.send_pin(&u, &phone).await.expect(202);
    let pin = w.last_code(e164, 6).await;
    w.verify_phone(&u, &phone, &pin).await.expect(204);
    w.settings(
        &u.token,
        &u.id,
        json!({"enabled": true, "factorType": "SMS"}),
    )
    .await
    .expect(204);
    u.token = String::new();
    (u, phone)
}

#[tokio::test]
async fn a_stranger_who_spends_the_numbers_verification_allowance_cannot_block_the_owners_login() {
    let w = World::new().await;
    let (display, e164) = fresh_number();
    let (victim, _) = sms_user(&w, &display, &e164).await;
    let interval = w.app.config.sms_min_interval_secs;

    // Another account registers the same number and spends what is left of its hour.
    let stranger = w.user().await;
    let phone = w.add_phone_number(&stranger, &display).await;
    let mut sent = 1;
    loop {
        w.clock.advance_secs(interval);
        if w.send_pin(&stranger, &phone).await.status != 202 {
            break;
        }
        sent += 1;
    }
    assert_eq!(
        sent, w.app.config.sms_hourly_limit,
        "the number's allowance"
    );

    // The owner's login still gets its passcode, and again after the interval.
    for _ in 0..2 {
        w.clock.advance_secs(interval);
        let session = w.challenge(&victim).await;
        let code = w.last_code(&e164, 7).await;
        w.passcode(&session, &code).await.expect(200);
    }
}

/// A domain with a user-admin whose MFA is on, holding an MFA token.
async fn domain_with_mfa_user_admin(
    w: &World,
    level: shared::domain::EnforcementLevel,
) -> (String, User) {
    use shared::domain::{EnforcementLevel, Role};
    use shared::store::{DomainPlan, DomainRec, MfaChange, UserRec};
    let domain = format!("dom{}", &shared::crypto::new_id()[..12]);
    let username = format!("ua{}", &shared::crypto::new_id()[..12]);
    let password = format!("Pw{}9", shared::crypto::new_id());
    let user = UserRec {
        id: shared::crypto::new_id(),
        username: username.clone(),
        email: format!("{username}@example.com"),
        enabled: true,
        domain_id: Some(domain.clone()),
        region: "DFW".into(),
        password_hash: shared::crypto::hash_password(&password).unwrap(),
        roles: vec![Role::UserAdmin],
        level: EnforcementLevel::Default,
        ..UserRec::default()
    };
    let plan = DomainPlan::Create(DomainRec {
        id: domain.clone(),
        name: domain.clone(),
        enabled: true,
        description: String::new(),
        level,
        users: 1,
        revoked_non_mfa: 0,
    });
    let created = w
        .app
        .store
        .create_user(&user, &username.to_ascii_lowercase(), &plan)
        .await;
    assert!(matches!(created, Ok(Ok(()))), "{created:?}");
    let on = MfaChange {
        enabled: Some(true),
        ..MfaChange::default()
    };
    assert!(w.app.store.apply_mfa_change(&user.id, &on).await.unwrap());
    let (token, _) =
        shared::services::tokens::issue(w.app, &user, &["OTPPASSCODE", "PASSWORD"], false)
            .await
            .unwrap();
    let u = User {
        id: user.id,
        username,
        password,
        token,
    };
    (domain, u)
}

#[tokio::test]
async fn a_user_admins_optional_never_overwrites_a_concurrent_rackspace_mandated() {
    use shared::domain::EnforcementLevel;
    let (w, hook) = crate::harness::hooked().await;
    let (domain, ua) = domain_with_mfa_user_admin(&w, EnforcementLevel::Required).await;
    // Rackspace mandates MFA for the domain between the user-admin's permission check (which
    // read REQUIRED) and its write.
    let d = domain.clone();
    hook.arm(
        "UpdateItem",
        &format!("DOMAIN#{d}"),
        move |_, client, table| async move {
            use aws_sdk_dynamodb::types::AttributeValue as V;
            client
                .update_item()
                .table_name(table)
                .key("pk", V::S(format!("DOMAIN#{d}")))
                .key("sk", V::S("DOMAIN".into()))
                .update_expression("SET #l = :l")
                .expression_attribute_names("#l", "level")
                .expression_attribute_values(":l", V::S("RACKSPACE_MANDATED".into()))
                .send()
                .await
                .unwrap();
        },
    );
    let path = format!("/v2.0/RAX-AUTH/domains/{domain}/multi-factor");
    let body =
        json!({"RAX-AUTH:multiFactorDomain": {"domainMultiFactorEnforcementLevel": "OPTIONAL"}});
    let a = w
        .call(
            "update-domain-enforcement",
            shared::ops::domains::update_domain_enforcement,
            "PUT",
            &path,
            &[("x-auth-token", &ua.token)],
            Some(body),
        )
        .await;
    assert!(hook.fired());
    a.expect(403);
    let d = w.app.store.get_domain(&domain).await.unwrap().unwrap();
    assert_eq!(d.level, EnforcementLevel::RackspaceMandated);
}

#[tokio::test]
async fn a_user_level_change_never_lands_after_a_concurrent_rackspace_mandated() {
    use shared::domain::EnforcementLevel;
    let (w, hook) = crate::harness::hooked().await;
    let (domain, ua) = domain_with_mfa_user_admin(&w, EnforcementLevel::Required).await;
    let d = domain.clone();
    // The user-level write goes out after the permission check read the domain.
    hook.arm(
        "UpdateItem|TransactWriteItems",
        &format!("USER#{}", ua.id),
        move |_, client, table| async move {
            use aws_sdk_dynamodb::types::AttributeValue as V;
            client
                .update_item()
                .table_name(table)
                .key("pk", V::S(format!("DOMAIN#{d}")))
                .key("sk", V::S("DOMAIN".into()))
                .update_expression("SET #l = :l")
                .expression_attribute_names("#l", "level")
                .expression_attribute_values(":l", V::S("RACKSPACE_MANDATED".into()))
                .send()
                .await
                .unwrap();
        },
    );
    let a = w
        .settings(
            &ua.token,
            &ua.id,
            json!({"userMultiFactorEnforcementLevel": "OPTIONAL"}),
        )
        .await;
    a.expect(403);
    let user = w.app.store.get_user(&ua.id).await.unwrap().unwrap();
    assert_eq!(user.level, EnforcementLevel::Default);
}

#[tokio::test]
async fn an_api_key_success_does_not_reset_the_password_guessing_count_nor_the_other_way() {
    let w = World::new().await;
    let u = w.user().await;
    let key = w.api_key(&u).await;
    let mut bad = u.clone();
    bad.password = "Wrong-password-1".into();
    for _ in 0..9 {
        w.login(&bad).await.expect(401);
    }
    // A CLI logs in with its key: the password guesser gets no fresh tries.
    w.api_key_login(&u.username, &key).await.expect(200);
    w.login(&bad).await.expect(401);
    w.login(&u).await.expect(413);

    // And API-key failures do not throttle the password.
    let v = w.user().await;
    for _ in 0..10 {
        w.api_key_login(&v.username, "0123456789abcdef0123456789abcdef")
            .await
            .expect(401);
    }
    w.api_key_login(&v.username, &w.api_key(&v).await)
        .await
        .expect(413);
    w.login(&v).await.expect(200);
}

#[tokio::test]
async fn a_user_has_at_most_ten_open_mfa_sessions_and_a_new_one_ends_the_oldest() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    let mut sessions = Vec::new();
    for _ in 0..12 {
        sessions.push(w.challenge(&u).await);
    }
    let bundle = w.app.store.get_bundle(&u.id).await.unwrap();
    assert!(
        bundle.sessions.len() <= 10,
        "{} sessions",
        bundle.sessions.len()
    );
    for old in &sessions[..2] {
        let a = w.passcode(old, &w.code(&seed, 0)).await;
        a.expect(401);
        assert_eq!(a.message(), "Invalid or expired session");
    }
    for live in [&sessions[2], &sessions[11]] {
        w.passcode(live, &w.code(&seed, 0)).await.expect(200);
        w.clock.advance_secs(shared::totp::STEP_SECS);
    }
}

#[tokio::test]
async fn a_right_passcode_whose_user_is_locked_before_its_commit_is_refused() {
    let (w, hook) = crate::harness::hooked().await;
    let (u, seed) = w.otp_user().await;
    let session = w.challenge(&u).await;
    // Between this request's reservation and its commit, other instances reserve wrong
    // passcodes up to the threshold: the user is locked when the commit arrives.
    let (id, now, c) = (u.id.clone(), w.app.now_ms(), w.app.config.clone());
    hook.arm(
        "TransactWriteItems",
        &id.clone(),
        move |store, _, _| async move {
            for _ in 1..c.lockout_threshold {
                let r = store
                    .reserve_passcode_attempt(
                        &id,
                        now,
                        c.lockout_threshold,
                        c.lockout_secs * 1000,
                        c.lockout_cap,
                    )
                    .await
                    .unwrap();
                assert!(r.is_some());
            }
        },
    );
    let a = w.passcode(&session, &w.code(&seed, 0)).await;
    assert!(hook.fired());
    a.expect(403);
    assert_eq!(
        a.message(),
        "User is locked out of multi-factor authentication."
    );
    // The lock holds: the refused commit did not reset the count.
    let user = w.app.store.get_user(&u.id).await.unwrap().unwrap();
    assert!(
        user.fails >= w.app.config.lockout_threshold,
        "fails {}",
        user.fails
    );
}

#[tokio::test]
async fn the_deployment_sends_at_most_its_hourly_sms_cap_then_413_until_the_next_hour() {
    let w = World::with(|mut c| {
        c.sms_hourly_cap = 2;
        c
    })
    .await;
    // An hour of its own, far from the one the other tests send in.
    let hours = 24 * 365 * 50 + rand::random::<u64>() % 100_000;
    w.clock.advance_secs(hours * 3_600);
    let into_hour = w.clock.now_secs() % 3_600;
    let users = [w.user().await, w.user().await, w.user().await];
    let mut phones = Vec::new();
    for u in &users {
        phones.push(w.add_phone(u).await);
    }
    w.send_pin(&users[0], &phones[0].0).await.expect(202);
    w.send_pin(&users[1], &phones[1].0).await.expect(202);
    let a = w.send_pin(&users[2], &phones[2].0).await;
    a.expect(413);
    assert_eq!(
        a.header("retry-after"),
        Some((3_600 - into_hour).to_string().as_str())
    );
    assert!(w.sms_to(&phones[2].1).await.is_empty());
    // The refused send counted nowhere: next hour, the same user sends at once.
    w.clock.advance_secs(3_600 - into_hour);
    w.send_pin(&users[2], &phones[2].0).await.expect(202);
}
