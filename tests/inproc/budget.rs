//! The DynamoDB request budget of the login path (`docs/data-model.md`), counted by an SDK
//! interceptor on the function's own client: every request sent is one count.

use crate::harness::World;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use std::sync::{Arc, Mutex};

/// Records the operation of every DynamoDB request the client sends.
#[derive(Debug, Clone, Default)]
pub struct Requests(Arc<Mutex<Vec<String>>>);

impl Intercept for Requests {
    fn name(&self) -> &'static str {
        "request-counter"
    }

    // Every request sent (a retry would count again): its operation, from `X-Amz-Target`
    // (`DynamoDB_20120810.UpdateItem`).
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = ctx
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        self.0.lock().unwrap().push(target);
        Ok(())
    }
}

impl Requests {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A world whose store counts its requests.
pub async fn counted() -> (World, Requests) {
    let requests = Requests::default();
    let counter = requests.clone();
    let w = World::with_store(move |aws, table| {
        let conf = aws_sdk_dynamodb::config::Builder::from(aws)
            .interceptor(counter)
            .build();
        shared::store::Store::new(aws_sdk_dynamodb::Client::from_conf(conf), table)
    })
    .await;
    (w, requests)
}

#[tokio::test]
async fn the_passcode_step_costs_three_requests_on_success_and_two_on_a_wrong_passcode() {
    let (w, requests) = counted().await;
    let (u, seed) = w.otp_user().await;

    // The first password login gives this older-style user its API key (once); then the
    // password step is: count the attempt and find the user, read user and domain, take the
    // next session slot (at most ten open sessions, §9.3), store the session and clear the
    // count.
    w.challenge(&u).await;
    requests.take();
    let session = w.challenge(&u).await;
    let password_step = requests.take();
    assert_eq!(
        password_step,
        [
            "UpdateItem",
            "BatchGetItem",
            "UpdateItem",
            "TransactWriteItems"
        ],
        "password step"
    );

    w.passcode(&session, "000000").await.expect(401);
    let failure = requests.take();
    assert_eq!(failure, ["Query", "UpdateItem"], "failed passcode step");

    w.passcode(&session, &w.code(&seed, 0)).await.expect(200);
    let success = requests.take();
    assert_eq!(
        success,
        ["Query", "UpdateItem", "TransactWriteItems"],
        "successful passcode step"
    );
}

#[tokio::test]
async fn a_throttled_answer_costs_the_same_requests_for_a_known_and_an_unknown_username() {
    let (w, requests) = counted().await;
    let mut known = w.user().await;
    known.password = "Wrong-password-1".into();
    let mut ghost = known.clone();
    ghost.username = format!("{}x", known.username);
    for _ in 0..10 {
        w.login(&known).await.expect(401);
        w.login(&ghost).await.expect(401);
    }
    requests.take();
    w.login(&known).await.expect(413);
    let for_known = requests.take();
    w.login(&ghost).await.expect(413);
    let for_unknown = requests.take();
    assert_eq!(
        for_known, for_unknown,
        "throttled: known vs unknown username"
    );
    // And after the back-off, an evaluated wrong password costs the same too.
    w.clock.advance_secs(1);
    w.login(&known).await.expect(401);
    let for_known = requests.take();
    w.login(&ghost).await.expect(401);
    let for_unknown = requests.take();
    // (The known name reads its user where the unknown one counts on its LOGIN# item.)
    assert_eq!(
        for_known.len(),
        for_unknown.len(),
        "{for_known:?} vs {for_unknown:?}"
    );
}
