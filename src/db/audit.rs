//! The `audit_events` table: the security events of accounts, without secrets, newest read
//! first, purged after `LATCHKEY_AUDIT_RETENTION`. A row waits (`webhook_pending`) until the
//! webhook publisher has handed it to the outbox.

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
    /// What happened (`login_succeeded`, `password_changed`, …).
    pub event: &'a str,
    /// Client address, when there was a client.
    pub ip_address: Option<&'a str>,
    /// Client user agent, when there was a client.
    pub user_agent: Option<&'a str>,
    /// A small JSON object (never a token, password or hash).
    pub detail: &'a str,
    /// Still to be handed to the webhook outbox.
    pub webhook_pending: bool,
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

/// A stored event.
#[derive(Debug, Clone, Queryable, Selectable, PartialEq, Eq)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    /// Primary key (grows with time).
    pub id: i64,
    /// The account (kept after the account is deleted).
    pub user_id: Option<i64>,
    /// What happened.
    pub event: String,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// JSON object.
    pub detail: String,
    /// When.
    pub created_at: NaiveDateTime,
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

/// What `latchkey audit list` selects.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this account.
    pub user_id: Option<i64>,
    /// Only this event.
    pub event: Option<String>,
    /// Only events at or after this time.
    pub since: Option<NaiveDateTime>,
    /// At most this many rows.
    pub limit: i64,
}

/// Events matching `filter`, newest first.
pub fn list(conn: &mut DbConnection, filter: &AuditFilter) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_events::table
        .select(AuditRow::as_select())
        .order(audit_events::id.desc())
        .limit(filter.limit)
        .into_boxed();
    if let Some(user_id) = filter.user_id {
        query = query.filter(audit_events::user_id.eq(user_id));
    }
    if let Some(event) = &filter.event {
        query = query.filter(audit_events::event.eq(event.clone()));
    }
    if let Some(since) = filter.since {
        query = query.filter(audit_events::created_at.ge(since));
    }
    query.load(conn)
}

/// The oldest waiting events' ids, on the partial index `audit_events_pending`: the column
/// itself is the condition, never `= true` (a bound value hides the index from the planner).
#[diesel::dsl::auto_type(no_type_alias)]
fn pending_ids(limit: i64) -> _ {
    audit_events::table
        .filter(audit_events::webhook_pending)
        .order(audit_events::id.asc())
        .limit(limit)
        .select(audit_events::id)
}

/// The oldest events still waiting for the webhook publisher (locked on PostgreSQL with
/// `SKIP LOCKED`, so two instances never publish one event twice).
pub fn take_pending(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<AuditRow>> {
    let pending = pending_ids(limit);
    let ids: Vec<i64> = match conn {
        DbConnection::Postgres(pg) => pending.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(_) => pending.load(conn)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    audit_events::table
        .filter(audit_events::id.eq_any(&ids))
        .order(audit_events::id.asc())
        .select(AuditRow::as_select())
        .load(conn)
}

/// Marks events as handed to the webhook outbox (or as never to be: webhooks are off).
pub fn mark_published(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<usize> {
    diesel::update(audit_events::table.filter(audit_events::id.eq_any(ids)))
        .set(audit_events::webhook_pending.eq(false))
        .execute(conn)
}

/// With webhooks off: nothing waits for them. Returns how many rows stopped waiting.
pub fn clear_pending(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::update(audit_events::table.filter(audit_events::webhook_pending))
        .set(audit_events::webhook_pending.eq(false))
        .execute(conn)
}

/// Whether any event waits for the webhook publisher (a cheap read on the partial index: the
/// column itself is the condition).
pub fn any_pending(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(pending_ids(1))).get_result(conn)
}

/// Deletes events older than `before` (retention).
pub fn delete_older_than(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(audit_events::table.filter(audit_events::created_at.lt(before))).execute(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::query_plan::{migrated_sqlite, plan_of};

    #[test]
    fn the_publisher_reads_the_partial_index_not_the_table() {
        let mut conn = migrated_sqlite();
        let plan = plan_of(&mut conn, &pending_ids(100));
        assert!(plan.contains("INDEX audit_events_pending"), "{plan}");
        // Why the bare column: with the value bound, the same query scans the table.
        let bound = audit_events::table
            .filter(audit_events::webhook_pending.eq(true))
            .select(audit_events::id);
        assert!(plan_of(&mut conn, &bound).contains("SCAN audit_events"));
    }
}
