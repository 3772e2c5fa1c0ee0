//! [`DbConnection`]: the enum diesel's `MultiConnection` derive turns into one connection type.
// The derive generates public helper items (a backend, a bind collector, …) without docs.
#![allow(missing_docs)]

use diesel::{PgConnection, SqliteConnection};

/// A connection to whichever backend `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL, for production and several instances.
    Postgres(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}
