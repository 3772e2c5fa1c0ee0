//! The `email_outbox` table: enqueue, claim with a lease, and record each attempt's outcome.
//!
//! A claim is identified by `(id, lease_owner, attempts)`: every claim increments `attempts`, so
//! a worker whose lease expired and was re-claimed elsewhere cannot record an outcome over the
//! new claim. On PostgreSQL the candidate row is locked with `FOR UPDATE SKIP LOCKED`, so
//! instances sharing the table never pick the same row; on SQLite claims run inside the
//! serialised write transaction.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::schema::email_outbox;
use super::DbConnection;

/// Waiting to be sent (first time or retry).
pub const PENDING: &str = "pending";
/// Claimed by a worker until `lease_until`.
pub const SENDING: &str = "sending";
/// Accepted by the mail server.
pub const SENT: &str = "sent";
/// Given up on (permanent refusal, too many attempts, or expired).
pub const DEAD: &str = "dead";
/// `last_error` of a message that expired before it could be sent.
pub const EXPIRED_ERROR: &str = "expired before it could be sent";

/// `state = 'pending'` with the value written into the SQL, the condition of the partial index
/// `email_outbox_due`. A bound value (`state.eq(PENDING)`) hides it from the planner: SQLite
/// then scans the whole table, sent rows included, on every claim.
fn is_pending() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("email_outbox.state = 'pending'")
}

/// `state = 'sending'` written out, for the partial index `email_outbox_leased` (see
/// [`is_pending`]).
fn is_sending() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("email_outbox.state = 'sending'")
}

/// A stored message.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxMessage {
    /// Primary key.
    pub id: i64,
    /// What the message is, so it can be re-rendered.
    pub kind: String,
    /// The account it concerns, if any.
    pub user_id: Option<i64>,
    /// Envelope and `To:` address.
    pub recipient: String,
    /// `Subject:`.
    pub subject: String,
    /// Plain-text part, sealed by the outbox service (empty once sent or dead).
    pub body_text: String,
    /// HTML part, sealed by the outbox service (empty once sent or dead).
    pub body_html: String,
    /// `Message-ID:`, stable across retries.
    pub message_id: String,
    /// One of the state constants.
    pub state: String,
    /// Claims so far.
    pub attempts: i32,
    /// Earliest time of the next attempt.
    pub next_attempt_at: NaiveDateTime,
    /// End of the current claim.
    pub lease_until: Option<NaiveDateTime>,
    /// Process holding the claim.
    pub lease_owner: Option<String>,
    /// Last failure, without message content.
    pub last_error: Option<String>,
    /// Not to be sent after this time.
    pub expires_at: Option<NaiveDateTime>,
    /// Enqueue time.
    pub created_at: NaiveDateTime,
    /// Delivery time.
    pub sent_at: Option<NaiveDateTime>,
    /// The language it was written in (of the request that caused it).
    pub language: Option<String>,
}

/// A message to enqueue.
#[derive(Debug, Insertable)]
#[diesel(table_name = email_outbox)]
pub struct NewOutboxMessage<'a> {
    /// What the message is.
    pub kind: &'a str,
    /// The account it concerns.
    pub user_id: Option<i64>,
    /// Envelope and `To:` address.
    pub recipient: &'a str,
    /// `Subject:`.
    pub subject: &'a str,
    /// Plain-text part, already sealed (never a live reset link in clear).
    pub body_text: &'a str,
    /// HTML part, already sealed.
    pub body_html: &'a str,
    /// `Message-ID:`.
    pub message_id: &'a str,
    /// First attempt time (now).
    pub next_attempt_at: NaiveDateTime,
    /// Not to be sent after this time.
    pub expires_at: Option<NaiveDateTime>,
    /// Now.
    pub created_at: NaiveDateTime,
    /// The language it is written in.
    pub language: Option<&'a str>,
}

impl NewOutboxMessage<'_> {
    /// Inserts the message (call inside the transaction that caused it); returns its id.
    pub fn insert(&self, conn: &mut DbConnection) -> QueryResult<i64> {
        diesel::insert_into(email_outbox::table)
            .values(self)
            .returning(email_outbox::id)
            .get_result(conn)
    }
}

/// Which claim an outcome is for.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    /// The message.
    pub id: i64,
    /// The claiming process.
    pub owner: &'a str,
    /// `attempts` as set by the claim.
    pub attempts: i32,
}

