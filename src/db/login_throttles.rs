//! The `login_throttles` table: failures per key in a fixed window, shared by instances.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::login_throttles;
use super::DbConnection;

/// When the key's window started and how many failures it holds, if it has a row.
pub fn find(conn: &mut DbConnection, key: &str) -> QueryResult<Option<(NaiveDateTime, i32)>> {
    login_throttles::table
        .find(key)
        .select((login_throttles::window_start, login_throttles::failures))
        .first(conn)
        .optional()
}

/// Counts one failure: in the current window if it is still open (started after
/// `window_open`), else in a new window starting `now`.
pub fn record_failure(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
    window_open: NaiveDateTime,
) -> QueryResult<()> {
    let counted = diesel::update(
        login_throttles::table
            .find(key)
            .filter(login_throttles::window_start.gt(window_open)),
    )
    .set(login_throttles::failures.eq(login_throttles::failures + 1))
    .execute(conn)?;
    if counted == 1 {
        return Ok(());
    }
    let fresh = (
        login_throttles::throttle_key.eq(key),
        login_throttles::window_start.eq(now),
        login_throttles::failures.eq(1),
    );
    let restart = (
        login_throttles::window_start.eq(now),
        login_throttles::failures.eq(1),
    );
    // ON CONFLICT exists on both backends but not on diesel's multi-backend, hence the match.
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(login_throttles::table)
            .values(fresh)
            .on_conflict(login_throttles::throttle_key)
            .do_update()
            .set(restart)
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(login_throttles::table)
            .values(fresh)
            .on_conflict(login_throttles::throttle_key)
            .do_update()
            .set(restart)
            .execute(sqlite)?,
    };
    Ok(())
}

/// Forgets a key's failures (after a successful login or reset).
pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<usize> {
    diesel::delete(login_throttles::table.find(key)).execute(conn)
}

/// Forgets the failures of every key starting with `prefix` (one account, all addresses).
pub fn clear_prefix(conn: &mut DbConnection, prefix: &str) -> QueryResult<usize> {
    let pattern = format!(
        "{}%",
        prefix
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    diesel::delete(
        login_throttles::table.filter(login_throttles::throttle_key.like(pattern).escape('\\')),
    )
    .execute(conn)
}

/// Deletes windows that closed before `window_open` (their counts no longer matter).
pub fn delete_stale(conn: &mut DbConnection, window_open: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(login_throttles::table.filter(login_throttles::window_start.le(window_open)))
        .execute(conn)
}
