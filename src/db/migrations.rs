//! Embedded migrations: `migrations/sqlite` and `migrations/postgres` hold the same versions.
//!
//! They are the same files the diesel CLI runs (`diesel migration run`), and both record into
//! `__diesel_schema_migrations`, so either tool sees what the other applied.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{Db, DbConnection, DbError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Serialises migrations between instances that start at the same time on one PostgreSQL
/// database (an arbitrary constant: "latchkey" in ASCII).
const MIGRATION_LOCK_ID: i64 = 0x6c61_7463_686b_6579;

/// Runs every pending migration and returns the versions applied, oldest first.
pub fn run_pending(db: &Db) -> Result<Vec<String>, DbError> {
    let mut conn = db.get()?;
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| {
        DbError::Unavailable(format!("migration failed: {err}"))
    };
    let names = |versions: Vec<diesel::migration::MigrationVersion<'_>>| {
        versions.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    match &mut *conn {
        DbConnection::Sqlite(sqlite) => Ok(names(
            sqlite.run_pending_migrations(SQLITE).map_err(failed)?,
        )),
        DbConnection::Postgres(pg) => {
            pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_ID})"))?;
            let outcome = pg
                .run_pending_migrations(POSTGRES)
                .map(names)
                .map_err(failed);
            pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_ID})"))?;
            outcome
        }
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
