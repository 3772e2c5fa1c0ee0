//! Sending one outbox message: claim it with a lease, send it, record the outcome.
//!
//! * An SMTP send attempt has a deadline: `smtp_timeout` after the claim, for everything it does
//!   (connect, greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, body, final reply), however
//!   slowly the server dribbles its bytes. A claim lasts that budget plus [`LEASE_MARGIN`] (time
//!   to record the outcome), and while the send runs its lease is never renewed past it: a
//!   hostile server cannot hold a message (or a worker) longer, and a message whose worker or
//!   process died is claimed again within about one SMTP timeout. Once the send has returned,
//!   the cap is lifted, so a slow write of the outcome never lets another worker resend it.
//! * Local backends (file, log) have no network deadline: the keeper renews their leases every
//!   third of a lease for as long as they are being written.
//! * Connection errors, timeouts and 4xx are retried with exponential backoff and ±25 % jitter;
//!   a 5xx refusing the message (or an unusable message) is `dead` at once; so is the last
//!   allowed attempt.
//! * A message with an expiry (a reset link) that passed is marked dead, never sent late.
//! * Bodies are stored sealed and opened only here, right before composing. One that cannot be
//!   opened (the secret key changed since it was queued) is `dead` at once: sending the sealed
//!   text would be garbage, and `latchkey outbox retry --dead` renders it again under the new key.
//! * Every state change is logged with the outbox id and kind, never the body.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use rand::Rng;

use crate::config::EmailConfig;
use crate::db::outbox::{self, Claim, OutboxMessage};
use crate::db::{self, Db, DbError};
use crate::email::compose::Parts;
use crate::email::{Composer, SendError, Transport};
use crate::secrets::Sealer;
use crate::services::outbox::open_body;
use crate::services::webhooks::{WebhookSender, KIND_WEBHOOK};

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// How much longer a lease lasts than one SMTP send attempt may take: time to record the
/// outcome after a send that used its whole budget, before another worker may claim it.
pub const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// `last_error` of a message whose sealed body cannot be opened with the current secret key.
pub const UNSEALABLE_ERROR: &str = "the stored body cannot be opened with the current secret key (was LATCHKEY_SECRET_KEY changed?); `latchkey outbox retry --dead` renders it again";

/// When to try again and when to give up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before `dead`.
    pub max_attempts: u32,
    /// First retry delay.
    pub base: Duration,
    /// Length of a claim: the SMTP budget plus [`LEASE_MARGIN`].
    pub lease: Duration,
}

impl RetryPolicy {
    /// The policy the configuration describes.
    pub fn from_config(config: &EmailConfig) -> Self {
        Self {
            max_attempts: config.max_attempts,
            base: config.retry_base,
            lease: config.smtp_timeout + LEASE_MARGIN,
        }
    }

    /// Delay after failed attempt number `attempts` (1-based): base·2^(n−1), capped, ±25 %.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
        let delay = self.base.saturating_mul(1 << exponent).min(MAX_BACKOFF);
        delay.mul_f64(rand::rng().random_range(0.75..=1.25))
    }
}

/// Everything a worker needs to send mail; one per process, shared by its workers.
#[derive(Debug)]
pub struct Delivery {
    db: Db,
    transport: Transport,
    composer: Composer,
    bodies: Sealer,
    policy: RetryPolicy,
    owner: String,
    in_flight: Mutex<BTreeMap<i64, Lease>>,
    /// Local backends (file, log) are drained by one worker at a time, in batches: they never
    /// wait on a network, so more threads would only take CPU from the requests.
    local_turn: Option<Mutex<()>>,
    /// Signs and POSTs `webhook` messages (`None`: webhooks are not configured).
    webhooks: Option<WebhookSender>,
    /// Counts reset mails the server accepted (metrics), when set.
    resets_sent: Option<prometheus::IntCounter>,
}

/// A claim this process holds while sending.
#[derive(Debug, Clone, Copy)]
struct Lease {
    /// `lease_until` as last written.
    until: NaiveDateTime,
    /// The latest `lease_until` may ever be: claim + send budget + margin (`None` for local
    /// backends, which have no send deadline).
    cap: Option<NaiveDateTime>,
}

/// What happened to one claimed message.
enum Outcome {
    Sent,
    Retry(String),
    Dead(String),
}

