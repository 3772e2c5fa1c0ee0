//! Changing a password with the current one (the API's `change-password/` and the account
//! page).
//!
//! The change needs the current password and is limited per account (a unit reserved before
//! the current password is verified, like login: [`limits`]). It is conditional
//! on the password stamp the current password was verified under, so of concurrent changes
//! exactly one wins and the others are told their current password is wrong. The winner
//! revokes every other credential of the account ([`sessions`]) and moves the
//! calling token to the new stamp, in one transaction with the "password changed" notice.

use secrecy::SecretString;

use super::sessions::{self, Keep};
use super::{limits, AccountService};
use crate::db::users::{self, User};
use crate::db::{self, api_tokens, login_throttles};
use crate::domain::{NewPassword, Violation};
use crate::error::Failure;
use crate::passwords::Verification;
use crate::services::audit::{self, Event};
use crate::services::ip_limits::RetryAfter;
use crate::services::ClientInfo;

/// The field problems of a refused password change, by field.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ChangeProblems {
    /// The current password was wrong.
    pub old_password: Option<&'static str>,
    /// The confirmation differs from the new password.
    pub confirm_password: Option<&'static str>,
    /// Rules the new password broke.
    pub password: Vec<Violation>,
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// Field errors (nothing changed).
    #[error("the password change was refused")]
    Invalid(ChangeProblems),
    /// Too many failed attempts.
    #[error("too many failed password changes")]
    Throttled(RetryAfter),
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(ChangeError);

/// Django's message for a wrong current password.
pub const WRONG_OLD_PASSWORD: &str =
    "Your old password was entered incorrectly. Please enter it again.";
/// Django's message for a confirmation that does not match.
pub const PASSWORD_MISMATCH: &str = "The two password fields didn\u{2019}t match.";

impl AccountService {
    /// Changes the password of `user` after checking the current one; `keep` is the credential
    /// making the change (it stays valid). Returns the account's new password stamp, which a
    /// browser that stays logged in keeps (every older one is worthless).
    #[tracing::instrument(skip(self, user, old, new, confirm, client), fields(user_id = user.id))]
    pub fn change_password(
        &self,
        user: &User,
        old: &SecretString,
        new: SecretString,
        confirm: &SecretString,
        keep: Keep,
        client: &ClientInfo,
    ) -> Result<i64, ChangeError> {
        use secrecy::ExposeSecret;
        let now = db::now();
        let key = format!("change:{}", user.id);
        let rate = self.settings.password_changes_per_account;
        if let Some(wait) = limits::take(&mut self.db.get()?, rate, &key, now)? {
            return Err(ChangeError::Throttled(wait));
        }
        let mut problems = ChangeProblems::default();
        if new.expose_secret() != confirm.expose_secret() {
            problems.confirm_password = Some(PASSWORD_MISMATCH);
        }
        let accepted =
            match NewPassword::parse(new, self.settings.rules, &user.username, &user.email) {
                Ok(password) => Some(password),
                Err(violations) => {
                    problems.password = violations;
                    None
                }
            };
        // `user` was read with the stamp `user.password_stamp`; the change below only happens
        // while that stamp is still current, so this verification stays meaningful.
        match self.hasher.verify(old, user.password_hash.as_deref()) {
            Ok(Verification::Invalid) => problems.old_password = Some(WRONG_OLD_PASSWORD),
            Ok(Verification::Valid { .. }) => {}
            Err(err) => {
                limits::give_back(&self.db, rate, &key);
                return Err(err.into());
            }
        }
        let (
            Some(password),
            ChangeProblems {
                old_password: None,
                confirm_password: None,
                ..
            },
        ) = (accepted, &problems)
        else {
            // The unit taken above is this failure.
            return Err(ChangeError::Invalid(problems));
        };
        let hash = match self.hasher.hash(&password) {
            Ok(hash) => hash,
            Err(err) => {
                limits::give_back(&self.db, rate, &key);
                return Err(err.into());
            }
        };
        let stamp = self.db.get()?.write(|conn| {
            let Some(stamp) =
                users::set_password_hash_if_stamp(conn, user.id, user.password_stamp, &hash, now)?
            else {
                // Another change (or a reset) won: the password verified above is no longer
                // the current one. Nothing is written; the unit taken above stays spent, as
                // for any refused change.
                return Err(ChangeError::Invalid(ChangeProblems {
                    old_password: Some(WRONG_OLD_PASSWORD),
                    ..ChangeProblems::default()
                }));
            };
            sessions::revoke_after_password_change(conn, user.id, keep)?;
            if let Some(token_id) = keep.api_token {
                api_tokens::restamp(conn, token_id, stamp)?;
            }
            login_throttles::clear(conn, &key)?;
            audit::record(
                conn,
                &Event::new(audit::PASSWORD_CHANGED, user.id, Some(client)),
            )?;
            self.settings
                .notices
                .queue_password_changed(conn, &self.outbox, user, now, Some(client))
                .map_err(Failure::from)?;
            Ok(stamp)
        })?;
        self.outbox.notify();
        tracing::info!(user_id = user.id, "password changed");
        Ok(stamp)
    }
}
