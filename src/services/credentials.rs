//! What a password change, a reset or "log out everywhere" does to the account's other
//! credentials. One place, so the API, the pages and the CLI revoke exactly the same things.

use diesel::QueryResult;

use crate::db::{api_tokens, reset_tokens, sessions, DbConnection};

/// The credential that survives a revocation: the bearer token making a password change stays
/// valid. (A page making the change renews its own session instead: every session row goes.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// A bearer token (by row id).
    pub api_token: Option<i64>,
}

impl Keep {
    /// Revoke everything.
    pub const NOTHING: Keep = Keep { api_token: None };
}

/// Every browser session and every bearer token of the account except `keep`.
pub fn revoke_sessions_and_tokens(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Keep,
) -> QueryResult<()> {
    sessions::delete_for_user(conn, user_id)?;
    api_tokens::delete_for_user(conn, user_id, keep.api_token)?;
    Ok(())
}

/// After a password change (call inside the transaction that stores the new hash, which also
/// advances the password stamp): every reset token (a link mailed earlier must not work any
/// more), and every token and session except `keep`.
pub fn revoke_after_password_change(
    conn: &mut DbConnection,
    user_id: i64,
    keep: Keep,
) -> QueryResult<()> {
    reset_tokens::delete_for_user(conn, user_id)?;
    revoke_sessions_and_tokens(conn, user_id, keep)
}
