//! The third hardening round (contract §9.3), in process: rules about time and races, driven
//! with the controllable clock and, where two requests must interleave at an exact point, a
//! hook that runs the other request just before a given DynamoDB request goes out.

use crate::harness::{User, World, fresh_number};
use serde_json::json;

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
