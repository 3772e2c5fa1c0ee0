//! Error policy.
//!
//! * Each use case has its own error enum (`CreateUserError`, `ResetError`, …) whose variants
//!   are the outcomes a caller must handle differently. Causes nobody can act on travel as
//!   [`crate::db::DbError`] or `anyhow::Error` inside an `Unexpected`-style variant.
//! * The HTTP layer maps those enums to status codes and JSON bodies in one place
//!   (`http::errors`). 5xx bodies are opaque; the cause chain is logged, once, where the
//!   response is built.
//! * The CLI prints one line (`error: …` with the cause chain joined by `: `) and exits non-zero.
//! * Nothing here may carry a password or a token: error values hold identifiers at most.

use std::error::Error;
use std::fmt::Write;

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
