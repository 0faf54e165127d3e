//! The commands of `identity-manage`: each reads and writes through [`shared::store`] and
//! [`shared::services`] exactly as the functions do, and records the same audit events with
//! actor `cli`.

use anyhow::{Context, anyhow, bail};
use serde_json::{Value, json};
use shared::app::{App, Needs};
use shared::crypto;
use shared::domain::{EnforcementLevel, Password, Role, Username, parse_email};
use shared::services::{audit, lockout};
use shared::store::{
    CreateRefusal, DomainPlan, DomainRec, LevelSet, MfaChange, UpdateRefusal, UserChange, UserRec,
};
use shared::wire::responses::{DomainView, UserView};
use std::sync::OnceLock;

/// The actor of every audit event the CLI writes.
const ACTOR: &str = "cli";

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Output {
    /// One JSON document on stdout instead of text.
    pub(crate) json: bool,
}

impl Output {
    /// Prints `text`, or `value` as JSON.
    fn print(self, text: &str, value: &Value) {
        if self.json {
            println!(
                "{}",
                serde_json::to_string_pretty(value).unwrap_or_default()
            );
        } else {
            println!("{text}");
        }
    }

    /// Reports a failed command on stderr (JSON with `--json`).
    pub(crate) fn error(self, e: &anyhow::Error) {
        if self.json {
            eprintln!("{}", json!({"error": format!("{e:#}")}));
        } else {
            eprintln!("identity-manage: error: {e:#}");
        }
    }
}

/// Audit events go to stderr as JSON lines (stdout carries the result).
pub(crate) fn init_audit_log() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_current_span(false)
        .with_target(true)
        .with_ansi(false)
        .try_init();
}

/// The id of this run, as the `request_id` of its audit events.
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| format!("cli-{}", crypto::new_id()))
}

/// An audit event by the CLI on `target`.
fn audited(action: &'static str, target: &UserRec) {
    audit::Event::new(action, "success")
        .by(ACTOR, &target.id, target.domain_id.as_deref())
        .emit_as(run_id(), "");
}

async fn app() -> anyhow::Result<&'static App> {
    App::init("identity-manage", Needs::default())
        .await
        .map_err(|e| anyhow!("{e}"))
}

async fn find_user(app: &App, name: &str) -> anyhow::Result<UserRec> {
    let username = Username::parse(name).map_err(|e| anyhow!(e.public_message()))?;
    app.store
        .find_user_by_name(&username.key())
        .await?
        .ok_or_else(|| anyhow!("no user named '{name}'"))
}

fn user_json(app: &App, u: &UserRec) -> Value {
    let locked = lockout::is_locked(app, u);
    let mut v = serde_json::to_value(UserView::new(u, locked)).unwrap_or_default();
    if let Some(map) = v.as_object_mut() {
        let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
        map.insert("roles".into(), json!(roles));
        map.insert("locked".into(), json!(locked));
    }
    v
}

fn user_line(app: &App, u: &UserRec) -> String {
    let locked = lockout::is_locked(app, u);
    let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
    let mfa = match (u.mfa_enabled, u.factor) {
        (true, Some(f)) => format!("mfa {}", f.as_str()),
        (true, None) => "mfa on".to_string(),
        (false, _) => "mfa off".to_string(),
    };
    format!(
        "{}  {}  {}  {}  {}{}  [{}]",
        u.username,
        u.id,
        u.email,
        if u.enabled { "enabled" } else { "DISABLED" },
        mfa,
        if locked { "  LOCKED" } else { "" },
        roles.join(", ")
    )
}

fn domain_json(d: &DomainRec) -> Value {
    json!({"RAX-AUTH:domain": DomainView::from(d), "users": d.users})
}

/// `bootstrap --username NAME [--email EMAIL]`.
pub(crate) async fn bootstrap(
    out: &Output,
    username: &str,
    email: Option<String>,
) -> anyhow::Result<()> {
    let username = Username::parse(username).map_err(|e| anyhow!(e.public_message()))?;
    let email =
        parse_email(&email.unwrap_or_else(|| format!("{}@localhost.localdomain", username.key())))
            .map_err(|e| anyhow!(e.public_message()))?;
    let (password, generated) = match std::env::var("ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => (crypto::generate_password(), true),
    };
    let password = Password::parse(&password).map_err(|e| anyhow!(e.public_message()))?;
    let app = app().await?;
    let now = app.now_ms();
    let user = UserRec {
        id: crypto::new_id(),
        username: username.as_str().to_string(),
        email,
        enabled: true,
        domain_id: None,
        region: app.config.default_region.clone(),
        password_hash: crypto::hash_password(password.expose())?,
        roles: vec![Role::ServiceAdmin],
        level: EnforcementLevel::Default,
        level_since: now,
        ..UserRec::default()
    };
    match app
        .store
        .create_user(&user, &username.key(), &DomainPlan::None)
        .await
        .context("bootstrap failed")?
    {
        Ok(()) => {
            audited("user.create", &user);
            let mut text = format!(
                "created identity:service-admin '{}' (id {})",
                user.username, user.id
            );
            let mut v = json!({"created": true, "username": user.username, "id": user.id});
            if generated {
                text.push_str(&format!("\npassword (shown once): {}", password.expose()));
                v["password"] = json!(password.expose());
            }
            out.print(&text, &v);
            Ok(())
        }
        Err(CreateRefusal::Duplicate) => {
            out.print(
                &format!("'{}' already exists; nothing changed", user.username),
                &json!({"created": false, "username": user.username}),
            );
            Ok(())
        }
        Err(other) => bail!("bootstrap failed: {other:?}"),
    }
}

