//! Logging in, bearer tokens, logging out and changing a password.
//!
//! * **Login** costs the same whatever the account: one look-up, one argon2id verification
//!   (against a dummy hash when the account is unknown or has no password), one write to the
//!   failure counter. An inactive account fails like a wrong password. Failures are counted per
//!   client IP (in memory) and per account and IP (in the database, so across instances). The
//!   account counter's key is the account when the typed name resolves to one, however it was
//!   spelled, else the canonical form of what was typed, so an unknown name is limited across
//!   its spellings exactly like a known one ([`failure_key`]). Each limit is *reserved* before
//!   the password is verified and given back on success, so concurrent guesses cannot
//!   overshoot it. While over a limit, even the right password gets `429`; a password reset
//!   clears the account's counter.
//! * **Bearer tokens** are 256-bit random, stored as HMAC-SHA256, expire after
//!   `LATCHKEY_API_TOKEN_TTL`, and die with a password change (their password stamp no longer
//!   matches), on logout, and with their account's deactivation.
//! * **Change password** needs the current password and is limited per account (reserved before
//!   the current password is verified, like login). The change is conditional on the password
//!   stamp the current password was verified under, so of concurrent changes exactly one wins
//!   and the others are told their current password is wrong. The winner revokes every other
//!   credential of the account and moves the calling token to the new stamp, in one transaction.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use secrecy::SecretString;

use crate::config::values::Rate;
use crate::config::PublicUrl;
use crate::db::api_tokens::{self, NewApiToken};
use crate::db::users::{self, User};
use crate::db::{self, login_throttles, Db, DbError};
use crate::domain::{
    canonical_key, random_bytes, EmailAddress, NewPassword, PasswordRules, Violation,
};
use crate::passwords::{HashError, PasswordHasher, Verification};
use crate::secrets::TokenHasher;
use crate::services::audit::{self, Event};
use crate::services::notices::{NoticeError, Notices};
use crate::services::outbox::Outbox;
use crate::services::{credentials, ClientInfo};

/// Bytes of randomness in a bearer token (hex-encoded: 64 characters).
const TOKEN_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// What the account use cases need from the configuration.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// Lifetime of a bearer token.
    pub api_token_ttl: Duration,
    /// Rules for a new password.
    pub rules: PasswordRules,
    /// For the links in the "password changed" notice.
    pub public_url: PublicUrl,
    /// The "password changed" notice and its "This wasn't me" link.
    pub notices: Notices,
    /// Failed logins per account and client IP.
    pub login_failures_per_account_ip: Option<Rate>,
    /// Failed password changes per account.
    pub password_changes_per_account: Option<Rate>,
}

/// A freshly issued bearer token.
#[derive(Debug)]
pub struct IssuedToken {
    /// The token in clear: shown once, never stored.
    pub token: String,
    /// When it stops working.
    pub expires_at: NaiveDateTime,
}

/// The account behind a valid bearer token, and which token it was.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The account.
    pub user: User,
    /// The token's row id (kept on a password change, deleted on logout).
    pub token_id: i64,
}

/// Why a login was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown account, wrong password, inactive account, no usable password: one answer.
    #[error("invalid username/password")]
    Invalid,
    /// Too many failures for this account; retry after the duration.
    #[error("too many failed logins")]
    Throttled(Duration),
    /// Hashing is saturated.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for LoginError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.into())
    }
}

/// Why a bearer token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown, expired, revoked or stale token, or an inactive account.
    #[error("invalid token")]
    Invalid,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for AuthError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.into())
    }
}

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
    Throttled(Duration),
    /// Hashing is saturated.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for ChangeError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.into())
    }
}

/// Django's message for a wrong current password.
pub const WRONG_OLD_PASSWORD: &str =
    "Your old password was entered incorrectly. Please enter it again.";
/// The one answer to every failed login, whatever failed (no account enumeration).
pub const INVALID_LOGIN: &str = "Invalid username/password";
/// Django's message for a confirmation that does not match.
pub const PASSWORD_MISMATCH: &str = "The two password fields didn\u{2019}t match.";