/// Claims up to `limit` messages until `lease_until`: first those whose lease expired (their
/// worker or process died), then those due longest; both walk a partial index. Call inside a
/// write transaction.
pub fn claim_batch(
    conn: &mut DbConnection,
    owner: &str,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<OutboxMessage>> {
    let abandoned = abandoned_ids(now, limit);
    let mut ids: Vec<i64> = match conn {
        DbConnection::Postgres(pg) => abandoned.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(_) => abandoned.load(conn)?,
    };
    let room = limit - ids.len() as i64;
    if room > 0 {
        let due = due_ids(now, room);
        ids.extend(match conn {
            DbConnection::Postgres(pg) => due.for_update().skip_locked().load::<i64>(pg)?,
            DbConnection::Sqlite(_) => due.load::<i64>(conn)?,
        });
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut claimed: Vec<OutboxMessage> =
        diesel::update(email_outbox::table.filter(email_outbox::id.eq_any(&ids)))
            .set((
                email_outbox::state.eq(SENDING),
                email_outbox::attempts.eq(email_outbox::attempts + 1),
                email_outbox::lease_until.eq(Some(lease_until)),
                email_outbox::lease_owner.eq(Some(owner)),
            ))
            .returning(email_outbox::all_columns)
            .get_results(conn)?;
    claimed.sort_by_key(|message| message.id);
    Ok(claimed)
}

/// Messages whose lease ran out before `now`, longest expired first (`email_outbox_leased`).
#[diesel::dsl::auto_type(no_type_alias)]
fn abandoned_ids(now: NaiveDateTime, limit: i64) -> _ {
    let sending: diesel::expression::SqlLiteral<diesel::sql_types::Bool> = is_sending();
    email_outbox::table
        .filter(sending)
        .filter(email_outbox::lease_until.lt(now))
        .order(email_outbox::lease_until.asc())
        .select(email_outbox::id)
        .limit(limit)
}

/// Messages due at `now`, longest due first (`email_outbox_due`).
#[diesel::dsl::auto_type(no_type_alias)]
fn due_ids(now: NaiveDateTime, limit: i64) -> _ {
    let pending: diesel::expression::SqlLiteral<diesel::sql_types::Bool> = is_pending();
    email_outbox::table
        .filter(pending)
        .filter(email_outbox::next_attempt_at.le(now))
        .order(email_outbox::next_attempt_at.asc())
        .select(email_outbox::id)
        .limit(limit)
}

/// The row of `claim`, only while that claim still holds it.
fn held(claim: Claim<'_>) -> Held<'_> {
    held_with(claim.id, claim.owner, claim.attempts, SENDING)
}

#[diesel::dsl::auto_type(type_case = "PascalCase")]
fn held_with<'a>(id: i64, owner: &'a str, attempts: i32, sending: &'static str) -> _ {
    email_outbox::table.filter(
        email_outbox::id
            .eq(id)
            .and(email_outbox::state.eq(sending))
            .and(email_outbox::lease_owner.eq(owner))
            .and(email_outbox::attempts.eq(attempts)),
    )
}

type Held<'a> = HeldWith<'a>;

/// Records a delivery and clears the body; 0 when the claim was lost.
pub fn mark_sent(
    conn: &mut DbConnection,
    claim: Claim<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(held(claim))
        .set((
            email_outbox::state.eq(SENT),
            email_outbox::sent_at.eq(Some(now)),
            email_outbox::body_text.eq(""),
            email_outbox::body_html.eq(""),
            email_outbox::lease_until.eq(None::<NaiveDateTime>),
            email_outbox::lease_owner.eq(None::<&str>),
            email_outbox::last_error.eq(None::<&str>),
        ))
        .execute(conn)
}

/// Schedules another attempt; 0 when the claim was lost.
pub fn mark_retry(
    conn: &mut DbConnection,
    claim: Claim<'_>,
    next_attempt_at: NaiveDateTime,
    error: &str,
) -> QueryResult<usize> {
    diesel::update(held(claim))
        .set((
            email_outbox::state.eq(PENDING),
            email_outbox::next_attempt_at.eq(next_attempt_at),
            email_outbox::last_error.eq(Some(error)),
            email_outbox::lease_until.eq(None::<NaiveDateTime>),
            email_outbox::lease_owner.eq(None::<&str>),
        ))
        .execute(conn)
}

/// Gives up on a message and clears its body; 0 when the claim was lost.
pub fn mark_dead(conn: &mut DbConnection, claim: Claim<'_>, error: &str) -> QueryResult<usize> {
    diesel::update(held(claim))
        .set((
            email_outbox::state.eq(DEAD),
            email_outbox::last_error.eq(Some(error)),
            email_outbox::body_text.eq(""),
            email_outbox::body_html.eq(""),
            email_outbox::lease_until.eq(None::<NaiveDateTime>),
            email_outbox::lease_owner.eq(None::<&str>),
        ))
        .execute(conn)
}

/// Extends the leases this process holds on messages still being sent, each to its own
/// `lease_until` (the caller caps it at the message's send deadline plus a margin). A lease is
/// only ever moved later, so a renewal computed for an earlier claim of the same message cannot
/// shorten a newer one. Call inside a write transaction.
pub fn renew_leases(
    conn: &mut DbConnection,
    owner: &str,
    renewals: &[(i64, NaiveDateTime)],
) -> QueryResult<usize> {
    let mut by_until: std::collections::BTreeMap<NaiveDateTime, Vec<i64>> = Default::default();
    for (id, until) in renewals {
        by_until.entry(*until).or_default().push(*id);
    }
    let mut renewed = 0;
    for (until, ids) in by_until {
        renewed += diesel::update(
            email_outbox::table
                .filter(is_sending())
                .filter(email_outbox::lease_owner.eq(owner))
                .filter(email_outbox::id.eq_any(&ids))
                .filter(email_outbox::lease_until.lt(until)),
        )
        .set(email_outbox::lease_until.eq(Some(until)))
        .execute(conn)?;
    }
    Ok(renewed)
}

/// Number of messages per state.
pub fn count_by_state(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64)>> {
    email_outbox::table
        .group_by(email_outbox::state)
        .select((email_outbox::state, count_star()))
        .load(conn)
}

/// Dead messages that expired before they could be sent.
pub fn count_expired(conn: &mut DbConnection) -> QueryResult<i64> {
    email_outbox::table
        .filter(email_outbox::state.eq(DEAD))
        .filter(email_outbox::last_error.eq(EXPIRED_ERROR))
        .count()
        .get_result(conn)
}

/// Enqueue time of the oldest message still waiting.
pub fn oldest_pending(conn: &mut DbConnection) -> QueryResult<Option<NaiveDateTime>> {
    email_outbox::table
        .filter(is_pending())
        .select(diesel::dsl::min(email_outbox::created_at))
        .get_result(conn)
}

/// Makes every waiting retry due now; returns how many.
pub fn retry_pending_now(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .filter(is_pending())
            .filter(email_outbox::attempts.gt(0))
            .filter(email_outbox::next_attempt_at.gt(now)),
    )
    .set(email_outbox::next_attempt_at.eq(now))
    .execute(conn)
}

/// Every dead message.
pub fn list_dead(conn: &mut DbConnection) -> QueryResult<Vec<OutboxMessage>> {
    email_outbox::table
        .filter(email_outbox::state.eq(DEAD))
        .order(email_outbox::id.asc())
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// What a requeued message is sent with.
#[derive(Debug)]
pub struct Requeue<'a> {
    /// New plain-text part, already sealed.
    pub body_text: &'a str,
    /// New HTML part, already sealed.
    pub body_html: &'a str,
    /// New expiry (a reset mail gets a fresh token).
    pub expires_at: Option<NaiveDateTime>,
}

/// Puts a dead message back in the queue with a re-rendered body and a fresh attempt count.
pub fn requeue_dead(
    conn: &mut DbConnection,
    id: i64,
    message: &Requeue<'_>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        email_outbox::table
            .find(id)
            .filter(email_outbox::state.eq(DEAD)),
    )
    .set((
        email_outbox::state.eq(PENDING),
        email_outbox::attempts.eq(0),
        email_outbox::next_attempt_at.eq(now),
        email_outbox::body_text.eq(message.body_text),
        email_outbox::body_html.eq(message.body_html),
        email_outbox::expires_at.eq(message.expires_at),
        email_outbox::last_error.eq(None::<&str>),
    ))
    .execute(conn)
}

