//! "This wasn't me" (from the password-changed notice) and "I did not ask for this" (from the
//! reset mail): the owner's two ways out, which work without being logged in.
//!
//! * **This wasn't me** consumes its single-use token with one conditional `DELETE … RETURNING`
//!   and, in the same transaction, revokes every session, bearer token and reset token of the
//!   account, removes its usable password (the stamp advances, so nothing issued before works),
//!   clears its login-failure counters, records `wasnt_me`, and issues a fresh reset token whose
//!   link is delivered like any reset (mail, or the webhook of `LATCHKEY_RESET_DELIVERY`). The
//!   token is an administrator-style one, so it works although the account now has no password.
//! * **I did not ask for this** makes the reset token unusable (its row is deleted) and
//!   records `password_reset_cancelled`.
//!
//! Both answer the same for an unknown, used or expired token, so they reveal nothing about any
//! other account.

use super::token::TokenError;
use super::{Check, PresentedToken, ResetService};
use crate::db::users;
use crate::db::{self, login_throttles, reset_tokens, wasnt_me_tokens};
use crate::error::Failure;
use crate::services::account::login::account_throttle_prefix;
use crate::services::account::sessions::{self, Keep};
use crate::services::audit::{self, Event};
use crate::services::notices::Notices;
use crate::services::ClientInfo;

/// Why "This wasn't me" did nothing.
#[derive(Debug, thiserror::Error)]
pub enum WasntMeError {
    /// Unknown, used or expired link.
    #[error("the link is not valid")]
    Invalid,
    /// The database or something unexpected failed (the fresh reset link could not be
    /// queued, say); nothing changed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(WasntMeError);

impl ResetService {
    /// Whether a "This wasn't me" link still works (read only: for the GET page).
    #[tracing::instrument(skip_all)]
    pub fn wasnt_me_link_works(&self, token: &str) -> Result<bool, Failure> {
        if !Notices::could_be_token(token) {
            return Ok(false);
        }
        let hash = self.settings.notices.hash(token);
        Ok(wasnt_me_tokens::find_live(&mut *self.db.get()?, &hash, db::now())?.is_some())
    }

    /// Locks the account down; see the module docs.
    #[tracing::instrument(skip_all)]
    pub fn wasnt_me(&self, token: &str, client: &ClientInfo) -> Result<(), WasntMeError> {
        if !Notices::could_be_token(token) {
            return Err(WasntMeError::Invalid);
        }
        let hash = self.settings.notices.hash(token);
        let now = db::now();
        let mut conn = self.db.get()?;
        let user_id = conn.write(|conn| {
            let Some(user_id) = wasnt_me_tokens::consume(conn, &hash, now)? else {
                return Err(WasntMeError::Invalid);
            };
            users::lock_in_id_order(conn, &[user_id])?;
            let Some(user) = users::find_by_id(conn, user_id)? else {
                return Err(WasntMeError::Invalid);
            };
            users::clear_password_hash(conn, user.id, now)?;
            sessions::revoke_after_password_change(conn, user.id, Keep::NOTHING)?;
            wasnt_me_tokens::delete_for_user(conn, user.id)?;
            login_throttles::clear_prefix(conn, &account_throttle_prefix(user.id))?;
            audit::record(conn, &Event::new(audit::WASNT_ME, user.id, Some(client)))?;
            if user.is_active {
                // A savepoint is not needed: a failing hook rolls everything back, and the
                // owner can follow the link again.
                let created = self.create_token(conn, &user, client, true)?;
                self.announce(conn, &user, &created, client)
                    .map_err(|err| {
                        WasntMeError::from(err.context("cannot queue the reset link"))
                    })?;
            }
            Ok(user.id)
        })?;
        self.outbox.notify();
        tracing::info!(
            user_id,
            "account locked down from a \"this wasn't me\" link"
        );
        Ok(())
    }

    /// Whether a reset link can still be cancelled (read only: for the GET page).
    #[tracing::instrument(skip_all)]
    pub fn cancel_link_works(&self, presented: &PresentedToken) -> Result<bool, Failure> {
        if !self.could_be_token(&presented.token) {
            return Ok(false);
        }
        match self.live_token(&mut self.db.get()?, presented, Check::ReadOnly) {
            Ok(_) => Ok(true),
            Err(TokenError::Invalid) => Ok(false),
            Err(TokenError::Failed(err)) => Err(err),
        }
    }

    /// Makes a reset token unusable ("I did not ask for this"); `Invalid` when it was not live.
    #[tracing::instrument(skip_all)]
    pub fn cancel(
        &self,
        presented: &PresentedToken,
        client: &ClientInfo,
    ) -> Result<(), TokenError> {
        if !self.could_be_token(&presented.token) {
            return Err(TokenError::Invalid);
        }
        let mut conn = self.db.get()?;
        // A POST: a wrong number code named with its account costs one of that token's
        // attempts, as on `confirm/`, so cancelling cannot be used to guess codes for free.
        let (row, user) = self.live_token(&mut conn, presented, Check::Writes)?;
        let deleted = conn.write(|conn| {
            let deleted = reset_tokens::delete(conn, row.id)?;
            if deleted > 0 {
                audit::record(
                    conn,
                    &Event::new(audit::PASSWORD_RESET_CANCELLED, user.id, Some(client)),
                )?;
            }
            Ok::<_, diesel::result::Error>(deleted)
        })?;
        if deleted == 0 {
            return Err(TokenError::Invalid);
        }
        tracing::info!(user_id = user.id, "reset token cancelled by its owner");
        Ok(())
    }
}
