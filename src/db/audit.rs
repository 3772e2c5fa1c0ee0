//! The `audit_events` table: security events of an account, without secrets.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::audit_events;
use super::DbConnection;

/// An event to record.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    /// The account.
    pub user_id: Option<i64>,
    /// What happened (`password_reset`, `password_changed`, …).
    pub event: &'a str,
    /// Client address, when there was a client.
    pub ip_address: Option<&'a str>,
    /// Now.
    pub created_at: NaiveDateTime,
}

impl NewAuditEvent<'_> {
    /// Records the event.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(audit_events::table)
            .values(self)
            .execute(conn)
    }
}

/// The events of one account, oldest first: `(event, created_at)`.
pub fn list_for_user(
    conn: &mut DbConnection,
    user_id: i64,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    audit_events::table
        .filter(audit_events::user_id.eq(user_id))
        .order(audit_events::id.asc())
        .select((audit_events::event, audit_events::created_at))
        .load(conn)
}