/// `rotate-key`.
pub(crate) async fn rotate_key(out: &Output) -> anyhow::Result<()> {
    use base64::Engine as _;
    let kms_key = std::env::var("KMS_KEY_ID").context("KMS_KEY_ID is not set")?;
    let app = app().await?;
    let aws = shared::app::aws_settings(&app.config).await;
    let next = app
        .store
        .data_keys()
        .await?
        .last()
        .map_or(1, |(v, _)| v + 1);
    let generated = aws_sdk_kms::Client::new(&aws)
        .generate_data_key_without_plaintext()
        .key_id(kms_key)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .encryption_context(
            shared::seal::DATA_KEY_CONTEXT.0,
            shared::seal::DATA_KEY_CONTEXT.1,
        )
        .send()
        .await?;
    let blob = generated
        .ciphertext_blob()
        .context("kms returned no ciphertext")?;
    let wrapped = base64::engine::general_purpose::STANDARD.encode(blob.as_ref());
    if !app.store.add_data_key(next, &wrapped).await? {
        bail!("data key version {next} was added concurrently; run again");
    }
    audit::Event::new("key.rotate", "success")
        .by(ACTOR, "", None)
        .emit_as(run_id(), "");
    out.print(
        &format!(
            "data key version {next} added; functions seal with it from their next cold start"
        ),
        &json!({"version": next}),
    );
    Ok(())
}

/// `backfill-user-index`.
pub(crate) async fn backfill_user_index(out: &Output) -> anyhow::Result<()> {
    let app = app().await?;
    let done = app
        .store
        .backfill_user_indexes()
        .await
        .context("backfill failed")?;
    out.print(
        &format!(
            "users without index attributes: {}; indexed: {}; changed meanwhile (indexed by their writer): {}",
            done.missing, done.updated, done.skipped
        ),
        &json!({"missing": done.missing, "updated": done.updated, "skipped": done.skipped}),
    );
    Ok(())
}

