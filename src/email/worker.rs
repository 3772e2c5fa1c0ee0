//! The worker pool: `LATCHKEY_EMAIL_WORKERS` OS threads draining the outbox, plus one thread
//! that keeps the leases of in-flight messages alive.
//!
//! Workers sleep on the outbox [`Signal`], so a new message is picked up at once; the poll
//! interval still finds retries that became due and other instances' work. On shutdown, workers
//! stop claiming and finish the message in hand, for at most the grace period.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::services::delivery::Delivery;
use crate::services::outbox::Signal;

/// Running worker threads.
#[derive(Debug)]
pub struct WorkerPool {
    stopping: Arc<AtomicBool>,
    signal: Arc<Signal>,
    finished: mpsc::Receiver<()>,
    threads: usize,
}

impl WorkerPool {
    /// Starts `workers` sending threads and the lease keeper.
    pub fn start(
        delivery: Arc<Delivery>,
        signal: Arc<Signal>,
        workers: u32,
        poll_interval: Duration,
    ) -> std::io::Result<Self> {
        let stopping = Arc::new(AtomicBool::new(false));
        let (done, finished) = mpsc::channel();
        if workers == 0 {
            return Ok(Self {
                stopping,
                signal,
                finished,
                threads: 0,
            });
        }
        for index in 0..workers {
            let (delivery, signal, stopping, done) = (
                delivery.clone(),
                signal.clone(),
                stopping.clone(),
                done.clone(),
            );
            thread::Builder::new()
                .name(format!("outbox-worker-{index}"))
                .spawn(move || {
                    drain(&delivery, &signal, &stopping, poll_interval);
                    let _ = done.send(());
                })?;
        }
        let (keeper_signal, keeper_stopping) = (signal.clone(), stopping.clone());
        thread::Builder::new()
            .name("outbox-leases".to_owned())
            .spawn(move || {
                keep_leases(&delivery, &keeper_signal, &keeper_stopping);
                let _ = done.send(());
            })?;
        Ok(Self {
            stopping,
            signal,
            finished,
            threads: workers as usize + 1,
        })
    }

    /// Stops claiming and waits up to `grace` for in-flight sends; `false` if some were still
    /// running (their leases then expire and another process sends them).
    pub fn shutdown(self, grace: Duration) -> bool {
        self.stopping.store(true, Ordering::SeqCst);
        self.signal.notify();
        let deadline = Instant::now() + grace;
        (0..self.threads).all(|_| {
            let left = deadline.saturating_duration_since(Instant::now());
            self.finished.recv_timeout(left).is_ok()
        })
    }
}

fn drain(delivery: &Delivery, signal: &Signal, stopping: &AtomicBool, poll: Duration) {
    while !stopping.load(Ordering::SeqCst) {
        let seen = signal.generation();
        match delivery.deliver_next() {
            Ok(true) => {}
            Ok(false) => signal.wait_after(seen, poll),
            Err(err) => {
                tracing::warn!(error = %crate::error::chain(&err), "outbox worker cannot reach the database");
                signal.wait_after(seen, poll);
            }
        }
    }
}

fn keep_leases(delivery: &Delivery, signal: &Signal, stopping: &AtomicBool) {
    let period = delivery.lease() / 3;
    let mut next = Instant::now() + period;
    loop {
        // Keep renewing until the workers are gone: a stopping worker may still be sending.
        if let Err(err) = delivery.renew_leases() {
            tracing::warn!(error = %crate::error::chain(&err), "cannot renew email leases");
        }
        if stopping.load(Ordering::SeqCst) && !delivery.has_in_flight() {
            return;
        }
        let seen = signal.generation();
        signal.wait_after(seen, next.saturating_duration_since(Instant::now()));
        if Instant::now() >= next {
            next = Instant::now() + period;
        }
    }
}
