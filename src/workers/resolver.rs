//! The resolver task: turns accepted reset requests into tokens and mail, one batch at a time
//! per process ([`ResetService::resolve_batch`] is the use case; this is its runner).
//!
//! A batch is all or nothing for the database: a deadlock, a serialization failure or a busy
//! database rolls the whole batch back into `reset_requests` (nothing accepted is lost) and it
//! is tried again at once, a few times with a growing, jittered pause, then on the next round
//! of the worker.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::WorkerTask;
use crate::db::DbError;
use crate::services::reset::resolve::{CHEAP_BATCH, MAIL_BATCH};
use crate::services::reset::ResetService;

/// Immediate retries of a batch the database rolled back, before waiting for the next round.
const BATCH_RETRIES: u32 = 5;

/// A growing, jittered pause before retrying a rolled-back batch, so two instances that
/// deadlocked do not collide again in lockstep.
fn retry_pause(attempt: u32) -> Duration {
    use rand::Rng;
    let base = 5u64 << attempt.min(6);
    Duration::from_millis(base + rand::rng().random_range(0..=base))
}

/// Resolves the reset requests of one process (on its own thread, never on a mail worker).
#[derive(Debug)]
pub struct Resolver {
    reset: Arc<ResetService>,
    /// Held while resolving: on SQLite writes are serial anyway, and one thread leaves the
    /// other cores to the requests. It holds the next batch's size: small while batches issue
    /// tokens (their mails are made inside the transaction), large while they do not.
    turn: Mutex<i64>,
}

impl Resolver {
    /// A resolver for `reset`'s requests.
    pub fn new(reset: Arc<ResetService>) -> Self {
        Self {
            reset,
            turn: Mutex::new(CHEAP_BATCH),
        }
    }

    /// Resolves one batch of pending requests, retrying a rolled-back one; `false` when there
    /// were none (or another caller of this process is already resolving them).
    pub fn process_requests(&self) -> Result<bool, DbError> {
        let Ok(mut batch) = self.turn.try_lock() else {
            return Ok(false);
        };
        let mut attempt = 0;
        let resolved = loop {
            match self.reset.resolve_batch(*batch) {
                Ok(resolved) => break resolved,
                Err(err) if attempt < BATCH_RETRIES => {
                    attempt += 1;
                    tracing::warn!(
                        attempt,
                        error = %crate::error::chain(&err),
                        "reset request batch rolled back; trying again"
                    );
                    std::thread::sleep(retry_pause(attempt));
                }
                Err(err) => return Err(err),
            }
        };
        *batch = if resolved.issued > 0 {
            MAIL_BATCH
        } else {
            CHEAP_BATCH
        };
        if resolved.handled > 0 {
            self.reset.outbox().notify();
        }
        Ok(resolved.handled > 0)
    }
}

impl WorkerTask for Resolver {
    fn run_once(&self) -> Result<bool, DbError> {
        self.process_requests()
    }
}