/// One message as `latchkey outbox list` shows it: what an operator needs, never a body or
/// subject (a reset mail's subject is harmless, but the rule "no content" is simpler to keep).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = email_outbox)]
pub struct OutboxListing {
    /// Primary key.
    pub id: i64,
    /// One of the state constants.
    pub state: String,
    /// Envelope and `To:` address.
    pub recipient: String,
    /// What the message is.
    pub kind: String,
    /// Claims so far.
    pub attempts: i32,
    /// Last failure, without message content.
    pub last_error: Option<String>,
    /// Enqueue time.
    pub created_at: NaiveDateTime,
    /// Earliest time of the next attempt.
    pub next_attempt_at: NaiveDateTime,
    /// Delivery time.
    pub sent_at: Option<NaiveDateTime>,
    /// Not to be sent after this time.
    pub expires_at: Option<NaiveDateTime>,
}

/// The newest `limit` messages, of one state or all, newest first.
pub fn list(
    conn: &mut DbConnection,
    state: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<OutboxListing>> {
    let mut query = email_outbox::table
        .select(OutboxListing::as_select())
        .order(email_outbox::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(email_outbox::state.eq(state.to_owned()));
    }
    query.load(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::query_plan::{migrated_sqlite, plan_of};

    #[test]
    fn a_claim_walks_the_partial_indexes_not_the_table() {
        let mut conn = migrated_sqlite();
        let now = crate::db::now();
        let due = plan_of(&mut conn, &due_ids(now, 10));
        assert!(due.contains("INDEX email_outbox_due"), "{due}");
        let abandoned = plan_of(&mut conn, &abandoned_ids(now, 10));
        assert!(
            abandoned.contains("INDEX email_outbox_leased"),
            "{abandoned}"
        );
        // Why the condition is written out: with the state bound, the same query scans.
        let bound = email_outbox::table
            .filter(email_outbox::state.eq(PENDING))
            .filter(email_outbox::next_attempt_at.le(now))
            .order(email_outbox::next_attempt_at.asc())
            .select(email_outbox::id)
            .limit(10);
        assert!(plan_of(&mut conn, &bound).contains("SCAN email_outbox"));
    }
}
