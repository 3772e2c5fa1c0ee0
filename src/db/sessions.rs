//! The `sessions` table: server-side browser sessions, found by the hash of their key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::sessions;
use super::DbConnection;

/// A session to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    /// HMAC-SHA256 of the session key.
    pub key_hash: &'a str,
    /// The logged-in account, if any.
    pub user_id: Option<i64>,
    /// The session's values as JSON.
    pub state: &'a str,
    /// Now.
    pub created_at: NaiveDateTime,
    /// End of the idle period (never after `created_at` + the absolute lifetime).
    pub expires_at: NaiveDateTime,
    /// Random id of the login this session belongs to (the device list marks the current one).
    pub device_id: Option<&'a str>,
    /// Client address at login.
    pub ip_address: Option<&'a str>,
    /// Client user agent at login.
    pub user_agent: Option<&'a str>,
}

impl NewSession<'_> {
    /// Inserts the session.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(sessions::table)
            .values(self)
            .execute(conn)
    }
}

/// The state of a live session (not idle-expired, not past `born_after`'s absolute limit).
pub fn find_live(
    conn: &mut DbConnection,
    key_hash: &str,
    now: NaiveDateTime,
    born_after: NaiveDateTime,
) -> QueryResult<Option<String>> {
    sessions::table
        .filter(sessions::key_hash.eq(key_hash))
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::created_at.gt(born_after))
        .select(sessions::state)
        .first(conn)
        .optional()
}

/// When a session was created, if it exists.
pub fn created_at(conn: &mut DbConnection, key_hash: &str) -> QueryResult<Option<NaiveDateTime>> {
    sessions::table
        .filter(sessions::key_hash.eq(key_hash))
        .select(sessions::created_at)
        .first(conn)
        .optional()
}

/// Which sessions still count: not idle-expired at `now`, created after `born_after` (the
/// absolute limit).
#[derive(Debug, Clone, Copy)]
pub struct Live {
    /// Now.
    pub now: NaiveDateTime,
    /// Now minus the absolute lifetime.
    pub born_after: NaiveDateTime,
}

/// Replaces the state and idle expiry of a session that still exists and is still live; 0 when
/// it was deleted or has expired (it is never re-created: a revoked session stays revoked).
pub fn update_live(
    conn: &mut DbConnection,
    key_hash: &str,
    live: Live,
    user_id: Option<i64>,
    state: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::key_hash.eq(key_hash))
            .filter(sessions::expires_at.gt(live.now))
            .filter(sessions::created_at.gt(live.born_after)),
    )
    .set((
        sessions::user_id.eq(user_id),
        sessions::state.eq(state),
        sessions::expires_at.eq(expires_at),
        sessions::last_used_at.eq(Some(live.now)),
    ))
    .execute(conn)
}

/// A logged-in browser session as the device list shows it (never its key or state).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct DeviceSession {
    /// Row id (never shown: the list shows an opaque id derived from it).
    pub id: i64,
    /// The login this session belongs to.
    pub device_id: Option<String>,
    /// When it was created.
    pub created_at: NaiveDateTime,
    /// Last request, to the minute.
    pub last_used_at: Option<NaiveDateTime>,
    /// Client address at login.
    pub ip_address: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}

/// The live sessions of an account, newest first.
pub fn list_live_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    live: Live,
) -> QueryResult<Vec<DeviceSession>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(live.now))
        .filter(sessions::created_at.gt(live.born_after))
        .order(sessions::id.desc())
        .select(DeviceSession::as_select())
        .load(conn)
}

/// Deletes one session of an account by row id; 0 when it is not that account's.
pub fn delete_for_user_by_id(conn: &mut DbConnection, user_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Pushes the idle expiry of a session that has not expired at `now` forward, unless it was
/// pushed in the last `granularity` (so a page view is not a write every time).
pub fn touch(
    conn: &mut DbConnection,
    key_hash: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
    granularity: chrono::Duration,
) -> QueryResult<usize> {
    diesel::update(
        sessions::table
            .filter(sessions::key_hash.eq(key_hash))
            .filter(sessions::expires_at.gt(now))
            .filter(sessions::expires_at.lt(expires_at - granularity)),
    )
    .set((
        sessions::expires_at.eq(expires_at),
        sessions::last_used_at.eq(Some(now)),
    ))
    .execute(conn)
}

/// Deletes one session.
pub fn delete(conn: &mut DbConnection, key_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::key_hash.eq(key_hash))).execute(conn)
}

/// Deletes every session of an account.
pub fn delete_for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// Deletes idle-expired sessions and those created before `born_after`.
pub fn delete_expired(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    born_after: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::delete(
        sessions::table.filter(
            sessions::expires_at
                .le(now)
                .or(sessions::created_at.le(born_after)),
        ),
    )
    .execute(conn)
}

/// Stores a session's key hash under the current key in place of its hash under an older one
/// (key rotation); returns how many rows changed (0 or 1).
pub fn rekey(conn: &mut DbConnection, old_hash: &str, new_hash: &str) -> QueryResult<usize> {
    diesel::update(sessions::table.filter(sessions::key_hash.eq(old_hash)))
        .set(sessions::key_hash.eq(new_hash))
        .execute(conn)
}
