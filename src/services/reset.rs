//! Password reset by emailed token: the use cases behind django-rest-passwordreset's three
//! endpoints, the reset pages, the "wasn't me" links and `latchkey tokens issue`. One folder,
//! one [`ResetService`], one file per step:
//!
//! * [`request`] accepts a request (the same work for every account: a row is stored, batched
//!   by [`request::queue`]); [`resolve`] turns stored requests into tokens and mail (run by the
//!   [`workers`](crate::workers)), so the answer and its timing cannot tell a known address
//!   from an unknown one.
//! * [`token`] makes, hashes and finds reset tokens (HMAC-SHA256 under a key derived from the
//!   secret key; a new token replaces the account's previous one; a token of the wrong shape
//!   is refused before any look-up).
//! * [`confirm`] validates a token and sets the new password in one transaction.
//! * [`hooks`] are the three signals (token created, before and after a reset); [`wasnt_me`]
//!   the owner's two ways out.

pub mod confirm;
pub mod hooks;
pub mod request;
pub mod resolve;
pub mod token;
pub mod wasnt_me;

use std::sync::Arc;
use std::time::Duration;

use crate::config::values::Rate;
use crate::config::{AccountBinding, LookupField, PublicUrl};
use crate::db::users::{self, User};
use crate::db::{Db, DbConnection};
use crate::domain::reset_token::TokenGenerator;
use crate::domain::{EmailAddress, InvalidEmail, PasswordRules};
use crate::passwords::PasswordHasher;
use crate::secrets::TokenHasher;
use crate::services::notices::Notices;
use crate::services::outbox::Outbox;
use hooks::ResetHooks;
use request::queue::RequestQueue;

/// The reset settings the use cases need.
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

/// Whether a check may write: the API's POSTs may, a page shown by GET or HEAD may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
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

    /// The key accounts are looked up by: the canonical address, or the username as typed.
    pub(crate) fn lookup_key(&self) -> String {
        match self {
            Self::Email(email) => email.canonical(),
            Self::Username(username) => username.clone(),
        }
    }
}

/// The reset use cases, shared by the API, the pages, the CLI and the workers. Its fields are
/// private to this folder.
#[derive(Debug)]
pub struct ResetService {
    db: Db,
    hasher: Arc<PasswordHasher>,
    tokens: TokenHasher,
    generator: Box<dyn TokenGenerator>,
    hooks: Arc<dyn ResetHooks>,
    outbox: Outbox,
    settings: ResetSettings,
    /// Stores accepted requests in batches; started on first use.
    queue: std::sync::OnceLock<RequestQueue>,
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
        }
    }

    /// The outbox its mail goes to (with the body sealer it was built with), for requeueing.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The pool (for the administrator's commands beside this folder).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// The lifetime of a new token (re-rendered reset mails state it).
    pub fn token_ttl(&self) -> Duration {
        self.settings.token_ttl
    }

    /// The password-changed notices (re-rendered ones carry a fresh "This wasn't me" link).
    pub fn notices(&self) -> &Notices {
        &self.settings.notices
    }

    /// Whether codes name their account (see [`AccountBinding`]).
    pub fn account_binding(&self) -> AccountBinding {
        self.settings.account_binding
    }

    /// Active and (unless the setting is off) with a usable password.
    pub(crate) fn may_request(&self, user: &User) -> bool {
        user.is_active && (user.password_hash.is_some() || !self.settings.require_usable_password)
    }

    /// The account a lookup key names, by `LATCHKEY_LOOKUP_FIELD`.
    fn find_by_lookup_key(
        &self,
        conn: &mut DbConnection,
        key: &str,
    ) -> diesel::QueryResult<Option<User>> {
        match self.settings.lookup_field {
            LookupField::Email => users::find_by_email_key(conn, key),
            LookupField::Username => users::find_by_username(conn, key),
        }
    }
}
