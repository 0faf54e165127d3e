//! Locks: the MFA login lock (threshold, expiry, lifetime cap, admin-free recovery) and the OTP
//! device verification lock.

use crate::harness::World;

#[tokio::test]
async fn the_login_lock_engages_at_the_threshold_and_lifts_after_its_duration() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    let lock = w.app.config.lockout_secs;
    let session = w.challenge(&u).await;
    for _ in 0..w.app.config.lockout_threshold {
        w.passcode(&session, "000000").await.expect(401);
    }
    let a = w.passcode(&session, &w.code(&seed, 0)).await;
    a.expect(403);
    assert_eq!(
        a.message(),
        "User is locked out of multi-factor authentication."
    );
    // The password step refuses too while locked.
    w.login(&u).await.expect(403);

    w.clock.advance_secs(lock - 1);
    w.passcode(&session, &w.code(&seed, 0)).await.expect(403);
    w.clock.advance_secs(1);
    let session = w.challenge(&u).await;
    w.passcode(&session, &w.code(&seed, 0)).await.expect(200);
}

#[tokio::test]
async fn after_the_lock_expires_one_more_failure_locks_again() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    let session = w.challenge(&u).await;
    for _ in 0..w.app.config.lockout_threshold {
        w.passcode(&session, "000000").await.expect(401);
    }
    w.clock.advance_secs(w.app.config.lockout_secs);
    // The count is not reset by expiry: the next failure locks at once.
    let session = w.challenge(&u).await;
    w.passcode(&session, "000000").await.expect(401);
    w.passcode(&session, &w.code(&seed, 0)).await.expect(403);
}

#[tokio::test]
async fn at_the_failure_cap_the_lock_no_longer_expires() {
    let w = World::with(|mut c| {
        c.lockout_cap = 5;
        c
    })
    .await;
    let (u, _) = w.otp_user().await;
    let session = w.challenge(&u).await;
    for _ in 0..3 {
        w.passcode(&session, "000000").await.expect(401);
    }
    for _ in 0..2 {
        w.clock.advance_secs(w.app.config.lockout_secs);
        let session = w.challenge(&u).await;
        w.passcode(&session, "000000").await.expect(401);
    }
    // Five failures: locked for good, whatever the time (only an admin unlock ends it).
    w.clock.advance_secs(30 * 86_400);
    let a = w.login(&u).await;
    a.expect(403);
    assert_eq!(
        a.message(),
        "User is locked out of multi-factor authentication."
    );
}

#[tokio::test]
async fn otp_device_verification_locks_after_five_wrong_codes_for_its_duration() {
    let w = World::new().await;
    let u = w.user().await;
    let (id, seed) = w.add_device(&u).await;
    for _ in 0..w.app.config.otp_verify_max_failures {
        w.verify_device(&u, &id, "000000").await.expect(400);
    }
    let right = w.code(&seed, 0);
    w.verify_device(&u, &id, &right).await.expect(400);
    w.clock.advance_secs(w.app.config.otp_verify_lock_secs - 1);
    w.verify_device(&u, &id, &w.code(&seed, 0))
        .await
        .expect(400);
    w.clock.advance_secs(1);
    w.verify_device(&u, &id, &w.code(&seed, 0))
        .await
        .expect(204);
}
