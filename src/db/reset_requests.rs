//! The `reset_requests` table: accepted reset requests waiting for a worker.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::reset_requests;
use super::DbConnection;

/// A request to resolve.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reset_requests)]
pub struct ResetRequestRow {
    /// Primary key.
    pub id: i64,
    /// Canonical email key or exact username.
    pub lookup_key: String,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// When it was accepted.
    pub created_at: NaiveDateTime,
    /// The request's language (a supported tag): the mail is written in it.
    pub language: Option<String>,
}

/// A request to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = reset_requests)]
pub struct NewResetRequest<'a> {
    /// Canonical email key or exact username.
    pub lookup_key: &'a str,
    /// Client address.
    pub ip_address: Option<&'a str>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
    /// Now.
    pub created_at: NaiveDateTime,
    /// The request's language.
    pub language: Option<&'a str>,
}

impl NewResetRequest<'_> {
    /// Inserts many requests: one multi-row statement on PostgreSQL (one round trip), one
    /// reused prepared statement per row on SQLite (in-process, so rows are cheap).
    pub fn insert_all(conn: &mut DbConnection, rows: &[Self]) -> QueryResult<usize> {
        match conn {
            DbConnection::Postgres(pg) => diesel::insert_into(reset_requests::table)
                .values(rows)
                .execute(pg),
            DbConnection::Sqlite(_) => rows.iter().try_fold(0, |count, row| {
                Ok(count
                    + diesel::insert_into(reset_requests::table)
                        .values(row)
                        .execute(conn)?)
            }),
        }
    }
}

/// Takes up to `limit` of the oldest requests out of the table (call inside a write
/// transaction: they come back if it rolls back). On PostgreSQL rows locked by another
/// instance are skipped.
pub fn take_batch(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<ResetRequestRow>> {
    let oldest = reset_requests::table
        .order(reset_requests::id.asc())
        .limit(limit);
    let batch: Vec<ResetRequestRow> = match conn {
        DbConnection::Postgres(pg) => oldest
            .select(ResetRequestRow::as_select())
            .for_update()
            .skip_locked()
            .load(pg)?,
        DbConnection::Sqlite(_) => oldest.select(ResetRequestRow::as_select()).load(conn)?,
    };
    let ids: Vec<i64> = batch.iter().map(|request| request.id).collect();
    diesel::delete(reset_requests::table.filter(reset_requests::id.eq_any(&ids))).execute(conn)?;
    Ok(batch)
}
