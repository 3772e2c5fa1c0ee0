//! The in-process SQLite writer lock, with requests served ahead of background work.
//!
//! SQLite has one writer at a time. Queuing writers in the process (instead of letting them
//! spin on `SQLITE_BUSY`) keeps latency flat; giving HTTP requests precedence over the worker
//! threads keeps a burst of background work (resolving reset requests, recording sends) from
//! adding to request latency. A background writer yields to waiting requests for at most
//! [`MAX_YIELD`], so it can be slowed by a flood but never starved.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Longest a background writer waits for queued requests to go first.
const MAX_YIELD: Duration = Duration::from_millis(5);
/// How long a yielding background writer sleeps between checks.
const YIELD_STEP: Duration = Duration::from_micros(100);

/// Who is writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// An HTTP request or a CLI command: someone is waiting for the answer.
    Foreground,
    /// A worker thread: nobody is waiting on it right now.
    Background,
}

/// A mutex that lets foreground writers overtake background ones.
#[derive(Debug, Default)]
pub struct WriteLock {
    mutex: Mutex<()>,
    foreground_waiting: AtomicUsize,
}

impl WriteLock {
    /// Blocks until this writer may write.
    pub fn acquire(&self, priority: Priority) -> MutexGuard<'_, ()> {
        match priority {
            Priority::Foreground => {
                self.foreground_waiting.fetch_add(1, Ordering::SeqCst);
                let guard = self.lock();
                self.foreground_waiting.fetch_sub(1, Ordering::SeqCst);
                guard
            }
            Priority::Background => {
                let deadline = Instant::now() + MAX_YIELD;
                while self.foreground_waiting.load(Ordering::SeqCst) > 0
                    && Instant::now() < deadline
                {
                    std::thread::sleep(YIELD_STEP);
                }
                self.lock()
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        self.mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
