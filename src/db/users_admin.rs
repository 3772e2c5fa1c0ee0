//! Queries of `users import` and of the admin commands (`users show`, `set-email`, `rename`,
//! `delete`), apart from the everyday look-ups in `users.rs`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{api_tokens, sessions, users};
use super::DbConnection;

/// Rows per `INSERT` of an import: well under SQLite's 32,766 bound parameters (10 a row).
pub const IMPORT_BATCH: usize = 1_000;

/// An imported account: like a created one, plus what another system knew about it.
#[derive(Debug, Insertable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct NewImportedUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// NFKC and case-folded name, unique.
    pub username_key: Option<&'a str>,
    /// Address as given.
    pub email: &'a str,
    /// Canonical address.
    pub email_key: &'a str,
    /// Argon2id or a foreign hash (replaced at the first login), or `None`.
    pub password_hash: Option<&'a str>,
    /// Carried over (Django's `is_active`).
    pub is_active: bool,
    /// When the hash was stored here, if there is one.
    pub password_changed_at: Option<NaiveDateTime>,
    /// Carried over (Django's `date_joined`), else now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
    /// Carried over (Django's `last_login`).
    pub last_login: Option<NaiveDateTime>,
}

/// Inserts accounts in multi-row statements (call inside the import's one transaction). Why
/// per backend: diesel's multi-backend connection has no multi-row insert, and one statement per
/// row makes 100,000 accounts take minutes on PostgreSQL.
pub fn insert_imported(
    conn: &mut DbConnection,
    rows: &[NewImportedUser<'_>],
) -> QueryResult<usize> {
    let mut inserted = 0;
    for batch in rows.chunks(IMPORT_BATCH) {
        let statement = diesel::insert_into(users::table).values(batch);
        inserted += match conn {
            DbConnection::Postgres(pg) => statement.execute(pg)?,
            DbConnection::Sqlite(sqlite) => statement.execute(sqlite)?,
        };
    }
    Ok(inserted)
}

/// The stored last login of an account (imported, or written by a login).
pub fn last_login(conn: &mut DbConnection, id: i64) -> QueryResult<Option<NaiveDateTime>> {
    Ok(users::table
        .find(id)
        .select(users::last_login)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten())
}

/// Live credentials of an account: `(browser sessions, bearer tokens)`.
pub fn live_credentials(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<(i64, i64)> {
    let browser = sessions::table
        .filter(sessions::user_id.eq(id))
        .filter(sessions::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    let tokens = api_tokens::table
        .filter(api_tokens::user_id.eq(id))
        .filter(api_tokens::expires_at.gt(now))
        .count()
        .get_result(conn)?;
    Ok((browser, tokens))
}

/// Deletes the account row (its tokens, sessions and queued mail go with it by cascade).
pub fn delete(conn: &mut DbConnection, id: i64) -> QueryResult<usize> {
    diesel::delete(users::table.find(id)).execute(conn)
}

/// Every stored hash that is not Latchkey's own argon2id (imported, not yet replaced at a
/// login), for the login timing floor.
pub fn foreign_hashes(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    users::table
        .filter(users::password_hash.is_not_null())
        .filter(users::password_hash.not_like("$argon2id$v=19$%"))
        .select(users::password_hash.assume_not_null())
        .load(conn)
}