/// The account use cases, shared by the API and the pages.
#[derive(Debug)]
pub struct AccountService {
    pub(super) db: Db,
    hasher: Arc<PasswordHasher>,
    pub(super) tokens: TokenHasher,
    outbox: Outbox,
    settings: AccountSettings,
}

impl AccountService {
    /// Assembles the service.
    pub fn new(
        db: Db,
        hasher: Arc<PasswordHasher>,
        tokens: TokenHasher,
        outbox: Outbox,
        settings: AccountSettings,
    ) -> Self {
        Self {
            db,
            hasher,
            tokens,
            outbox,
            settings,
        }
    }

    /// Checks a login name (username, or an email address) and password; see the module docs.
    /// `from` is what limits count the client as; `client` is recorded in the audit log
    /// (`login_succeeded`, and for an existing account `login_failed` / `login_throttled`).
    pub fn verify_credentials(
        &self,
        login: &str,
        password: &SecretString,
        from: IpAddr,
        client: &ClientInfo,
    ) -> Result<User, LoginError> {
        let now = db::now();
        let mut conn = self.db.get()?;
        let user = users::find_for_login(&mut conn, login, &canonical_key(login))?;
        let key = failure_key(user.as_ref().map(|user| user.id), login, from);
        let rate = self.settings.login_failures_per_account_ip;
        if let Some(wait) = take(&mut conn, rate, &key, now)? {
            if let Some(user) = &user {
                conn.write(|conn| {
                    audit::record(
                        conn,
                        &Event::new(audit::LOGIN_THROTTLED, user.id, Some(client)),
                    )
                })?;
            }
            return Err(LoginError::Throttled(wait));
        }
        drop(conn);
        let stored = user.as_ref().and_then(|user| user.password_hash.as_deref());
        let verdict = match self.hasher.verify(password, stored) {
            Ok(verdict) => verdict,
            Err(err) => {
                self.give_back(rate, &key);
                return Err(err.into());
            }
        };
        let mut conn = self.db.get()?;
        match (verdict, user) {
            (Verification::Valid { needs_rehash }, Some(user)) if user.is_active => {
                conn.write(|conn| {
                    if rate.is_some() {
                        login_throttles::clear(conn, &key)?;
                    }
                    users::set_last_login(conn, user.id, now)?;
                    audit::record(
                        conn,
                        &Event::new(audit::LOGIN_SUCCEEDED, user.id, Some(client)),
                    )
                })?;
                if needs_rehash {
                    self.upgrade_hash(&mut conn, &user, password);
                }
                Ok(user)
            }
            // The unit taken above is this failure.
            (_, Some(user)) => {
                let reason = if user.is_active {
                    "invalid_password"
                } else {
                    "inactive"
                };
                conn.write(|conn| {
                    audit::record(
                        conn,
                        &Event::new(audit::LOGIN_FAILED, user.id, Some(client))
                            .with(serde_json::json!({ "reason": reason })),
                    )
                })?;
                Err(LoginError::Invalid)
            }
            (_, None) => Err(LoginError::Invalid),
        }
    }

    /// Issues a bearer token for a verified account.
    pub fn issue_token(&self, user: &User, client: &ClientInfo) -> Result<IssuedToken, DbError> {
        let token = hex::encode(random_bytes::<TOKEN_BYTES>());
        let now = db::now();
        let expires_at = now
            + chrono::Duration::from_std(self.settings.api_token_ttl)
                .unwrap_or(chrono::Duration::MAX);
        let ip = client.ip_text();
        self.db.get()?.write(|conn| {
            NewApiToken {
                user_id: user.id,
                token_hash: &self.tokens.hash(&token),
                password_stamp: user.password_stamp,
                created_at: now,
                expires_at,
                ip_address: ip.as_deref(),
                user_agent: client.user_agent.as_deref(),
            }
            .insert(conn)
        })?;
        tracing::info!(user_id = user.id, "bearer token issued");
        Ok(IssuedToken { token, expires_at })
    }

