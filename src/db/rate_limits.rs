//! The `rate_limits` table (PostgreSQL only): the limits that answer `429`, shared by every
//! instance on the database, as GCRA rows.
//!
//! A row holds the key's *theoretical arrival time* (`tat`, microseconds since the epoch, on
//! PostgreSQL's clock so instances with skewed clocks agree). A limit of `count` per `period`
//! has an emission interval `T = period / count`; taking `k` units moves `tat` to
//! `max(tat, now) + k·T` and is allowed while that stays within `now + period` (a burst of
//! `count`, refilled one unit every `T`). [`take`] decides and records in one
//! `INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`: the row lock orders concurrent
//! decisions, each sees the previous one's `tat`, so no interleaving hands out more than the
//! limit. A row whose `tat` has passed is the same as no row, which is what [`delete_idle`]
//! relies on.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::PgConnection;

/// PostgreSQL's current time in microseconds since the epoch (fixed for one statement).
const NOW_US: &str = "(EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT";

/// What a granted [`take`] left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// Units handed out (at least 1, at most the number asked for).
    pub units: u32,
    /// Units the key still had after this grant (a hint for how many to ask next time).
    pub left: u64,
}

/// The outcome of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Units were taken.
    Granted(Granted),
    /// Not even one unit is free: the next one is, this many microseconds from now.
    Denied {
        /// Microseconds until one unit is free again.
        retry_after_us: u64,
    },
}

#[derive(QueryableByName)]
struct TakenRow {
    #[diesel(sql_type = BigInt)]
    tat: i64,
    #[diesel(sql_type = Integer)]
    granted: i32,
    #[diesel(sql_type = BigInt)]
    now_us: i64,
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = BigInt)]
    tat: i64,
    #[diesel(sql_type = BigInt)]
    now_us: i64,
}

/// Takes up to `want` units (at least one) of `key`'s allowance of `count` per
/// `count · interval_us` microseconds, in one statement. On a refusal a second, read-only
/// statement finds when the next unit is free (refusals are the rare, attacking case).
pub fn take(
    conn: &mut PgConnection,
    key: &str,
    count: u32,
    interval_us: i64,
    want: u32,
) -> QueryResult<Decision> {
    let interval_us = interval_us.max(1);
    let count = i64::from(count.max(1));
    let period_us = interval_us.saturating_mul(count);
    let want = i64::from(want.max(1)).min(count);
    let query = format!(
        "INSERT INTO rate_limits AS r (limit_key, tat, granted) \
         VALUES ($1, {NOW_US} + $2 * $3, $3) \
         ON CONFLICT (limit_key) DO UPDATE SET \
           tat = GREATEST(r.tat, {NOW_US}) + $2 * LEAST($3, ({NOW_US} + $4 - GREATEST(r.tat, {NOW_US})) / $2), \
           granted = LEAST($3, ({NOW_US} + $4 - GREATEST(r.tat, {NOW_US})) / $2) \
         WHERE GREATEST(r.tat, {NOW_US}) + $2 <= {NOW_US} + $4 \
         RETURNING tat, granted, {NOW_US} AS now_us"
    );
    let taken: Option<TakenRow> = diesel::sql_query(query)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(interval_us)
        .bind::<BigInt, _>(want)
        .bind::<BigInt, _>(period_us)
        .get_result(conn)
        .optional()?;
    if let Some(row) = taken {
        let left = (row.now_us + period_us - row.tat).max(0) / interval_us;
        return Ok(Decision::Granted(Granted {
            units: u32::try_from(row.granted.max(1)).unwrap_or(1),
            left: u64::try_from(left).unwrap_or(0),
        }));
    }
    let state: Option<StateRow> = diesel::sql_query(format!(
        "SELECT tat, {NOW_US} AS now_us FROM rate_limits WHERE limit_key = $1"
    ))
    .bind::<Text, _>(key)
    .get_result(conn)
    .optional()?;
    // The row's next free unit is at tat + T - period; a row deleted meanwhile is free now.
    let retry_after_us = state.map_or(0, |row| {
        (row.tat + interval_us - period_us - row.now_us).max(0)
    });
    Ok(Decision::Denied {
        retry_after_us: u64::try_from(retry_after_us).unwrap_or(0),
    })
}

/// Deletes rows whose `tat` has passed: their keys have their whole allowance back, exactly
/// as if they had no row.
pub fn delete_idle(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::sql_query(format!("DELETE FROM rate_limits WHERE tat < {NOW_US}")).execute(conn)
}