/// `users list --domain ID`.
pub(crate) async fn users_list(out: &Output, domain: &str) -> anyhow::Result<()> {
    let app = app().await?;
    if app.store.get_domain(domain).await?.is_none() {
        bail!("no domain with id '{domain}'");
    }
    let mut users = app.store.list_domain_users(domain).await?;
    users.sort_by(|a, b| a.username.cmp(&b.username));
    let text = if users.is_empty() {
        format!("no users in domain {domain}")
    } else {
        users
            .iter()
            .map(|u| user_line(app, u))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let list: Vec<Value> = users.iter().map(|u| user_json(app, u)).collect();
    out.print(&text, &json!({ "users": list }));
    Ok(())
}

/// `users show NAME`.
pub(crate) async fn users_show(out: &Output, name: &str) -> anyhow::Result<()> {
    let app = app().await?;
    let u = find_user(app, name).await?;
    out.print(&user_line(app, &u), &json!({ "user": user_json(app, &u) }));
    Ok(())
}

/// `users unlock NAME`: the MFA failure count goes, as `unlock: true` does.
pub(crate) async fn users_unlock(out: &Output, name: &str) -> anyhow::Result<()> {
    let app = app().await?;
    let u = find_user(app, name).await?;
    let was_locked = lockout::is_locked(app, &u);
    let change = MfaChange {
        reset_fails: true,
        ..MfaChange::default()
    };
    if !app.store.apply_mfa_change(&u.id, &change).await? {
        bail!("'{}' changed concurrently; run again", u.username);
    }
    audited("mfa.unlock", &u);
    let text = if was_locked {
        format!("'{}' unlocked", u.username)
    } else {
        format!(
            "'{}' was not locked; its failure count is cleared",
            u.username
        )
    };
    out.print(
        &text,
        &json!({"username": u.username, "id": u.id, "wasLocked": was_locked, "locked": false}),
    );
    Ok(())
}

/// `users reset-mfa NAME`: everything of the user's MFA goes, as delete-mfa does.
pub(crate) async fn users_reset_mfa(out: &Output, name: &str) -> anyhow::Result<()> {
    let app = app().await?;
    let u = find_user(app, name).await?;
    // Read again if a device is added between the read and the write (the count guards it).
    for _ in 0..3 {
        let bundle = app.store.get_bundle(&u.id).await?;
        if bundle.user.is_none() {
            bail!("no user named '{name}'");
        }
        if app.store.delete_mfa(&bundle).await? {
            audited("mfa.delete", &u);
            out.print(
                &format!(
                    "'{}': multi-factor authentication removed (phone, devices, bypass codes)",
                    u.username
                ),
                &json!({"username": u.username, "id": u.id, "multiFactorEnabled": false}),
            );
            return Ok(());
        }
    }
    bail!(
        "'{}': its devices changed concurrently; run again",
        u.username
    )
}

/// `users disable NAME` / `users enable NAME`, as update-user with `enabled`.
pub(crate) async fn users_set_enabled(
    out: &Output,
    name: &str,
    enabled: bool,
) -> anyhow::Result<()> {
    let app = app().await?;
    for _ in 0..3 {
        let u = find_user(app, name).await?;
        let change = UserChange {
            username: None,
            email: None,
            enabled: Some(enabled),
            password_hash: None,
            // Disabling revokes every token and ends open MFA sessions (§9.2).
            revoke_all_at: (!enabled).then(|| app.now_ms()),
        };
        match app.store.change_user(&u, &change).await? {
            Ok(()) => {}
            Err(UpdateRefusal::Changed | UpdateRefusal::Duplicate) => continue,
        }
        audited("user.update", &u);
        if u.enabled != enabled {
            audited(
                if enabled {
                    "user.enable"
                } else {
                    "user.disable"
                },
                &u,
            );
        }
        let state = if enabled { "enabled" } else { "disabled" };
        let text = match (u.enabled == enabled, enabled) {
            (true, _) => format!("'{}' was already {state}", u.username),
            (false, true) => format!("'{}' enabled", u.username),
            (false, false) => format!("'{}' disabled; every token of it is revoked", u.username),
        };
        out.print(
            &text,
            &json!({"username": u.username, "id": u.id, "enabled": enabled}),
        );
        return Ok(());
    }
    bail!("'{name}' changed concurrently; run again")
}

/// `domains show ID`.
pub(crate) async fn domains_show(out: &Output, id: &str) -> anyhow::Result<()> {
    let app = app().await?;
    let d = app
        .store
        .get_domain(id)
        .await?
        .ok_or_else(|| anyhow!("no domain with id '{id}'"))?;
    let text = format!(
        "domain {}  {}  {}  enforcement {}  users {}",
        d.id,
        d.name,
        if d.enabled { "enabled" } else { "DISABLED" },
        d.level.as_str(),
        d.users
    );
    out.print(&text, &domain_json(&d));
    Ok(())
}

/// `domains enforce ID LEVEL`, as update-domain-enforcement.
pub(crate) async fn domains_enforce(out: &Output, id: &str, level: &str) -> anyhow::Result<()> {
    let parsed =
        EnforcementLevel::parse_domain(&level.trim().to_ascii_uppercase()).ok_or_else(|| {
            anyhow!("LEVEL must be OPTIONAL, REQUIRED or RACKSPACE_MANDATED, not '{level}'")
        })?;
    let app = app().await?;
    // Non-MFA tokens of the domain's requiring users go (§4.3), checked at validation.
    let revoke_at = parsed.domain_requires().then(|| app.now_ms());
    // The operator may set any level: compare-and-set against the level just read, read again
    // when a concurrent change lands in between (§9.3).
    let mut tries = 0;
    loop {
        let Some(domain) = app.store.get_domain(id).await? else {
            bail!("no domain with id '{id}'");
        };
        match app
            .store
            .set_domain_level(id, domain.level, parsed, revoke_at)
            .await?
        {
            LevelSet::Done => break,
            LevelSet::NoDomain => bail!("no domain with id '{id}'"),
            LevelSet::Changed if tries < 3 => tries += 1,
            LevelSet::Changed => bail!("the domain's level kept changing concurrently; retry"),
        }
    }
    let mut event = audit::Event::new("enforcement.domain", "success");
    event.actor = Some(ACTOR);
    event.domain = Some(id);
    event.factor = Some(parsed.as_str());
    event.emit_as(run_id(), "");
    out.print(
        &format!("domain {id}: enforcement {}", parsed.as_str()),
        &json!({"id": id, "domainMultiFactorEnforcementLevel": parsed.as_str()}),
    );
    Ok(())
}
