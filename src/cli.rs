//! The `latchkey` command line: parsing and dispatch only; the work is in `services`.

mod audit;
mod outbox;
mod tokens;
mod users;

use std::io::Read;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::SecretString;

use crate::composition::Core;
use crate::config::{Config, LogConfig};
use crate::db::{migrations, Db};
use crate::domain::MAX_PASSWORD_BYTES;
use crate::services::reset::ResetService;
use crate::startup::Application;

/// Latchkey: log in, log out, change password and reset-by-email, as one service.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run pending migrations, then serve HTTP and drain the email outbox.
    Serve {
        /// Do not run pending migrations at start-up.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending database migrations and print what was applied.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Issue and purge tokens.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
    /// Inspect and retry the email outbox.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Read the audit log of security events.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

impl Cli {
    /// The log settings for this command. Admin commands report on stdout and keep stderr for
    /// what went wrong (an error is one line), so unless `LATCHKEY_LOG` is set they log warnings
    /// only; `serve` logs at the configured level (`info` by default).
    pub fn log_config(&self, configured: &LogConfig, explicit: bool) -> LogConfig {
        let serves = matches!(self.command, None | Some(Command::Serve { .. }));
        if serves || explicit {
            configured.clone()
        } else {
            LogConfig {
                filter: "warn".to_owned(),
                ..configured.clone()
            }
        }
    }
}

/// A command that finished but reports a condition through its exit code (`outbox status`: 3
/// when a message is dead). It has said what it had to on standard output: no error line.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
pub struct ExitStatus(pub u8);

/// Runs one command to completion.
pub fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve { no_migrate: false }) {
        Command::Serve { no_migrate } => serve(config, !no_migrate),
        Command::Migrate => migrate(&config),
        Command::Users(command) => users::run(command, &config),
        Command::Tokens(command) => tokens::run(command, &config),
        Command::Outbox(command) => outbox::run(command, &config),
        Command::Audit(command) => audit::run(command, &config),
    }
}

fn serve(config: Config, migrate: bool) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        crate::startup::warn_about_unknown_variables(&config, std::env::vars().map(|(k, _)| k));
        let announce = config.clone();
        let app = Application::build(config, migrate).await?;
        crate::startup::announce(&announce, app.address());
        app.run_until_stopped()
            .await
            .context("the HTTP server failed")
    })
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 2)?;
    let migrated = migrations::run_pending_reporting(&db)?;
    if migrated.applied.is_empty() {
        println!("no pending migrations");
    }
    for version in migrated.applied {
        println!("applied {version}");
    }
    // Accounts the comparison rules now treat as one: reported, never a failure.
    for conflict in migrated.conflicts {
        eprintln!("warning: {conflict}");
    }
    Ok(())
}

/// A small pool for a one-shot admin command, with the schema brought up to date first: the
/// binary only works with the schema it embeds, and a fresh SQLite file has none yet.
fn connect(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url, 2)?;
    let migrated = migrations::run_pending_reporting(&db)?;
    for version in migrated.applied {
        tracing::info!(%version, "applied migration");
    }
    // Not repeated as warnings by every admin command (their stderr is for their own error
    // line): `latchkey migrate` and `serve` report each conflict.
    if !migrated.conflicts.is_empty() {
        let count = migrated.conflicts.len();
        tracing::info!(count, "accounts share keys; `latchkey migrate` lists them");
    }
    Ok(db)
}

/// The reset use cases for a one-shot command (needs the secret key: tokens are keyed by it,
/// and queued mail is sealed with it).
fn reset_service(config: &Config, db: Db) -> anyhow::Result<Arc<ResetService>> {
    Ok(Core::for_command(config, db)?.reset)
}

/// Reads a password from standard input: everything up to EOF, minus one trailing line break.
/// Nothing else is trimmed, since spaces may be part of the password.
fn read_password_stdin() -> anyhow::Result<SecretString> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_PASSWORD_BYTES as u64 + 3)
        .read_to_end(&mut bytes)
        .context("cannot read the password from standard input")?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("the password on standard input is not valid UTF-8"))?;
    Ok(SecretString::from(text))
}
