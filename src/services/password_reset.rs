//! Password reset by emailed token: the use cases behind django-rest-passwordreset's three
//! endpoints, the reset pages and `latchkey tokens issue|purge`.
//!
//! * **Request.** The request path does the same work for every valid request, whatever the
//!   account: it stores a [`reset request`](crate::db::reset_requests) and returns. Workers
//!   resolve it (look-up, per-account cap, token, mail) in one transaction, so the answer and its
//!   timing cannot tell a known address from an unknown one.
//! * **Tokens** are random (see [`TokenGenerator`]) and stored as HMAC-SHA256 under a key
//!   derived from the secret key. A new token replaces the account's previous one. A token of
//!   the wrong shape is refused before any look-up.
//! * **Confirm** checks the token, then the new password (the token survives a rejected
//!   password), hashes it without holding a connection, and in one transaction consumes the
//!   token with a single conditional `DELETE … RETURNING`, stores the hash, advances the
//!   password stamp, drops every other credential, queues the "password changed" notice and
//!   records the event.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use secrecy::SecretString;

use crate::config::values::Rate;
use crate::config::{AccountBinding, LookupField, PublicUrl};
use crate::db::reset_tokens::{self, NewResetToken, ResetTokenRow};
use crate::db::users::{self, User};
use crate::db::{self, login_throttles, Conn, Db, DbConnection, DbError};
use crate::domain::reset_token::TokenGenerator;
use crate::domain::{EmailAddress, InvalidEmail, NewPassword, PasswordRules, Violation};
use crate::passwords::{HashError, PasswordHasher};
use crate::secrets::TokenHasher;
use crate::services::accounts;
use crate::services::audit::{self, Event};
use crate::services::notices::Notices;
use crate::services::outbox::Outbox;
use crate::services::request_queue::{QueueError, QueuedRequest, RequestQueue};
use crate::services::reset_hooks::{HookError, PasswordReset, ResetHooks, TokenCreated};
use crate::services::{credentials, ClientInfo};

/// Fresh tokens tried before giving up on a collision (only plausible with short numbers).
const COLLISION_RETRIES: usize = 8;

/// How long after a reset a second submission of the same form still counts as a repeat of it
/// (see [`ResetService::just_reset`]).
pub const REPEAT_WINDOW: chrono::Duration = chrono::Duration::minutes(5);

/// The reset settings (SPEC §2) the use cases need.
#[derive(Debug, Clone)]
pub struct ResetSettings {
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Which account field a request is matched against.
    pub lookup_field: LookupField,
    /// Accounts without a usable password cannot reset themselves.
    pub require_usable_password: bool,
    /// `false` answers 400 for an unknown address (the package's legacy behaviour).
    pub no_information_leakage: bool,
    /// Rules for the new password.
    pub rules: PasswordRules,
    /// Origin of the emailed link.
    pub public_url: PublicUrl,
    /// `LATCHKEY_RESET_URL`: the link with `{token}` in it, when the product has its own page.
    pub reset_url: Option<String>,
    /// Reset mails allowed per account and window (silent).
    pub mails_per_account: Option<Rate>,
    /// Whether a presented code names its account (number codes).
    pub account_binding: AccountBinding,
    /// The password-changed notice and its "This wasn't me" link.
    pub notices: Notices,
    /// Mail, webhook or both for a new reset token.
    pub reset_delivery: crate::config::ResetDelivery,
    /// Where the `password_reset_token_created` webhook goes (with `reset_delivery` webhook
    /// or both).
    pub webhook_url: Option<String>,
}

/// Wrong codes an account's token survives when they are presented with the account's `email`:
/// the fifth kills it, so guessing one account's 6-digit code has odds of 5 in 900,000.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// Whether a check may write: the API's POSTs may, a page shown by GET or HEAD may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Check {
    /// An expired token found is deleted (as the package does), and a code presented with its
    /// account's `email` costs one of that token's attempts.
    Writes,
    /// Nothing changes: an expired token is left for the purge, and a code is compared with its
    /// account's token without counting (the per-IP limit still counts the request).
    ReadOnly,
}

/// A reset token as a client presented it.
#[derive(Debug, Clone)]
pub struct PresentedToken {
    /// The token or code, trimmed.
    pub token: String,
    /// The account it claims to be for (the request's `email` field, number codes only): then
    /// it is compared with that account's token alone, and wrong codes count against it.
    pub account: Option<ResetIdentifier>,
}

/// What a reset request names, parsed at the edge.
#[derive(Debug, Clone)]
pub enum ResetIdentifier {
    /// An address valid by Django's rules (`LATCHKEY_LOOKUP_FIELD=email`).
    Email(EmailAddress),
    /// A username, matched as typed or by its key (`LATCHKEY_LOOKUP_FIELD=username`).
    Username(String),
}

/// Longest username matched when `LATCHKEY_LOOKUP_FIELD=username` (longer ones match nothing).
const MAX_USERNAME_CHARS: usize = 150;

