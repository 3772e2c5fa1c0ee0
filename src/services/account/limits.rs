//! The per-account failure limits in the database (failed logins per account and client IP,
//! failed password changes per account), shared by login and change password.
//!
//! A unit is *taken* before the password is verified and given back when the attempt turns
//! out not to be a failure, so concurrent guesses cannot overshoot a limit.

use chrono::NaiveDateTime;

use crate::config::values::Rate;
use crate::db::{self, login_throttles, Db, DbError};
use crate::services::ip_limits::RetryAfter;

fn window_open(now: NaiveDateTime, rate: Rate) -> NaiveDateTime {
    now - chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX)
}

/// Takes one unit of `key`'s allowance before an attempt is checked; `Some(wait)` while its
/// window is used up. No limit, nothing to take.
pub(crate) fn take(
    conn: &mut db::Conn,
    rate: Option<Rate>,
    key: &str,
    now: NaiveDateTime,
) -> Result<Option<RetryAfter>, DbError> {
    let Some(rate) = rate else {
        return Ok(None);
    };
    let limit = i32::try_from(rate.count).unwrap_or(i32::MAX);
    let taken =
        conn.write(|conn| login_throttles::take(conn, key, now, window_open(now, rate), limit))?;
    Ok(taken.err().map(|start| {
        let ends = start + chrono::Duration::from_std(rate.period).unwrap_or(chrono::Duration::MAX);
        RetryAfter {
            retry_after: (ends - now)
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(1)),
        }
    }))
}

/// Returns a unit of `key`'s limit for an attempt that was not a failure (best effort: an
/// error only leaves the attempt counted).
pub(crate) fn give_back(db: &Db, rate: Option<Rate>, key: &str) {
    let Some(rate) = rate else {
        return;
    };
    let now = db::now();
    let returned = db.get().and_then(|mut conn| {
        conn.write(|conn| login_throttles::give_back(conn, key, window_open(now, rate)))
            .map_err(DbError::from)
    });
    if let Err(err) = returned {
        tracing::warn!(error = %err, "a rate-limit unit could not be given back");
    }
}
