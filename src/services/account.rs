//! The signed-in account's use cases, one file each: [`login`] (credentials, bearer tokens,
//! browser sessions' owner), [`sessions`] (logout, log out everywhere, what a password change
//! revokes), [`change_password`], [`devices`], and the per-account failure [`limits`] that
//! login and change password share.
//!
//! [`AccountService`] holds what they need; its fields stay private to this folder.

pub mod change_password;
pub mod devices;
pub mod limits;
pub mod login;
pub mod sessions;

use std::sync::Arc;
use std::time::Duration;

use crate::config::values::Rate;
use crate::config::PublicUrl;
use crate::db::Db;
use crate::domain::PasswordRules;
use crate::passwords::PasswordHasher;
use crate::secrets::TokenHasher;
use crate::services::notices::Notices;
use crate::services::outbox::Outbox;

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

/// The account use cases, shared by the API and the pages.
#[derive(Debug)]
pub struct AccountService {
    db: Db,
    hasher: Arc<PasswordHasher>,
    tokens: TokenHasher,
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
}
