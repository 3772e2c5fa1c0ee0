//! Error policy.
//!
//! * Each use case has its own error enum (`LoginError`, `ConfirmError`, `CreateUserError`, …)
//!   whose variants are the outcomes a caller must handle differently, plus one catch-all,
//!   `Failed(Failure)`, for everything a caller can only report.
//! * [`Failure`] is that catch-all, shared by every use case: `Unavailable` keeps the
//!   [`DbError`] that caused it (the database is down, exhausted, or a statement failed: `503`),
//!   `Busy` says the password hasher or a queue is saturated (`503`), and `Unexpected` keeps any
//!   other cause as an `anyhow::Error` (a template, a hook, a bug: `500`). Nothing that is not a
//!   database failure travels as a [`DbError`]. [`failure_conversions!`](crate::failure_conversions) gives a use-case enum
//!   its `?` conversions from the database, diesel and the hasher, so none is written by hand.
//! * A throttled wait is shown in whole seconds rounded up, never below one
//!   ([`RetryAfter::retry_after_secs`](crate::services::ip_limits::RetryAfter::retry_after_secs)),
//!   in the API's `Retry-After` and on the pages alike.
//! * The HTTP layer turns a [`Failure`] into a response in exactly one place each:
//!   `From<Failure> for ApiError` (`http/errors.rs`) and `From<Failure> for PageError`
//!   (`http/pages/failures.rs`); handlers only map their use case's domain variants. 5xx bodies
//!   are opaque; the cause chain is logged, once, where the response is built.
//! * The CLI prints one line (`error: …` with the cause chain joined by `: `) and exits non-zero.
//! * Nothing here may carry a password or a token: error values hold identifiers at most.

use std::error::Error;
use std::fmt::Write;

use crate::db::DbError;
use crate::passwords::HashError;

/// The one catch-all of every use-case error: what a caller can only report (503 or 500).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The database failed (unreachable, exhausted, or a statement failed).
    #[error("{0}")]
    Unavailable(#[source] DbError),
    /// The password hasher or a queue is saturated: try again shortly.
    #[error("saturated (password hashing or a queue): try again shortly")]
    Busy,
    /// Anything else: a template, a hook, a bug. The source is kept for the log.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<DbError> for Failure {
    fn from(err: DbError) -> Self {
        Self::Unavailable(err)
    }
}

impl From<diesel::result::Error> for Failure {
    fn from(err: diesel::result::Error) -> Self {
        Self::Unavailable(DbError::from(err))
    }
}

impl From<HashError> for Failure {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            err => Self::Unexpected(err.into()),
        }
    }
}

/// Gives a use-case error enum with a `Failed(Failure)` variant its `?` conversions from
/// [`Failure`]'s sources, so no enum repeats them by hand.
#[macro_export]
macro_rules! failure_conversions {
    ($($error:ty),+ $(,)?) => {$(
        impl From<$crate::db::DbError> for $error {
            fn from(err: $crate::db::DbError) -> Self {
                Self::Failed(err.into())
            }
        }
        impl From<diesel::result::Error> for $error {
            fn from(err: diesel::result::Error) -> Self {
                Self::Failed(err.into())
            }
        }
        impl From<$crate::passwords::HashError> for $error {
            fn from(err: $crate::passwords::HashError) -> Self {
                Self::Failed(err.into())
            }
        }
        impl From<anyhow::Error> for $error {
            fn from(err: anyhow::Error) -> Self {
                Self::Failed(err.into())
            }
        }
    )+};
}

/// `error: cause: cause…` on one line, for the CLI and for logs.
pub fn chain(err: &dyn Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            let _ = write!(line, ": {text}");
        }
        source = cause.source();
    }
    crate::db::one_line(&line)
}
