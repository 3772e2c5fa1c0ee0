//! Use cases: plain synchronous Rust called by HTTP handlers (on blocking threads), the CLI and
//! the email workers alike, so a rule is written once for every face of Latchkey.

pub mod delivery;
pub mod health;
pub mod outbox;
pub mod users;
