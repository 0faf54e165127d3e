//! Benchmark fixture: provisions a pool of TOTP users (and, for the passcode-only scenario,
//! open MFA sessions) straight into the table, through the same store methods and sealing
//! the functions use, so the load benchmark does not spend minutes in Argon2 creating users.
//!
//! ```text
//! bench_pool users    COUNT PREFIX   > users.tsv      # username  user_id  seed (base32)
//! bench_pool sessions < users.tsv    > sessions.tsv   # username  user_id  seed  session_id
//! ```
//!
//! Environment: what a function gets (`TABLE_NAME`, `KMS_KEY_ID`, the AWS endpoints and
//! credentials) plus `BENCH_PASSWORD` (every pool user's password; hashed once with the
//! service's Argon2id parameters). Users sit 100 to a domain, MFA on with one verified TOTP
//! device, exactly the state the API leaves after create-user, add/verify device and enable.
//! Never part of the service or of the test command.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use anyhow::{Context, bail};
use shared::app::{App, Needs, aws_settings};
use shared::clock::{Clock, SystemClock};
use shared::config::Config;
use shared::crypto;
use shared::domain::{EnforcementLevel, FactorType, Role};
use shared::services::secrets;
use shared::store::{DeviceRec, DomainPlan, DomainRec, SessionRec, UserRec};
use shared::totp::Seed;
use std::io::BufRead;
use std::sync::Arc;

const PER_DOMAIN: usize = 100;
const PARALLEL: usize = 16;

async fn app() -> anyhow::Result<&'static App> {
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    let aws = aws_settings(&config).await;
    let needs = Needs {
        sms: false,
        seal: true,
    };
    let app = App::new("bench-pool", config, &aws, needs, Box::new(SystemClock));
    Ok(Box::leak(Box::new(app)))
}

/// One domain of users: the first creates it, the rest join; each gets a verified device.
async fn domain(
    app: &'static App,
    names: Vec<String>,
    hash: Arc<String>,
) -> anyhow::Result<Vec<String>> {
    let did = format!("9{}", crypto::random_digits(11));
    let now = SystemClock.now_ms();
    let mut out = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        let user = UserRec {
            id: crypto::new_id(),
            username: name.clone(),
            email: format!("{name}@example.com"),
            enabled: true,
            domain_id: Some(did.clone()),
            region: "DFW".into(),
            password_hash: hash.as_str().to_string(),
            roles: vec![if i == 0 {
                Role::UserAdmin
            } else {
                Role::Default
            }],
            mfa_enabled: true,
            factor: Some(FactorType::Otp),
            level: EnforcementLevel::Default,
            level_since: now,
            otp_verified: 1,
            ..UserRec::default()
        };
        let plan = if i == 0 {
            DomainPlan::Create(DomainRec {
                id: did.clone(),
                name: did.clone(),
                enabled: true,
                description: "benchmark pool".into(),
                level: EnforcementLevel::Optional,
                users: 1,
                revoked_non_mfa: 0,
            })
        } else {
            DomainPlan::Join {
                id: did.clone(),
                limit: u64::MAX,
            }
        };
        if let Err(refused) = app
            .store
            .create_user(&user, &name.to_lowercase(), &plan)
            .await?
        {
            bail!("creating {name}: {refused:?}");
        }
        let seed = Seed::generate();
        let device_id = crypto::new_id();
        let sealed = secrets::seal_seed(app, &user.id, &device_id, &seed)
            .await
            .map_err(|e| anyhow::anyhow!("sealing: {e:?}"))?;
        let device = DeviceRec {
            id: device_id,
            user_id: user.id.clone(),
            name: "bench".into(),
            verified: true,
            sealed_seed: sealed,
            last_step: 0,
            fails: 0,
            last_fail: 0,
        };
        if !app.store.add_device(&device, 5).await? {
            bail!("adding the device of {name}");
        }
        out.push(format!("{name}\t{}\t{}", user.id, seed.base32().as_str()));
    }
    Ok(out)
}

async fn users(count: usize, prefix: &str) -> anyhow::Result<()> {
    let app = app().await?;
    let password = std::env::var("BENCH_PASSWORD").context("BENCH_PASSWORD is not set")?;
    let hash = Arc::new(crypto::hash_password(&password)?);
    let names: Vec<String> = (0..count).map(|i| format!("{prefix}{i:06}")).collect();
    let mut groups = names.chunks(PER_DOMAIN).map(<[String]>::to_vec);
    let mut running = tokio::task::JoinSet::new();
    let mut done = 0;
    loop {
        while running.len() < PARALLEL {
            let Some(g) = groups.next() else { break };
            running.spawn(domain(app, g, hash.clone()));
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        for line in joined?? {
            println!("{line}");
            done += 1;
        }
    }
    eprintln!("bench_pool: {done} users");
    Ok(())
}

async fn sessions() -> anyhow::Result<()> {
    let app = app().await?;
    let lines: Vec<String> = std::io::stdin().lock().lines().collect::<Result<_, _>>()?;
    let now_s = SystemClock.now_ms() / 1000;
    let mut running = tokio::task::JoinSet::new();
    let mut todo = lines.into_iter();
    let mut done = 0;
    loop {
        while running.len() < PARALLEL * 2 {
            let Some(line) = todo.next() else { break };
            running.spawn(async move {
                let mut f = line.split('\t');
                let (Some(name), Some(uid)) = (f.next(), f.next()) else {
                    bail!("bad pool line");
                };
                let session_id = format!("{uid}{}", crypto::new_secret_token());
                let rec = SessionRec {
                    hash: crypto::sha256_hex(&session_id),
                    user_id: uid.to_string(),
                    expires: now_s + app.config.session_ttl_secs,
                    passcode_hash: None,
                    mfa_epoch: 0,
                    slot: None,
                };
                app.store
                    .put_session_after_login(&rec, &name.to_lowercase())
                    .await?;
                Ok(format!("{line}\t{session_id}"))
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        println!("{}", joined??);
        done += 1;
    }
    eprintln!("bench_pool: {done} sessions");
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["users", count, prefix] => users(count.parse()?, prefix).await,
        ["sessions"] => sessions().await,
        _ => bail!("usage: bench_pool users COUNT PREFIX | bench_pool sessions < users.tsv"),
    }
}
