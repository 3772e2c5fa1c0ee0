//! The `login_throttles` table: failures per key in a fixed window, shared by instances.
//!
//! A limit is *reserved* before the password is checked ([`take`]): one conditional statement
//! either counts the attempt or refuses it, so concurrent guesses each cost a unit and no more
//! than the limit are ever checked. A success gives its unit back ([`give_back`], or [`clear`]).

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

/// Takes one unit of `key`'s allowance of `limit` attempts per window, before the attempt is
/// checked. `Ok(())`: taken (the attempt counts as a failure unless it is given back or the key
/// cleared); `Err(window_start)`: the window that started then is used up.
///
/// Every statement that counts is an `UPDATE … WHERE failures < limit`, which each backend
/// evaluates on the row's latest committed version (PostgreSQL re-checks it after waiting for
/// a concurrent writer; SQLite has one writer), so N concurrent takers never exceed `limit`.
pub fn take(
    conn: &mut DbConnection,
    key: &str,
    now: NaiveDateTime,
    window_open: NaiveDateTime,
    limit: i32,
) -> QueryResult<Result<(), NaiveDateTime>> {
    if take_in_open_window(conn, key, window_open, limit)? {
        return Ok(Ok(()));
    }
    // No row yet, or its window closed: create or restart it (both idempotent under races),
    // then take from it like everyone else.
    let empty = (
        login_throttles::throttle_key.eq(key),
        login_throttles::window_start.eq(now),
        login_throttles::failures.eq(0),
    );
    // ON CONFLICT exists on both backends but not on diesel's multi-backend, hence the match.
    match conn {
        DbConnection::Postgres(pg) => diesel::insert_into(login_throttles::table)
            .values(empty)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(login_throttles::table)
            .values(empty)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    diesel::update(
        login_throttles::table
            .find(key)
            .filter(login_throttles::window_start.le(window_open)),
    )
    .set((
        login_throttles::window_start.eq(now),
        login_throttles::failures.eq(0),
    ))
    .execute(conn)?;
    if take_in_open_window(conn, key, window_open, limit)? {
        return Ok(Ok(()));
    }
    Ok(Err(find(conn, key)?.map_or(now, |(start, _)| start)))
}

fn take_in_open_window(
    conn: &mut DbConnection,
    key: &str,
    window_open: NaiveDateTime,
    limit: i32,
) -> QueryResult<bool> {
    let taken = diesel::update(
        login_throttles::table
            .find(key)
            .filter(login_throttles::window_start.gt(window_open))
            .filter(login_throttles::failures.lt(limit)),
    )
    .set(login_throttles::failures.eq(login_throttles::failures + 1))
    .execute(conn)?;
    Ok(taken == 1)
}

/// Returns a unit [`take`] took, for an attempt that turned out not to be a failure (the
/// hasher was saturated, say). Only to a window that is still open: a closed one owes nothing.
pub fn give_back(
    conn: &mut DbConnection,
    key: &str,
    window_open: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        login_throttles::table
            .find(key)
            .filter(login_throttles::window_start.gt(window_open))
            .filter(login_throttles::failures.gt(0)),
    )
    .set(login_throttles::failures.eq(login_throttles::failures - 1))
    .execute(conn)
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
