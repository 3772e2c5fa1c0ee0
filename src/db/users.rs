//! The `users` table.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::users;
use super::DbConnection;
use crate::domain::username_key;

/// An account row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    /// Primary key.
    pub id: i64,
    /// Login name as the administrator typed it (unique byte for byte).
    pub username: String,
    /// The address as entered; mail goes here.
    pub email: String,
    /// Canonical form of `email`, unique.
    pub email_key: String,
    /// argon2id PHC string; `None` = no usable password.
    pub password_hash: Option<String>,
    /// Inactive accounts cannot log in or reset.
    pub is_active: bool,
    /// Changes with every password change; older sessions and tokens carry a stale stamp.
    pub password_stamp: i64,
    /// When the password last changed.
    pub password_changed_at: Option<NaiveDateTime>,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last modification time (UTC).
    pub updated_at: NaiveDateTime,
    /// NFKC + case-folded `username`, unique; `None` on a legacy row whose key would collide
    /// with another account's (reported by `latchkey migrate`).
    pub username_key: Option<String>,
    /// Start of the account's current reset-mail window ([`reserve_reset_mail`]).
    pub reset_window_start: Option<NaiveDateTime>,
    /// Reset mails reserved in that window.
    pub reset_window_count: i32,
}

impl User {
    /// Whether this row already shows the reset-mail allowance used up: its window opened
    /// after `window_open` and holds `cap` mails. Within an open window the count only grows,
    /// so the answer holds even if the row was read before the account was locked, and the
    /// resolver skips the write. `false` decides nothing: [`reserve_reset_mail`] does.
    pub fn reset_mails_used_up(&self, window_open: NaiveDateTime, cap: i32) -> bool {
        self.reset_window_start
            .is_some_and(|start| start > window_open)
            && self.reset_window_count >= cap
    }
}

/// A row to insert.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Its uniqueness key ([`username_key`]).
    pub username_key: &'a str,
    /// Address as entered.
    pub email: &'a str,
    /// Canonical address.
    pub email_key: &'a str,
    /// PHC string, or `None` for no usable password.
    pub password_hash: Option<&'a str>,
    /// Password set time, if one was set.
    pub password_changed_at: Option<NaiveDateTime>,
    /// Now.
    pub created_at: NaiveDateTime,
    /// Now.
    pub updated_at: NaiveDateTime,
}

impl NewUser<'_> {
    /// Inserts the row and reads it back.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<User> {
        let id: i64 = diesel::insert_into(users::table)
            .values(self)
            .returning(users::id)
            .get_result(conn)?;
        users::table.find(id).select(User::as_select()).first(conn)
    }
}

/// The account a typed username means: the one with exactly that username, else the one whose
/// username key matches (so `BOB` finds `bob`). The exact match comes first so a legacy account
/// left without a key (its key collides with another's) is still found by its own spelling.
pub fn find_by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<User>> {
    let key = username_key(username);
    let mut matches: Vec<User> = users::table
        .filter(
            users::username
                .eq(username)
                .or(users::username_key.eq(&key)),
        )
        .select(User::as_select())
        .limit(2)
        .load(conn)?;
    matches.sort_by_key(|user| user.username != username);
    Ok(matches.into_iter().next())
}

/// The account whose canonical email is `email_key`.
pub fn find_by_email_key(conn: &mut DbConnection, email_key: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email_key.eq(email_key))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The account a login name means. An address (its canonical key `email_key`) is looked up as
/// an email first, so no username can capture another account's email logins; then the exact
/// username, then the username key (`BOB` logs in as `bob`).
pub fn find_for_login(
    conn: &mut DbConnection,
    login: &str,
    email_key: &str,
) -> QueryResult<Option<User>> {
    let key = username_key(login);
    let matches: Vec<User> = users::table
        .filter(
            users::email_key
                .eq(email_key)
                .or(users::username.eq(login))
                .or(users::username_key.eq(&key)),
        )
        .select(User::as_select())
        .limit(3)
        .load(conn)?;
    let rank = |user: &User| {
        if user.email_key == email_key {
            0
        } else if user.username == login {
            1
        } else {
            2
        }
    };
    Ok(matches.into_iter().min_by_key(rank))
}

/// The accounts whose canonical emails are among `keys`.
pub fn find_by_email_keys(conn: &mut DbConnection, keys: &[&str]) -> QueryResult<Vec<User>> {
    users::table
        .filter(users::email_key.eq_any(keys))
        .select(User::as_select())
        .load(conn)
}

/// The account each typed name means, as [`find_by_username`] decides it, in one query: keyed
/// by the name as typed; names that mean no account are absent.
pub fn find_by_usernames(
    conn: &mut DbConnection,
    names: &[&str],
) -> QueryResult<HashMap<String, User>> {
    let keys: Vec<String> = names.iter().map(|name| username_key(name)).collect();
    let rows: Vec<User> = users::table
        .filter(
            users::username
                .eq_any(names)
                .or(users::username_key.eq_any(&keys)),
        )
        .select(User::as_select())
        .load(conn)?;
    let mut found = HashMap::new();
    for (name, key) in names.iter().zip(&keys) {
        let user = rows.iter().find(|user| user.username == *name).or_else(|| {
            rows.iter()
                .find(|user| user.username_key.as_deref() == Some(key.as_str()))
        });
        if let Some(user) = user {
            found.insert((*name).to_owned(), user.clone());
        }
    }
    Ok(found)
}

