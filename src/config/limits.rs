//! Rate-limit knobs. Each is `COUNT/PERIOD` (a burst of COUNT, refilled evenly over PERIOD)
//! or `off`.
//!
//! `LATCHKEY_RATE_LIMITS=off` turns off every limit that answers `429`, for load tests that
//! send everything from one address. The silent per-account cap on reset mails is not such a
//! limit (over it, requests still answer 200) and keeps its own variable.

use super::values::{self, Rate};
use super::{ConfigError, Vars};

/// Every limit; `None` means off.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Reset requests per client IP (`429` beyond).
    pub reset_requests_per_ip: Option<Rate>,
    /// Reset mails per account (silent: the request still answers 200, no mail is sent).
    pub reset_mails_per_account: Option<Rate>,
    /// `validate_token/` and `confirm/` attempts per client IP.
    pub token_checks_per_ip: Option<Rate>,
    /// Token checks from all clients together, applied only to the number generator.
    pub token_checks_global: Option<Rate>,
    /// Failed logins per client IP.
    pub login_failures_per_ip: Option<Rate>,
    /// Failed logins per account from one client IP: an attacker elsewhere cannot lock the
    /// account's owner out.
    pub login_failures_per_account_ip: Option<Rate>,
    /// Password-change attempts per account (wrong current password or rejected new one).
    pub password_changes_per_account: Option<Rate>,
}

impl RateLimits {
    pub(super) fn from_vars(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let enabled = vars.parse("LATCHKEY_RATE_LIMITS", true, values::boolean)?;
        let rate =
            |name: &'static str, count: u32, minutes: u64| -> Result<Option<Rate>, ConfigError> {
                let default = Some(Rate {
                    count,
                    period: std::time::Duration::from_secs(minutes * 60),
                });
                let parsed = vars.parse(name, default, values::rate)?;
                Ok(parsed.filter(|_| enabled))
            };
        Ok(Self {
            reset_requests_per_ip: rate("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", 100, 10)?,
            reset_mails_per_account: vars.parse(
                "LATCHKEY_RATE_RESET_MAILS_PER_ACCOUNT",
                Some(Rate {
                    count: 10,
                    period: std::time::Duration::from_secs(3600),
                }),
                values::rate,
            )?,
            token_checks_per_ip: rate("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", 100, 10)?,
            token_checks_global: rate("LATCHKEY_RATE_TOKEN_CHECKS_GLOBAL", 100, 60)?,
            login_failures_per_ip: rate("LATCHKEY_RATE_LOGIN_FAILURES_PER_IP", 100, 10)?,
            login_failures_per_account_ip: rate(
                "LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP",
                20,
                60,
            )?,
            password_changes_per_account: rate(
                "LATCHKEY_RATE_PASSWORD_CHANGES_PER_ACCOUNT",
                20,
                60,
            )?,
        })
    }
}
