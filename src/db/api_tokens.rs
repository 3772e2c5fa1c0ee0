//! The `api_tokens` table: login bearer tokens, found by their keyed hash only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, users};
use super::users::User;
use super::DbConnection;

/// A stored bearer token (its hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    /// Primary key.
    pub id: i64,
    /// The account it authenticates.
    pub user_id: i64,
    /// HMAC-SHA256 of the token, hex.
    pub token_hash: String,
    /// The account's password stamp when issued; a different stamp now means stale.
    pub password_stamp: i64,
    /// Issue time.
    pub created_at: NaiveDateTime,
    /// After this the token is invalid.
    pub expires_at: NaiveDateTime,
    /// Last use, to the minute.
    pub last_used_at: Option<NaiveDateTime>,
    /// Client address at login.
    pub ip_address: Option<String>,
    /// Client user agent at login.
    pub user_agent: Option<String>,
}

/// A token to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    /// The account.
    pub user_id: i64,
    /// HMAC-SHA256 of the token.
    pub token_hash: &'a str,
    /// The account's current password stamp.
    pub password_stamp: i64,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now + TTL.
    pub expires_at: NaiveDateTime,
    /// Client address.
    pub ip_address: Option<&'a str>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
}

impl NewApiToken<'_> {
    /// Inserts the token.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(api_tokens::table)
            .values(self)
            .execute(conn)
    }
}

/// The token with this hash and its account, expired or not.
pub fn find_with_user(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(ApiTokenRow, User)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((ApiTokenRow::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// Records a use, unless one was recorded since `since` (so at most one write a minute).
pub fn touch(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    since: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table.find(id).filter(
            api_tokens::last_used_at
                .is_null()
                .or(api_tokens::last_used_at.lt(since)),
        ),
    )
    .set(api_tokens::last_used_at.eq(Some(now)))
    .execute(conn)
}

/// Moves a token to the account's new password stamp (the token that changed the password
/// stays valid).
pub fn restamp(conn: &mut DbConnection, id: i64, password_stamp: i64) -> QueryResult<usize> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::password_stamp.eq(password_stamp))
        .execute(conn)
}

/// Deletes one token.
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(api_tokens::table.find(id)).execute(conn)
}

/// Deletes every token of an account except `keep`.
pub fn delete_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Option<i64>,
) -> QueryResult<usize> {
    diesel::delete(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::id.ne(keep.unwrap_or(-1))),
    )
    .execute(conn)
}

/// Deletes every expired token.
pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(api_tokens::table.filter(api_tokens::expires_at.le(now))).execute(conn)
}

/// The live tokens of an account (unexpired, of its current password stamp), newest first.
pub fn list_live_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    password_stamp: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<ApiTokenRow>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user_id))
        .filter(api_tokens::password_stamp.eq(password_stamp))
        .filter(api_tokens::expires_at.gt(now))
        .order(api_tokens::id.desc())
        .select(ApiTokenRow::as_select())
        .load(conn)
}

/// Deletes one token of an account; 0 when it is not that account's.
pub fn delete_for_user_by_id(conn: &mut DbConnection, user_id: i64, id: i64) -> QueryResult<usize> {
    diesel::delete(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(user_id)),
    )
    .execute(conn)
}

/// Stores a token's hash under the current key in place of its hash under an older one (key
/// rotation); returns how many rows changed (0 or 1).
pub fn rekey(conn: &mut DbConnection, old_hash: &str, new_hash: &str) -> QueryResult<usize> {
    diesel::update(api_tokens::table.filter(api_tokens::token_hash.eq(old_hash)))
        .set(api_tokens::token_hash.eq(new_hash))
        .execute(conn)
}
