//! Latchkey: log in, log out, change password and reset-by-email for a web product.
//!
//! One binary serves a JSON API and server-rendered pages, keeps its data in SQLite or
//! PostgreSQL through diesel, and sends mail through a durable outbox.
//!
//! Data flows one way:
//!
//! ```text
//! http (actix: routes, extractors, DTOs) ─┐
//! cli  (clap: admin commands)             ├─► services (sync use cases) ─► db (diesel) / email / passwords
//! workers (mail, resolver, publisher)     ─┘
//! composition (wires config into services for serve, the CLI and the tests)
//! domain (parsed input types) ─ used by all; config ─► domain, secrets
//! ```
//!
//! `http` never touches diesel or argon2, `services` never touch actix, and only `db` knows the
//! schema. The CLI, the HTTP handlers and the tests call the same services, built in one place
//! ([`composition`]). `services::outbox` is a leaf every use case enqueues into; the
//! [`workers`] drain it (the email module only renders and sends, it knows no use case).
//! `metrics` (the Prometheus series of one application) is a leaf that any layer may count into.

pub mod cli;
pub mod composition;
pub mod config;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod html_escape;
pub mod http;
pub mod i18n;
pub mod metrics;
pub mod passwords;
pub mod secrets;
pub mod services;
pub mod startup;
pub mod telemetry;
pub mod workers;