impl Delivery {
    /// A delivery for this process (a random owner id tells its claims from other processes');
    /// `bodies` opens what [`Outbox`](crate::services::outbox::Outbox) sealed.
    pub fn new(
        db: Db,
        transport: Transport,
        composer: Composer,
        bodies: Sealer,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            db,
            composer,
            bodies,
            policy,
            owner: hex::encode(crate::domain::random_bytes::<8>()),
            in_flight: Mutex::new(BTreeMap::new()),
            local_turn: (transport.batch_size() > 1).then(|| Mutex::new(())),
            transport,
            resets_sent: None,
            webhooks: None,
        }
    }

    /// The same delivery, also sending the outbox's webhooks with `sender`.
    pub fn with_webhooks(self, sender: Option<WebhookSender>) -> Self {
        Self {
            webhooks: sender,
            ..self
        }
    }

    /// Counts every reset mail recorded as sent in `counter`.
    pub fn counting_sent_resets(mut self, counter: prometheus::IntCounter) -> Self {
        self.resets_sent = Some(counter);
        self
    }

    /// The lease length, which paces the lease keeper.
    pub fn lease(&self) -> Duration {
        self.policy.lease
    }

    /// How long one SMTP send may take at most (`None` for local backends): a stopping worker
    /// is done within this plus [`LEASE_MARGIN`], which sizes the shutdown grace.
    pub fn send_budget(&self) -> Option<Duration> {
        self.transport.budget()
    }

    /// Claims a batch of due messages (one for SMTP, where a slow server must not hold others
    /// back; more for local backends), sends them and records the outcomes in one transaction.
    /// `false` when nothing was due.
    pub fn deliver_next(&self) -> Result<bool, DbError> {
        let _turn = match &self.local_turn {
            Some(turn) => match turn.try_lock() {
                Ok(guard) => Some(guard),
                Err(_) => return Ok(false),
            },
            None => None,
        };
        let started = Instant::now();
        let now = db::now();
        let lease_until = now + self.policy.lease;
        let budget = self.transport.budget();
        // The send deadline counts from before the claim, so it is never later than the
        // lease's cap minus the margin.
        let deadline = started + budget.unwrap_or(self.policy.lease);
        let lease = Lease {
            until: lease_until,
            cap: budget.map(|budget| now + budget + LEASE_MARGIN),
        };
        let limit = self.transport.batch_size();
        let batch = self
            .db
            .get()?
            .write(|conn| outbox::claim_batch(conn, &self.owner, now, lease_until, limit))?;
        if batch.is_empty() {
            return Ok(false);
        }
        self.track(&batch, Some(lease));
        let outcomes: Vec<Outcome> = batch
            .iter()
            .map(|message| {
                if message.expires_at.is_some_and(|expiry| expiry <= now) {
                    Outcome::Dead(outbox::EXPIRED_ERROR.to_owned())
                } else {
                    self.send(message, deadline)
                }
            })
            .collect();
        // The sends are over: from here on the keeper may renew freely while the outcome is
        // recorded (a slow pool checkout or a busy SQLite file must not let another worker
        // reclaim a message that was just sent, and send it twice).
        self.uncap(&batch);
        let recorded = self.record(&batch, &outcomes);
        self.track(&batch, None);
        recorded?;
        Ok(true)
    }

    /// Extends the leases of messages this process is still sending, each by one lease length
    /// but never past its cap (claim + send budget + margin): a send that overran its deadline
    /// does not keep its message. A lease already at its cap is not written again.
    pub fn renew_leases(&self) -> Result<(), DbError> {
        let extended = db::now() + self.policy.lease;
        let renewals: Vec<(i64, NaiveDateTime)> = self
            .lock_in_flight()
            .iter()
            .filter_map(|(id, lease)| {
                let until = lease.cap.map_or(extended, |cap| extended.min(cap));
                (until > lease.until).then_some((*id, until))
            })
            .collect();
        if renewals.is_empty() {
            return Ok(());
        }
        self.db
            .get()?
            .write(|conn| outbox::renew_leases(conn, &self.owner, &renewals))?;
        let mut in_flight = self.lock_in_flight();
        for (id, until) in renewals {
            if let Some(lease) = in_flight.get_mut(&id) {
                lease.until = until;
            }
        }
        Ok(())
    }

    /// True while some message of this process is being sent.
    pub fn has_in_flight(&self) -> bool {
        !self.lock_in_flight().is_empty()
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Lease>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts (`Some`) or ends (`None`) tracking a batch's leases.
    fn track(&self, batch: &[OutboxMessage], lease: Option<Lease>) {
        let mut in_flight = self.lock_in_flight();
        for message in batch {
            match lease {
                Some(lease) => {
                    in_flight.insert(message.id, lease);
                }
                None => {
                    in_flight.remove(&message.id);
                }
            }
        }
    }

    /// Lifts the cap of a batch whose sends have returned.
    fn uncap(&self, batch: &[OutboxMessage]) {
        let mut in_flight = self.lock_in_flight();
        for message in batch {
            if let Some(lease) = in_flight.get_mut(&message.id) {
                lease.cap = None;
            }
        }
    }

    fn send(&self, message: &OutboxMessage, deadline: Instant) -> Outcome {
        let opened = open_body(&self.bodies, &message.body_text)
            .and_then(|text| Ok((text, open_body(&self.bodies, &message.body_html)?)));
        let Ok((text, html)) = opened else {
            return Outcome::Dead(UNSEALABLE_ERROR.to_owned());
        };
        if message.kind == KIND_WEBHOOK {
            let Some(sender) = &self.webhooks else {
                return Outcome::Dead(
                    "webhooks are not configured (LATCHKEY_WEBHOOK_URL)".to_owned(),
                );
            };
            let sent = sender.send(&message.recipient, &message.message_id, &text, deadline);
            return self.outcome(message, sent);
        }
        let composed = self.composer.compose(&Parts {
            message_id: &message.message_id,
            recipient: &message.recipient,
            subject: &message.subject,
            text: &text,
            html: &html,
        });
        let mime = match composed {
            Ok(mime) => mime,
            Err(err) => return Outcome::Dead(err.to_string()),
        };
        let sent = self.transport.send(&mime, deadline);
        self.outcome(message, sent)
    }

    /// What a send's result means for the message: the same rules for mail and webhooks.
    fn outcome(&self, message: &OutboxMessage, sent: Result<(), SendError>) -> Outcome {
        match sent {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(reason)) => Outcome::Dead(reason),
            Err(SendError::Transient(reason))
                if message.attempts >= self.policy.max_attempts as i32 =>
            {
                Outcome::Dead(format!(
                    "gave up after {} attempts: {reason}",
                    message.attempts
                ))
            }
            Err(SendError::Transient(reason)) => Outcome::Retry(reason),
        }
    }

    /// Records every outcome of a batch in one transaction, then logs each state change.
    fn record(&self, batch: &[OutboxMessage], outcomes: &[Outcome]) -> Result<(), DbError> {
        let now = db::now();
        let updated: Vec<usize> = self.db.get()?.write(|conn| {
            batch
                .iter()
                .zip(outcomes)
                .map(|(message, outcome)| {
                    let claim = Claim {
                        id: message.id,
                        owner: &self.owner,
                        attempts: message.attempts,
                    };
                    match outcome {
                        Outcome::Sent => outbox::mark_sent(conn, claim, now),
                        Outcome::Dead(reason) => outbox::mark_dead(conn, claim, reason),
                        Outcome::Retry(reason) => {
                            let next = now + self.policy.backoff(message.attempts);
                            outbox::mark_retry(conn, claim, next, reason)
                        }
                    }
                })
                .collect::<diesel::QueryResult<Vec<usize>>>()
        })?;
        for ((message, outcome), updated) in batch.iter().zip(outcomes).zip(updated) {
            log_outcome(message, outcome, updated > 0);
            if let (Some(counter), Outcome::Sent, true) = (&self.resets_sent, outcome, updated > 0)
            {
                if message.kind == crate::services::outbox::KIND_PASSWORD_RESET {
                    counter.inc();
                }
            }
        }
        Ok(())
    }
}

