//! Liveness (can the database answer a query?) and readiness (should a load balancer send this
//! instance traffic?).

use crate::db::{self, migrations, Db, DbError};

/// One round trip to the database.
pub fn check(db: &Db) -> Result<(), DbError> {
    let mut conn = db.get()?;
    db::ping(&mut conn)
}

/// Why an instance should not get traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// SIGTERM received: finishing what it has before it stops.
    Draining,
    /// The database does not answer.
    DatabaseUnavailable,
    /// The database lacks migrations this binary needs (it was started with `--no-migrate`).
    MigrationsPending,
    /// The database has migrations this binary does not know (a newer version migrated it).
    SchemaAhead,
}

impl NotReady {
    /// The `status` word of `/readyz`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draining => "draining",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::MigrationsPending => "migrations_pending",
            Self::SchemaAhead => "schema_ahead_of_binary",
        }
    }
}

/// Ready when the database answers and its applied migrations are exactly the binary's.
pub fn ready(db: &Db) -> Result<(), NotReady> {
    let unavailable = |err: DbError| {
        tracing::warn!(error = %crate::error::chain(&err), "readiness check failed");
        NotReady::DatabaseUnavailable
    };
    check(db).map_err(unavailable)?;
    if !migrations::pending(db).map_err(unavailable)?.is_empty() {
        return Err(NotReady::MigrationsPending);
    }
    if !migrations::unknown_applied(db)
        .map_err(unavailable)?
        .is_empty()
    {
        return Err(NotReady::SchemaAhead);
    }
    Ok(())
}
