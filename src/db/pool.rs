//! The r2d2 pool manager: opens the backend the URL names and prepares every SQLite connection.

use std::time::Duration;

use diesel::r2d2::{ManageConnection, Pool, R2D2Connection};
use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};

use super::{one_line, DbConnection, DbError};
use crate::config::DatabaseUrl;

/// How long a request waits for a pooled connection before answering 503.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// Applied to every SQLite connection: a busy timeout for other connections and processes (the
/// CLI) holding the lock, set first so that even the `journal_mode` switch waits for a lock
/// instead of failing at once (the pool opens connections in the background while another
/// writes); WAL so readers never block the writer; enforced foreign keys; and `NORMAL` sync,
/// which in WAL mode is durable against application crashes and loses at most the last
/// transactions on power loss. Each connection keeps a page cache of its own, 2 MiB by
/// default; with a dozen connections that alone was a third of the process's memory once the
/// outbox and audit tables grew, so it is 512 KiB: the hot pages (indexes of the lookups) fit,
/// and the rest is one `pread` from the kernel's page cache away.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA cache_size = -512;";

/// Opens [`DbConnection`]s of the variant the URL's scheme names.
#[derive(Debug)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    /// A manager for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    /// Opens one connection now, with the driver's own error on failure.
    pub fn connect_now(&self) -> Result<DbConnection, DbError> {
        self.open().map_err(|reason| {
            DbError::Unavailable(format!(
                "cannot connect to {}: {}",
                self.url,
                one_line(&reason)
            ))
        })
    }

    fn open(&self) -> Result<DbConnection, String> {
        match &self.url {
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(|err| err.to_string()),
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_str().ok_or("the SQLite path is not valid UTF-8")?;
                let mut conn = SqliteConnection::establish(path).map_err(|err| err.to_string())?;
                diesel::connection::SimpleConnection::batch_execute(&mut conn, SQLITE_PRAGMAS)
                    .map_err(|err| err.to_string())?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.open().map_err(|reason| {
            diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(reason))
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(|_| ())
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Builds the pool without waiting for connections (the caller has already made one).
///
/// PostgreSQL connections are checked on checkout: a server restart leaves pooled connections
/// dead, and libpq does not say so until a query fails, so the check is what lets the service
/// recover without a restart. SQLite connections are files and are not checked.
pub(super) fn build(
    manager: ConnectionManager,
    size: u32,
    postgres: bool,
) -> Pool<ConnectionManager> {
    Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .test_on_check_out(postgres)
        .build_unchecked(manager)
}
