//! In-memory rate limits per client IP (and one global limit for short numeric tokens), with
//! governor's GCRA: a burst of `count`, refilled evenly over `period`.
//!
//! On SQLite these live in memory (one instance). On PostgreSQL the same limits are counted in
//! the database (`shared.rs`), so several instances allow what one allows. The per-account
//! limits (reset mails, failed logins per account) are in the database on both backends.

mod shared;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::config::values::Rate;
use crate::config::{RateLimits, TokenGeneratorConfig};
use crate::db::{Db, DbError};
use crate::metrics::Metrics;

/// How many checks between two sweeps of idle keys (keeps memory bounded).
const SWEEP_EVERY: u32 = 4096;

/// A request over a limit: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter {
    /// When a retry can succeed.
    pub retry_after: Duration,
}

impl RetryAfter {
    /// Whole seconds for a `Retry-After` header (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// One keyed limit.
#[derive(Debug)]
struct PerIp {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU32,
}

impl PerIp {
    fn new(rate: Rate) -> Self {
        Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota(rate)),
            checks: AtomicU32::new(0),
        }
    }

    fn check(&self, ip: IpAddr) -> Result<(), RetryAfter> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == 0 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| RetryAfter {
            retry_after: not_until.wait_time_from(DefaultClock::default().now()),
        })
    }
}

fn quota(rate: Rate) -> Quota {
    let burst = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
    let every = (rate.period / burst.get()).max(Duration::from_nanos(1));
    Quota::with_period(every)
        .unwrap_or_else(|| Quota::per_second(burst))
        .allow_burst(burst)
}

