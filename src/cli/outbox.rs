//! `latchkey outbox …`

use std::io::Write;

use clap::Subcommand;

use super::{connect, reset_service};
use crate::config::Config;
use crate::services::outbox::{self, RetryContext};

/// Inspect and nudge the email outbox.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages per state and the age of the oldest pending one.
    Status,
    /// Make failed pending messages due now; with --dead, also re-render and requeue dead ones
    /// (at most one reset mail per account, none that a newer live reset token supersedes).
    Retry {
        /// Also requeue messages that were given up on.
        #[arg(long)]
        dead: bool,
    },
}

pub(super) fn run(command: OutboxCommand, config: &Config) -> anyhow::Result<()> {
    let db = connect(config)?;
    match command {
        OutboxCommand::Status => {
            let status = outbox::status(&db)?;
            let mut out = std::io::stdout().lock();
            for (state, count) in &status.counts {
                if *state == crate::db::outbox::DEAD && status.expired > 0 {
                    let expired = status.expired;
                    writeln!(out, "{state}\t{count}\t({expired} expired before sending)")?;
                } else {
                    writeln!(out, "{state}\t{count}")?;
                }
            }
            match status.oldest_pending {
                Some(at) => {
                    let age = (crate::db::now() - at).num_seconds().max(0);
                    let since = at.format("%Y-%m-%dT%H:%M:%SZ");
                    writeln!(out, "oldest pending\t{age}s\t({since})")?;
                }
                None => writeln!(out, "oldest pending\t-")?,
            }
        }
        OutboxCommand::Retry { dead } => {
            let reset = reset_service(config, db.clone())?;
            let context = RetryContext {
                public_url: &config.public_url,
                reset: &reset,
            };
            let report = outbox::retry(&db, reset.outbox(), context, dead)?;
            println!("{} pending message(s) made due now", report.due_now);
            if dead {
                println!("{} dead message(s) requeued", report.requeued);
                println!(
                    "{} dead reset message(s) not re-sent: superseded",
                    report.superseded.len()
                );
            }
            for (id, reason) in &report.superseded {
                println!("message {id} not re-sent: {reason}");
            }
            for (id, reason) in &report.skipped {
                println!("message {id} not requeued: {reason}");
            }
        }
    }
    Ok(())
}
