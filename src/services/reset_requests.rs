//! The worker side of reset requests, and the administrator's token commands.
//!
//! A worker takes a small batch of accepted requests out of `reset_requests` and resolves them
//! in one transaction: find the account, check it may reset, take a slot of its mail allowance,
//! then, in a savepoint, replace its token and run the `token_created` hooks (which queue the
//! mail). A request whose hooks fail leaves no token behind; a database failure rolls the whole
//! batch back into the table for the next attempt. Batches stay small so the SQLite writer lock
//! is never held long against the requests.

use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::Connection;

use super::password_reset::ResetService;
use super::ClientInfo;
use crate::config::LookupField;
use crate::db::reset_requests::{self, ResetRequest};
use crate::db::users::{self, User};
use crate::db::{self, DbConnection, DbError};
use crate::services::audit::{self, Event};

/// Requests resolved per transaction.
const BATCH: i64 = 32;
/// Immediate retries of a batch the database rolled back, before waiting for the next round.
const BATCH_RETRIES: u32 = 5;

/// A growing, jittered pause before retrying a rolled-back batch, so two instances that
/// deadlocked do not collide again in lockstep.
fn retry_pause(attempt: u32) -> std::time::Duration {
    use rand::Rng;
    let base = 5u64 << attempt.min(6);
    std::time::Duration::from_millis(base + rand::rng().random_range(0..=base))
}

/// Why one request produced no token (logged, never shown to the requester).
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("a token_created hook failed: {0}")]
    Hook(anyhow::Error),
}

/// A token issued by an administrator.
#[derive(Debug)]
pub struct IssuedToken {
    /// The reset link.
    pub link: String,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
    /// The account is inactive: the link will not work until it is activated.
    pub inactive: bool,
}

/// Why `tokens issue` failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// No account has that username.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// The mail could not be queued.
    #[error("cannot queue the reset email: {0}")]
    Hook(anyhow::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for IssueError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.into())
    }
}

impl ResetService {
    /// Resolves one batch of pending requests; `false` when there were none (or another worker
    /// of this process is already resolving them).
    ///
    /// A batch is all or nothing for the database: a deadlock, a serialization failure or a
    /// busy database rolls the whole batch back into `reset_requests` (nothing accepted is
    /// lost) and it is tried again at once, a few times with a growing pause, then on the next
    /// round of the worker.
    pub fn process_requests(&self) -> Result<bool, DbError> {
        let Ok(_turn) = self.resolving.try_lock() else {
            return Ok(false);
        };
        let mut attempt = 0;
        let handled = loop {
            match self.resolve_batch() {
                Ok(handled) => break handled,
                Err(err) if attempt < BATCH_RETRIES => {
                    attempt += 1;
                    tracing::warn!(
                        attempt,
                        error = %crate::error::chain(&err),
                        "reset request batch rolled back; trying again"
                    );
                    std::thread::sleep(retry_pause(attempt));
                }
                Err(err) => return Err(err),
            }
        };
        if handled > 0 {
            self.outbox.notify();
        }
        Ok(handled > 0)
    }

    /// One transaction: take the oldest requests, lock their accounts in id order, resolve
    /// each. Only a failing hook (a bug in a template or a custom hook, which a retry cannot
    /// cure) drops its request; any database error rolls everything back.
    fn resolve_batch(&self) -> Result<usize, DbError> {
        let now = db::now();
        let handled = self.db.background().get()?.write(|conn| {
            let batch = reset_requests::take_batch(conn, BATCH)?;
            if batch.is_empty() {
                return Ok(0);
            }
            let keys: Vec<&str> = batch.iter().map(|request| request.lookup_key.as_str()).collect();
            let accounts = self.find_by_lookup_keys(conn, &keys)?;
            let ids: Vec<i64> = accounts.values().map(|user| user.id).collect();
            users::lock_in_id_order(conn, &ids)?;
            for request in &batch {
                let account = accounts.get(&request.lookup_key);
                match self.resolve(conn, request, account, now) {
                    Ok(()) => {}
                    Err(ResolveError::Database(err)) => return Err(err),
                    Err(err @ ResolveError::Hook(_)) => {
                        tracing::error!(request_id = request.id, error = %crate::error::chain(&err), "reset request dropped: its hook failed");
                    }
                }
            }
            Ok::<_, diesel::result::Error>(batch.len())
        })?;
        Ok(handled)
    }

