//! The administrator's token commands: `latchkey tokens issue` (a reset link made by an
//! administrator, also for an account without a password: an invitation) and `latchkey tokens
//! purge`, which deletes what has expired (also run every few minutes by the worker pool's
//! keeper thread, so expired secrets do not pile up between purges).

use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::users;
use crate::error::Failure;
use crate::services::audit::{self, Event};
use crate::services::reset::ResetService;
use crate::services::ClientInfo;

use crate::db::{
    self, api_tokens, login_throttles, rate_limits, reset_tokens, sessions, wasnt_me_tokens, Db,
    DbConnection, DbError,
};

/// Failure windows older than this are deleted (every limit's period is shorter).
const THROTTLE_RETENTION: chrono::Duration = chrono::Duration::days(1);

/// How many rows a purge deleted, per kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    /// Expired password-reset tokens.
    pub reset_tokens: usize,
    /// Expired bearer tokens.
    pub api_tokens: usize,
    /// Expired browser sessions (idle or past `LATCHKEY_SESSION_TTL`).
    pub sessions: usize,
    /// Expired "This wasn't me" links.
    pub wasnt_me_tokens: usize,
    /// Audit events older than `LATCHKEY_AUDIT_RETENTION`.
    pub audit_events: usize,
}

/// Deletes every expired credential, audit events past their retention, and failure counters
/// nobody needs any more.
#[tracing::instrument(skip_all)]
pub fn purge_expired(
    db: &Db,
    session_ttl: Duration,
    audit_retention: Duration,
) -> Result<PurgeReport, DbError> {
    let now = db::now();
    let born_after = now - chrono::Duration::from_std(session_ttl).unwrap_or(chrono::Duration::MAX);
    Ok(db.get()?.write(|conn| {
        login_throttles::delete_stale(conn, now - THROTTLE_RETENTION)?;
        if let DbConnection::Postgres(pg) = conn {
            rate_limits::delete_idle(pg)?;
        }
        Ok::<_, diesel::result::Error>(PurgeReport {
            reset_tokens: reset_tokens::delete_expired(conn, now)?,
            api_tokens: api_tokens::delete_expired(conn, now)?,
            sessions: sessions::delete_expired(conn, now, born_after)?,
            wasnt_me_tokens: wasnt_me_tokens::delete_expired(conn, now)?,
            audit_events: crate::services::audit::purge(conn, audit_retention, now)?,
        })
    })?)
}

/// A token issued by an administrator.
#[derive(Debug)]
pub struct AdminResetLink {
    /// The reset link.
    pub link: String,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// The account is inactive: the link will not work until it is activated.
    pub inactive: bool,
}

/// Why `tokens issue` failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No account has that username.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// The mail could not be queued.
    #[error("cannot queue the reset email: {0}")]
    Hook(anyhow::Error),
    /// The database or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(IssueError);

impl ResetService {
    /// Issues a token for `username` as an administrator (the package's programmatic token
    /// creation): it replaces any earlier token and also works for an account without a
    /// password (an invitation). With `send`, the `token_created` hooks run (the reset mail).
    #[tracing::instrument(skip(self))]
    pub fn issue(&self, username: &str, send: bool) -> Result<AdminResetLink, IssueError> {
        let mut conn = self.db().get()?;
        let user = users::find_by_username(&mut conn, username)?
            .ok_or_else(|| IssueError::UnknownUser(username.to_owned()))?;
        let client = ClientInfo::default();
        let created = conn.write(|conn| {
            users::lock_in_id_order(conn, &[user.id])?;
            let created = self.create_token(conn, &user, &client, true)?;
            audit::record(
                conn,
                &Event::new(audit::RESET_TOKEN_ISSUED_BY_ADMIN, user.id, None)
                    .with(serde_json::json!({ "sent": send })),
            )?;
            if send {
                self.announce(conn, &user, &created, &client)
                    .map_err(IssueError::Hook)?;
            }
            Ok::<_, IssueError>(created)
        })?;
        if send {
            self.outbox().notify();
        }
        tracing::info!(
            user_id = user.id,
            send,
            "reset token issued by an administrator"
        );
        Ok(AdminResetLink {
            link: created.link,
            expires_at: created.expires_at,
            inactive: !user.is_active,
        })
    }
}