/// One log line per state change, with the outbox id and kind, never the body.
fn log_outcome(message: &OutboxMessage, outcome: &Outcome, recorded: bool) {
    let (id, kind, attempts) = (message.id, message.kind.as_str(), message.attempts);
    if !recorded {
        tracing::warn!(
            outbox_id = id,
            kind,
            attempts,
            "email claim was lost before its outcome was recorded"
        );
        return;
    }
    match outcome {
        Outcome::Sent => tracing::info!(
            outbox_id = id,
            kind,
            attempts,
            state = outbox::SENT,
            "email sent"
        ),
        Outcome::Retry(reason) => {
            tracing::warn!(outbox_id = id, kind, attempts, state = outbox::PENDING, error = %reason, "email will be retried")
        }
        Outcome::Dead(reason) => {
            tracing::error!(outbox_id = id, kind, attempts, state = outbox::DEAD, error = %reason, "email given up")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base: Duration::from_secs(2),
            lease: Duration::from_secs(11),
        };
        for (attempt, nominal) in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)] {
            let delay = policy.backoff(attempt).as_secs_f64();
            assert!(
                (nominal * 0.75..=nominal * 1.25).contains(&delay),
                "{attempt}: {delay}"
            );
        }
        assert!(policy.backoff(40) <= MAX_BACKOFF.mul_f64(1.25));
    }
}
