//! `latchkey users …` against both backends, through the real binary.

use crate::helpers::{assert_one_error_line, spawn_app, stdout, Backend};
use crate::on_both_backends;

const GOOD: &str = "correct horse battery staple\n";

on_both_backends!(
    create_with_a_password_stores_an_argon2id_hash,
    create_rejects_weak_passwords_with_every_reason,
    duplicates_are_refused_case_insensitively_for_email,
    invalid_input_is_one_error_line,
    set_password_applies_the_rules_and_changes_the_stamp,
    list_shows_accounts_and_activation_toggles,
    accounts_without_a_password_are_listed_as_such,
    import_creates_all_accounts_or_none,
    usage_errors_name_what_is_missing,
    a_reader_that_stops_early_is_not_a_crash,
);

async fn create_with_a_password_stores_an_argon2id_hash(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        Some(GOOD),
    );
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::stderr(&output)
    );
    assert!(stdout(&output).contains("created user alice"));

    let user = find_user(&app, "alice").await;
    let hash = user.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(user.email_key, "alice@example.com");
    assert!(user.is_active);
}

async fn create_rejects_weak_passwords_with_every_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        Some("password123\n"),
    );
    let line = assert_one_error_line(&output);
    assert!(
        line.contains("This password is too short. It must contain at least 12 characters."),
        "{line}"
    );
    assert!(line.contains("This password is too common."), "{line}");
    assert!(list(&app).await.is_empty(), "nothing may be created");
}

async fn duplicates_are_refused_case_insensitively_for_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let create = |username: &str, email: &str| {
        app.cli(
            &["users", "create", "--username", username, "--email", email],
            None,
        )
    };
    assert!(create("alice", "alice@example.com").status.success());
    let line = assert_one_error_line(&create("alice", "other@example.com"));
    assert!(
        line.contains("a user named \"alice\" already exists"),
        "{line}"
    );
    let line = assert_one_error_line(&create("alice2", "ALICE@Example.com"));
    assert!(line.contains("already exists"), "{line}");
    assert_eq!(list(&app).await.len(), 1);
}

async fn invalid_input_is_one_error_line(backend: Backend) {
    let app = spawn_app(backend).await;
    let line = assert_one_error_line(&app.cli(
        &[
            "users",
            "create",
            "--username",
            "bob",
            "--email",
            "not-an-email",
        ],
        None,
    ));
    assert!(line.contains("not a valid email address"), "{line}");
    let line = assert_one_error_line(&app.cli(
        &[
            "users",
            "create",
            "--username",
            "x\r\nBcc: evil@attacker.test",
            "--email",
            "x@example.com",
        ],
        None,
    ));
    assert!(line.contains("control characters"), "{line}");
    let line = assert_one_error_line(&app.cli(&["users", "deactivate", "nobody"], None));
    assert!(line.contains("no user named \"nobody\""), "{line}");
}

async fn set_password_applies_the_rules_and_changes_the_stamp(backend: Backend) {
    let app = spawn_app(backend).await;
    app.cli(
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
        ],
        None,
    );
    let before = find_user(&app, "alice").await;
    assert!(before.password_hash.is_none());

    let line = assert_one_error_line(&app.cli(
        &["users", "set-password", "alice", "--password-stdin"],
        Some("alice-example\n"),
    ));
    assert!(line.contains("too similar to the"), "{line}");

    let output = app.cli(
        &["users", "set-password", "alice", "--password-stdin"],
        Some(GOOD),
    );
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::stderr(&output)
    );
    let after = find_user(&app, "alice").await;
    assert!(after.password_hash.is_some());
    assert_eq!(after.password_stamp, before.password_stamp + 1);
    assert!(after.password_changed_at.is_some());
}

async fn list_shows_accounts_and_activation_toggles(backend: Backend) {
    let app = spawn_app(backend).await;
    app.cli(
        &[
            "users",
            "create",
            "--username",
            "<script>alert(1)</script>",
            "--email",
            "carol@example.com",
        ],
        None,
    );
    let output = app.cli(&["users", "deactivate", "<script>alert(1)</script>"], None);
    assert!(output.status.success());
    let listing = stdout(&app.cli(&["users", "list"], None));
    assert!(
        listing.contains("<script>alert(1)</script>\tcarol@example.com\tno\t"),
        "{listing}"
    );
    assert!(!find_user(&app, "<script>alert(1)</script>").await.is_active);

    assert!(app
        .cli(&["users", "activate", "<script>alert(1)</script>"], None)
        .status
        .success());
    assert!(find_user(&app, "<script>alert(1)</script>").await.is_active);
}

