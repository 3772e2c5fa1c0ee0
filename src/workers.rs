//! The worker pool: `LATCHKEY_EMAIL_WORKERS` OS threads that drain the outbox (mail and
//! webhooks), one resolver thread that turns accepted reset requests into tokens (and their
//! mail), one publisher thread that hands audit events to the outbox as webhooks, and one keeper thread
//! that renews the leases of in-flight messages and purges expired credentials every few
//! minutes.
//!
//! Token creation has a thread of its own so that it never waits on mail: a mail worker can
//! spend up to `LATCHKEY_SMTP_TIMEOUT` on one hostile SMTP server, and with every worker on
//! such a server another user's reset request must still get its token at once. (Requests are
//! resolved one batch at a time per process anyway, so one thread is all it can use.)
//!
//! With `LATCHKEY_EMAIL_WORKERS=0` none of these threads run: the instance only accepts and
//! enqueues, and an instance with workers resolves its requests and sends its mail.
//!
//! Every thread sleeps on the outbox [`Signal`] (new mail, a committed reset request), so new
//! work is picked up at once; the poll interval still finds retries that became due and other
//! instances' work. On shutdown, workers stop claiming and finish the message in hand, which
//! ends within its send deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

pub mod delivery;
pub mod resolver;

use crate::db::{Db, DbError};
use crate::services::admin_tokens;
use crate::services::outbox::Signal;
use delivery::Delivery;

/// How often the keeper purges expired tokens and sessions.
const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);

/// One kind of work a thread repeats: `Ok(true)` when it did something.
pub trait WorkerTask: Send + Sync {
    /// Does one unit of work, if any is due.
    fn run_once(&self) -> Result<bool, DbError>;
}

impl WorkerTask for Delivery {
    fn run_once(&self) -> Result<bool, DbError> {
        self.deliver_next()
    }
}

impl WorkerTask for crate::services::webhooks::Publisher {
    fn run_once(&self) -> Result<bool, DbError> {
        self.publish()
    }
}

/// Running worker threads.
#[derive(Debug)]
pub struct WorkerPool {
    stopping: Arc<AtomicBool>,
    signal: Arc<Signal>,
    finished: mpsc::Receiver<()>,
    threads: usize,
    keeper: Option<thread::Thread>,
}

/// What the pool runs.
pub struct PoolSetup {
    /// Resolves reset requests (creates tokens), on its own thread, never on a mail worker;
    /// `None` when the embedding program resolves them elsewhere.
    pub resolver: Option<Arc<dyn WorkerTask>>,
    /// Hands audit events to the outbox as webhooks, on its own thread; `None` when the
    /// embedding program does that elsewhere.
    pub publisher: Option<Arc<dyn WorkerTask>>,
    /// Sends mail, on every mail worker; its leases are renewed by the keeper.
    pub delivery: Arc<Delivery>,
    /// For the periodic purge.
    pub db: Db,
    /// Absolute session lifetime, for the periodic purge.
    pub session_ttl: Duration,
    /// Audit events older than this are purged.
    pub audit_retention: Duration,
    /// Woken on new work.
    pub signal: Arc<Signal>,
    /// Mail worker threads (0 = this instance only enqueues: no thread of the pool runs).
    pub workers: u32,
    /// Longest idle wait.
    pub poll_interval: Duration,
}

