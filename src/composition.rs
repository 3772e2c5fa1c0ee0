//! The composition root: the one place that turns a [`Config`] and a pool into the services
//! every face of Latchkey runs on. `serve` ([`crate::startup::Application`], which the tests
//! start too) and every CLI command build their services here, so a setting is wired once.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::domain::reset_token;
use crate::domain::PasswordRules;
use crate::email::Composer;
use crate::passwords::PasswordHasher;
use crate::secrets::{self, DerivedKeys, SecretKey};
use crate::services::account::{AccountService, AccountSettings};
use crate::services::notices::Notices;
use crate::services::outbox::Outbox;
use crate::services::reset::hooks::{DefaultResetHooks, ResetHooks};
use crate::services::reset::{ResetService, ResetSettings};

/// The services one process shares, built from one configuration.
#[derive(Debug, Clone)]
pub struct Core {
    /// The connection pool.
    pub db: Db,
    /// Purpose keys derived from the secret key (and its fallbacks).
    pub keys: Arc<DerivedKeys>,
    /// Builds the outbox's messages (sender, message ids).
    pub composer: Composer,
    /// Where mail is enqueued.
    pub outbox: Outbox,
    /// argon2id with its permits.
    pub hasher: Arc<PasswordHasher>,
    /// The password-reset use cases.
    pub reset: Arc<ResetService>,
    /// Login, tokens, logout, change password.
    pub accounts: Arc<AccountService>,
}

impl Core {
    /// Wires the services over `db` with `hasher` (whose permits the caller sized: every core
    /// for `serve`, one for a CLI command), the reset `hooks` and the resolved `secret`.
    pub fn assemble(
        config: &Config,
        secret: &SecretKey,
        db: Db,
        hasher: Arc<PasswordHasher>,
        hooks: Arc<dyn ResetHooks>,
    ) -> anyhow::Result<Self> {
        let keys = Arc::new(DerivedKeys::with_fallbacks(
            secret,
            &config.secret_key_fallbacks,
        ));
        let composer = Composer::new(&config.email.from)
            .map_err(|err| anyhow::anyhow!("invalid LATCHKEY_EMAIL_FROM: {err}"))?;
        let outbox = Outbox::new(composer.clone(), keys.outbox_bodies.clone())
            .for_product(&config.product.product_name);
        let reset = Arc::new(ResetService::new(
            db.clone(),
            hasher.clone(),
            keys.reset_tokens.clone(),
            reset_token::from_config(config.reset.token_generator),
            hooks,
            outbox.clone(),
            reset_settings(config, &keys),
        ));
        let accounts = Arc::new(AccountService::new(
            db.clone(),
            hasher.clone(),
            keys.api_tokens.clone(),
            outbox.clone(),
            account_settings(config, &keys),
        ));
        Ok(Self {
            db,
            keys,
            composer,
            outbox,
            hasher,
            reset,
            accounts,
        })
    }

    /// The services of one CLI command: one hashing permit, the default reset hooks.
    pub fn for_command(config: &Config, db: Db) -> anyhow::Result<Self> {
        let secret = secret_key(config)?;
        let hasher = Arc::new(PasswordHasher::with_permits(config.passwords.argon2, 1)?);
        Self::assemble(config, &secret, db, hasher, Arc::new(DefaultResetHooks))
    }
}

/// The configured secret key, or (SQLite only) the one kept beside the database.
pub fn secret_key(config: &Config) -> Result<SecretKey, secrets::SecretKeyError> {
    secrets::resolve(config.secret_key.as_ref(), config.database_url.sqlite_dir())
}

/// The password-changed notices of this configuration.
pub fn notices(config: &Config, keys: &DerivedKeys) -> Notices {
    Notices::new(
        keys.wasnt_me_tokens.clone(),
        config.notices.wasnt_me_ttl,
        config.public_url.clone(),
    )
}

/// What the reset use cases read from the configuration.
pub fn reset_settings(config: &Config, keys: &DerivedKeys) -> ResetSettings {
    ResetSettings {
        token_ttl: config.reset.token_ttl,
        lookup_field: config.reset.lookup_field,
        require_usable_password: config.reset.require_usable_password,
        no_information_leakage: config.reset.no_information_leakage,
        rules: PasswordRules {
            min_length: config.passwords.min_length,
        },
        public_url: config.public_url.clone(),
        reset_url: config.product.reset_url.clone(),
        mails_per_account: config.limits.reset_mails_per_account,
        account_binding: config.reset.account_binding,
        notices: notices(config, keys),
        reset_delivery: config.notices.reset_delivery,
        webhook_url: config
            .notices
            .webhook
            .as_ref()
            .map(|webhook| webhook.url.clone()),
    }
}

/// What the account use cases read from the configuration.
pub fn account_settings(config: &Config, keys: &DerivedKeys) -> AccountSettings {
    AccountSettings {
        api_token_ttl: config.api_token_ttl,
        rules: PasswordRules {
            min_length: config.passwords.min_length,
        },
        public_url: config.public_url.clone(),
        notices: notices(config, keys),
        login_failures_per_account_ip: config.limits.login_failures_per_account_ip,
        password_changes_per_account: config.limits.password_changes_per_account,
    }
}
