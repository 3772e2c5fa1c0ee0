//! Reset tokens: made, hashed and found here. A token is random ([`TokenGenerator`]) and
//! stored only as its HMAC-SHA256 under the reset-token key ([`TokenHasher`], derived from the
//! secret key); a new token replaces the account's previous one; a token of the wrong shape is
//! refused before any look-up; a number code presented with its account counts wrong attempts.
//!
//! [`TokenGenerator`]: crate::domain::reset_token::TokenGenerator
//! [`TokenHasher`]: crate::secrets::TokenHasher

use chrono::NaiveDateTime;

use super::{Check, PresentedToken, ResetIdentifier, ResetService};
use crate::config::{AccountBinding, LookupField};
use crate::db::reset_tokens::{self, NewResetToken, ResetTokenRow};
use crate::db::users::{self, User};
use crate::db::{self, Conn, DbConnection, DbError};
use crate::error::Failure;
use crate::services::ClientInfo;

/// Fresh tokens tried before giving up on a collision (only plausible with short numbers).
const COLLISION_RETRIES: usize = 8;

/// Wrong codes an account's token survives when they are presented with the account's `email`:
/// the fifth kills it, so guessing one account's 6-digit code has odds of 5 in 900,000.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown, used, expired, or its account may not reset: one answer for all.
    #[error("the token is not valid")]
    Invalid,
    /// The database, the hasher or something unexpected failed.
    #[error(transparent)]
    Failed(#[from] Failure),
}

crate::failure_conversions!(TokenError);

/// A token just created, with what its hooks need.
pub(crate) struct CreatedToken {
    /// The token in clear (only hooks see it).
    pub(crate) token: String,
    /// The reset page's link.
    pub(crate) link: String,
    /// The "I did not ask for this" link.
    pub(crate) cancel_link: String,
    /// When it expires.
    pub(crate) expires_at: NaiveDateTime,
}

impl ResetService {
    /// Whether `token` has a shape a token of this deployment can have (no look-up).
    pub fn could_be_token(&self, token: &str) -> bool {
        self.generator.could_generate(token)
    }

    /// Checks a token in `mode`; returns its account.
    pub(super) fn check(
        &self,
        presented: &PresentedToken,
        mode: Check,
    ) -> Result<User, TokenError> {
        if !self.could_be_token(&presented.token) {
            return Err(TokenError::Invalid);
        }
        let mut conn = self.db.get()?;
        self.live_token(&mut conn, presented, mode)
            .map(|(_, user)| user)
    }

    /// The hash `token` is stored under: the current key's, or, during a key rotation, an older
    /// key's (`LATCHKEY_SECRET_KEY_FALLBACKS`). A write check re-keys such a row to the current
    /// key, so the link keeps working after the fallback is removed; a GET's read-only check
    /// changes nothing and looks up the old hash as it is.
    fn stored_hash(&self, conn: &mut Conn, token: &str, mode: Check) -> Result<String, DbError> {
        let current = self.tokens.hash(token);
        let older = self.tokens.fallback_hashes(token);
        if older.is_empty() || reset_tokens::hash_exists(conn, &current)? {
            return Ok(current);
        }
        for old in older {
            if reset_tokens::hash_exists(conn, &old)? {
                if mode != Check::Writes {
                    return Ok(old);
                }
                conn.write(|conn| reset_tokens::rekey(conn, &old, &current))?;
                return Ok(current);
            }
        }
        Ok(current)
    }

    /// The stored token behind `presented`, with its account, if it can still be used.
    pub(crate) fn live_token(
        &self,
        conn: &mut Conn,
        presented: &PresentedToken,
        mode: Check,
    ) -> Result<(ResetTokenRow, User), TokenError> {
        let token_hash = self.stored_hash(conn, &presented.token, mode)?;
        let row = match &presented.account {
            None => reset_tokens::find_by_hash(conn, &token_hash)?,
            Some(account) if mode == Check::Writes => {
                self.claim_account_token(conn, &token_hash, account)?
            }
            Some(account) => self.peek_account_token(conn, &token_hash, account)?,
        }
        .ok_or(TokenError::Invalid)?;
        if row.expires_at <= db::now() {
            if mode == Check::Writes {
                conn.write(|conn| reset_tokens::delete(conn, row.id))?;
            }
            return Err(TokenError::Invalid);
        }
        let user = users::find_by_id(conn, row.user_id)?.ok_or(TokenError::Invalid)?;
        let usable = user.password_hash.is_some() || !self.settings.require_usable_password;
        if !user.is_active || !(usable || row.issued_by_admin) {
            return Err(TokenError::Invalid);
        }
        Ok((row, user))
    }