impl ResetIdentifier {
    /// Reads the `email` field of a reset request the way `LATCHKEY_LOOKUP_FIELD` says; the API
    /// and the forgot-password page both use this, so they accept the same input.
    pub fn parse(lookup: LookupField, typed: &str) -> Result<Self, InvalidEmail> {
        match lookup {
            LookupField::Email => EmailAddress::parse(typed).map(Self::Email),
            LookupField::Username => Ok(Self::Username(
                typed.chars().take(MAX_USERNAME_CHARS + 1).collect(),
            )),
        }
    }

    fn lookup_key(&self) -> String {
        match self {
            Self::Email(email) => email.canonical(),
            Self::Username(username) => username.clone(),
        }
    }
}

/// Why a reset request was refused.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No eligible account (reported only with `LATCHKEY_NO_INFORMATION_LEAKAGE=false`).
    #[error("no eligible account matches")]
    NoAccount,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Unknown, used, expired, or its account may not reset: one answer for all.
    #[error("the token is not valid")]
    Invalid,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for TokenError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.into())
    }
}

/// Why a confirm failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// Unknown, used, expired or ineligible token.
    #[error("the token is not valid")]
    InvalidToken,
    /// The new password broke rules; the token is still usable.
    #[error("the password is not acceptable")]
    WeakPassword(Vec<Violation>),
    /// Hashing failed or is saturated.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// An `after_reset` hook refused; nothing changed.
    #[error("a reset hook failed: {0}")]
    Hook(HookError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<diesel::result::Error> for ConfirmError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Database(err.into())
    }
}

impl From<TokenError> for ConfirmError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid => Self::InvalidToken,
            TokenError::Database(err) => Self::Database(err),
        }
    }
}

/// The reset use cases, shared by the API, the pages, the CLI and the workers.
#[derive(Debug)]
pub struct ResetService {
    pub(super) db: Db,
    hasher: Arc<PasswordHasher>,
    pub(super) tokens: TokenHasher,
    generator: Box<dyn TokenGenerator>,
    pub(super) hooks: Arc<dyn ResetHooks>,
    pub(super) outbox: Outbox,
    pub(super) settings: ResetSettings,
    /// Stores accepted requests in batches; started on first use.
    queue: std::sync::OnceLock<RequestQueue>,
    /// Held by the one worker resolving requests: on SQLite writes are serial anyway, and
    /// one thread leaves the other cores to the requests.
    pub(super) resolving: std::sync::Mutex<()>,
}

/// A token just created, with what its hooks need.
pub(super) struct CreatedToken {
    pub(super) token: String,
    pub(super) link: String,
    pub(super) cancel_link: String,
    pub(super) expires_at: NaiveDateTime,
}

impl ResetService {
    /// Assembles the service.
    pub fn new(
        db: Db,
        hasher: Arc<PasswordHasher>,
        tokens: TokenHasher,
        generator: Box<dyn TokenGenerator>,
        hooks: Arc<dyn ResetHooks>,
        outbox: Outbox,
        settings: ResetSettings,
    ) -> Self {
        Self {
            db,
            hasher,
            tokens,
            generator,
            hooks,
            outbox,
            settings,
            queue: std::sync::OnceLock::new(),
            resolving: std::sync::Mutex::new(()),
        }
    }

    /// The outbox its mail goes to (with the body sealer it was built with), for requeueing.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// With `LATCHKEY_NO_INFORMATION_LEAKAGE=false` only: refuses an address no eligible
    /// account has (the package's legacy 400). Never called otherwise, so it cannot leak.
    pub fn check_eligible(&self, identifier: &ResetIdentifier) -> Result<(), RequestError> {
        let mut conn = self.db.get()?;
        let user = self
            .find_by_lookup_key(&mut conn, &identifier.lookup_key())
            .map_err(DbError::from)?;
        if user.is_some_and(|user| self.may_request(&user)) {
            Ok(())
        } else {
            Err(RequestError::NoAccount)
        }
    }

    /// Accepts a reset request: its row is stored (batched with concurrent requests into one
    /// transaction) and the workers do the rest. The same work for every account.
    pub async fn accept(
        &self,
        identifier: &ResetIdentifier,
        client: &ClientInfo,
    ) -> Result<(), RequestError> {
        let queue = match self.queue.get() {
            Some(queue) => queue,
            None => {
                let outbox = self.outbox.clone();
                let started = RequestQueue::start(self.db.clone(), move || outbox.notify())
                    .map_err(|err| RequestError::Database(DbError::Unavailable(err.to_string())))?;
                self.queue.get_or_init(|| started)
            }
        };
        queue
            .store(QueuedRequest {
                lookup_key: identifier.lookup_key(),
                ip_address: client.ip_text(),
                user_agent: client.user_agent.clone(),
                language: Some(crate::i18n::tag()),
            })
            .await
            .map_err(|err| match err {
                QueueError::Database(err) => RequestError::Database(err),
                QueueError::Unavailable => {
                    RequestError::Database(DbError::Unavailable(err.to_string()))
                }
            })
    }

    /// Whether `token` has a shape a token of this deployment can have (no look-up).
    pub fn could_be_token(&self, token: &str) -> bool {
        self.generator.could_generate(token)
    }

