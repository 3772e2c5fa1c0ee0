//! The `wasnt_me_tokens` table: the single-use "This wasn't me" links of password-changed
//! notices, stored only as their keyed hash (like reset tokens).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::wasnt_me_tokens;
use super::DbConnection;

/// A token to store.
#[derive(Debug, Insertable)]
#[diesel(table_name = wasnt_me_tokens)]
pub struct NewWasntMeToken<'a> {
    /// The account whose password changed.
    pub user_id: i64,
    /// HMAC-SHA256 of the token.
    pub token_hash: &'a str,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now + `LATCHKEY_WASNT_ME_TTL`.
    pub expires_at: NaiveDateTime,
}

impl NewWasntMeToken<'_> {
    /// Inserts the token.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        diesel::insert_into(wasnt_me_tokens::table)
            .values(self)
            .execute(conn)
    }
}

/// The account of a live token (read only: a GET shows the confirmation page with it).
pub fn find_live(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    wasnt_me_tokens::table
        .filter(wasnt_me_tokens::token_hash.eq(token_hash))
        .filter(wasnt_me_tokens::expires_at.gt(now))
        .select(wasnt_me_tokens::user_id)
        .first(conn)
        .optional()
}

/// Consumes a live token with one conditional statement (so two concurrent POSTs cannot both
/// use it); returns its account.
pub fn consume(
    conn: &mut DbConnection,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    diesel::delete(
        wasnt_me_tokens::table
            .filter(wasnt_me_tokens::token_hash.eq(token_hash))
            .filter(wasnt_me_tokens::expires_at.gt(now)),
    )
    .returning(wasnt_me_tokens::user_id)
    .get_result(conn)
    .optional()
}

/// Deletes every token of an account (after it was used: the account starts over).
pub fn delete_for_user(conn: &mut DbConnection, user_id: i64) -> QueryResult<usize> {
    diesel::delete(wasnt_me_tokens::table.filter(wasnt_me_tokens::user_id.eq(user_id)))
        .execute(conn)
}

/// Deletes every expired token.
pub fn delete_expired(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(wasnt_me_tokens::table.filter(wasnt_me_tokens::expires_at.le(now))).execute(conn)
}
