//! Black-box tests: the real application on a random port, a fresh database per test, and the
//! real `latchkey` binary for the command line. One test binary (this file lists the modules).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod fixtures;
mod helpers;
mod nginx_process;
mod smtp_sink;
mod web_client;

mod accounts;
mod browser;
mod cli_users;
mod config_errors;
mod csrf_routes;
mod django_import;
mod edges;
mod forgiving_pages;

mod health;
mod hostile_smtp;
mod identity;
mod key_rotation;
mod languages;
mod load_balancer;
mod many_instances;
mod metrics;
mod migrations;
mod nginx;
mod notices;
mod number_codes;
mod openapi;
mod outbox;
mod pages;
mod password_reset;
mod product;
mod races;
mod readiness;
mod request_span;
mod reset_package;
mod serve_binary;
mod shared_limits;
mod token_at_rest;
mod webhooks;
