//! Lifetimes: PIN, MFA session (and SMS passcode), bypass codes, TOTP windows, SMS limits.

use crate::harness::World;
use serde_json::json;
use shared::totp;

#[tokio::test]
async fn a_pin_works_until_its_lifetime_ends_and_not_after() {
    let w = World::new().await;
    let u = w.user().await;
    let (phone, e164) = w.add_phone(&u).await;
    let ttl = w.app.config.pin_ttl_secs;

    w.send_pin(&u, &phone).await.expect(202);
    let pin = w.last_code(&e164, 6).await;
    w.clock.advance_secs(ttl);
    let a = w.verify_phone(&u, &phone, &pin).await;
    a.expect(400);
    assert_eq!(a.message(), "The PIN provided is either invalid or expired");

    // A new PIN, used one second before it expires.
    w.send_pin(&u, &phone).await.expect(202);
    let pin = w.last_code(&e164, 6).await;
    w.clock.advance_secs(ttl - 1);
    w.verify_phone(&u, &phone, &pin).await.expect(204);
}

#[tokio::test]
async fn sms_sends_are_limited_per_interval_and_per_hour() {
    let w = World::new().await;
    let u = w.user().await;
    let (phone, e164) = w.add_phone(&u).await;
    let interval = w.app.config.sms_min_interval_secs;

    w.send_pin(&u, &phone).await.expect(202);
    w.clock.advance_secs(interval - 1);
    let a = w.send_pin(&u, &phone).await;
    a.expect(413);
    assert_eq!(a.header("retry-after"), Some("1"));
    w.clock.advance_secs(1);
    w.send_pin(&u, &phone).await.expect(202);

    // Five in the hour window, then refused until the window ends.
    for _ in 0..3 {
        w.clock.advance_secs(interval);
        w.send_pin(&u, &phone).await.expect(202);
    }
    w.clock.advance_secs(interval);
    let a = w.send_pin(&u, &phone).await;
    a.expect(413);
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert_eq!(retry, 3_600 - 5 * interval);
    assert_eq!(w.sms_to(&e164).await.len(), 5);
    w.clock.advance_secs(retry);
    w.send_pin(&u, &phone).await.expect(202);
    assert_eq!(w.sms_to(&e164).await.len(), 6);
}

#[tokio::test]
async fn an_mfa_session_works_until_its_lifetime_ends_and_not_after() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    let ttl = w.app.config.session_ttl_secs;

    let expired = w.challenge(&u).await;
    let fresh_later = {
        w.clock.advance_secs(1);
        w.challenge(&u).await
    };
    w.clock.advance_secs(ttl - 1);
    let a = w.passcode(&expired, &w.code(&seed, 0)).await;
    a.expect(401);
    assert_eq!(a.message(), "Invalid or expired session");
    // The session opened a second later still has a second to live.
    w.passcode(&fresh_later, &w.code(&seed, 0))
        .await
        .expect(200);
}

#[tokio::test]
async fn an_sms_passcode_dies_with_its_session() {
    let w = World::new().await;
    let u = w.user().await;
    let (phone, e164) = w.add_phone(&u).await;
    w.send_pin(&u, &phone).await.expect(202);
    let pin = w.last_code(&e164, 6).await;
    w.verify_phone(&u, &phone, &pin).await.expect(204);
    w.settings(
        &u.token,
        &u.id,
        json!({"enabled": true, "factorType": "SMS"}),
    )
    .await
    .expect(204);
    w.clock.advance_secs(w.app.config.sms_min_interval_secs);

    let session = w.challenge(&u).await;
    let passcode = w.last_code(&e164, 7).await;
    w.clock.advance_secs(w.app.config.session_ttl_secs);
    let a = w.passcode(&session, &passcode).await;
    a.expect(401);
    assert_eq!(a.message(), "Invalid or expired session");

    let session = w.challenge(&u).await;
    let passcode = w.last_code(&e164, 7).await;
    w.clock.advance_secs(w.app.config.session_ttl_secs - 1);
    let a = w.passcode(&session, &passcode).await;
    a.expect(200);
    assert_eq!(
        a.body["access"]["token"]["RAX-AUTH:authenticatedBy"],
        json!(["PASSCODE", "PASSWORD"])
    );
}

#[tokio::test]
async fn totp_codes_are_accepted_one_step_either_side_and_each_step_once() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    // One step on, so that the previous step is not the one the device was verified with.
    w.clock.advance_secs(totp::STEP_SECS);
    let session = w.challenge(&u).await;

    for off in [-2, 2] {
        let a = w.passcode(&session, &w.code(&seed, off)).await;
        a.expect(401);
        assert_eq!(a.message(), "Invalid passcode", "offset {off}");
    }
    // A failure does not consume the session; the previous step is still in the window.
    let previous = w.code(&seed, -1);
    w.passcode(&session, &previous).await.expect(200);

    // The same step again, in a new session: a replay.
    let session = w.challenge(&u).await;
    let a = w.passcode(&session, &previous).await;
    a.expect(401);
    assert_eq!(a.message(), "Invalid passcode");
    // The next step is in the window: accepted (the replay cost one failure, under the lock).
    w.passcode(&session, &w.code(&seed, 1)).await.expect(200);
}

#[tokio::test]
async fn bypass_codes_work_until_their_validity_ends_and_once() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    let session = w.challenge(&u).await;
    let a = w.passcode(&session, &w.code(&seed, 0)).await;
    a.expect(200);
    let token = a.body["access"]["token"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let codes = w.bypass_codes(&token, &u, 2, "PT2M").await;
    assert_eq!(codes.len(), 2);
    w.clock.advance_secs(119);
    let session = w.challenge(&u).await;
    let a = w.passcode(&session, &codes[0]).await;
    a.expect(200);
    assert_eq!(
        a.body["access"]["token"]["RAX-AUTH:authenticatedBy"],
        json!(["BYPASS", "PASSWORD"])
    );
    let session = w.challenge(&u).await;
    w.passcode(&session, &codes[0]).await.expect(401);
    w.clock.advance_secs(1);
    let a = w.passcode(&session, &codes[1]).await;
    a.expect(401);
    assert_eq!(a.message(), "Invalid passcode");
}

#[tokio::test]
async fn accounts_sharing_a_number_share_its_sms_limits() {
    let w = World::new().await;
    let (display, e164) = crate::harness::fresh_number();
    let (a, b) = (w.user().await, w.user().await);
    let pa = w.add_phone_number(&a, &display).await;
    let pb = w.add_phone_number(&b, &display).await;
    let interval = w.app.config.sms_min_interval_secs;

    w.send_pin(&a, &pa).await.expect(202);
    let r = w.send_pin(&b, &pb).await;
    r.expect(413);
    assert_eq!(r.header("retry-after"), Some(interval.to_string().as_str()));
    // Five per hour for the number, whichever account asks.
    for who in [(&b, &pb), (&a, &pa), (&b, &pb), (&a, &pa)] {
        w.clock.advance_secs(interval);
        w.send_pin(who.0, who.1).await.expect(202);
    }
    w.clock.advance_secs(interval);
    let r = w.send_pin(&b, &pb).await;
    r.expect(413);
    assert_eq!(
        r.header("retry-after"),
        Some((3_600 - 5 * interval).to_string().as_str())
    );
    assert_eq!(w.sms_to(&e164).await.len(), 5);
}