/// The columns the key backfill after migrations reads.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct KeyRow {
    /// Primary key.
    pub id: i64,
    /// Login name as stored.
    pub username: String,
    /// Address as stored.
    pub email: String,
    /// Stored email key (maybe computed by an older rule).
    pub email_key: String,
    /// Stored username key (`None` before the backfill, or for a colliding legacy row).
    pub username_key: Option<String>,
}

/// Every account's names and keys, by id (for the backfill).
pub fn list_keys(conn: &mut DbConnection) -> QueryResult<Vec<KeyRow>> {
    users::table
        .order(users::id.asc())
        .select(KeyRow::as_select())
        .load(conn)
}

/// Stores a recomputed username key.
pub fn set_username_key(conn: &mut DbConnection, id: i64, key: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::username_key.eq(key))
        .execute(conn)
}

/// Stores a recomputed email key.
pub fn set_email_key(conn: &mut DbConnection, id: i64, key: &str) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::email_key.eq(key))
        .execute(conn)
}

/// The account with this id.
pub fn find_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// Every account, by id.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::id.asc())
        .select(User::as_select())
        .load(conn)
}

/// Renames an account (the key is the new name's); returns the number of rows changed.
pub fn rename(
    conn: &mut DbConnection,
    id: i64,
    username: &str,
    key: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::username.eq(username),
            users::username_key.eq(key),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Changes an account's address and its key; returns the number of rows changed.
pub fn set_email(
    conn: &mut DbConnection,
    id: i64,
    email: &str,
    email_key: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email),
            users::email_key.eq(email_key),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Sets `is_active`; returns the number of rows changed (0 = no such user).
pub fn set_active(
    conn: &mut DbConnection,
    id: i64,
    active: bool,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((users::is_active.eq(active), users::updated_at.eq(now)))
        .execute(conn)
}

/// Stores a new password hash and advances the password stamp, so every session and token
/// issued under the old stamp is stale.
pub fn set_password_hash(
    conn: &mut DbConnection,
    id: i64,
    password_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::password_stamp.eq(users::password_stamp + 1),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Removes the usable password ("This wasn't me"): the stamp advances, so every session and
/// token issued before is stale, and only a reset can set a password again.
pub fn clear_password_hash(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(None::<String>),
            users::password_stamp.eq(users::password_stamp + 1),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

/// Like [`set_password_hash`], but only while the account's stamp is still `stamp` (the one
/// the current password was verified under); returns the new stamp, or `None` when another
/// change got there first. Concurrent changes are serialised by this condition: the database
/// re-checks it on the row's latest version, so exactly one of them wins.
pub fn set_password_hash_if_stamp(
    conn: &mut DbConnection,
    id: i64,
    stamp: i64,
    password_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::password_stamp.eq(stamp)),
    )
    .set((
        users::password_hash.eq(password_hash),
        users::password_stamp.eq(users::password_stamp + 1),
        users::password_changed_at.eq(now),
        users::updated_at.eq(now),
    ))
    .returning(users::password_stamp)
    .get_result(conn)
    .optional()
}

/// Replaces a hash with an upgraded one of the *same* password: the stamp is kept, because
/// nothing about the account's credentials changed.
pub fn upgrade_password_hash(
    conn: &mut DbConnection,
    id: i64,
    old_hash: &str,
    new_hash: &str,
) -> QueryResult<usize> {
    diesel::update(
        users::table
            .find(id)
            .filter(users::password_hash.eq(old_hash)),
    )
    .set(users::password_hash.eq(new_hash))
    .execute(conn)
}

/// Takes one slot of the account's reset-mail allowance (`cap` per `window`), atomically across
/// instances: either the current window has room, or it is over and a new one starts.
/// `false` means the cap is reached and no mail may be sent.
pub fn reserve_reset_mail(
    conn: &mut DbConnection,
    id: i64,
    now: NaiveDateTime,
    window: chrono::Duration,
    cap: i32,
) -> QueryResult<bool> {
    let window_open = now - window;
    let counted = diesel::update(
        users::table
            .find(id)
            .filter(users::reset_window_start.gt(window_open))
            .filter(users::reset_window_count.lt(cap)),
    )
    .set(users::reset_window_count.eq(users::reset_window_count + 1))
    .execute(conn)?;
    if counted == 1 {
        return Ok(true);
    }
    let restarted = diesel::update(
        users::table.find(id).filter(
            users::reset_window_start
                .is_null()
                .or(users::reset_window_start.le(window_open)),
        ),
    )
    .set((
        users::reset_window_start.eq(Some(now)),
        users::reset_window_count.eq(1),
    ))
    .execute(conn)?;
    Ok(restarted == 1)
}

/// Locks these accounts' rows until the transaction ends, in id order. Why: two instances
/// resolving reset requests (or a request and a confirm) for one account must not interleave
/// their token replacement, and locks taken in one order cannot deadlock. On SQLite the write
/// transaction already excludes every other writer, so nothing is needed.
pub fn lock_in_id_order(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        users::table
            .filter(users::id.eq_any(&ids))
            .order(users::id.asc())
            .select(users::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    Ok(())
}

/// Records a successful login (what `users show` reports as the last login).
pub fn set_last_login(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(users::last_login.eq(Some(at)))
        .execute(conn)
}
