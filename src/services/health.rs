//! Liveness: can the database answer a query?

use crate::db::{self, Db, DbError};

/// One round trip to the database.
pub fn check(db: &Db) -> Result<(), DbError> {
    let mut conn = db.get()?;
    db::ping(&mut conn)
}