    /// Whether codes name their account (see [`AccountBinding`]).
    pub fn account_binding(&self) -> AccountBinding {
        self.settings.account_binding
    }

    /// Checks a token without consuming it; returns its account. An expired token found on
    /// the way is deleted, as the package's `validate_token/` does (a POST).
    pub fn validate(&self, presented: &PresentedToken) -> Result<User, TokenError> {
        self.check(presented, Check::Writes)
    }

    /// Checks a token for a page that a GET or HEAD shows: as [`Self::validate`], but an
    /// expired token is left for the purge, because a GET never changes anything.
    pub fn check_link(&self, presented: &PresentedToken) -> Result<User, TokenError> {
        self.check(presented, Check::ReadOnly)
    }

    fn check(&self, presented: &PresentedToken, mode: Check) -> Result<User, TokenError> {
        if !self.could_be_token(&presented.token) {
            return Err(TokenError::Invalid);
        }
        let mut conn = self.db.get()?;
        self.live_token(&mut conn, presented, mode)
            .map(|(_, user)| user)
    }

    /// Whether the account's password was set moments ago by the one change that followed
    /// `stamp_seen` (the stamp when a reset form was opened): a form submitted a second time
    /// (double click, reload) then says "password changed" instead of "link invalid". Exactly one
    /// change later and within [`REPEAT_WINDOW`], so a reset made elsewhere since, or long ago,
    /// is not mistaken for it.
    pub fn just_reset(&self, user_id: i64, stamp_seen: i64) -> Result<bool, DbError> {
        let mut conn = self.db.get()?;
        let user = users::find_by_id(&mut conn, user_id)?;
        let since = db::now() - REPEAT_WINDOW;
        Ok(user.is_some_and(|user| {
            user.password_stamp == stamp_seen + 1
                && user.password_changed_at.is_some_and(|at| at >= since)
        }))
    }

    /// Sets a new password with a token; see the module docs for the order of checks.
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
            credentials::revoke_after_password_change(conn, user.id, credentials::Keep::NOTHING)?;
            login_throttles::clear_prefix(conn, &accounts::account_throttle_prefix(user.id))?;
            audit::record(
                conn,
                &Event::new(audit::PASSWORD_RESET_COMPLETED, user.id, Some(client)),
            )?;
            if user.password_hash.is_some() {
                self.outbox
                    .queue_password_changed(conn, &self.settings.notices, &user, now, Some(client))
                    .map_err(|err| ConfirmError::Hook(err.into()))?;
            }
            self.hooks
                .after_reset(conn, &event)
                .map_err(ConfirmError::Hook)
        })?;
        self.outbox.notify();
        tracing::info!(user_id = user.id, "password reset with an emailed token");
        Ok(())
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
    pub(super) fn live_token(
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
        let Some(owner) = self
            .find_by_lookup_key(conn, &account.lookup_key())
            .map_err(DbError::from)?
        else {
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
            .find_by_lookup_key(conn, &account.lookup_key())
            .map_err(DbError::from)?
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

    /// Active and (unless the setting is off) with a usable password.
    pub(super) fn may_request(&self, user: &User) -> bool {
        user.is_active && (user.password_hash.is_some() || !self.settings.require_usable_password)
    }

    pub(super) fn find_by_lookup_key(
        &self,
        conn: &mut DbConnection,
        key: &str,
    ) -> diesel::QueryResult<Option<User>> {
        match self.settings.lookup_field {
            LookupField::Email => users::find_by_email_key(conn, key),
            LookupField::Username => users::find_by_username(conn, key),
        }
    }

    /// Replaces the account's tokens with a fresh one (inside the caller's transaction).
    pub(super) fn create_token(
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

    /// Runs the `token_created` hooks (the reset mail by default).
    pub(super) fn announce(
        &self,
        conn: &mut DbConnection,
        user: &User,
        created: &CreatedToken,
        client: &ClientInfo,
    ) -> Result<(), HookError> {
        let delivery = self.settings.reset_delivery;
        if delivery.hooks() {
            if let Some(url) = &self.settings.webhook_url {
                // The one webhook that carries a token: sealed at rest like a mail body,
                // never logged, never sent after the token expired.
                crate::services::webhooks::queue_event(
                    conn,
                    self.outbox.bodies(),
                    url,
                    crate::services::webhooks::PASSWORD_RESET_TOKEN_CREATED,
                    db::now(),
                    serde_json::json!({
                        "user_id": user.id,
                        "username": user.username,
                        "email": user.email,
                        "token": created.token,
                        "reset_url": created.link,
                        "expires_at": audit::rfc3339(created.expires_at),
                    }),
                    Some(created.expires_at),
                )?;
            }
        }
        if !delivery.mails() {
            return Ok(());
        }
        self.hooks.token_created(&mut TokenCreated {
            conn,
            outbox: &self.outbox,
            user,
            token: &created.token,
            link: &created.link,
            cancel_link: &created.cancel_link,
            expires_at: created.expires_at,
            lifetime: self.settings.token_ttl,
            client,
        })
    }
}