/// Failed logins per client IP in a fixed window. A unit is *taken* before the password is
/// checked and given back when the login succeeds (or is refused for another reason), so N
/// concurrent guesses cost N units and at most the limit is ever checked; only failures keep
/// their unit. governor cannot give a unit back, hence this small counter.
#[derive(Debug)]
pub struct FailureWindow {
    rate: Rate,
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureWindow {
    fn new(rate: Rate) -> Self {
        Self {
            rate,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (Instant, u32)>> {
        self.windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes one unit for `ip` (returning its window's start), or `Err` while the current
    /// window is used up.
    fn take(&self, ip: IpAddr) -> Result<Instant, RetryAfter> {
        let mut windows = self.lock();
        if windows.len() >= 4 * SWEEP_EVERY as usize {
            let period = self.rate.period;
            windows.retain(|_, (start, _)| start.elapsed() < period);
        }
        let entry = windows.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= self.rate.period {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= self.rate.count {
            return Err(RetryAfter {
                retry_after: self.rate.period.saturating_sub(entry.0.elapsed()),
            });
        }
        entry.1 += 1;
        Ok(entry.0)
    }

    /// Returns a unit taken in the window that started at `window` (a later window owes
    /// nothing).
    fn give_back(&self, ip: IpAddr, window: Instant) {
        if let Some(entry) = self.lock().get_mut(&ip) {
            if entry.0 == window {
                entry.1 = entry.1.saturating_sub(1);
            }
        }
    }
}

/// A login attempt holding one unit of its address's failure limit. Dropping it gives the unit
/// back; [`LoginAttempt::failed`] keeps it.
#[must_use = "dropping the attempt gives its unit back at once"]
#[derive(Debug)]
pub struct LoginAttempt<'a> {
    taken: Option<Taken<'a>>,
}

#[derive(Debug)]
enum Taken<'a> {
    Local(&'a FailureWindow, IpAddr, Instant),
    Shared(shared::TakenFailure),
}

impl LoginAttempt<'_> {
    /// The login failed: the unit stays spent.
    pub fn failed(mut self) {
        self.taken = None;
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        match self.taken.take() {
            Some(Taken::Local(limit, ip, window)) => limit.give_back(ip, window),
            Some(Taken::Shared(taken)) => taken.give_back(),
            None => {}
        }
    }
}

/// A limit could not be passed: over it, or the database that counts it failed.
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    /// Over the limit.
    #[error("rate limited")]
    Throttled(RetryAfter),
    /// The shared count could not be read or written.
    #[error(transparent)]
    Database(#[from] DbError),
}

/// One limit that answers `429`, in this process or in the database.
#[derive(Debug)]
enum Limit {
    PerIp(PerIp),
    Global(DefaultDirectRateLimiter),
    Shared(Arc<shared::SharedRate>),
}

impl Limit {
    async fn check(&self, ip: IpAddr) -> Result<(), LimitError> {
        match self {
            Self::PerIp(limit) => limit.check(ip).map_err(LimitError::Throttled),
            Self::Global(global) => global.check().map_err(|not_until| {
                LimitError::Throttled(RetryAfter {
                    retry_after: not_until.wait_time_from(DefaultClock::default().now()),
                })
            }),
            Self::Shared(limit) => limit.check(Some(ip)).await,
        }
    }

    async fn check_global(&self) -> Result<(), LimitError> {
        match self {
            Self::Shared(limit) => limit.check(None).await,
            // The global limit's own key is ignored by a direct limiter.
            other => other.check(IpAddr::from([0, 0, 0, 0])).await,
        }
    }
}

#[derive(Debug)]
enum Failures {
    Local(FailureWindow),
    Shared(shared::SharedFailures),
}

/// The limits of the HTTP API that answer `429`: per client network, and one global limit for
/// number codes. In memory on SQLite (one instance); in the database on PostgreSQL, so that N
/// instances allow what one allows and a restart forgets nothing (see `shared.rs`).
#[derive(Debug)]
pub struct IpLimits {
    reset_requests: Option<Limit>,
    token_checks: Option<Limit>,
    token_checks_global: Option<Limit>,
    login_failures: Option<Failures>,
    metrics: Option<Arc<Metrics>>,
}

impl IpLimits {
    /// The configured limits in this process; the global token limit applies only to numeric
    /// tokens.
    pub fn new(limits: &RateLimits, generator: TokenGeneratorConfig) -> Self {
        Self {
            reset_requests: limits
                .reset_requests_per_ip
                .map(|r| Limit::PerIp(PerIp::new(r))),
            token_checks: limits
                .token_checks_per_ip
                .map(|r| Limit::PerIp(PerIp::new(r))),
            token_checks_global: global_rate(limits, generator)
                .map(|rate| Limit::Global(DefaultDirectRateLimiter::direct(quota(rate)))),
            login_failures: limits
                .login_failures_per_ip
                .map(|rate| Failures::Local(FailureWindow::new(rate))),
            metrics: None,
        }
    }

    /// The configured limits counted in `db` (PostgreSQL), shared by every instance on it.
    pub fn shared(limits: &RateLimits, generator: TokenGeneratorConfig, db: &Db) -> Self {
        let shared =
            |name, rate| Limit::Shared(Arc::new(shared::SharedRate::new(name, rate, db.clone())));
        Self {
            reset_requests: limits
                .reset_requests_per_ip
                .map(|rate| shared("reset_ip", rate)),
            token_checks: limits
                .token_checks_per_ip
                .map(|rate| shared("token_ip", rate)),
            token_checks_global: global_rate(limits, generator)
                .map(|rate| shared("token_global", rate)),
            login_failures: limits
                .login_failures_per_ip
                .map(|rate| Failures::Shared(shared::SharedFailures::new(rate, db.clone()))),
            metrics: None,
        }
    }

    /// Counts every refusal in `metrics` (`latchkey_rate_limited_total{limit}`).
    pub fn counted_in(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count<T>(&self, limit: &str, outcome: Result<T, LimitError>) -> Result<T, LimitError> {
        if let (Err(LimitError::Throttled(_)), Some(metrics)) = (&outcome, &self.metrics) {
            metrics.limited(limit);
        }
        outcome
    }

    /// Counts one reset request from `ip`.
    pub async fn reset_request(&self, ip: IpAddr) -> Result<(), LimitError> {
        match &self.reset_requests {
            Some(limit) => self.count("reset_requests_per_ip", limit.check(ip).await),
            None => Ok(()),
        }
    }

    /// Counts one `validate_token/` or `confirm/` attempt from `ip`, and globally for number
    /// codes presented without their account. A code presented with its account's `email` is
    /// exempt from the global limit: wrong codes already count against that account's token, so
    /// one client exhausting the global limit never blocks another client's own code.
    pub async fn token_check(&self, ip: IpAddr, names_account: bool) -> Result<(), LimitError> {
        if let Some(limit) = &self.token_checks {
            self.count("token_checks_per_ip", limit.check(ip).await)?;
        }
        match &self.token_checks_global {
            Some(global) if !names_account => {
                self.count("token_checks_global", global.check_global().await)
            }
            _ => Ok(()),
        }
    }

    /// Takes one unit of `ip`'s failed-login limit before the password is checked; `Err` while
    /// it is used up (then even a right password is refused). Call [`LoginAttempt::failed`] when
    /// the login fails; otherwise the unit comes back when the attempt is dropped.
    pub async fn login_attempt(&self, ip: IpAddr) -> Result<LoginAttempt<'_>, LimitError> {
        let taken = match &self.login_failures {
            Some(Failures::Local(limit)) => Some(Taken::Local(
                limit,
                ip,
                self.count(
                    "login_failures_per_ip",
                    limit.take(ip).map_err(LimitError::Throttled),
                )?,
            )),
            Some(Failures::Shared(limit)) => Some(Taken::Shared(
                self.count("login_failures_per_ip", limit.take(ip).await)?,
            )),
            None => None,
        };
        Ok(LoginAttempt { taken })
    }
}

fn global_rate(limits: &RateLimits, generator: TokenGeneratorConfig) -> Option<Rate> {
    let numeric = matches!(generator, TokenGeneratorConfig::Number { .. });
    limits.token_checks_global.filter(|_| numeric)
}

/// Runs blocking database work on the runtime's blocking pool, inside the caller's span.
async fn off_thread<T, F>(work: F) -> Result<T, DbError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(work))
        .await
        .map_err(|err| DbError::Unavailable(format!("a rate-limit task failed: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_client_waits() {
        let limit = PerIp::new(Rate {
            count: 3,
            period: Duration::from_secs(60),
        });
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            assert!(limit.check(ip).is_ok());
        }
        let throttled = limit.check(ip).unwrap_err();
        assert!(
            (1..=20).contains(&throttled.retry_after_secs()),
            "{throttled:?}"
        );
        assert!(
            limit.check("192.0.2.2".parse().unwrap()).is_ok(),
            "other clients are unaffected"
        );
    }

    fn login_limits(count: u32) -> IpLimits {
        IpLimits {
            reset_requests: None,
            token_checks: None,
            token_checks_global: None,
            login_failures: Some(Failures::Local(FailureWindow::new(Rate {
                count,
                period: Duration::from_secs(3600),
            }))),
            metrics: None,
        }
    }

    #[tokio::test]
    async fn attempts_in_flight_hold_units_and_only_failures_keep_them() {
        let limits = login_limits(2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = limits.login_attempt(ip).await.unwrap();
        let second = limits.login_attempt(ip).await.unwrap();
        assert!(
            limits.login_attempt(ip).await.is_err(),
            "two attempts in flight use up a limit of two"
        );
        drop(first);
        second.failed();
        let third = limits
            .login_attempt(ip)
            .await
            .expect("a success gave its unit back");
        third.failed();
        let Err(LimitError::Throttled(refused)) = limits.login_attempt(ip).await else {
            panic!("a used-up limit refuses");
        };
        assert!(refused.retry_after_secs() > 3000, "{refused:?}");
        assert!(limits
            .login_attempt("192.0.2.2".parse().unwrap())
            .await
            .is_ok());
    }
}
