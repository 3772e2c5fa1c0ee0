//! Persistence: one connection type for SQLite and PostgreSQL, its pool, migrations and the
//! queries of each table (one file per table).
//!
//! # Why `MultiConnection`
//!
//! [`DbConnection`] is a `#[derive(diesel::MultiConnection)]` enum over `PgConnection` and
//! `SqliteConnection`. Queries are written once with diesel's DSL against it and run on either
//! backend; the schema (`schema.rs`, generated from PostgreSQL) uses only types both backends
//! share. The few statements whose SQL must differ (PostgreSQL's `FOR UPDATE SKIP LOCKED`,
//! advisory locks) `match` on the variant and use the concrete connection there, so
//! backend-specific code is visible and rare. A backend-generic repository (functions generic
//! over `Connection<Backend = B>`) would need long trait bounds on every query for no gain.
//!
//! The variant is chosen from the URL scheme by our own pool manager (`db::pool`), not by the
//! derived `establish`, which tries each backend in turn and loses the real error of an
//! unreachable PostgreSQL server.
//!
//! # Writes
//!
//! Every write goes through [`Conn::write`], one transaction. On SQLite it takes an in-process
//! lock (requests ahead of worker threads, see `write_lock.rs`) and starts with
//! `BEGIN IMMEDIATE`: writers queue in the process instead of spinning on `SQLITE_BUSY`, and a
//! transaction never fails half-way by upgrading a read lock. On PostgreSQL it is a plain
//! transaction; cross-instance races are settled by conditional statements.

pub mod api_tokens;
pub mod audit;
mod connection;
pub mod login_throttles;
pub mod migrations;
pub mod outbox;
mod pool;
#[cfg(test)]
mod query_plan;
pub mod rate_limits;
pub mod reset_requests;
pub mod reset_tokens;
/// The diesel schema, generated from PostgreSQL by `diesel print-schema`.
#[allow(missing_docs)]
pub mod schema;
pub mod sessions;
pub mod users;
pub mod users_admin;
pub mod wasnt_me_tokens;
mod write_lock;

use std::sync::Arc;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::r2d2::{Pool, PooledConnection};

use crate::config::DatabaseUrl;
pub use connection::DbConnection;
pub use pool::ConnectionManager;
pub use write_lock::Priority;
use write_lock::WriteLock;

/// The database could not be used: unreachable, exhausted, or a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had (server down, pool exhausted, file unreadable).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A statement failed.
    #[error("a database statement failed: {0}")]
    Query(#[from] diesel::result::Error),
}

/// The connection pool, shared by HTTP handlers, workers and CLI commands.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager>,
    write_lock: Option<Arc<WriteLock>>,
    priority: Priority,
    url: DatabaseUrl,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("url", &self.url).finish()
    }
}

impl Db {
    /// Opens a pool of `size` connections. One connection is made first, so an unreachable
    /// database is reported at once with its real cause.
    pub fn connect(url: &DatabaseUrl, size: u32) -> Result<Self, DbError> {
        let manager = ConnectionManager::new(url.clone());
        drop(manager.connect_now()?);
        let pool = pool::build(manager, size, url.is_postgres());
        let write_lock = (!url.is_postgres()).then(|| Arc::new(WriteLock::default()));
        Ok(Self {
            pool,
            write_lock,
            priority: Priority::Foreground,
            url: url.clone(),
        })
    }

    /// The same pool for worker threads, whose writes let requests go first.
    pub fn background(&self) -> Self {
        Self {
            priority: Priority::Background,
            ..self.clone()
        }
    }

    /// A pooled connection, waiting at most the pool's timeout.
    pub fn get(&self) -> Result<Conn, DbError> {
        let inner = self
            .pool
            .get()
            .map_err(|err| DbError::Unavailable(one_line(&err.to_string())))?;
        Ok(Conn {
            inner,
            write_lock: self.write_lock.clone(),
            priority: self.priority,
        })
    }

    /// True when backed by PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        self.url.is_postgres()
    }

    /// The URL, for messages (its password is masked when printed).
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

/// A pooled connection; reads use it directly, writes go through [`Conn::write`].
pub struct Conn {
    inner: PooledConnection<ConnectionManager>,
    write_lock: Option<Arc<WriteLock>>,
    priority: Priority,
}

impl std::ops::Deref for Conn {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.inner
    }
}

impl Conn {
    /// Runs `work` in one write transaction: committed if it returns `Ok`, rolled back if not.
    pub fn write<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        let _serialized = self
            .write_lock
            .as_ref()
            .map(|lock| lock.acquire(self.priority));
        let conn: &mut DbConnection = &mut self.inner;
        match conn {
            DbConnection::Postgres(_) => diesel::Connection::transaction(conn, work),
            DbConnection::Sqlite(sqlite) => {
                AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
                let outcome = work(conn);
                let DbConnection::Sqlite(sqlite) = conn else {
                    unreachable!("the variant cannot change inside a transaction")
                };
                match outcome {
                    Ok(value) => {
                        AnsiTransactionManager::commit_transaction(sqlite)?;
                        Ok(value)
                    }
                    Err(err) => {
                        AnsiTransactionManager::rollback_transaction(sqlite)?;
                        Err(err)
                    }
                }
            }
        }
    }
}

/// Joins a multi-line driver message (libpq's are) into one line for logs and the CLI.
pub(crate) fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The current time as stored: UTC without a zone, microsecond precision on both backends.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}

/// `SELECT 1`: the cheapest proof the database answers.
pub fn ping(conn: &mut DbConnection) -> Result<(), DbError> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}
