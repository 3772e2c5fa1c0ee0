//! Validating a token and setting the new password with it.
//!
//! Confirm checks the token, then the new password (the token survives a rejected password),
//! hashes it without holding a connection, and in one transaction consumes the token with a
//! single conditional `DELETE … RETURNING`, stores the hash, advances the password stamp, drops
//! every other credential, queues the "password changed" notice and records the event.

use secrecy::SecretString;

use super::hooks::PasswordReset;
use super::token::TokenError;
use super::{Check, PresentedToken, ResetService};
use crate::db::users::{self, User};
use crate::db::{self, login_throttles, reset_tokens};
use crate::domain::{NewPassword, Violation};
use crate::error::Failure;
use crate::services::account::login::account_throttle_prefix;
use crate::services::account::sessions::{self, Keep};
use crate::services::audit::{self, Event};
use crate::services::ClientInfo;

/// How long after a reset a second submission of the same form still counts as a repeat of it
/// (see [`ResetService::just_reset`]).
pub const REPEAT_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// Why a confirm failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// Unknown, used, expired or ineligible token.
    #[error("the token is not valid")]
    InvalidToken,
    /// The new password broke rules; the token is still usable.
    #[error("the password is not acceptable")]
    WeakPassword(Vec<Violation>),
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(ConfirmError);

impl From<TokenError> for ConfirmError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid => Self::InvalidToken,
            TokenError::Failed(err) => Self::Failed(err),
        }
    }
}

impl ResetService {
    /// Checks a token without consuming it; returns its account. An expired token found on
    /// the way is deleted, as the package's `validate_token/` does (a POST).
    #[tracing::instrument(skip_all)]
    pub fn validate(&self, presented: &PresentedToken) -> Result<User, TokenError> {
        self.check(presented, Check::Writes)
    }

    /// Checks a token for a page that a GET or HEAD shows: as [`Self::validate`], but an
    /// expired token is left for the purge, because a GET never changes anything.
    #[tracing::instrument(skip_all)]
    pub fn check_link(&self, presented: &PresentedToken) -> Result<User, TokenError> {
        self.check(presented, Check::ReadOnly)
    }

    /// Whether the account's password was set moments ago by the one change that followed
    /// `stamp_seen` (the stamp when a reset form was opened): a form submitted a second time
    /// (double click, reload) then says "password changed" instead of "link invalid". Exactly one
    /// change later and within [`REPEAT_WINDOW`], so a reset made elsewhere since, or long ago,
    /// is not mistaken for it.
    #[tracing::instrument(skip(self, stamp_seen))]
    pub fn just_reset(&self, user_id: i64, stamp_seen: i64) -> Result<bool, Failure> {
        let mut conn = self.db.get()?;
        let user = users::find_by_id(&mut conn, user_id)?;
        let since = db::now() - REPEAT_WINDOW;
        Ok(user.is_some_and(|user| {
            user.password_stamp == stamp_seen + 1
                && user.password_changed_at.is_some_and(|at| at >= since)
        }))
    }

    /// Sets a new password with a token; see the module docs for the order of checks.
    #[tracing::instrument(skip_all)]
    pub fn confirm(
        &self,
        presented: &PresentedToken,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<(), ConfirmError> {
        let token = presented.token.as_str();
        if !self.could_be_token(token) {
            return Err(ConfirmError::InvalidToken);
        }
        let (_, user) = self.live_token(&mut self.db.get()?, presented, Check::Writes)?;
        let event = PasswordReset {
            user: &user,
            client,
        };
        self.hooks.before_reset(&event);
        let password =
            NewPassword::parse(password, self.settings.rules, &user.username, &user.email)
                .map_err(ConfirmError::WeakPassword)?;
        let hash = self.hasher.hash(&password)?;
        let token_hash = self.tokens.hash(token);
        let now = db::now();
        self.db.get()?.write(|conn| {
            // The account's row first, as the request resolver does: one lock order.
            users::lock_in_id_order(conn, &[user.id])?;
            match reset_tokens::consume(conn, &token_hash, now)? {
                Some(owner) if owner == user.id => {}
                _ => return Err(ConfirmError::InvalidToken),
            }
            users::set_password_hash(conn, user.id, &hash, now)?;
            sessions::revoke_after_password_change(conn, user.id, Keep::NOTHING)?;
            login_throttles::clear_prefix(conn, &account_throttle_prefix(user.id))?;
            audit::record(
                conn,
                &Event::new(audit::PASSWORD_RESET_COMPLETED, user.id, Some(client)),
            )?;
            if user.password_hash.is_some() {
                self.settings
                    .notices
                    .queue_password_changed(conn, &self.outbox, &user, now, Some(client))
                    .map_err(Failure::from)?;
            }
            self.hooks
                .after_reset(conn, &event)
                .map_err(|err| ConfirmError::from(err.context("an after_reset hook failed")))
        })?;
        self.outbox.notify();
        tracing::info!(user_id = user.id, "password reset with an emailed token");
        Ok(())
    }
}
