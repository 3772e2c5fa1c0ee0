//! `latchkey audit list`: the audit log, newest first, as tab-separated lines or JSON lines.

use std::io::Write;

use clap::Subcommand;

use super::connect;
use crate::config::{values, Config};
use crate::db::audit::AuditFilter;
use crate::db::users;
use crate::services::audit;

/// Read the audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Events, newest first: time, event, user id, client IP, user agent, detail.
    List {
        /// Only this account: a username, or the numeric id of an account (also a deleted one).
        #[arg(long)]
        user: Option<String>,
        /// Only this event (e.g. login_failed).
        #[arg(long)]
        event: Option<String>,
        /// Only events this recent (e.g. 24h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line instead of tab-separated columns.
        #[arg(long)]
        json: bool,
    },
}

pub(super) fn run(command: AuditCommand, config: &Config) -> anyhow::Result<()> {
    let AuditCommand::List {
        user,
        event,
        since,
        limit,
        json,
    } = command;
    if let Some(event) = &event {
        if !audit::EVENTS.contains(&event.as_str()) {
            anyhow::bail!(
                "unknown event {event:?}; known events: {}",
                audit::EVENTS.join(", ")
            );
        }
    }
    let since = match since {
        Some(raw) => {
            let ago = values::duration(raw.trim())
                .map_err(|expected| anyhow::anyhow!("invalid --since: expected {expected}"))?;
            let ago = chrono::Duration::from_std(ago)
                .map_err(|_| anyhow::anyhow!("invalid --since: too long"))?;
            Some(
                crate::db::now()
                    .checked_sub_signed(ago)
                    .unwrap_or(chrono::NaiveDateTime::MIN),
            )
        }
        None => None,
    };
    if limit == 0 {
        anyhow::bail!("invalid --limit: expected a positive number");
    }
    let db = connect(config)?;
    let user_id = match user {
        None => None,
        Some(name) => {
            let found = users::find_by_username(&mut *db.get()?, &name)?;
            match (found, name.parse::<i64>()) {
                (Some(user), _) => Some(user.id),
                (None, Ok(id)) => Some(id),
                (None, Err(_)) => anyhow::bail!("no user named {name:?}"),
            }
        }
    };
    let rows = audit::list(
        &db,
        &AuditFilter {
            user_id,
            event,
            since,
            limit: i64::from(limit),
        },
    )?;
    let mut out = std::io::stdout().lock();
    for row in &rows {
        if json {
            writeln!(out, "{}", audit::to_json(row))?;
        } else {
            let dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}",
                audit::rfc3339(row.created_at),
                row.event,
                row.user_id
                    .map_or_else(|| "-".to_owned(), |id| id.to_string()),
                dash(&row.ip_address),
                dash(&row.user_agent).replace(['\t', '\n', '\r'], " "),
                row.detail,
            )?;
        }
    }
    Ok(())
}
