//! `identity-manage`: operator commands run with the operator's own AWS credentials.
//!
//! `identity-manage bootstrap --username NAME [--email EMAIL]` creates the first
//! `identity:service-admin` directly in the table named by `TABLE_NAME`.
//!
//! `identity-manage backfill-user-index` gives users created before the user indexes
//! (`by-domain`, `by-email`, used by list-users) their index attributes; idempotent, safe
//! beside live traffic (`docs/operations.md`).
//!
//! `identity-manage rotate-key` adds a new data key (wrapped by `KMS_KEY_ID`) to the table:
//! functions seal with it from their next cold start, and still open what older keys sealed
//! (a warm instance that meets the new version reloads its keys once). The password comes from
//! `ADMIN_PASSWORD` (never from the command line, where `ps` would show it); when unset, one is
//! generated and printed once. Running it again with an existing username changes nothing.
#![allow(clippy::print_stdout)]

use anyhow::{Context, bail};
use shared::clock::{Clock, SystemClock};
use shared::crypto;
use shared::domain::{EnforcementLevel, Password, Role, Username, parse_email};
use shared::store::{CreateRefusal, DomainPlan, Store, UserRec};

fn usage() -> anyhow::Error {
    anyhow::anyhow!(
        "usage: identity-manage bootstrap --username NAME [--email EMAIL]   (password from ADMIN_PASSWORD)\n       identity-manage rotate-key   (KMS_KEY_ID, TABLE_NAME)\n       identity-manage backfill-user-index   (TABLE_NAME)"
    )
}

async fn rotate_key() -> anyhow::Result<()> {
    use base64::Engine as _;
    let table = std::env::var("TABLE_NAME").context("TABLE_NAME is not set")?;
    let kms_key = std::env::var("KMS_KEY_ID").context("KMS_KEY_ID is not set")?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let next = store.data_keys().await?.last().map_or(1, |(v, _)| v + 1);
    let out = aws_sdk_kms::Client::new(&aws)
        .generate_data_key_without_plaintext()
        .key_id(kms_key)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context(
            shared::seal::DATA_KEY_CONTEXT.0,
            shared::seal::DATA_KEY_CONTEXT.1,
        )
        .send()
        .await?;
    let blob = out
        .ciphertext_blob()
        .context("kms returned no ciphertext")?;
    let wrapped = base64::engine::general_purpose::STANDARD.encode(blob.as_ref());
    if !store.add_data_key(next, &wrapped).await? {
        bail!("data key version {next} was added concurrently; run again");
    }
    println!("data key version {next} added; functions seal with it from their next cold start");
    Ok(())
}

async fn backfill_user_index() -> anyhow::Result<()> {
    let table = std::env::var("TABLE_NAME").context("TABLE_NAME is not set")?;
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let done = store
        .backfill_user_indexes()
        .await
        .context("backfill failed")?;
    println!(
        "users without index attributes: {}; indexed: {}; changed meanwhile (indexed by their writer): {}",
        done.missing, done.updated, done.skipped
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bootstrap") => {}
        Some("rotate-key") => return rotate_key().await,
        Some("backfill-user-index") => return backfill_user_index().await,
        _ => return Err(usage()),
    }
    let mut username = None;
    let mut email = None;
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--username" => username = it.next().cloned(),
            "--email" => email = it.next().cloned(),
            _ => return Err(usage()),
        }
    }
    let username = Username::parse(&username.ok_or_else(usage)?)
        .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    let email =
        parse_email(&email.unwrap_or_else(|| format!("{}@localhost.localdomain", username.key())))
            .map_err(|e| anyhow::anyhow!(e.public_message()))?;
    let (password, generated) = match std::env::var("ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => (crypto::generate_password(), true),
    };
    let password = Password::parse(&password).map_err(|e| anyhow::anyhow!(e.public_message()))?;
    let table = std::env::var("TABLE_NAME").context("TABLE_NAME is not set")?;

    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let now = SystemClock.now_ms();
    let user = UserRec {
        id: crypto::new_id(),
        username: username.as_str().to_string(),
        email,
        enabled: true,
        domain_id: None,
        region: std::env::var("DEFAULT_REGION").unwrap_or_else(|_| "DFW".into()),
        password_hash: crypto::hash_password(password.expose())?,
        roles: vec![Role::ServiceAdmin],
        level: EnforcementLevel::Default,
        level_since: now,
        ..UserRec::default()
    };
    match store
        .create_user(&user, &username.key(), &DomainPlan::None)
        .await
        .context("bootstrap failed")?
    {
        Ok(()) => {
            println!(
                "created identity:service-admin '{}' (id {})",
                user.username, user.id
            );
            if generated {
                println!("password (shown once): {}", password.expose());
            }
            Ok(())
        }
        Err(CreateRefusal::Duplicate) => {
            println!("'{}' already exists; nothing changed", user.username);
            Ok(())
        }
        Err(other) => bail!("bootstrap failed: {other:?}"),
    }
}
