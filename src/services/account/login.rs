//! Logging in: checking a name and password, issuing and checking bearer tokens, and the
//! account behind a browser session.
//!
//! * **Login** costs the same whatever the account: one look-up, one argon2id verification
//!   (against a dummy hash when the account is unknown or has no password), one write to the
//!   failure counter. An inactive account fails like a wrong password. Failures are counted per
//!   client IP (in memory, [`ip_limits`](crate::services::ip_limits)) and per account and IP (in
//!   the database, so across instances, [`limits`]). The account counter's key is
//!   the account when the typed name resolves to one, however it was spelled, else the canonical
//!   form of what was typed, so an unknown name is limited across its spellings exactly like a
//!   known one ([`failure_key`]). Each limit is *reserved* before the password is verified and
//!   given back on success, so concurrent guesses cannot overshoot it. While over a limit, even
//!   the right password gets `429`; a password reset clears the account's counter.
//! * **Bearer tokens** are 256-bit random, stored as HMAC-SHA256, expire after
//!   `LATCHKEY_API_TOKEN_TTL`, and die with a password change (their password stamp no longer
//!   matches), on logout, and with their account's deactivation.

use std::net::IpAddr;

use chrono::NaiveDateTime;
use secrecy::SecretString;

use super::limits;
use super::AccountService;
use crate::db::api_tokens::{self, NewApiToken};
use crate::db::users::{self, User};
use crate::db::{self, login_throttles};
use crate::domain::{canonical_key, random_bytes, EmailAddress, NewPassword};
use crate::error::Failure;
use crate::passwords::Verification;
use crate::services::audit::{self, Event};
use crate::services::ip_limits::RetryAfter;
use crate::services::ClientInfo;

/// Bytes of randomness in a bearer token (hex-encoded: 64 characters).
const TOKEN_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);

/// A freshly issued bearer token.
#[derive(Debug)]
pub struct BearerToken {
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
    /// Too many failures for this account; retry after the wait.
    #[error("too many failed logins")]
    Throttled(RetryAfter),
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

/// Why a bearer token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown, expired, revoked or stale token, or an inactive account.
    #[error("invalid token")]
    Invalid,
    /// The database failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(LoginError, AuthError);

/// The one answer to every failed login, whatever failed (no account enumeration).
pub const INVALID_LOGIN: &str = "Invalid username/password";

impl AccountService {
    /// Checks a login name (username, or an email address) and password; see the module docs.
    /// `from` is what limits count the client as; `client` is recorded in the audit log
    /// (`login_succeeded`, and for an existing account `login_failed` / `login_throttled`).
    #[tracing::instrument(skip(self, login, password, client))]
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
        if let Some(wait) = limits::take(&mut conn, rate, &key, now)? {
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
                limits::give_back(&self.db, rate, &key);
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
    #[tracing::instrument(skip_all, fields(user_id = user.id))]
    pub fn issue_token(&self, user: &User, client: &ClientInfo) -> Result<BearerToken, Failure> {
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
        Ok(BearerToken { token, expires_at })
    }

    /// The account behind a bearer token, if the token is still good.
    #[tracing::instrument(skip_all)]
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
    #[tracing::instrument(skip(self, password_stamp))]
    pub fn session_user(&self, user_id: i64, password_stamp: i64) -> Result<Option<User>, Failure> {
        let mut conn = self.db.get()?;
        let user = users::find_by_id(&mut conn, user_id)?;
        Ok(user.filter(|user| user.is_active && user.password_stamp == password_stamp))
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
