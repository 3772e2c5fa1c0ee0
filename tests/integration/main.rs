//! Black-box tests: the real application on a random port, a fresh database per test, and the
//! real `latchkey` binary for the command line. One test binary (this file lists the modules).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fixtures;
mod helpers;
mod smtp_sink;

mod accounts;
mod browser;
mod cli_users;
mod config_errors;
mod health;
mod identity;
mod migrations;
mod outbox;
mod pages;
mod password_reset;
mod reset_package;
mod serve_binary;
mod token_at_rest;