    /// The account behind a bearer token, if the token is still good.
    pub fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        if token.len() != 2 * TOKEN_BYTES || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuthError::Invalid);
        }
        let now = db::now();
        let mut conn = self.db.get()?;
        let current = self.tokens.hash(token);
        let mut found = api_tokens::find_with_user(&mut conn, &current)?;
        // During a key rotation a token may be stored under an older key: found that way, it
        // is re-keyed, so it outlives the fallback.
        for old in self.tokens.fallback_hashes(token) {
            if found.is_some() {
                break;
            }
            found = api_tokens::find_with_user(&mut conn, &old)?;
            if found.is_some() {
                conn.write(|conn| api_tokens::rekey(conn, &old, &current))?;
            }
        }
        let (row, user) = found.ok_or(AuthError::Invalid)?;
        if row.expires_at <= now || row.password_stamp != user.password_stamp || !user.is_active {
            return Err(AuthError::Invalid);
        }
        if row.last_used_at.is_none_or(|used| used < now - TOUCH_EVERY) {
            conn.write(|conn| api_tokens::touch(conn, row.id, now, now - TOUCH_EVERY))?;
        }
        Ok(Authenticated {
            user,
            token_id: row.id,
        })
    }

    /// The account a browser session was logged in to, if it is still active and its password
    /// is still the one of `password_stamp` (a session from before a change is worthless).
    pub fn session_user(&self, user_id: i64, password_stamp: i64) -> Result<Option<User>, DbError> {
        let mut conn = self.db.get()?;
        let user = users::find_by_id(&mut conn, user_id)?;
        Ok(user.filter(|user| user.is_active && user.password_stamp == password_stamp))
    }

    /// Revokes the calling token.
    pub fn logout(&self, auth: &Authenticated, client: &ClientInfo) -> Result<(), DbError> {
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
    pub fn browser_logout(&self, user_id: i64, client: &ClientInfo) {
        audit::record_alone(
            &self.db,
            &Event::new(audit::LOGOUT, user_id, Some(client))
                .with(serde_json::json!({ "kind": "browser" })),
        );
    }

    /// Revokes every token and browser session of the account.
    pub fn logout_everywhere(&self, user_id: i64, client: &ClientInfo) -> Result<(), DbError> {
        self.db.get()?.write(|conn| {
            credentials::revoke_sessions_and_tokens(conn, user_id, credentials::Keep::NOTHING)?;
            audit::record(conn, &Event::new(audit::LOGOUT_ALL, user_id, Some(client)))
        })?;
        tracing::info!(user_id, "every session and token revoked");
        Ok(())
    }

    /// Changes the password of `user` after checking the current one; `keep` is the credential
    /// making the change (it stays valid). Returns the account's new password stamp, which a
    /// browser that stays logged in keeps (every older one is worthless).
    pub fn change_password(
        &self,
        user: &User,
        old: &SecretString,
        new: SecretString,
        confirm: &SecretString,
        keep: credentials::Keep,
        client: &ClientInfo,
    ) -> Result<i64, ChangeError> {
        use secrecy::ExposeSecret;
        let now = db::now();
        let key = format!("change:{}", user.id);
        let rate = self.settings.password_changes_per_account;
        if let Some(wait) = take(&mut self.db.get()?, rate, &key, now)? {
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
                self.give_back(rate, &key);
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
                self.give_back(rate, &key);
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
            credentials::revoke_after_password_change(conn, user.id, keep)?;
            if let Some(token_id) = keep.api_token {
                api_tokens::restamp(conn, token_id, stamp)?;
            }
            login_throttles::clear(conn, &key)?;
            audit::record(
                conn,
                &Event::new(audit::PASSWORD_CHANGED, user.id, Some(client)),
            )?;
            self.outbox
                .queue_password_changed(conn, &self.settings.notices, user, now, Some(client))
                .map_err(|err| match err {
                    NoticeError::Database(err) => ChangeError::from(err),
                    err => ChangeError::Database(DbError::Unavailable(err.to_string())),
                })?;
            Ok(stamp)
        })?;
        self.outbox.notify();
        tracing::info!(user_id = user.id, "password changed");
        Ok(stamp)
    }

    /// Returns a unit of `key`'s limit for an attempt that was not a failure (best effort: an
    /// error only leaves the attempt counted).
    fn give_back(&self, rate: Option<Rate>, key: &str) {
        let Some(rate) = rate else {
            return;
        };
        let now = db::now();
        let returned = self.db.get().and_then(|mut conn| {
            conn.write(|conn| login_throttles::give_back(conn, key, window_open(now, rate)))
                .map_err(DbError::from)
        });
        if let Err(err) = returned {
            tracing::warn!(error = %err, "a rate-limit unit could not be given back");
        }
    }

    /// Stores a stronger hash of the same password (best effort: a failure is only logged).
    fn upgrade_hash(&self, conn: &mut db::Conn, user: &User, password: &SecretString) {
        let Some(old) = user.password_hash.as_deref() else {
            return;
        };
        let rehashed = self
            .hasher
            .hash(&NewPassword::verified(password.clone()))
            .ok();
        if let Some(new) = rehashed {
            match conn.write(|conn| users::upgrade_password_hash(conn, user.id, old, &new)) {
                Ok(_) => tracing::info!(
                    user_id = user.id,
                    "password hash upgraded to the configured cost"
                ),
                Err(err) => {
                    tracing::warn!(user_id = user.id, error = %err, "password hash upgrade failed")
                }
            }
        }
    }
}

