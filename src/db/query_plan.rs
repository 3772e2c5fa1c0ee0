//! Test support: the plan SQLite chooses for a query, so a test can insist that a hot query
//! walks its index (a partial index, in particular, is used only when the query names its
//! condition literally).

use diesel::query_builder::QueryFragment;
use diesel::sql_types::Text;
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{Connection, QueryableByName, RunQueryDsl};
use diesel_migrations::MigrationHarness;

#[derive(QueryableByName)]
struct Step {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// A fresh in-memory database with every migration applied.
pub fn migrated_sqlite() -> SqliteConnection {
    let mut conn = SqliteConnection::establish(":memory:").expect("an in-memory database");
    conn.run_pending_migrations(super::migrations::SQLITE)
        .expect("the migrations apply");
    conn
}

/// `EXPLAIN QUERY PLAN` of `query`, its steps joined by "; " (the parameters stay unbound).
pub fn plan_of<Q: QueryFragment<Sqlite>>(conn: &mut SqliteConnection, query: &Q) -> String {
    let shown = diesel::debug_query::<Sqlite, _>(query).to_string();
    let sql = shown.split(" -- binds:").next().unwrap_or(&shown);
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<Step>(conn)
        .expect("SQLite explains the query")
        .into_iter()
        .map(|step| step.detail)
        .collect::<Vec<_>>()
        .join("; ")
}
