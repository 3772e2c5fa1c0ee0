//! `latchkey outbox …`

use std::io::Write;

use chrono::NaiveDateTime;
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use super::{connect, reset_service, ExitStatus};
use crate::config::Config;
use crate::db::outbox::OutboxListing;
use crate::services::outbox_admin::{self as outbox, RetryContext};

/// `outbox status` exits with this when a message is dead, for cron jobs and health checks.
pub const DEAD_EXIT_CODE: u8 = 3;

/// Inspect and nudge the email outbox.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Messages per state and the age of the oldest pending one; exit code 3 when a message is
    /// dead.
    Status,
    /// Messages, newest first: id, state, recipient, kind, attempts, last error and times (never
    /// a body).
    List {
        /// Only messages in this state.
        #[arg(long, value_enum)]
        state: Option<State>,
        /// At most this many messages.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
        /// One JSON array instead of tab-separated lines.
        #[arg(long)]
        json: bool,
    },
    /// Make failed pending messages due now; with --dead, also re-render and requeue dead ones
    /// (at most one reset mail per account, none that a newer live reset token supersedes).
    Retry {
        /// Also requeue messages that were given up on.
        #[arg(long)]
        dead: bool,
    },
}

/// A message state, as `--state` takes it.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum State {
    /// Waiting to be sent.
    Pending,
    /// Claimed by a worker.
    Sending,
    /// Accepted by the mail server.
    Sent,
    /// Given up on.
    Dead,
}

impl State {
    fn stored(self) -> &'static str {
        use crate::db::outbox::{DEAD, PENDING, SENDING, SENT};
        match self {
            Self::Pending => PENDING,
            Self::Sending => SENDING,
            Self::Sent => SENT,
            Self::Dead => DEAD,
        }
    }
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
            out.flush()?;
            let dead = status
                .counts
                .get(crate::db::outbox::DEAD)
                .copied()
                .unwrap_or(0);
            if dead > 0 {
                return Err(ExitStatus(DEAD_EXIT_CODE).into());
            }
        }
        OutboxCommand::List { state, limit, json } => {
            let messages = outbox::list(&db, state.map(State::stored), limit)?;
            let mut out = std::io::stdout().lock();
            if json {
                let rows: Vec<_> = messages.iter().map(listing_json).collect();
                writeln!(out, "{}", serde_json::Value::Array(rows))?;
            } else {
                for message in &messages {
                    writeln!(out, "{}", listing_line(message))?;
                }
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

fn time(at: Option<NaiveDateTime>) -> Option<String> {
    at.map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// Tab-separated: id, state, recipient, kind, attempts, last error, created, next attempt,
/// sent, expires (`-` for none; tabs and line breaks in an error become spaces).
fn listing_line(message: &OutboxListing) -> String {
    let dash = |value: Option<String>| value.unwrap_or_else(|| "-".to_owned());
    let error = message
        .last_error
        .as_deref()
        .map(|error| error.replace(['\t', '\n', '\r'], " "));
    [
        message.id.to_string(),
        message.state.clone(),
        message.recipient.clone(),
        message.kind.clone(),
        message.attempts.to_string(),
        dash(error),
        dash(time(Some(message.created_at))),
        dash(time(Some(message.next_attempt_at))),
        dash(time(message.sent_at)),
        dash(time(message.expires_at)),
    ]
    .join("\t")
}

fn listing_json(message: &OutboxListing) -> serde_json::Value {
    json!({
        "id": message.id,
        "state": message.state,
        "recipient": message.recipient,
        "kind": message.kind,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created_at": time(Some(message.created_at)),
        "next_attempt_at": time(Some(message.next_attempt_at)),
        "sent_at": time(message.sent_at),
        "expires_at": time(message.expires_at),
    })
}
