//! The limits of [`IpLimits`](super::IpLimits) on PostgreSQL: counted in the database, so every
//! instance of a deployment draws from one allowance and a restart forgets nothing.
//!
//! A decision in the database costs a round trip, which the hottest endpoints (a validate that
//! answers from memory at ~100k req/s) cannot pay on every request. Two local shortcuts keep the
//! count exact where it matters and never let the deployment exceed a limit:
//!
//! * **Local stock.** An instance may take several units in one statement and hand them out
//!   itself. It asks for more than one only while a key is busy on this instance (asked again
//!   within [`HOT`]; the size doubles per ask, up to [`MAX_CHUNK`]) *and* the key has many left
//!   (at most 1/16 of what the database said was left), so near a limit every unit is decided
//!   by the database one at a time. Asks in flight together for one key take at most that
//!   sixteenth between them (no herd of chunks), and a request the database refuses takes a
//!   unit another ask brought back meanwhile. Units are counted when taken, so stock can only make the
//!   deployment stricter: an instance holding unspent units for at most [`STOCK_LIFETIME`]
//!   keeps them from the others.
//! * **Remembered refusals.** After the database refuses a key, the instance refuses it itself
//!   until the time the database named: a row's `tat` only grows (a purge deletes only rows
//!   that would allow), so the database would refuse as well.
//!
//! Failed logins keep their reserve-then-give-back window in `login_throttles` (the table the
//! per-account login limit already shares), under the key `ip:ADDRESS`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::{LimitError, RetryAfter, SWEEP_EVERY};
use crate::config::values::Rate;
use crate::db::{self, login_throttles, rate_limits, Db, DbConnection, DbError};

/// A key asked again within this long is busy: its next ask may take more units.
const HOT: Duration = Duration::from_millis(500);
/// The most units one ask takes.
const MAX_CHUNK: u32 = 256;
/// Unspent local units are dropped after this long (the database has counted them already).
const STOCK_LIFETIME: Duration = Duration::from_secs(1);

/// What this instance knows about one key.
#[derive(Debug, Default)]
struct Local {
    stock: u32,
    stock_until: Option<Instant>,
    denied_until: Option<Instant>,
    chunk: u32,
    last_ask: Option<Instant>,
    left: u64,
    /// Asks of this key in flight: while one is, others take one unit each (no herd of chunks).
    asking: u32,
}

/// The next step for one request.
enum Step {
    Allowed,
    /// Allowed from stock, which is running low: ask for more in the background.
    AllowedRefill(u32),
    Denied(RetryAfter),
    Ask(u32),
}

/// One GCRA limit counted in `rate_limits`, keyed by client network (or one global key).
#[derive(Debug)]
pub struct SharedRate {
    name: &'static str,
    count: u32,
    interval_us: i64,
    db: Db,
    local: Mutex<HashMap<Option<IpAddr>, Local>>,
    checks: AtomicU32,
}

