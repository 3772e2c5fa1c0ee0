//! In-memory rate limits per client IP (and one global limit for short numeric tokens), with
//! governor's GCRA: a burst of `count`, refilled evenly over `period`.
//!
//! These are per instance: with several instances behind a balancer each allows the full rate.
//! The limits that must hold across instances (reset mails and failed logins per account) are
//! kept in the database instead.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::config::values::Rate;
use crate::config::{RateLimits, TokenGeneratorConfig};

/// How many checks between two sweeps of idle keys (keeps memory bounded).
const SWEEP_EVERY: u32 = 4096;

/// A request over a limit: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// When a retry can succeed.
    pub retry_after: Duration,
}

impl Throttled {
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

    fn check(&self, ip: IpAddr) -> Result<(), Throttled> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == 0 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| Throttled {
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
    fn take(&self, ip: IpAddr) -> Result<Instant, Throttled> {
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
            return Err(Throttled {
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
    taken: Option<(&'a FailureWindow, IpAddr, Instant)>,
}

impl LoginAttempt<'_> {
    /// The login failed: the unit stays spent.
    pub fn failed(mut self) {
        self.taken = None;
    }
}

impl Drop for LoginAttempt<'_> {
    fn drop(&mut self) {
        if let Some((limit, ip, window)) = self.taken.take() {
            limit.give_back(ip, window);
        }
    }
}

/// The per-instance limits of the HTTP API.
#[derive(Debug)]
pub struct IpLimits {
    reset_requests: Option<PerIp>,
    token_checks: Option<PerIp>,
    token_checks_global: Option<DefaultDirectRateLimiter>,
    login_failures: Option<FailureWindow>,
}

impl IpLimits {
    /// The configured limits; the global token limit applies only to numeric tokens.
    pub fn new(limits: &RateLimits, generator: TokenGeneratorConfig) -> Self {
        let numeric = matches!(generator, TokenGeneratorConfig::Number { .. });
        Self {
            reset_requests: limits.reset_requests_per_ip.map(PerIp::new),
            token_checks: limits.token_checks_per_ip.map(PerIp::new),
            token_checks_global: limits
                .token_checks_global
                .filter(|_| numeric)
                .map(|rate| DefaultDirectRateLimiter::direct(quota(rate))),
            login_failures: limits.login_failures_per_ip.map(FailureWindow::new),
        }
    }

    /// Counts one reset request from `ip`.
    pub fn reset_request(&self, ip: IpAddr) -> Result<(), Throttled> {
        self.reset_requests
            .as_ref()
            .map_or(Ok(()), |limit| limit.check(ip))
    }

    /// Counts one `validate_token/` or `confirm/` attempt from `ip`, and globally for number
    /// codes presented without their account. A code presented with its account's `email` is
    /// exempt from the global limit: wrong codes already count against that account's token, so
    /// one client exhausting the global limit never blocks another client's own code.
    pub fn token_check(&self, ip: IpAddr, names_account: bool) -> Result<(), Throttled> {
        if let Some(limit) = &self.token_checks {
            limit.check(ip)?;
        }
        match &self.token_checks_global {
            Some(global) if !names_account => global.check().map_err(|not_until| Throttled {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            }),
            _ => Ok(()),
        }
    }

    /// Takes one unit of `ip`'s failed-login limit before the password is checked; `Err` while
    /// it is used up (then even a right password is refused). Call [`LoginAttempt::failed`] when
    /// the login fails; otherwise the unit comes back when the attempt is dropped.
    pub fn login_attempt(&self, ip: IpAddr) -> Result<LoginAttempt<'_>, Throttled> {
        let taken = match &self.login_failures {
            Some(limit) => Some((limit, ip, limit.take(ip)?)),
            None => None,
        };
        Ok(LoginAttempt { taken })
    }
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
            login_failures: Some(FailureWindow::new(Rate {
                count,
                period: Duration::from_secs(3600),
            })),
        }
    }

    #[test]
    fn attempts_in_flight_hold_units_and_only_failures_keep_them() {
        let limits = login_limits(2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let first = limits.login_attempt(ip).unwrap();
        let second = limits.login_attempt(ip).unwrap();
        assert!(
            limits.login_attempt(ip).is_err(),
            "two attempts in flight use up a limit of two"
        );
        drop(first);
        second.failed();
        let third = limits
            .login_attempt(ip)
            .expect("a success gave its unit back");
        third.failed();
        let refused = limits.login_attempt(ip).unwrap_err();
        assert!(refused.retry_after_secs() > 3000, "{refused:?}");
        assert!(limits.login_attempt("192.0.2.2".parse().unwrap()).is_ok());
    }
}
