//! Deleting what has expired: run by `latchkey tokens purge` and every few minutes by the
//! worker pool's keeper thread, so expired secrets do not pile up between purges.

use std::time::Duration;

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
