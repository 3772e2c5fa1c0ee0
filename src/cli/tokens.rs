//! `latchkey tokens …`

use clap::Subcommand;

use super::{connect, reset_service};
use crate::config::Config;
use crate::services::admin_tokens;

/// Reset and API tokens.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Issue a reset token for a user and print the reset link (it replaces any earlier token
    /// and also works for an account without a password).
    Issue {
        /// The user.
        username: String,
        /// Mail the link to the user's address instead of printing it (sent by `serve`).
        #[arg(long)]
        send: bool,
    },
    /// Delete expired reset tokens, API tokens and browser sessions.
    Purge,
}

pub(super) fn run(command: TokensCommand, config: &Config) -> anyhow::Result<()> {
    let db = connect(config)?;
    match command {
        TokensCommand::Issue { username, send } => {
            let issued = reset_service(config, db)?.issue(&username, send)?;
            if issued.inactive {
                eprintln!(
                    "warning: {username} is inactive: the link works once the account is activated"
                );
            }
            let expires = issued.expires_at.format("%Y-%m-%dT%H:%M:%SZ");
            if send {
                println!("reset email queued for {username} (the link expires at {expires})");
            } else {
                println!("{}", issued.link);
            }
        }
        TokensCommand::Purge => {
            let report = admin_tokens::purge_expired(
                &db,
                config.session_ttl,
                config.notices.audit_retention,
            )?;
            println!(
                "deleted {} expired \"this wasn't me\" link(s) and {} audit event(s) older than LATCHKEY_AUDIT_RETENTION",
                report.wasnt_me_tokens, report.audit_events
            );
            println!(
                "deleted {} expired reset token(s), {} expired API token(s) and {} expired session(s)",
                report.reset_tokens, report.api_tokens, report.sessions
            );
        }
    }
    Ok(())
}
