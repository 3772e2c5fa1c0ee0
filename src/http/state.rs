//! What every handler can reach: the pool, the hasher, the configuration and derived keys.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::metrics::Metrics;
use crate::passwords::PasswordHasher;
use crate::secrets::DerivedKeys;
use crate::services::account::AccountService;
use crate::services::ip_limits::IpLimits;
use crate::services::outbox::Outbox;
use crate::services::reset::ResetService;

/// Shared application state, cheap to clone (everything is behind `Arc`s).
#[derive(Clone, Debug)]
pub struct AppState {
    /// The connection pool.
    pub db: Db,
    /// argon2id with its permits.
    pub hasher: Arc<PasswordHasher>,
    /// Parsed configuration.
    pub config: Arc<Config>,
    /// Purpose keys derived from the secret key.
    pub keys: Arc<DerivedKeys>,
    /// Where mail is enqueued.
    pub outbox: Outbox,
    /// The password-reset use cases.
    pub reset: Arc<ResetService>,
    /// Login, tokens, change password.
    pub accounts: Arc<AccountService>,
    /// Per-IP rate limits.
    pub limits: Arc<IpLimits>,
    /// The Prometheus series this application reports.
    pub metrics: Arc<Metrics>,
    /// Set on SIGTERM: `/readyz` answers `draining` until the server stops.
    pub draining: Arc<AtomicBool>,
}
