//! Embedded migrations: `migrations/sqlite` and `migrations/postgres` hold the same versions.
//!
//! They are the same files the diesel CLI runs (`diesel migration run`), and both record into
//! `__diesel_schema_migrations`, so either tool sees what the other applied.
//!
//! After the SQL, a Rust step brings the account keys up to date ([`backfill_keys`]): SQL cannot
//! compute NFKC or IDNA, so `username_key` and `email_key` of existing rows are (re)computed
//! here, by every command that migrates (`migrate`, `serve`, the admin commands). A key that
//! would collide with another row's is not written: that row keeps its old email key, or no
//! username key, stays usable by its exact spelling, and is reported as a [`KeyConflict`] each
//! time until an administrator resolves it.

use std::collections::BTreeMap;
use std::fmt;

use diesel::connection::SimpleConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::users::{self, KeyRow};
use super::{Db, DbConnection, DbError};
use crate::domain::{canonical_key, email_form_key, username_key};

pub(crate) const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migrations between instances that start at the same time on one PostgreSQL
/// database (an arbitrary constant: "latchkey" in ASCII).
const MIGRATION_LOCK_ID: i64 = 0x6c61_7463_686b_6579;

/// What a migration run did.
#[derive(Debug, Default)]
pub struct Migrated {
    /// Versions applied, oldest first.
    pub applied: Vec<String>,
    /// Accounts whose keys could not be brought up to date (for the administrator to resolve).
    pub conflicts: Vec<KeyConflict>,
}

/// Accounts that the current comparison rules say are one, left as they were.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyConflict {
    /// Usernames equal after NFKC and case folding; only the first (id, username) holds the key.
    Username {
        /// The shared key.
        key: String,
        /// (id, username) of each account, the key holder first.
        users: Vec<(i64, String)>,
    },
    /// Addresses equal after IDNA and case folding; only the first holds the new key.
    Email {
        /// The shared key.
        key: String,
        /// (id, email) of each account, the key holder first.
        users: Vec<(i64, String)>,
    },
    /// A username that has the form of another account's email address: logins with that
    /// address go to the address's owner.
    EmailShapedUsername {
        /// (id, username) of the account with the email-shaped name.
        user: (i64, String),
        /// (id, email) of the account whose address it is.
        owner: (i64, String),
    },
}

impl fmt::Display for KeyConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |users: &[(i64, String)]| {
            let named: Vec<String> = users
                .iter()
                .map(|(id, name)| format!("{id} ({name})"))
                .collect();
            match named.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => named.join(""),
            }
        };
        match self {
            Self::Username { key, users } | Self::Email { key, users } if users.len() == 1 => {
                let what = match self {
                    Self::Username { .. } => "username",
                    _ => "email",
                };
                write!(
                    f,
                    "user {} cannot take the {what} key {key:?}, which another account holds; \
                     it is found by its exact spelling only",
                    list(users),
                )
            }
            Self::Username { key, users } => write!(
                f,
                "users {} share the username key {key:?}; only user {} is found by other spellings, \
                 the others log in by their exact username only; rename one with \
                 `latchkey users rename OLD NEW`",
                list(users),
                users.first().map_or(0, |user| user.0),
            ),
            Self::Email { key, users } => write!(
                f,
                "users {} share the email key {key:?}; that address finds user {} only; give the \
                 others another address with `latchkey users set-email USERNAME EMAIL`",
                list(users),
                users.first().map_or(0, |user| user.0),
            ),
            Self::EmailShapedUsername { user, owner } => write!(
                f,
                "user {} ({}) has a username of the form of user {}'s email address {}; logins \
                 with it go to user {}; rename user {} with `latchkey users rename OLD NEW`",
                user.0, user.1, owner.0, owner.1, owner.0, user.0,
            ),
        }
    }
}

/// Runs every pending migration and the key backfill; returns the versions applied, oldest
/// first. Key conflicts are logged as warnings (`latchkey migrate` prints them itself, through
/// [`run_pending_reporting`]).
pub fn run_pending(db: &Db) -> Result<Vec<String>, DbError> {
    let migrated = run_pending_reporting(db)?;
    for conflict in &migrated.conflicts {
        tracing::warn!("{conflict}");
    }
    Ok(migrated.applied)
}

/// Runs every pending migration, then [`backfill_keys`], and says what it did.
pub fn run_pending_reporting(db: &Db) -> Result<Migrated, DbError> {
    let mut conn = db.get()?;
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| {
        DbError::Unavailable(format!("migration failed: {err}"))
    };
    let names = |versions: Vec<diesel::migration::MigrationVersion<'_>>| {
        versions.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    let applied = match &mut *conn {
        DbConnection::Sqlite(sqlite) => {
            names(sqlite.run_pending_migrations(SQLITE).map_err(failed)?)
        }
        DbConnection::Postgres(pg) => {
            // The lock also covers the backfill, so two instances starting together do not
            // compute and report the same keys at once.
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
            let outcome = pg
                .run_pending_migrations(POSTGRES)
                .map(names)
                .map_err(failed);
            let outcome = match outcome {
                Ok(applied) => conn
                    .write(backfill_keys)
                    .map(|conflicts| Migrated { applied, conflicts })
                    .map_err(DbError::from),
                Err(err) => Err(err),
            };
            if let DbConnection::Postgres(pg) = &mut *conn {
                pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
            }
            return outcome;
        }
    };
    let conflicts = conn.write(backfill_keys)?;
    Ok(Migrated { applied, conflicts })
}

