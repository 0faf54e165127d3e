//! `identity-manage`: operator commands, run with the operator's own AWS credentials against the
//! table named by `TABLE_NAME` (the same configuration variables as the functions).
//!
//! Every command goes through the same store and services as the functions (never a raw
//! DynamoDB call) and writes the same audit events, with actor `cli`, as JSON lines on stderr.
//! Results go to stdout: readable text, or JSON with `--json`. `identity-manage --help` and
//! `identity-manage COMMAND --help` describe each command; `docs/operations.md` has examples.
#![allow(clippy::print_stdout)]

mod commands;

use clap::{Args, Parser, Subcommand};

/// Operator commands for the identity service.
#[derive(Debug, Parser)]
#[command(name = "identity-manage", version, about, long_about = None)]
struct Cli {
    /// Print the result as JSON (one document on stdout) instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the first identity:service-admin (password from ADMIN_PASSWORD, never an
    /// argument; generated and shown once when unset). Does nothing if the username exists.
    Bootstrap(BootstrapArgs),
    /// Add a new data key, wrapped by KMS_KEY_ID: functions seal with it from their next cold
    /// start and still open what older keys sealed.
    RotateKey,
    /// Give users created before the user indexes their index attributes (idempotent, safe
    /// beside live traffic).
    BackfillUserIndex,
    /// Find, inspect, unlock, reset and disable users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Inspect domains and set their MFA enforcement.
    #[command(subcommand)]
    Domains(DomainsCommand),
}

#[derive(Debug, Args)]
struct BootstrapArgs {
    /// Username of the service-admin.
    #[arg(long)]
    username: String,
    /// Email (default: USERNAME@localhost.localdomain).
    #[arg(long)]
    email: Option<String>,
}

/// A user, by username (case-insensitive).
#[derive(Debug, Args)]
struct UserName {
    /// Username.
    name: String,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// List the users of a domain (one query on the by-domain index).
    List {
        /// Domain id.
        #[arg(long)]
        domain: String,
    },
    /// Show one user: roles, MFA state, lock.
    Show(UserName),
    /// Clear the user's MFA lock (as `PUT {MF}` with `unlock: true`).
    Unlock(UserName),
    /// Remove the user's MFA entirely: phone, OTP devices, bypass codes, MFA off (as
    /// delete-mfa).
    ResetMfa(UserName),
    /// Disable the user: every token of it is revoked and its open MFA sessions end.
    Disable(UserName),
    /// Enable the user again (revoked tokens stay revoked).
    Enable(UserName),
}

#[derive(Debug, Subcommand)]
enum DomainsCommand {
    /// Show a domain and its MFA enforcement level.
    Show {
        /// Domain id.
        id: String,
    },
    /// Set a domain's MFA enforcement level (as update-domain-enforcement; REQUIRED and
    /// RACKSPACE_MANDATED revoke the password tokens of its users who must use MFA).
    Enforce {
        /// Domain id.
        id: String,
        /// OPTIONAL, REQUIRED or RACKSPACE_MANDATED.
        level: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    commands::init_audit_log();
    let out = commands::Output { json: cli.json };
    let result = match cli.command {
        Command::Bootstrap(a) => commands::bootstrap(&out, &a.username, a.email).await,
        Command::RotateKey => commands::rotate_key(&out).await,
        Command::BackfillUserIndex => commands::backfill_user_index(&out).await,
        Command::Users(c) => match c {
            UsersCommand::List { domain } => commands::users_list(&out, &domain).await,
            UsersCommand::Show(u) => commands::users_show(&out, &u.name).await,
            UsersCommand::Unlock(u) => commands::users_unlock(&out, &u.name).await,
            UsersCommand::ResetMfa(u) => commands::users_reset_mfa(&out, &u.name).await,
            UsersCommand::Disable(u) => commands::users_set_enabled(&out, &u.name, false).await,
            UsersCommand::Enable(u) => commands::users_set_enabled(&out, &u.name, true).await,
        },
        Command::Domains(c) => match c {
            DomainsCommand::Show { id } => commands::domains_show(&out, &id).await,
            DomainsCommand::Enforce { id, level } => {
                commands::domains_enforce(&out, &id, &level).await
            }
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            std::process::ExitCode::FAILURE
        }
    }
}
