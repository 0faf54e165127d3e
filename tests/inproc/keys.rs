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
    assert!(std::sync::Arc::ptr_eq(&ring, &again));
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

/// A function instance over `table` whose data keys live in the table, wrapped by `kms_key`.
fn instance(aws: &aws_config::SdkConfig, table: &str, kms_key: &str) -> &'static App {
    let mut c = Config::from_env().unwrap();
    c.table_name = table.to_string();
    c.seed_keys = Vec::new();
    c.kms_key_id = Some(kms_key.to_string());
    let needs = Needs {
        sms: false,
        seal: true,
    };
    // A function that seals (seal::KEY_CREATORS): any instance that meets the new version.
    Box::leak(Box::new(App::new(
        "add-otp-device",
        c,
        aws,
        needs,
        Box::new(SystemClock),
    )))
}

/// `identity-manage rotate-key`: the next data key version, wrapped by `kms_key`.
async fn rotate(aws: &aws_config::SdkConfig, app: &App, kms_key: &str) -> u32 {
    use base64::Engine as _;
    let next = app
        .store
        .data_keys()
        .await
        .unwrap()
        .last()
        .map_or(1, |(v, _)| v + 1);
    let out = aws_sdk_kms::Client::new(aws)
        .generate_data_key_without_plaintext()
        .key_id(kms_key)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context(
            shared::seal::DATA_KEY_CONTEXT.0,
            shared::seal::DATA_KEY_CONTEXT.1,
        )
        .send()
        .await
        .unwrap();
    let wrapped =
        base64::engine::general_purpose::STANDARD.encode(out.ciphertext_blob().unwrap().as_ref());
    assert!(app.store.add_data_key(next, &wrapped).await.unwrap());
    next
}

#[tokio::test]
async fn after_a_rotation_warm_instances_open_what_new_instances_seal() {
    use shared::services::secrets;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = fresh_table(&aws).await;
    let kms = aws_sdk_kms::Client::new(&aws);
    let kms_key = kms.create_key().send().await.unwrap();
    let kms_key = kms_key.key_metadata().unwrap().key_id().to_string();

    // Warm instances, started before the rotation.
    let old: Vec<&'static App> = (0..3).map(|_| instance(&aws, &table, &kms_key)).collect();
    for a in &old {
        a.keyring().await.unwrap();
    }
    assert_eq!(rotate(&aws, old[0], &kms_key).await, 2);
    // An instance started after it seals with the new key.
    let new = instance(&aws, &table, &kms_key);
    let user = shared::crypto::new_id();
    let sealed = secrets::seal_api_key(new, &user, "0123456789abcdef0123456789abcdef")
        .await
        .unwrap();
    assert!(sealed.starts_with("v2:"), "{sealed}");
    let code = secrets::hash_code(new, "123456789", "bypass/u/s")
        .await
        .unwrap();
    assert!(code.starts_with("h2:"), "{code}");

    // The warm ones open it (sealed values) and check it (keyed hashes): a right code is right.
    let key = secrets::open_api_key(old[0], &user, &sealed).await.unwrap();
    assert_eq!(key.as_str(), "0123456789abcdef0123456789abcdef");
    assert!(
        secrets::check_code(old[1], "123456789", "bypass/u/s", &code)
            .await
            .unwrap()
    );
    assert!(
        !secrets::check_code(old[1], "123456780", "bypass/u/s", &code)
            .await
            .unwrap()
    );
    // Sixteen requests at once on a warm instance: all answer.
    let opens =
        futures::future::join_all((0..16).map(|_| secrets::open_api_key(old[2], &user, &sealed)))
            .await;
    assert!(opens.iter().all(Result::is_ok));
}
