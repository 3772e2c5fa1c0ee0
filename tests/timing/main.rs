//! Timing tests, in a test binary of their own: cargo runs test binaries one after another, so
//! nothing else in the suite loads the machine while these measure (in the integration binary,
//! dozens of concurrent tests hashing passwords made every measurement noise).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

#[path = "../integration/fixtures.rs"]
mod fixtures;
#[path = "../integration/helpers.rs"]
mod helpers;
#[path = "../integration/smtp_sink.rs"]
mod smtp_sink;

mod known_unknown;