    fn resolve(
        &self,
        conn: &mut DbConnection,
        request: &ResetRequest,
        account: Option<&User>,
        now: NaiveDateTime,
    ) -> Result<(), ResolveError> {
        // However long the request waited (no resolver ran: every instance had
        // LATCHKEY_EMAIL_WORKERS=0, or all were down), it was answered 200 and is resolved now:
        // the token's lifetime starts when the token is made.
        let Some(user) = account.filter(|user| self.may_request(user)) else {
            return Ok(());
        };
        let client = ClientInfo::new(
            request
                .ip_address
                .as_deref()
                .and_then(|ip| ip.parse::<IpAddr>().ok()),
            request.user_agent.as_deref(),
        );
        // Written here, by the worker, never by the handler: the answer's timing must not
        // depend on whether the account exists.
        let allowed = self.reserve_mail(conn, user, now)?;
        audit::record(
            conn,
            &Event::new(audit::PASSWORD_RESET_REQUESTED, user.id, Some(&client))
                .with(serde_json::json!({ "delivered": allowed })),
        )?;
        if !allowed {
            tracing::debug!(
                user_id = user.id,
                "reset mail allowance used up; request answered but not mailed"
            );
            return Ok(());
        }
        // The mail speaks the request's language.
        let language = request
            .language
            .as_deref()
            .and_then(crate::i18n::supported)
            .unwrap_or_else(crate::i18n::english);
        // A savepoint: a failing hook leaves no token, and the rest of the batch goes on.
        crate::i18n::with(&language, || {
            conn.transaction(|conn| {
                let created = self.create_token(conn, user, &client, false)?;
                self.announce(conn, user, &created, &client)
                    .map_err(ResolveError::Hook)
            })
        })?;
        tracing::info!(user_id = user.id, "reset token issued");
        Ok(())
    }

    /// The accounts a batch of requests names, by lookup key.
    fn find_by_lookup_keys(
        &self,
        conn: &mut DbConnection,
        keys: &[&str],
    ) -> diesel::QueryResult<std::collections::HashMap<String, User>> {
        Ok(match self.settings.lookup_field {
            LookupField::Email => users::find_by_email_keys(conn, keys)?
                .into_iter()
                .map(|user| (user.email_key.clone(), user))
                .collect(),
            LookupField::Username => users::find_by_usernames(conn, keys)?,
        })
    }

    fn reserve_mail(
        &self,
        conn: &mut DbConnection,
        user: &User,
        now: NaiveDateTime,
    ) -> diesel::QueryResult<bool> {
        match self.settings.mails_per_account {
            None => Ok(true),
            Some(rate) => users::reserve_reset_mail(
                conn,
                user.id,
                now,
                chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX),
                i32::try_from(rate.count).unwrap_or(i32::MAX),
            ),
        }
    }

    /// Issues a token for `username` as an administrator (the package's programmatic token
    /// creation): it replaces any earlier token and also works for an account without a
    /// password (an invitation). With `send`, the `token_created` hooks run (the reset mail).
    pub fn issue(&self, username: &str, send: bool) -> Result<IssuedToken, IssueError> {
        let mut conn = self.db.get()?;
        let user = users::find_by_username(&mut conn, username)?
            .ok_or_else(|| IssueError::UnknownUser(username.to_owned()))?;
        let client = ClientInfo::default();
        let created = conn.write(|conn| {
            users::lock_in_id_order(conn, &[user.id])?;
            let created = self.create_token(conn, &user, &client, true)?;
            audit::record(
                conn,
                &Event::new(audit::RESET_TOKEN_ISSUED_BY_ADMIN, user.id, None)
                    .with(serde_json::json!({ "sent": send })),
            )?;
            if send {
                self.announce(conn, &user, &created, &client)
                    .map_err(IssueError::Hook)?;
            }
            Ok::<_, IssueError>(created)
        })?;
        if send {
            self.outbox.notify();
        }
        tracing::info!(
            user_id = user.id,
            send,
            "reset token issued by an administrator"
        );
        Ok(IssuedToken {
            link: created.link,
            expires_at: created.expires_at,
            inactive: !user.is_active,
        })
    }
}
