//! The outbox, a leaf every use case enqueues into: store a message inside the caller's
//! transaction, wake the workers after the commit. (Listing, status and retry are
//! [`outbox_admin`](super::outbox_admin); sending is the workers' [`delivery`](crate::workers::delivery).)
//!
//! Bodies are stored sealed (see [`seal_body`]): a queued reset mail carries a live link, and
//! clearing the body after sending does not erase it from SQLite free pages, the WAL or a backup.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;

use crate::db::outbox::NewOutboxMessage;
use crate::db::{self, DbConnection};
use crate::email::compose::check_header_value;
use crate::email::{Composer, HeaderInjection, RenderedEmail};
use crate::secrets::{Sealer, UnsealError};

/// `kind` of the password-reset mail.
pub const KIND_PASSWORD_RESET: &str = "password_reset";
/// `kind` of the "your password was changed" notice.
pub const KIND_PASSWORD_CHANGED: &str = "password_changed";

/// Wakes idle workers when mail is enqueued, so nothing waits for a poll tick.
#[derive(Debug, Default)]
pub struct Signal {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Signal {
    /// Wakes every waiting worker.
    pub fn notify(&self) {
        let mut generation = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        *generation = generation.wrapping_add(1);
        self.changed.notify_all();
    }

    /// The current generation; pass it to [`Signal::wait_after`] to never miss a wake-up.
    pub fn generation(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Blocks until a notification newer than `seen`, or `timeout`.
    pub fn wait_after(&self, seen: u64, timeout: Duration) {
        let generation = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self
            .changed
            .wait_timeout_while(generation, timeout, |current| *current == seen);
    }
}

/// Handle for enqueueing mail: shared by HTTP handlers, the CLI and the workers.
#[derive(Debug, Clone)]
pub struct Outbox {
    signal: Arc<Signal>,
    composer: Composer,
    bodies: Sealer,
    product: Arc<str>,
}

/// Seals a message body for the `email_outbox` table. Why: a reset mail holds a working reset
/// link until it is sent, and a database dump, a backup, or a leftover SQLite free page or WAL
/// frame (clearing a column does not erase the old bytes) must never yield one (SEC-11). An empty
/// body (a cleared one) has nothing to hide and stays empty.
pub fn seal_body(bodies: &Sealer, body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        bodies.seal(body)
    }
}

/// The body [`seal_body`] stored; fails when it was sealed under another secret key.
pub fn open_body(bodies: &Sealer, stored: &str) -> Result<String, UnsealError> {
    if stored.is_empty() {
        Ok(String::new())
    } else {
        bodies.open(stored)
    }
}

/// A rendered message and what it is about.
#[derive(Debug)]
pub struct NewEmail<'a> {
    /// One of the `KIND_*` constants.
    pub kind: &'a str,
    /// The account it concerns.
    pub user_id: Option<i64>,
    /// The stored address of that account (never the address as typed).
    pub recipient: &'a str,
    /// Subject and both parts.
    pub content: &'a RenderedEmail,
    /// After this the message is useless and must not be sent.
    pub expires_at: Option<NaiveDateTime>,
}

/// Why a message could not be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// A header value carried a line break.
    #[error(transparent)]
    Header(#[from] HeaderInjection),
    /// The insert failed.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl Outbox {
    /// An outbox whose messages are sent from `composer`'s sender, their bodies sealed with
    /// `bodies` (the workers' [`Delivery`](crate::workers::delivery::Delivery) must open them
    /// with the same key: [`DerivedKeys::outbox_bodies`](crate::secrets::DerivedKeys)).
    pub fn new(composer: Composer, bodies: Sealer) -> Self {
        Self {
            signal: Arc::new(Signal::default()),
            composer,
            bodies,
            product: Arc::from("Latchkey"),
        }
    }

    /// The key bodies are sealed with (webhooks queued beside mail are sealed the same way).
    pub fn bodies(&self) -> &Sealer {
        &self.bodies
    }

    /// The same outbox, writing `name` (`LATCHKEY_PRODUCT_NAME`) into the mails rendered for it.
    pub fn for_product(mut self, name: &str) -> Self {
        self.product = Arc::from(name);
        self
    }

    /// The product's name, for the mails rendered for this outbox.
    pub fn product(&self) -> &str {
        &self.product
    }

    /// The wake-up signal the workers wait on.
    pub fn signal(&self) -> Arc<Signal> {
        Arc::clone(&self.signal)
    }

    /// Stores a message, its bodies sealed, inside the caller's transaction, so it commits (or
    /// not) together with whatever caused it. Call [`Outbox::notify`] after the commit.
    pub fn enqueue(
        &self,
        conn: &mut DbConnection,
        email: &NewEmail<'_>,
    ) -> Result<i64, EnqueueError> {
        check_header_value(email.recipient)?;
        check_header_value(&email.content.subject)?;
        let now = db::now();
        let message_id = self.composer.new_message_id();
        let language = crate::i18n::tag();
        let id = NewOutboxMessage {
            kind: email.kind,
            user_id: email.user_id,
            recipient: email.recipient,
            subject: &email.content.subject,
            body_text: &seal_body(&self.bodies, &email.content.text),
            body_html: &seal_body(&self.bodies, &email.content.html),
            message_id: &message_id,
            next_attempt_at: now,
            expires_at: email.expires_at,
            created_at: now,
            language: Some(&language),
        }
        .insert(conn)?;
        tracing::info!(outbox_id = id, kind = email.kind, "email queued");
        Ok(id)
    }

    /// Wakes the workers (after the enqueueing transaction committed).
    pub fn notify(&self) {
        self.signal.notify();
    }
}