async fn accounts_without_a_password_are_listed_as_such(backend: Backend) {
    let app = spawn_app(backend).await;
    app.cli(
        &[
            "users",
            "create",
            "--username",
            "dave",
            "--email",
            "dave@example.com",
        ],
        None,
    );
    let listing = stdout(&app.cli(&["users", "list"], None));
    assert!(
        listing.contains("dave\tdave@example.com\tyes\tnone\t"),
        "{listing}"
    );
}

async fn find_user(app: &crate::helpers::TestApp, username: &str) -> latchkey::db::users::User {
    let db = app.state.db.clone();
    let username = username.to_owned();
    tokio::task::spawn_blocking(move || {
        latchkey::db::users::find_by_username(&mut db.get().unwrap(), &username)
            .unwrap()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn list(app: &crate::helpers::TestApp) -> Vec<latchkey::db::users::User> {
    let db = app.state.db.clone();
    tokio::task::spawn_blocking(move || latchkey::services::account_admin::list_users(&db).unwrap())
        .await
        .unwrap()
}

async fn import_creates_all_accounts_or_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let bad = concat!(
        "{\"username\":\"u1\",\"email\":\"u1@example.com\",\"password\":\"correct horse battery staple\"}\n",
        "{\"username\":\"u2\",\"email\":\"u2@example.com\",\"password\":\"password123\"}\n",
    );
    let line = assert_one_error_line(&app.cli(&["users", "import"], Some(bad)));
    assert!(
        line.contains("line 2") && line.contains("too short"),
        "{line}"
    );
    assert!(
        list(&app).await.is_empty(),
        "nothing is created when a line is refused"
    );

    let good = concat!(
        "{\"username\":\"u1\",\"email\":\"u1@example.com\",\"password\":\"correct horse battery staple\"}\n",
        "\n",
        "{\"username\":\"u2\",\"email\":\"u2@example.com\",\"password_hash\":\"$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\"}\n",
        "{\"username\":\"u3\",\"email\":\"u3@example.com\"}\n",
    );
    let output = app.cli(&["users", "import"], Some(good));
    assert!(
        output.status.success(),
        "{}",
        crate::helpers::stderr(&output)
    );
    assert_eq!(stdout(&output).trim(), "imported 3 user(s)");
    let users = list(&app).await;
    assert_eq!(users.len(), 3);
    assert!(users[0]
        .password_hash
        .as_deref()
        .unwrap()
        .starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(users[1]
        .password_hash
        .as_deref()
        .unwrap()
        .ends_with("aGFzaGhhc2hoYXNoaGFzaA"));
    assert!(users[2].password_hash.is_none());

    let again = assert_one_error_line(&app.cli(
        &["users", "import"],
        Some("{\"username\":\"u9\",\"email\":\"U1@example.com\"}\n"),
    ));
    assert!(
        again.contains("line 1") && again.contains("taken"),
        "{again}"
    );
}

async fn usage_errors_name_what_is_missing(backend: Backend) {
    let app = spawn_app(backend).await;
    let missing = app.cli(&["users", "set-password", "alice"], None);
    assert_eq!(missing.status.code(), Some(2));
    let line = assert_one_error_line(&missing);
    assert!(line.contains("--password-stdin"), "{line}");

    let bare = app.cli(&["users"], None);
    assert_eq!(bare.status.code(), Some(2));
    let line = assert_one_error_line(&bare);
    for name in ["create", "set-password", "list", "activate", "deactivate"] {
        assert!(line.contains(name), "{line}");
    }
}

/// `latchkey users list | head -1`: the pipe closes before the listing ends.
async fn a_reader_that_stops_early_is_not_a_crash(backend: Backend) {
    use std::process::{Command, Stdio};
    let app = spawn_app(backend).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["users", "list"])
        .env_clear()
        .envs(&app.vars)
        .current_dir(app.db.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let errors = crate::helpers::stderr(&output);
    assert!(output.status.success(), "{:?}: {errors}", output.status);
    assert!(!errors.contains("panicked"), "{errors}");
}
