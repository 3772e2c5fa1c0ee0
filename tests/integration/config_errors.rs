//! Start-up refuses bad configuration with one line that names the variable.

use std::collections::HashMap;

use crate::helpers::{assert_one_error_line, run_cli};

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn fails_naming(pairs: &[(&str, &str)], args: &[&str], variable: &str) {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(&vars(pairs), dir.path(), args, None);
    let line = assert_one_error_line(&output);
    assert!(line.contains(variable), "{line}");
}

#[test]
fn an_invalid_duration_names_its_variable() {
    fails_naming(
        &[("LATCHKEY_RESET_TOKEN_TTL", "soon")],
        &["migrate"],
        "LATCHKEY_RESET_TOKEN_TTL",
    );
}

#[test]
fn argon2_costs_below_the_owasp_minimum_are_refused() {
    fails_naming(
        &[("LATCHKEY_ARGON2_MEMORY_KIB", "1024")],
        &["migrate"],
        "LATCHKEY_ARGON2_MEMORY_KIB",
    );
    fails_naming(
        &[("LATCHKEY_ARGON2_ITERATIONS", "1")],
        &["migrate"],
        "LATCHKEY_ARGON2_ITERATIONS",
    );
}

#[test]
fn a_short_secret_key_is_refused() {
    fails_naming(
        &[("LATCHKEY_SECRET_KEY", "c2hvcnQ=")],
        &["migrate"],
        "LATCHKEY_SECRET_KEY",
    );
}

#[test]
fn other_invalid_values_are_refused() {
    fails_naming(
        &[("LATCHKEY_EMAIL_WORKERS", "65")],
        &["migrate"],
        "LATCHKEY_EMAIL_WORKERS",
    );
    fails_naming(
        &[("LATCHKEY_EMAIL_BACKEND", "pigeon")],
        &["migrate"],
        "LATCHKEY_EMAIL_BACKEND",
    );
    fails_naming(
        &[("LATCHKEY_PUBLIC_URL", "ftp://x")],
        &["migrate"],
        "LATCHKEY_PUBLIC_URL",
    );
    fails_naming(
        &[("LATCHKEY_LOOKUP_FIELD", "phone")],
        &["migrate"],
        "LATCHKEY_LOOKUP_FIELD",
    );
    fails_naming(
        &[("LATCHKEY_IPV6_PREFIX", "8")],
        &["migrate"],
        "LATCHKEY_IPV6_PREFIX",
    );
    fails_naming(
        &[
            ("LATCHKEY_TOKEN_GENERATOR", "number"),
            ("LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL", "perhaps"),
        ],
        &["migrate"],
        "LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL",
    );
    fails_naming(
        &[("LATCHKEY_BIND", "nowhere")],
        &["migrate"],
        "LATCHKEY_BIND",
    );
    fails_naming(
        &[("DATABASE_URL", "mysql://root@localhost/x")],
        &["migrate"],
        "DATABASE_URL",
    );
    fails_naming(
        &[("LATCHKEY_TOKEN_GENERATOR", "uuid")],
        &["migrate"],
        "LATCHKEY_TOKEN_GENERATOR",
    );
}

#[test]
fn an_unreachable_postgres_server_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        &vars(&[
            ("DATABASE_URL", "postgres://nope"),
            ("LATCHKEY_SECRET_KEY", crate::helpers::TEST_SECRET_KEY),
        ]),
        dir.path(),
        &["migrate"],
        None,
    );
    let line = assert_one_error_line(&output);
    assert!(line.contains("cannot connect to postgres://nope"), "{line}");
}

#[test]
fn postgres_without_a_secret_key_refuses_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(
        &vars(&[("DATABASE_URL", "postgres://nope")]),
        dir.path(),
        &["serve"],
        None,
    );
    let line = assert_one_error_line(&output);
    assert!(
        line.contains("LATCHKEY_SECRET_KEY is required with PostgreSQL"),
        "{line}"
    );
}

#[test]
fn an_unknown_command_is_one_line_and_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_cli(&vars(&[]), dir.path(), &["frobnicate"], None);
    assert_eq!(output.status.code(), Some(2));
    let text = crate::helpers::stderr(&output);
    assert_eq!(text.trim().lines().count(), 1, "{text}");
}

/// The first command on a fresh machine migrates the new database on the way: a refusal is
/// still the only line on stderr.
#[test]
fn a_weak_password_on_a_fresh_database_is_still_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "users",
        "create",
        "--username",
        "alice",
        "--email",
        "alice@example.com",
        "--password-stdin",
    ];
    let output = run_cli(&vars(&[]), dir.path(), &args, Some("password123\n"));
    let line = assert_one_error_line(&output);
    assert!(line.contains("This password is too common."), "{line}");
    assert!(dir.path().join("latchkey.db").exists());
}
