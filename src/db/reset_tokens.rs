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
    /// Codes presented for this account that were not this token (see [`take_attempt`]).
    pub failed_attempts: i32,
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

/// One attempt taken on a token by [`take_attempt`].
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The token's row.
    pub id: i64,
    /// Its keyed hash, to compare the presented code with.
    pub token_hash: String,
    /// Attempts used, this one included.
    pub failed_attempts: i32,
}

impl Attempt {
    fn from_rows(rows: Vec<(i64, String, i32)>) -> Vec<Self> {
        rows.into_iter()
            .map(|(id, token_hash, failed_attempts)| Self {
                id,
                token_hash,
                failed_attempts,
            })
            .collect()
    }
}

/// Takes one attempt of the account's live tokens before the presented code is compared with
/// them: one conditional `UPDATE … RETURNING`, so concurrent guesses each cost an attempt and a
/// token with `max` attempts used is never compared again. The same single statement runs for
/// an unknown account (it changes nothing), so its timing says little. Give the attempt back
/// with [`give_back_attempt`] when the code matched.
pub fn take_attempt(
    conn: &mut DbConnection,
    user_id: Option<i64>,
    now: NaiveDateTime,
    max: i32,
) -> QueryResult<Vec<Attempt>> {
    use password_reset_tokens::{expires_at, failed_attempts, id, token_hash};
    // No account: the same statement on a user id no row has (ids start at 1).
    let owner = user_id.unwrap_or(0);
    diesel::update(
        password_reset_tokens::table
            .filter(password_reset_tokens::user_id.eq(owner))
            .filter(expires_at.gt(now))
            .filter(failed_attempts.lt(max)),
    )
    .set(failed_attempts.eq(failed_attempts + 1))
    .returning((id, token_hash, failed_attempts))
    .get_results::<(i64, String, i32)>(conn)
    .map(Attempt::from_rows)
}

/// Returns the attempt [`take_attempt`] took, for a code that matched.
pub fn give_back_attempt(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::update(
        password_reset_tokens::table
            .find(id)
            .filter(password_reset_tokens::failed_attempts.gt(0)),
    )
    .set(password_reset_tokens::failed_attempts.eq(password_reset_tokens::failed_attempts - 1))
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

/// Stores a token's hash under the current key in place of its hash under an older one (key
/// rotation); returns how many rows changed (0 or 1).
pub fn rekey(conn: &mut DbConnection, old_hash: &str, new_hash: &str) -> QueryResult<usize> {
    diesel::update(
        password_reset_tokens::table.filter(password_reset_tokens::token_hash.eq(old_hash)),
    )
    .set(password_reset_tokens::token_hash.eq(new_hash))
    .execute(conn)
}