/// The key of the failed-login limit (always together with the client's address, so failures
/// from one place never lock the account out elsewhere). It depends only on *which account*
/// the typed name means, never on how it was spelled or whether the account exists: the
/// account's id when the name resolves to one (by username or by email), else the canonical
/// form of what was typed (an email address by its canonical key, anything else NFKC and case
/// folded), so `zed`, `ZED` and `ｚｅｄ` share one counter just as `bob`, `BOB` and
/// `bob@example.com` do.
pub fn failure_key(account: Option<i64>, typed: &str, from: IpAddr) -> String {
    match account {
        Some(id) => format!("{}{from}", account_throttle_prefix(id)),
        None => {
            let canonical = match EmailAddress::parse(typed) {
                Ok(email) => email.canonical(),
                Err(_) => canonical_key(typed),
            };
            format!("name:{canonical}@{from}")
        }
    }
}

/// The start of every login-failure key of one account (all client addresses).
pub fn account_throttle_prefix(user_id: i64) -> String {
    format!("user:{user_id}@")
}

fn window_open(now: NaiveDateTime, rate: Rate) -> NaiveDateTime {
    now - chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX)
}

/// Takes one unit of `key`'s allowance before an attempt is checked; `Some(wait)` while its
/// window is used up. No limit, nothing to take.
fn take(
    conn: &mut db::Conn,
    rate: Option<Rate>,
    key: &str,
    now: NaiveDateTime,
) -> Result<Option<Duration>, DbError> {
    let Some(rate) = rate else {
        return Ok(None);
    };
    let limit = i32::try_from(rate.count).unwrap_or(i32::MAX);
    let taken =
        conn.write(|conn| login_throttles::take(conn, key, now, window_open(now, rate), limit))?;
    Ok(taken.err().map(|start| {
        let ends = start + chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX);
        (ends - now).to_std().unwrap_or(Duration::from_secs(1))
    }))
}

#[cfg(test)]
mod tests {
    use super::failure_key;

    #[test]
    fn failure_keys_follow_the_account_not_the_spelling() {
        let here = "192.0.2.1".parse().unwrap();
        let there = "192.0.2.2".parse().unwrap();
        assert_eq!(failure_key(Some(7), "bob", here), "user:7@192.0.2.1");
        assert_eq!(
            failure_key(Some(7), "BOB@example.com", here),
            failure_key(Some(7), "bob", here),
            "a resolved account is keyed by its id, whatever was typed"
        );
        let zed = failure_key(None, "zed", here);
        for spelling in ["ZED", " Zed ", "\u{ff5a}\u{ff45}\u{ff44}"] {
            assert_eq!(failure_key(None, spelling, here), zed, "{spelling:?}");
        }
        assert_eq!(
            failure_key(None, "Zed@Example.COM", here),
            failure_key(None, "zed@example.com", here)
        );
        assert_ne!(failure_key(None, "zed", there), zed, "per client address");
        assert_ne!(
            failure_key(None, "user:7", here),
            failure_key(Some(7), "bob", here),
            "a typed name can never reach an account's counter"
        );
    }
}