/// Recomputes every account's `username_key` and `email_key` with the current rules and
/// stores those that changed, inside the caller's transaction. Where several accounts get one
/// key, the one already holding it keeps it (else the oldest gets it) and the others are left
/// as they were; each such group, and each username shaped like another account's address, is
/// returned. A scan of one narrow row per account: cheap next to starting a server.
pub fn backfill_keys(conn: &mut DbConnection) -> Result<Vec<KeyConflict>, DieselError> {
    let rows = users::list_keys(conn)?;
    let mut conflicts = Vec::new();

    let mut by_email: BTreeMap<String, Vec<&KeyRow>> = BTreeMap::new();
    for row in &rows {
        by_email
            .entry(canonical_key(&row.email))
            .or_default()
            .push(row);
    }
    for (key, group) in &by_email {
        let holder = group
            .iter()
            .find(|row| row.email_key == *key)
            .copied()
            .or(group.first().copied());
        let Some(holder) = holder else { continue };
        if holder.email_key != *key
            && !store(conn, |conn| users::set_email_key(conn, holder.id, key))?
        {
            conflicts.push(KeyConflict::Email {
                key: key.clone(),
                users: vec![(holder.id, holder.email.clone())],
            });
            continue;
        }
        if group.len() > 1 {
            let mut users = vec![(holder.id, holder.email.clone())];
            users.extend(
                group
                    .iter()
                    .filter(|row| row.id != holder.id)
                    .map(|row| (row.id, row.email.clone())),
            );
            conflicts.push(KeyConflict::Email {
                key: key.clone(),
                users,
            });
        }
    }

    // Read again: the email keys just stored decide whose address an email-shaped name is.
    let rows = users::list_keys(conn)?;
    let mut by_name: BTreeMap<String, Vec<&KeyRow>> = BTreeMap::new();
    for row in &rows {
        by_name
            .entry(username_key(&row.username))
            .or_default()
            .push(row);
    }
    for (key, group) in &by_name {
        let holder = group
            .iter()
            .find(|row| row.username_key.as_deref() == Some(key.as_str()))
            .copied()
            .or(group.first().copied());
        let Some(holder) = holder else { continue };
        let stored = holder.username_key.as_deref() == Some(key.as_str())
            || store(conn, |conn| users::set_username_key(conn, holder.id, key))?;
        if group.len() > 1 || !stored {
            let mut users = vec![(holder.id, holder.username.clone())];
            users.extend(
                group
                    .iter()
                    .filter(|row| row.id != holder.id)
                    .map(|row| (row.id, row.username.clone())),
            );
            conflicts.push(KeyConflict::Username {
                key: key.clone(),
                users,
            });
        }
    }

    let owners: BTreeMap<&str, &KeyRow> = rows
        .iter()
        .map(|row| (row.email_key.as_str(), row))
        .collect();
    for row in &rows {
        let Some(form) = email_form_key(&row.username) else {
            continue;
        };
        match owners.get(form.as_str()) {
            Some(owner) if owner.id != row.id => conflicts.push(KeyConflict::EmailShapedUsername {
                user: (row.id, row.username.clone()),
                owner: (owner.id, owner.email.clone()),
            }),
            _ => {}
        }
    }
    Ok(conflicts)
}

/// Runs one key update in a savepoint: `false` (and nothing changed) when a unique index
/// refused it, e.g. because an account created meanwhile took the key.
fn store(
    conn: &mut DbConnection,
    update: impl FnOnce(&mut DbConnection) -> Result<usize, DieselError>,
) -> Result<bool, DieselError> {
    match conn.transaction(update) {
        Ok(_) => Ok(true),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Versions not yet applied (for `migrate --check`-style reporting and tests).
pub fn pending(db: &Db) -> Result<Vec<String>, DbError> {
    let mut conn = db.get()?;
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| {
        DbError::Unavailable(format!("cannot read the migration history: {err}"))
    };
    Ok(match &mut *conn {
        DbConnection::Sqlite(sqlite) => sqlite
            .pending_migrations(SQLITE)
            .map_err(failed)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        DbConnection::Postgres(pg) => pg
            .pending_migrations(POSTGRES)
            .map_err(failed)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    })
}

/// Applied versions this binary does not know: a newer binary migrated the database.
pub fn unknown_applied(db: &Db) -> Result<Vec<String>, DbError> {
    use diesel::migration::MigrationSource;
    let mut conn = db.get()?;
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| {
        DbError::Unavailable(format!("cannot read the migration history: {err}"))
    };
    let (applied, known): (Vec<String>, Vec<String>) = match &mut *conn {
        DbConnection::Sqlite(sqlite) => (
            sqlite
                .applied_migrations()
                .map_err(failed)?
                .iter()
                .map(ToString::to_string)
                .collect(),
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE)
                .map_err(failed)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect(),
        ),
        DbConnection::Postgres(pg) => (
            pg.applied_migrations()
                .map_err(failed)?
                .iter()
                .map(ToString::to_string)
                .collect(),
            MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES)
                .map_err(failed)?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect(),
        ),
    };
    Ok(applied
        .into_iter()
        .filter(|version| !known.contains(version))
        .collect())
}
