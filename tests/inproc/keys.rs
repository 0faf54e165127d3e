//! The data key is created on first need, exactly once, however many first requests race.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use shared::app::{App, Needs};
use shared::clock::SystemClock;
use shared::config::Config;

#[tokio::test]
async fn sixteen_racing_first_requests_create_one_data_key() {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = fresh_table(&aws).await;
    let kms = aws_sdk_kms::Client::new(&aws);
    let kms_key = kms.create_key().send().await.unwrap();
    let kms_key = kms_key.key_metadata().unwrap().key_id().to_string();

    // Sixteen function instances, each with its own (empty) keyring.
    let apps: Vec<&'static App> = (0..16)
        .map(|_| {
            let mut c = Config::from_env().unwrap();
            c.table_name = table.clone();
            c.seed_keys = Vec::new();
            c.kms_key_id = Some(kms_key.clone());
            let needs = Needs {
                sms: false,
                seal: true,
            };
            // A function that may create the first key (seal::KEY_CREATORS).
            &*Box::leak(Box::new(App::new(
                "create-user",
                c,
                &aws,
                needs,
                Box::new(SystemClock),
            )))
        })
        .collect();
    let rings = futures::future::join_all(apps.iter().map(|a| a.keyring())).await;
    let rings: Vec<_> = rings.into_iter().map(|r| r.unwrap()).collect();

    let stored = apps[0].store.data_keys().await.unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    // Every instance holds the same key: what one seals, any other opens.
    let sealed = rings[0].seal(b"seed", "aad").unwrap();
    for r in &rings {
        assert_eq!(r.open(&sealed, "aad").unwrap().as_slice(), b"seed");
    }
}

#[tokio::test]
async fn a_function_that_only_opens_never_creates_the_data_key() {
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = fresh_table(&aws).await;
    let kms = aws_sdk_kms::Client::new(&aws);
    let kms_key = kms.create_key().send().await.unwrap();
    let mut c = Config::from_env().unwrap();
    c.table_name = table;
    c.seed_keys = Vec::new();
    c.kms_key_id = Some(kms_key.key_metadata().unwrap().key_id().to_string());
    let needs = Needs {
        sms: false,
        seal: true,
    };
    let app: &'static App = Box::leak(Box::new(App::new(
        "get-phone",
        c,
        &aws,
        needs,
        Box::new(SystemClock),
    )));
    assert!(app.keyring().await.is_err());
    assert!(app.store.data_keys().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_keyring_load_started_at_cold_start_is_taken_over_by_the_first_request() {
    let w = crate::harness::World::new().await;
    let sealer = w.app.sealer.as_ref().expect("the world seals");
    sealer.prefetch();
    let ring = w.app.keyring().await.expect("the prefetched keyring");
    let sealed = ring.seal(b"seed bytes", "u/d").unwrap();
    // The same keyring from then on, without another load.
    let again = w.app.keyring().await.unwrap();
    assert!(std::ptr::eq(ring, again));
    assert_eq!(
        again.open(&sealed, "u/d").unwrap().as_slice(),
        b"seed bytes"
    );
}

/// A table of its own, where no data key exists yet.
async fn fresh_table(aws: &aws_config::SdkConfig) -> String {
    // A table of its own: no key exists in it yet.
    let table = format!("keys-{}", shared::crypto::new_id());
    let ddb = aws_sdk_dynamodb::Client::new(aws);
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    ddb.create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .send()
        .await
        .unwrap();
    table
}
