//! Logging out (one bearer token, one browser session, or everywhere), and what a password
//! change, a reset or "log out everywhere" does to the account's other credentials. One place,
//! so the API, the pages and the CLI revoke exactly the same things.

use diesel::QueryResult;

use super::login::Authenticated;
use super::AccountService;
use crate::db::{api_tokens, reset_tokens, sessions, DbConnection};
use crate::error::Failure;
use crate::services::audit::{self, Event};
use crate::services::ClientInfo;

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

impl AccountService {
    /// Revokes the calling token.
    #[tracing::instrument(skip_all, fields(user_id = auth.user.id))]
    pub fn logout(&self, auth: &Authenticated, client: &ClientInfo) -> Result<(), Failure> {
        self.db.get()?.write(|conn| {
            api_tokens::delete(conn, auth.token_id)?;
            audit::record(
                conn,
                &Event::new(audit::LOGOUT, auth.user.id, Some(client))
                    .with(serde_json::json!({ "kind": "api_token" })),
            )
        })?;
        tracing::info!(user_id = auth.user.id, "bearer token revoked");
        Ok(())
    }

    /// Records a browser logout (the session row itself is deleted by the session store).
    #[tracing::instrument(skip(self, client))]
    pub fn browser_logout(&self, user_id: i64, client: &ClientInfo) {
        audit::record_alone(
            &self.db,
            &Event::new(audit::LOGOUT, user_id, Some(client))
                .with(serde_json::json!({ "kind": "browser" })),
        );
    }

    /// Revokes every token and browser session of the account.
    #[tracing::instrument(skip(self, client))]
    pub fn logout_everywhere(&self, user_id: i64, client: &ClientInfo) -> Result<(), Failure> {
        self.db.get()?.write(|conn| {
            revoke_sessions_and_tokens(conn, user_id, Keep::NOTHING)?;
            audit::record(conn, &Event::new(audit::LOGOUT_ALL, user_id, Some(client)))
        })?;
        tracing::info!(user_id, "every session and token revoked");
        Ok(())
    }
}