impl SharedRate {
    /// The limit `name` (part of every row's key) at `rate`.
    pub fn new(name: &'static str, rate: Rate, db: Db) -> Self {
        let count = rate.count.max(1);
        let interval_us = i64::try_from(rate.period.as_micros() / u128::from(count))
            .unwrap_or(i64::MAX)
            .max(1);
        Self {
            name,
            count,
            interval_us,
            db,
            local: Mutex::new(HashMap::new()),
            checks: AtomicU32::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<IpAddr>, Local>> {
        self.local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one request for `key` (`None`: the global key).
    pub async fn check(self: &Arc<Self>, key: Option<IpAddr>) -> Result<(), LimitError> {
        let want = match self.step(key) {
            Step::Allowed => return Ok(()),
            Step::AllowedRefill(want) => {
                // The next requests find stock instead of waiting for the database.
                let this = self.clone();
                tokio::spawn(async move {
                    let _ = this.ask(key, want).await;
                });
                return Ok(());
            }
            Step::Denied(throttled) => return Err(LimitError::Throttled(throttled)),
            Step::Ask(want) => want,
        };
        self.ask(key, want).await
    }

    /// Takes up to `want` units of `key` from the database and records the outcome locally.
    async fn ask(&self, key: Option<IpAddr>, want: u32) -> Result<(), LimitError> {
        let row_key = match key {
            Some(ip) => format!("{}:{ip}", self.name),
            None => self.name.to_owned(),
        };
        let (db, count, interval_us) = (self.db.clone(), self.count, self.interval_us);
        let decision = super::off_thread(move || {
            let mut conn = db.get()?;
            match &mut *conn {
                DbConnection::Postgres(pg) => {
                    Ok(rate_limits::take(pg, &row_key, count, interval_us, want)?)
                }
                DbConnection::Sqlite(_) => Err(DbError::Unavailable(
                    "shared rate limits need PostgreSQL".to_owned(),
                )),
            }
        })
        .await
        .and_then(|decided| decided);
        match decision {
            Ok(decision) => self.record(key, decision).map_err(LimitError::Throttled),
            Err(err) => {
                let mut map = self.lock();
                if let Some(local) = map.get_mut(&key) {
                    local.asking = local.asking.saturating_sub(1);
                }
                Err(err.into())
            }
        }
    }

    fn step(&self, key: Option<IpAddr>) -> Step {
        let now = Instant::now();
        let mut map = self.lock();
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == 0 {
            map.retain(|_, local| {
                local.stock_until.is_some_and(|until| until > now)
                    || local.denied_until.is_some_and(|until| until > now)
                    || local.last_ask.is_some_and(|at| now - at < HOT)
            });
        }
        let local = map.entry(key).or_default();
        if local.stock > 0 && local.stock_until.is_some_and(|until| until > now) {
            local.stock -= 1;
            if local.asking == 0 && local.chunk > 1 && local.stock * 2 < local.chunk {
                local.asking += 1;
                local.last_ask = Some(now);
                let share = local.left / 16;
                let by_left = u32::try_from(share.max(1)).unwrap_or(MAX_CHUNK);
                return Step::AllowedRefill(local.chunk.min(by_left));
            }
            return Step::Allowed;
        }
        local.stock = 0;
        if let Some(until) = local.denied_until {
            if until > now {
                return Step::Denied(RetryAfter {
                    retry_after: until - now,
                });
            }
            local.denied_until = None;
        }
        let hot = local.last_ask.is_some_and(|at| now - at < HOT);
        local.chunk = if hot {
            local.chunk.saturating_mul(2).clamp(1, MAX_CHUNK)
        } else {
            1
        };
        local.last_ask = Some(now);
        local.asking += 1;
        // All asks in flight together take at most a sixteenth of what is left.
        let share = local.left / (16 * u64::from(local.asking));
        let by_left = u32::try_from(share.max(1)).unwrap_or(MAX_CHUNK);
        Step::Ask(local.chunk.min(by_left))
    }

    fn record(
        &self,
        key: Option<IpAddr>,
        decision: rate_limits::Decision,
    ) -> Result<(), RetryAfter> {
        let now = Instant::now();
        let mut map = self.lock();
        let local = map.entry(key).or_default();
        local.asking = local.asking.saturating_sub(1);
        match decision {
            rate_limits::Decision::Granted(granted) => {
                // One unit is this request's; the rest is stock.
                local.stock = local.stock.saturating_add(granted.units - 1);
                local.stock_until = Some(now + STOCK_LIFETIME);
                local.left = granted.left;
                Ok(())
            }
            rate_limits::Decision::Denied { retry_after_us } => {
                // Units another ask of this instance brought back meanwhile are this
                // request's: refusing while holding them would be stricter than one instance.
                if local.stock > 0 && local.stock_until.is_some_and(|until| until > now) {
                    local.stock -= 1;
                    return Ok(());
                }
                let retry_after = Duration::from_micros(retry_after_us);
                local.denied_until = Some(now + retry_after);
                local.left = 0;
                Err(RetryAfter { retry_after })
            }
        }
    }
}

/// Failed logins per client address in a fixed window, in `login_throttles`.
#[derive(Debug)]
pub struct SharedFailures {
    rate: Rate,
    db: Db,
}

/// A unit of [`SharedFailures`] in hand: the key and the window it was taken in.
#[derive(Debug)]
pub struct TakenFailure {
    db: Db,
    key: String,
    window_open: NaiveDateTime,
}

impl SharedFailures {
    /// Failed logins per address at `rate`.
    pub fn new(rate: Rate, db: Db) -> Self {
        Self { rate, db }
    }

    /// Takes one unit for `ip` before the password is checked.
    pub async fn take(&self, ip: IpAddr) -> Result<TakenFailure, LimitError> {
        let (db, rate) = (self.db.clone(), self.rate);
        let key = format!("ip:{ip}");
        super::off_thread(move || {
            let now = db::now();
            let window_open = now - period(rate);
            let limit = i32::try_from(rate.count).unwrap_or(i32::MAX);
            let taken = db
                .get()?
                .write(|conn| login_throttles::take(conn, &key, now, window_open, limit))
                .map_err(DbError::from)?;
            match taken {
                Ok(()) => Ok(TakenFailure {
                    db,
                    key,
                    window_open,
                }),
                Err(start) => {
                    let wait = (start + period(rate) - now)
                        .to_std()
                        .unwrap_or(Duration::from_secs(1));
                    Err(LimitError::Throttled(RetryAfter { retry_after: wait }))
                }
            }
        })
        .await?
    }
}

impl TakenFailure {
    /// Returns the unit (the attempt was not a failure), off the async thread and best effort:
    /// an error only leaves the attempt counted.
    pub fn give_back(self) {
        let work = move || {
            let returned = self.db.get().and_then(|mut conn| {
                conn.write(|conn| login_throttles::give_back(conn, &self.key, self.window_open))
                    .map_err(DbError::from)
            });
            if let Err(err) = returned {
                tracing::warn!(error = %err, "a rate-limit unit could not be given back");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(work)),
            Err(_) => work(),
        }
    }
}

fn period(rate: Rate) -> chrono::Duration {
    chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX)
}
