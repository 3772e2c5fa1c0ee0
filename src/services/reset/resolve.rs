//! Resolving accepted reset requests into tokens and mail (run by the resolver thread of
//! [`workers`](crate::workers), which retries a rolled-back batch).
//!
//! A worker takes a small batch of accepted requests out of `reset_requests` and resolves them
//! in one transaction: find the account, check it may reset, take a slot of its mail allowance,
//! then, in a savepoint, replace its token and run the `token_created` hooks (which queue the
//! mail). A request whose hooks fail leaves no token behind; a database failure rolls the whole
//! batch back into the table for the next attempt. Batches stay small so the SQLite writer lock
//! is never held long against the requests, and smaller still while they issue tokens
//! ([`MAIL_BATCH`]).

use std::net::IpAddr;

use chrono::NaiveDateTime;
use diesel::Connection;

use super::ResetService;
use crate::config::LookupField;
use crate::db::reset_requests::{self, ResetRequestRow};
use crate::db::users::{self, User};
use crate::db::{self, DbConnection, DbError};
use crate::services::audit::{self, Event};
use crate::services::ClientInfo;

/// Requests resolved per transaction after one that issued no token (unknown or capped
/// accounts): cheap to resolve, so many at once.
pub const CHEAP_BATCH: i64 = 32;
/// Requests resolved per transaction after one that issued tokens. Each issued token renders
/// and seals its mail inside the transaction, and on SQLite the writer lock is held against
/// the requests meanwhile. Under a flood of known addresses (wrk, 64 connections, alternating
/// runs) 8 gave the requests a p99 of 21–28 ms and 8–10k req/s, where 32 gave 32–41 ms and
/// 6.5–8.4k req/s.
pub const MAIL_BATCH: i64 = 8;

/// What one batch did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resolved {
    /// Requests taken out of the queue (0 when none waited).
    pub handled: usize,
    /// Tokens issued for them.
    pub issued: usize,
}

/// Why one request produced no token (logged, never shown to the requester).
#[derive(Debug, thiserror::Error)]
enum ResolveError {
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
    #[error("a token_created hook failed: {0}")]
    Hook(anyhow::Error),
}

impl ResetService {
    /// One transaction: take the oldest `limit` requests, lock their accounts in id order,
    /// resolve each. Only a failing hook (a bug in a template or a custom hook, which a retry
    /// cannot cure) drops its request; any database error rolls everything back.
    #[tracing::instrument(skip_all)]
    pub fn resolve_batch(&self, limit: i64) -> Result<Resolved, DbError> {
        let now = db::now();
        let resolved = self.db.background().get()?.write(|conn| {
            let batch = reset_requests::take_batch(conn, limit)?;
            let mut resolved = Resolved {
                handled: batch.len(),
                issued: 0,
            };
            if batch.is_empty() {
                return Ok(resolved);
            }
            let keys: Vec<&str> = batch.iter().map(|request| request.lookup_key.as_str()).collect();
            let accounts = self.find_by_lookup_keys(conn, &keys)?;
            let ids: Vec<i64> = accounts.values().map(|user| user.id).collect();
            users::lock_in_id_order(conn, &ids)?;
            for request in &batch {
                let account = accounts.get(&request.lookup_key);
                match self.resolve(conn, request, account, now) {
                    Ok(issued) => resolved.issued += usize::from(issued),
                    Err(ResolveError::Database(err)) => return Err(err),
                    Err(err @ ResolveError::Hook(_)) => {
                        tracing::error!(request_id = request.id, error = %crate::error::chain(&err), "reset request dropped: its hook failed");
                    }
                }
            }
            Ok::<_, diesel::result::Error>(resolved)
        })?;
        Ok(resolved)
    }

    fn resolve(
        &self,
        conn: &mut DbConnection,
        request: &ResetRequestRow,
        account: Option<&User>,
        now: NaiveDateTime,
    ) -> Result<bool, ResolveError> {
        // However long the request waited (no resolver ran: every instance had
        // LATCHKEY_EMAIL_WORKERS=0, or all were down), it was answered 200 and is resolved now:
        // the token's lifetime starts when the token is made.
        let Some(user) = account.filter(|user| self.may_request(user)) else {
            return Ok(false);
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
            return Ok(false);
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
        Ok(true)
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
        let Some(rate) = self.settings.mails_per_account else {
            return Ok(true);
        };
        let window = chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX);
        let cap = i32::try_from(rate.count).unwrap_or(i32::MAX);
        // A flood of requests for one account is mostly over its allowance: those cost no write.
        if user.reset_mails_used_up(now - window, cap) {
            return Ok(false);
        }
        users::reserve_reset_mail(conn, user.id, now, window, cap)
    }
}
