//! The per-username guessing throttle (§8.3), driven with the clock.

use crate::harness::{User, World};

async fn wrong(w: &World, u: &User) -> u16 {
    let mut bad = u.clone();
    bad.password = "Wrong-password-1".into();
    w.login(&bad).await.status
}

#[tokio::test]
async fn after_ten_failures_attempts_wait_a_doubling_back_off_even_with_the_right_password() {
    let w = World::new().await;
    let u = w.user().await;
    for _ in 0..10 {
        assert_eq!(wrong(&w, &u).await, 401);
    }
    let a = w.login(&u).await;
    a.expect(413);
    assert_eq!(a.header("retry-after"), Some("1"));
    w.clock.advance_secs(1);
    assert_eq!(wrong(&w, &u).await, 401);
    // Eleven failures: two seconds now.
    let a = w.login(&u).await;
    a.expect(413);
    assert_eq!(a.header("retry-after"), Some("2"));
    w.clock.advance_secs(2);
    // The right password, in time: a token, and the count starts again.
    w.login(&u).await.expect(200);
    for _ in 0..10 {
        assert_eq!(wrong(&w, &u).await, 401);
    }
    w.login(&u).await.expect(413);
}

#[tokio::test]
async fn the_back_off_is_capped_at_fifteen_minutes() {
    let w = World::new().await;
    let u = w.user().await;
    for _ in 0..10 {
        wrong(&w, &u).await;
    }
    for _ in 0..12 {
        w.clock.advance_secs(900);
        assert_eq!(wrong(&w, &u).await, 401);
    }
    let a = w.login(&u).await;
    a.expect(413);
    assert_eq!(a.header("retry-after"), Some("900"));
}

#[tokio::test]
async fn unknown_usernames_are_throttled_alike() {
    let w = World::new().await;
    let u = w.user().await;
    let mut ghost = u.clone();
    ghost.username = format!("{}x", u.username);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..12 {
        known.push(wrong(&w, &u).await);
        unknown.push(w.login(&ghost).await.status);
    }
    assert_eq!(known, unknown);
    assert_eq!(&known[..10], &[401; 10]);
    assert_eq!(&known[10..], &[413, 413]);
}

#[tokio::test]
async fn the_throttle_does_not_touch_the_mfa_lock() {
    let w = World::new().await;
    let (u, seed) = w.otp_user().await;
    for _ in 0..12 {
        wrong(&w, &u).await;
    }
    let user = w.app.store.get_user(&u.id).await.unwrap().unwrap();
    assert_eq!(user.fails, 0);
    w.clock.advance_secs(4);
    let session = w.challenge(&u).await;
    w.passcode(&session, &w.code(&seed, 0)).await.expect(200);
}