impl WorkerPool {
    /// Starts the mail workers, the resolver and the keeper (none of them with 0 workers).
    pub fn start(setup: PoolSetup) -> std::io::Result<Self> {
        let stopping = Arc::new(AtomicBool::new(false));
        let (done, finished) = mpsc::channel();
        let mut threads = 0;
        let mut keeper = None;
        if setup.workers > 0 {
            let spawn = |name: String, task: Arc<dyn WorkerTask>| {
                let (signal, stopping, done) =
                    (setup.signal.clone(), stopping.clone(), done.clone());
                let poll = setup.poll_interval;
                thread::Builder::new().name(name).spawn(move || {
                    work(task.as_ref(), &signal, &stopping, poll);
                    let _ = done.send(());
                })
            };
            if let Some(resolver) = &setup.resolver {
                spawn("latchkey-resolver".to_owned(), resolver.clone())?;
                threads += 1;
            }
            if let Some(publisher) = &setup.publisher {
                spawn("latchkey-publisher".to_owned(), publisher.clone())?;
                threads += 1;
            }
            for index in 0..setup.workers {
                spawn(format!("latchkey-worker-{index}"), setup.delivery.clone())?;
                threads += 1;
            }
            let keeper_stopping = stopping.clone();
            let handle = thread::Builder::new()
                .name("latchkey-keeper".to_owned())
                .spawn(move || {
                    keep(
                        &setup.delivery,
                        &setup.db,
                        (setup.session_ttl, setup.audit_retention),
                        &keeper_stopping,
                    );
                    let _ = done.send(());
                })?;
            keeper = Some(handle.thread().clone());
            threads += 1;
        }
        Ok(Self {
            stopping,
            signal: setup.signal,
            finished,
            threads,
            keeper,
        })
    }

    /// Stops claiming and waits up to `grace` for in-flight sends; `false` if some were still
    /// running (their leases then expire and another process sends them). A send ends by its
    /// deadline ([`Delivery::send_budget`]), so a grace of that budget plus a margin is enough.
    pub fn shutdown(self, grace: Duration) -> bool {
        self.stop();
        let deadline = Instant::now() + grace;
        (0..self.threads).all(|_| {
            let left = deadline.saturating_duration_since(Instant::now());
            self.finished.recv_timeout(left).is_ok()
        })
    }
}

impl WorkerPool {
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.signal.notify();
        if let Some(keeper) = &self.keeper {
            keeper.unpark();
        }
    }
}

/// A pool dropped without [`WorkerPool::shutdown`] (its server future dropped, an embedding
/// application discarded) still stops its threads after their current step, without waiting.
impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.stop();
    }
}

fn work(task: &dyn WorkerTask, signal: &Signal, stopping: &AtomicBool, poll: Duration) {
    while !stopping.load(Ordering::SeqCst) {
        let seen = signal.generation();
        let busy = match task.run_once() {
            Ok(did_work) => did_work,
            Err(err) => {
                tracing::warn!(error = %crate::error::chain(&err), "worker cannot reach the database");
                false
            }
        };
        if !busy && !stopping.load(Ordering::SeqCst) {
            signal.wait_after(seen, poll);
        }
    }
}

/// Renews leases every third of a lease (never past a message's send deadline plus a margin,
/// see [`Delivery::renew_leases`]) and purges expired credentials every ten minutes, on
/// its own clock (request traffic does not wake it).
fn keep(
    delivery: &Delivery,
    db: &Db,
    (session_ttl, audit_retention): (Duration, Duration),
    stopping: &AtomicBool,
) {
    let period = delivery.lease() / 3;
    let mut next_renewal = Instant::now();
    let mut next_purge = Instant::now() + PURGE_EVERY;
    loop {
        let now = Instant::now();
        if now >= next_renewal {
            next_renewal = now + period;
            if let Err(err) = delivery.renew_leases() {
                tracing::warn!(error = %crate::error::chain(&err), "cannot renew email leases");
            }
        }
        // Keep renewing until the workers are gone: a stopping worker may still be sending.
        if stopping.load(Ordering::SeqCst) && !delivery.has_in_flight() {
            return;
        }
        if now >= next_purge {
            next_purge = now + PURGE_EVERY;
            match admin_tokens::purge_expired(db, session_ttl, audit_retention) {
                Ok(report) => tracing::debug!(?report, "expired credentials purged"),
                Err(err) => {
                    tracing::warn!(error = %crate::error::chain(&err), "cannot purge expired credentials")
                }
            }
        }
        let next = next_renewal.min(next_purge);
        thread::park_timeout(next.saturating_duration_since(Instant::now()));
    }
}
