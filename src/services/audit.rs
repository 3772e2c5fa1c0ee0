//! The audit log as a use case: one row per security event (who, when, from where, a small JSON
//! detail, never a secret), written inside the transaction that made the change, read by
//! `latchkey audit list`, and purged after `LATCHKEY_AUDIT_RETENTION`.
//!
//! Every row starts as waiting for the webhook publisher
//! ([`webhooks::publish_pending`](crate::services::webhooks::publish_pending)), which hands it
//! to the outbox as a webhook in one transaction, or, with webhooks off, just marks it done. So
//! writing an event never needs to know the webhook settings, and the request that caused it
//! never waits for a receiver.

use std::time::Duration;

use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::db::audit::{self, AuditFilter, AuditRow, NewAuditEvent};
use crate::db::{self, Db, DbConnection, DbError};
use crate::services::ClientInfo;

/// A login with the right password.
pub const LOGIN_SUCCEEDED: &str = "login_succeeded";
/// A wrong password for an existing account (unknown names are not recorded: no enumeration
/// trail, and nothing to attach the row to).
pub const LOGIN_FAILED: &str = "login_failed";
/// A login refused by the per-account limit (existing accounts only).
pub const LOGIN_THROTTLED: &str = "login_throttled";
/// A bearer token revoked by its holder, or a browser logout.
pub const LOGOUT: &str = "logout";
/// Every session and token revoked by the account.
pub const LOGOUT_ALL: &str = "logout_all";
/// One session or token revoked from the device list.
pub const SESSION_REVOKED: &str = "session_revoked";
/// The account changed its password (knowing the current one).
pub const PASSWORD_CHANGED: &str = "password_changed";
/// A reset request for an existing account (written by the worker that resolves it).
pub const PASSWORD_RESET_REQUESTED: &str = "password_reset_requested";
/// A password set with a reset token.
pub const PASSWORD_RESET_COMPLETED: &str = "password_reset_completed";
/// A reset token made unusable from the "I did not ask for this" link.
pub const PASSWORD_RESET_CANCELLED: &str = "password_reset_cancelled";
/// The owner said "This wasn't me": everything revoked, password removed, reset link mailed.
pub const WASNT_ME: &str = "wasnt_me";
/// An administrator created the account.
pub const USER_CREATED: &str = "user_created";
/// An administrator changed the account's name or address.
pub const USER_UPDATED: &str = "user_updated";
/// An administrator deleted the account.
pub const USER_DELETED: &str = "user_deleted";
/// An administrator activated the account.
pub const USER_ACTIVATED: &str = "user_activated";
/// An administrator deactivated the account.
pub const USER_DEACTIVATED: &str = "user_deactivated";
/// An administrator set the password.
pub const PASSWORD_SET_BY_ADMIN: &str = "password_set_by_admin";
/// An administrator issued a reset token.
pub const RESET_TOKEN_ISSUED_BY_ADMIN: &str = "reset_token_issued_by_admin";

/// Every event name, for `latchkey audit list --event` and the README.
pub const EVENTS: [&str; 18] = [
    LOGIN_SUCCEEDED,
    LOGIN_FAILED,
    LOGIN_THROTTLED,
    LOGOUT,
    LOGOUT_ALL,
    SESSION_REVOKED,
    PASSWORD_CHANGED,
    PASSWORD_RESET_REQUESTED,
    PASSWORD_RESET_COMPLETED,
    PASSWORD_RESET_CANCELLED,
    WASNT_ME,
    USER_CREATED,
    USER_UPDATED,
    USER_DELETED,
    USER_ACTIVATED,
    USER_DEACTIVATED,
    PASSWORD_SET_BY_ADMIN,
    RESET_TOKEN_ISSUED_BY_ADMIN,
];

/// One event to record.
#[derive(Debug)]
pub struct Event<'a> {
    /// One of the constants above.
    pub kind: &'static str,
    /// The account.
    pub user_id: Option<i64>,
    /// Who made the request (`None` for admin commands and workers without a client).
    pub client: Option<&'a ClientInfo>,
    /// A small JSON object; never a token, password or hash.
    pub detail: Value,
}

impl<'a> Event<'a> {
    /// An event of `user_id` caused by `client`, without detail.
    pub fn new(kind: &'static str, user_id: i64, client: Option<&'a ClientInfo>) -> Self {
        Self {
            kind,
            user_id: Some(user_id),
            client,
            detail: json!({}),
        }
    }

    /// The same event with `detail`.
    pub fn with(self, detail: Value) -> Self {
        Self { detail, ..self }
    }
}

/// Records `event` inside the caller's transaction.
pub fn record(conn: &mut DbConnection, event: &Event<'_>) -> diesel::QueryResult<()> {
    let ip = event.client.and_then(ClientInfo::ip_text);
    let detail = if event.detail.is_object() {
        event.detail.to_string()
    } else {
        "{}".to_owned()
    };
    NewAuditEvent {
        user_id: event.user_id,
        event: event.kind,
        ip_address: ip.as_deref(),
        user_agent: event.client.and_then(|client| client.user_agent.as_deref()),
        detail: &detail,
        webhook_pending: true,
        created_at: db::now(),
    }
    .insert(conn)?;
    Ok(())
}

/// Records `event` in a transaction of its own (best effort: a failure is logged, since the
/// answer to the request does not depend on it).
pub fn record_alone(db: &Db, event: &Event<'_>) {
    let written = db.get().and_then(|mut conn| {
        conn.write(|conn| record(conn, event))
            .map_err(DbError::from)
    });
    if let Err(err) = written {
        tracing::warn!(event = event.kind, error = %err, "an audit event could not be recorded");
    }
}

/// Reads events, newest first.
pub fn list(db: &Db, filter: &AuditFilter) -> Result<Vec<AuditRow>, DbError> {
    Ok(audit::list(&mut *db.get()?, filter)?)
}

/// An event as `audit list --json` prints it and webhooks carry it in `data`.
pub fn to_json(row: &AuditRow) -> Value {
    let detail: Value = serde_json::from_str(&row.detail).unwrap_or_else(|_| json!({}));
    json!({
        "id": row.id,
        "event": row.event,
        "timestamp": rfc3339(row.created_at),
        "user_id": row.user_id,
        "ip_address": row.ip_address,
        "user_agent": row.user_agent,
        "detail": detail,
    })
}

/// RFC 3339 in UTC with a `Z`, to the second.
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Deletes events older than `retention` (inside the caller's transaction).
pub fn purge(
    conn: &mut DbConnection,
    retention: Duration,
    now: NaiveDateTime,
) -> diesel::QueryResult<usize> {
    let before = chrono::Duration::from_std(retention)
        .ok()
        .and_then(|retention| now.checked_sub_signed(retention))
        .unwrap_or(NaiveDateTime::MIN);
    audit::delete_older_than(conn, before)
}
