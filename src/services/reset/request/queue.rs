//! Group commit for accepted reset requests: concurrent requests hand their row to one writer
//! thread, which stores everything waiting in a single transaction and then answers them all.
//!
//! A request still returns only once its row is durable, but a burst of N requests costs one
//! commit (one fsync on PostgreSQL) instead of N, and no blocking thread waits on the database
//! per request.
//!
//! The workers are woken a random 10–40 ms after a commit ([`SETTLE`]), not at once: a known
//! address makes them resolve a token and send a mail, and work that started while the
//! request's own answer was still being written would make known addresses answer measurably
//! slower than unknown ones.
//! After the pause that work overlaps whatever request comes next, known or not.

use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::db::reset_requests::NewResetRequest;
use crate::db::{self, Db, DbError};

/// Requests that may wait for the writer before new ones are turned away (503).
const CAPACITY: usize = 8192;
/// Rows stored per transaction at most.
const MAX_BATCH: usize = 512;
/// How long after a commit the workers are woken, at least: long enough for the answers to
/// be written, the page rendered and the session saved, also in a debug build on a busy
/// machine (at 2 ms a debug build's known requests sometimes met their own work at the tail).
pub const SETTLE: Duration = Duration::from_millis(10);
/// The longest pause: each pause is drawn from `SETTLE..=SETTLE_MAX`, so the work a known
/// address causes lands on a random later request, never on one at a fixed distance (a client
/// alternating known and unknown addresses in a fixed pattern would otherwise see the work
/// fall on the same kind every time).
pub const SETTLE_MAX: Duration = Duration::from_millis(40);

fn settle() -> Duration {
    use rand::Rng;
    rand::rng().random_range(SETTLE..=SETTLE_MAX)
}

/// A reset request to store.
#[derive(Debug)]
pub struct QueuedRequest {
    /// Canonical email key or exact username.
    pub lookup_key: String,
    /// Client address.
    pub ip_address: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// The request's language, for the mail.
    pub language: Option<String>,
}

type Reply = oneshot::Sender<Result<(), DbError>>;

/// The sending side; cheap to share.
#[derive(Debug)]
pub struct RequestQueue {
    sender: SyncSender<(QueuedRequest, Reply)>,
}

/// Why a request could not be queued or stored.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue is full or its writer is gone.
    #[error("the reset request queue is not accepting requests")]
    Unavailable,
    /// The transaction failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl RequestQueue {
    /// Starts the writer thread for `db`.
    pub fn start(db: Db, on_commit: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel(CAPACITY);
        std::thread::Builder::new()
            .name("latchkey-requests".to_owned())
            .spawn(move || write_batches(&db, &receiver, &on_commit))?;
        Ok(Self { sender })
    }

    /// Queues a row; await the result to know it is stored.
    pub async fn store(&self, request: QueuedRequest) -> Result<(), QueueError> {
        let (reply, stored) = oneshot::channel();
        self.sender
            .try_send((request, reply))
            .map_err(|err| match err {
                TrySendError::Full(_) | TrySendError::Disconnected(_) => QueueError::Unavailable,
            })?;
        stored
            .await
            .map_err(|_| QueueError::Unavailable)?
            .map_err(QueueError::Database)
    }
}

/// Runs until every sender is gone: waits for one request, takes whatever else is waiting,
/// stores the batch in one transaction, answers each request with the outcome, and wakes the
/// workers a random pause (at least [`SETTLE`]) after the first commit they have not heard of.
fn write_batches(db: &Db, receiver: &Receiver<(QueuedRequest, Reply)>, on_commit: &dyn Fn()) {
    let mut wake_at: Option<Instant> = None;
    loop {
        let received = match wake_at {
            Some(at) => receiver.recv_timeout(at.saturating_duration_since(Instant::now())),
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let first = match received {
            Ok(first) => first,
            Err(RecvTimeoutError::Timeout) => {
                wake_at = None;
                on_commit();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                if wake_at.is_some() {
                    on_commit();
                }
                return;
            }
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let outcome = store_all(db, &batch);
        if outcome.is_ok() {
            wake_at.get_or_insert_with(|| Instant::now() + settle());
        }
        for (_, reply) in batch {
            let answer = match &outcome {
                Ok(()) => Ok(()),
                Err(err) => Err(DbError::Unavailable(err.to_string())),
            };
            let _ = reply.send(answer);
        }
        if wake_at.is_some_and(|at| at <= Instant::now()) {
            wake_at = None;
            on_commit();
        }
    }
}

fn store_all(db: &Db, batch: &[(QueuedRequest, Reply)]) -> Result<(), DbError> {
    let now = db::now();
    let rows: Vec<NewResetRequest<'_>> = batch
        .iter()
        .map(|(request, _)| NewResetRequest {
            lookup_key: &request.lookup_key,
            ip_address: request.ip_address.as_deref(),
            user_agent: request.user_agent.as_deref(),
            created_at: now,
            language: request.language.as_deref(),
        })
        .collect();
    db.get()?
        .write(|conn| NewResetRequest::insert_all(conn, &rows))?;
    Ok(())
}
