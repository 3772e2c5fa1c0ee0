//! The `password_reset_tokens` table. Tokens are found by their keyed hash only.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::password_reset_tokens;
use super::DbConnection;

/// A stored token (its hash; the token itself is never stored).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = password_reset_tokens)]
pub struct ResetTokenRow {
    /// Primary key.
    pub id: i64,
    /// The account it resets.
    pub user_id: i64,
    /// HMAC-SHA256 of the token, hex.
    pub token_hash: String,
    /// Issue time.
    pub created_at: NaiveDateTime,
    /// After this the token is invalid.
    pub expires_at: NaiveDateTime,
    /// Client address of the request that caused it.
    pub ip_address: Option<String>,
    /// `User-Agent` of that request (at most 512 characters).
    pub user_agent: Option<String>,
    /// Issued by an administrator (works for accounts without a password).
    pub issued_by_admin: bool,
}

/// A token to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = password_reset_tokens)]
pub struct NewResetToken<'a> {
    /// The account.
    pub user_id: i64,
    /// HMAC-SHA256 of the token.
    pub token_hash: &'a str,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now + TTL.
    pub expires_at: NaiveDateTime,
    /// Client address.
    pub ip_address: Option<&'a str>,
    /// Client user agent.
    pub user_agent: Option<&'a str>,
    /// Issued by an administrator.
    pub issued_by_admin: bool,
}

impl NewResetToken<'_> {
    /// Inserts the token.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(password_reset_tokens::table)
            .values(self)
            .execute(conn)
    }
}

/// The token with this hash, expired or not.
pub fn find_by_hash(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<ResetTokenRow>> {
    password_reset_tokens::table
        .filter(password_reset_tokens::token_hash.eq(token_hash))
        .select(ResetTokenRow::as_select())
        .first(conn)
        .optional()
}

/// True when a token with this hash exists (a freshly generated token collided).
pub fn hash_exists(conn: &mut DbConnection, token_hash: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        password_reset_tokens::table.filter(password_reset_tokens::token_hash.eq(token_hash)),
    ))
    .get_result(conn)
}

/// Consumes a live token: deletes it only if it has not expired and returns its account.
/// One statement, so of several concurrent confirms exactly one gets the row.
pub fn consume(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    diesel::delete(
        password_reset_tokens::table
            .filter(password_reset_tokens::token_hash.eq(token_hash))
            .filter(password_reset_tokens::expires_at.gt(now)),
    )
    .returning(password_reset_tokens::user_id)
    .get_result(conn)
    .optional()
}

/// Deletes one token.
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(password_reset_tokens::table.find(id)).execute(conn)
}

/// Deletes every token of an account.
pub fn delete_for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(password_reset_tokens::table.filter(password_reset_tokens::user_id.eq(user_id)))
        .execute(conn)
}

/// Deletes every expired token.
pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(password_reset_tokens::table.filter(password_reset_tokens::expires_at.le(now)))
        .execute(conn)
}

/// The account's newest token that has not expired (an account has at most one, but a race
/// between instances must not make this fail).
pub fn find_live_for_user(
    conn: &mut DbConnection,
    user_id: i64,
    now: NaiveDateTime,
) -> QueryResult<Option<ResetTokenRow>> {
    password_reset_tokens::table
        .filter(password_reset_tokens::user_id.eq(user_id))
        .filter(password_reset_tokens::expires_at.gt(now))
        .order(password_reset_tokens::created_at.desc())
        .select(ResetTokenRow::as_select())
        .first(conn)
        .optional()
}