    /// Compares a code with the named account's live token without counting an attempt (for
    /// GET and HEAD, which change nothing).
    fn peek_account_token(
        &self,
        conn: &mut Conn,
        token_hash: &str,
        account: &ResetIdentifier,
    ) -> Result<Option<ResetTokenRow>, TokenError> {
        use subtle::ConstantTimeEq;
        let Some(owner) = self.find_by_lookup_key(conn, &account.lookup_key())? else {
            return Ok(None);
        };
        let live = reset_tokens::find_live_for_user(conn, owner.id, db::now())?;
        Ok(live.filter(|row| {
            row.failed_attempts < MAX_CODE_ATTEMPTS
                && bool::from(row.token_hash.as_bytes().ct_eq(token_hash.as_bytes()))
        }))
    }

    /// Compares a code with the named account's live token only: an attempt is taken first
    /// (so concurrent guesses cannot share one), given back when the code matched, and the
    /// [`MAX_CODE_ATTEMPTS`]th wrong code deletes the token.
    fn claim_account_token(
        &self,
        conn: &mut Conn,
        token_hash: &str,
        account: &ResetIdentifier,
    ) -> Result<Option<ResetTokenRow>, TokenError> {
        use subtle::ConstantTimeEq;
        let owner = self
            .find_by_lookup_key(conn, &account.lookup_key())?
            .map(|user| user.id);
        let now = db::now();
        let matched = conn.write(|conn| {
            let mut matched = None;
            for attempt in reset_tokens::take_attempt(conn, owner, now, MAX_CODE_ATTEMPTS)? {
                if bool::from(attempt.token_hash.as_bytes().ct_eq(token_hash.as_bytes())) {
                    reset_tokens::give_back_attempt(conn, attempt.id)?;
                    matched = Some(attempt.id);
                } else if attempt.failed_attempts >= MAX_CODE_ATTEMPTS {
                    reset_tokens::delete(conn, attempt.id)?;
                    tracing::info!(
                        token_id = attempt.id,
                        "reset code deleted after too many wrong attempts"
                    );
                }
            }
            Ok::<_, diesel::result::Error>(matched)
        })?;
        match matched {
            Some(_) => Ok(reset_tokens::find_by_hash(conn, token_hash)?),
            None => Ok(None),
        }
    }

    /// Replaces the account's tokens with a fresh one (inside the caller's transaction).
    pub(crate) fn create_token(
        &self,
        conn: &mut DbConnection,
        user: &User,
        client: &ClientInfo,
        issued_by_admin: bool,
    ) -> diesel::QueryResult<CreatedToken> {
        reset_tokens::delete_for_user(conn, user.id)?;
        let mut token = self.generator.generate_token();
        for _ in 0..COLLISION_RETRIES {
            if !reset_tokens::hash_exists(conn, &self.tokens.hash(&token))? {
                break;
            }
            token = self.generator.generate_token();
        }
        let now = db::now();
        let expires_at = now
            + chrono::Duration::from_std(self.settings.token_ttl).unwrap_or(chrono::Duration::MAX);
        let ip = client.ip_text();
        NewResetToken {
            user_id: user.id,
            token_hash: &self.tokens.hash(&token),
            created_at: now,
            expires_at,
            ip_address: ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
            issued_by_admin,
        }
        .insert(conn)?;
        let page = match &self.settings.reset_url {
            Some(template) => template.replace("{token}", &token),
            None => self
                .settings
                .public_url
                .join(&format!("/reset-password/{token}")),
        };
        let link = self.link_for(page, user);
        let cancel_page = self
            .settings
            .public_url
            .join(&format!("/reset-password/{token}/cancel"));
        let cancel_link = self.link_for(cancel_page, user);
        Ok(CreatedToken {
            token,
            link,
            cancel_link,
            expires_at,
        })
    }

    /// The emailed link to `link` (the reset page, which `LATCHKEY_RESET_URL` may move to the
    /// product, or Latchkey's own "I did not ask for this" page). A number code's link also
    /// names its account (`email` in the query, before any `#fragment`), so the page
    /// (Latchkey's or the product's) checks the code against that account's token alone.
    fn link_for(&self, link: String, user: &User) -> String {
        let account = match self.settings.lookup_field {
            LookupField::Email => &user.email,
            LookupField::Username => &user.username,
        };
        match self.settings.account_binding {
            AccountBinding::Ignored => link,
            AccountBinding::Accepted | AccountBinding::Required => match url::Url::parse(&link) {
                Ok(mut url) => {
                    url.query_pairs_mut().append_pair("email", account);
                    url.to_string()
                }
                // Checked at start-up: the link is an absolute URL.
                Err(_) => link,
            },
        }
    }
}
