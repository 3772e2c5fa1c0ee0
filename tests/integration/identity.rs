//! One account per mailbox and per name: IDNA-equal addresses, NFKC/case-equal usernames,
//! invisible characters and email-shaped usernames, for `users create`/`import`, login and
//! reset look-ups; the key backfill of `latchkey migrate` on a database that already holds
//! such duplicates. And `outbox retry --dead` on several dead reset mails of one account.

use std::collections::HashMap;

use diesel::{Connection, RunQueryDsl};

use crate::fixtures::{body, reset_link, NEW_PASSWORD, WAIT};
use crate::helpers::{
    assert_one_error_line, base_vars, run_cli, spawn_app_with, stderr, stdout, Backend, TestApp,
    TestDb,
};
use crate::on_both_backends;
use crate::smtp_sink::{Script, SmtpSink};

on_both_backends!(
    users_create_refuses_an_idna_spelling_of_a_taken_address,
    users_create_refuses_names_equal_after_case_folding_and_invisible_characters,
    a_username_may_only_have_the_form_of_its_own_address,
    users_import_applies_the_same_rules,
    login_matches_usernames_ignoring_case_and_width,
    a_reset_for_the_punycode_spelling_mails_the_stored_address,
    a_reset_by_username_matches_ignoring_case,
    migrate_reports_existing_duplicates_and_keeps_them_usable,
    retry_dead_resends_one_of_several_dead_reset_mails_of_an_account,
    retry_dead_never_replaces_a_newer_live_token,
);

const PASSWORD: &str = "correct horse battery staple";

fn create(app: &TestApp, username: &str, email: &str) -> std::process::Output {
    app.cli(
        &["users", "create", "--username", username, "--email", email],
        None,
    )
}

fn create_with_password(app: &TestApp, username: &str, email: &str, password: &str) {
    let output = app.cli(
        &[
            "users",
            "create",
            "--username",
            username,
            "--email",
            email,
            "--password-stdin",
        ],
        Some(&format!("{password}\n")),
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

async fn user_count(app: &TestApp) -> usize {
    app.blocking(|state| {
        latchkey::services::account_admin::list_users(&state.db)
            .unwrap()
            .len()
    })
    .await
}

async fn users_create_refuses_an_idna_spelling_of_a_taken_address(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    assert!(create(&app, "u1", "user@b\u{fc}cher.example")
        .status
        .success());
    for spelling in [
        "user@xn--bcher-kva.example",
        "USER@XN--BCHER-KVA.example",
        "user@B\u{dc}CHER.example",
    ] {
        let line = assert_one_error_line(&create(&app, "u2", spelling));
        assert!(
            line.contains("a user with the email address user@b\u{fc}cher.example already exists"),
            "{line}"
        );
    }
    assert_eq!(user_count(&app).await, 1);
}

async fn users_create_refuses_names_equal_after_case_folding_and_invisible_characters(
    backend: Backend,
) {
    let app = spawn_app_with(backend, &[]).await;
    assert!(create(&app, "bob", "bob@example.com").status.success());
    for spelling in ["BOB", "Bob", "\u{ff22}\u{ff2f}\u{ff22}"] {
        let line = assert_one_error_line(&create(&app, spelling, "bob2@example.com"));
        assert!(
            line.contains("a user named \"bob\" already exists"),
            "{line}"
        );
    }
    for hidden in ["bob\u{200b}", "b\u{200d}ob", "\u{feff}bob", "bo\u{2060}b"] {
        let line = assert_one_error_line(&create(&app, hidden, "bob3@example.com"));
        assert!(line.contains("invisible characters"), "{line}");
    }
    assert_eq!(user_count(&app).await, 1);
}

async fn a_username_may_only_have_the_form_of_its_own_address(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    assert!(create(&app, "carol", "carol@example.com").status.success());
    let line = assert_one_error_line(&create(&app, "carol@example.com", "mallory@example.com"));
    assert!(
        line.contains("has the form of an email address other than the account's own"),
        "{line}"
    );
    let line = assert_one_error_line(&create(&app, "dave@example.com", "mallory@example.com"));
    assert!(line.contains("has the form of an email address"), "{line}");
    // The account's own address, in any spelling, is fine.
    let own = create(&app, "Dave@Example.com", "dave@example.com");
    assert!(own.status.success(), "{}", stderr(&own));
    assert_eq!(user_count(&app).await, 2);
}

async fn users_import_applies_the_same_rules(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    assert!(create(&app, "bob", "bob@example.com").status.success());
    let refused = [
        (
            r#"{"username": "BOB", "email": "other@example.com"}"#,
            "a user named \"bob\" already exists",
        ),
        (
            r#"{"username": "x", "email": "x@example.com"}
{"username": "X", "email": "y@example.com"}"#,
            "repeats the username of line 1",
        ),
        (
            r#"{"username": "u", "email": "user@b\u00fccher.example"}
{"username": "v", "email": "user@xn--bcher-kva.example"}"#,
            "repeats the email address of line 1",
        ),
        (
            r#"{"username": "eve\u200b", "email": "eve@example.com"}"#,
            "invisible characters",
        ),
        (
            r#"{"username": "bob@example.com", "email": "eve@example.com"}"#,
            "has the form of an email address",
        ),
    ];
    for (input, expected) in refused {
        let line = assert_one_error_line(&app.cli(&["users", "import"], Some(input)));
        assert!(line.contains(expected), "{input}: {line}");
    }
    assert_eq!(user_count(&app).await, 1);
}

async fn login_matches_usernames_ignoring_case_and_width(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    create_with_password(&app, "bob", "bob@example.com", PASSWORD);
    let bob_id = app
        .blocking(|state| {
            let mut conn = state.db.get().unwrap();
            latchkey::db::users::find_by_email_key(&mut conn, "bob@example.com")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    for typed in [
        "bob",
        "BOB",
        "Bob",
        "\u{ff42}\u{ff4f}\u{ff42}",
        "BOB@Example.com",
    ] {
        let response = app.login(typed, PASSWORD).await;
        assert_eq!(response.status(), 200, "{typed}");
        let token = body(response).await["token"].as_str().unwrap().to_owned();
        let me = body(app.me(&token).await).await;
        assert_eq!(me["id"], bob_id, "{typed}");
    }
    assert_eq!(app.login("BOB", "wrong horse battery").await.status(), 401);
}

async fn a_reset_for_the_punycode_spelling_mails_the_stored_address(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    create_with_password(&app, "u", "user@b\u{fc}cher.example", PASSWORD);
    assert_eq!(
        app.request_reset("user@xn--bcher-kva.example")
            .await
            .status(),
        200
    );
    let rows = app
        .wait_for_outbox(WAIT, |rows| rows.len() == 1 && rows[0].state == "sent")
        .await;
    assert_eq!(rows[0].recipient, "user@b\u{fc}cher.example");
    assert_eq!(
        rows[0].kind,
        latchkey::services::outbox::KIND_PASSWORD_RESET
    );
}

async fn a_reset_by_username_matches_ignoring_case(backend: Backend) {
    let app = spawn_app_with(backend, &[("LATCHKEY_LOOKUP_FIELD", "username")]).await;
    create_with_password(&app, "bob", "bob@example.com", PASSWORD);
    assert_eq!(app.request_reset("BOB").await.status(), 200);
    let rows = app
        .wait_for_outbox(WAIT, |rows| rows.len() == 1 && rows[0].state == "sent")
        .await;
    assert_eq!(rows[0].recipient, "bob@example.com");
}

/// The migrations before `unique_names`, applied with diesel's own runner from a copy.
fn migrate_to_previous_level(db: &TestDb, backend: &Backend) {
    use diesel_migrations::{FileBasedMigrations, MigrationHarness};
    let tree = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres(_) => "postgres",
    };
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(tree);
    let copy = db.dir.path().join("old-migrations");
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.as_str() >= "2026-12-01-000001_unique_names" {
            continue;
        }
        std::fs::create_dir_all(copy.join(&name)).unwrap();
        for file in ["up.sql", "down.sql"] {
            std::fs::copy(entry.path().join(file), copy.join(&name).join(file)).unwrap();
        }
    }
    let migrations = FileBasedMigrations::from_path(&copy).unwrap();
    let rows = [
        // Equal after case folding: two usernames, one key.
        ("alice", "alice@example.com"),
        ("ALICE", "alice.upper@example.com"),
        // One mailbox in two spellings; keys computed by the old rule (the whole text folded).
        ("u1", "user@b\u{fc}cher.example"),
        ("u2", "user@xn--bcher-kva.example"),
        // A username shaped like another account's address (it used to capture its logins).
        ("carol@example.com", "zed@example.com"),
        ("carol", "carol@example.com"),
    ];
    let inserts: Vec<String> = rows
        .iter()
        .map(|(name, email)| {
            format!(
                "INSERT INTO users (username, email, email_key, password_hash, created_at, updated_at) \
                 VALUES ('{name}', '{email}', '{}', NULL, '2026-11-30 10:00:00', '2026-11-30 10:00:00')",
                email.to_lowercase()
            )
        })
        .collect();
    match backend {
        Backend::Sqlite => {
            let path = db.dir.path().join("latchkey.db");
            let mut conn = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
            conn.run_pending_migrations(migrations).unwrap();
            for insert in &inserts {
                diesel::sql_query(insert).execute(&mut conn).unwrap();
            }
        }
        Backend::Postgres(_) => {
            let mut conn = diesel::PgConnection::establish(&db.url).unwrap();
            conn.run_pending_migrations(migrations).unwrap();
            for insert in &inserts {
                diesel::sql_query(insert).execute(&mut conn).unwrap();
            }
        }
    }
}

/// An application on an existing database (`spawn_app` always makes a new one).
async fn app_on(db: TestDb, extra: &[(&str, &str)]) -> TestApp {
    let mut vars: HashMap<String, String> = base_vars(&db);
    for (key, value) in extra {
        vars.insert((*key).to_owned(), (*value).to_owned());
    }
    let lookup = vars.clone();
    let config =
        latchkey::config::Config::from_vars(&move |name| lookup.get(name).cloned()).unwrap();
    let app = latchkey::startup::Application::build(config, true)
        .await
        .unwrap();
    TestApp::adopt(
        app,
        vars,
        db,
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    )
}

async fn migrate_reports_existing_duplicates_and_keeps_them_usable(backend: Backend) {
    let db = TestDb::new(&backend);
    migrate_to_previous_level(&db, &backend);
    let vars = base_vars(&db);

    let migrated = run_cli(&vars, db.dir.path(), &["migrate"], None);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    assert!(
        stdout(&migrated).contains("applied 20261201000001"),
        "{}",
        stdout(&migrated)
    );
    let warnings = stderr(&migrated);
    assert!(
        warnings.contains(
            "warning: users 1 (alice) and 2 (ALICE) share the username key \"alice\"; only user 1"
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "warning: users 4 (user@xn--bcher-kva.example) and 3 (user@b\u{fc}cher.example) share the email key \"user@xn--bcher-kva.example\""
        ),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "warning: user 5 (carol@example.com) has a username of the form of user 6's email address carol@example.com"
        ),
        "{warnings}"
    );
    assert_eq!(warnings.lines().count(), 3, "{warnings}");

    // Reported again until resolved, and still not a failure.
    let again = run_cli(&vars, db.dir.path(), &["migrate"], None);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again).trim(), "no pending migrations");
    assert_eq!(stderr(&again).lines().count(), 3, "{}", stderr(&again));

    // Each account is reached by its exact username, for an admin command and for login.
    let accounts = [
        ("alice", PASSWORD),
        ("ALICE", "another horse battery staple"),
        ("carol@example.com", "zed's horse battery staple"),
        ("carol", "carol's horse battery staple"),
    ];
    for (name, password) in accounts {
        let set = run_cli(
            &vars,
            db.dir.path(),
            &["users", "set-password", name, "--password-stdin"],
            Some(&format!("{password}\n")),
        );
        assert!(set.status.success(), "{name}: {}", stderr(&set));
    }
    let app = app_on(db, &[]).await;
    let logins = [
        ("alice", PASSWORD, 1),
        ("ALICE", "another horse battery staple", 2),
        ("carol", "carol's horse battery staple", 6),
        // The address means its owner, whatever another account is called.
        ("carol@example.com", "carol's horse battery staple", 6),
        ("zed@example.com", "zed's horse battery staple", 5),
    ];
    for (name, password, id) in logins {
        let response = app.login(name, password).await;
        assert_eq!(response.status(), 200, "{name}");
        let token = body(response).await["token"].as_str().unwrap().to_owned();
        assert_eq!(body(app.me(&token).await).await["id"], id, "{name}");
    }
    assert_eq!(app.login("ALICE", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login("carol@example.com", "zed's horse battery staple")
            .await
            .status(),
        401,
        "an email-shaped username does not capture the address's logins"
    );

    // A new spelling of a reported name is still refused; renaming resolves the report.
    let line = assert_one_error_line(&create(&app, "Alice", "third@example.com"));
    assert!(
        line.contains("a user named \"alice\" already exists"),
        "{line}"
    );
    let renamed = app.cli(&["users", "rename", "ALICE", "alice2"], None);
    assert!(renamed.status.success(), "{}", stderr(&renamed));
    let renamed = app.cli(&["users", "rename", "carol@example.com", "zed"], None);
    assert!(renamed.status.success(), "{}", stderr(&renamed));
    let moved = app.cli(&["users", "set-email", "u1", "u1@example.com"], None);
    assert!(moved.status.success(), "{}", stderr(&moved));
    let clean = app.cli(&["migrate"], None);
    assert!(clean.status.success());
    assert_eq!(stderr(&clean), "", "every conflict was resolved");
    assert_eq!(
        app.login("ALICE2", "another horse battery staple")
            .await
            .status(),
        200
    );
}

/// An app whose mail goes to `sink`, retrying quickly.
async fn app_mailing_to(backend: Backend, sink: &SmtpSink) -> TestApp {
    let url = sink.url();
    spawn_app_with(
        backend,
        &[
            ("LATCHKEY_EMAIL_BACKEND", "smtp"),
            ("LATCHKEY_SMTP_URL", &url),
            ("LATCHKEY_EMAIL_RETRY_BASE", "100ms"),
            ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
        ],
    )
    .await
}

/// Requests a reset for bob and waits until the outbox holds `rows` messages, none in flight.
async fn request_and_settle(app: &TestApp, rows: usize) {
    assert_eq!(app.request_reset("bob@example.com").await.status(), 200);
    app.wait_for_outbox(WAIT, |all| {
        all.len() == rows && all.iter().all(|r| r.state == "dead" || r.state == "sent")
    })
    .await;
}

async fn retry_dead_resends_one_of_several_dead_reset_mails_of_an_account(backend: Backend) {
    let sink = SmtpSink::start_with(Script {
        rcpt_replies: [
            (550, "5.1.1 no such user"),
            (550, "5.1.1 no such user"),
            (550, "5.1.1 no such user"),
        ]
        .into(),
        ..Script::default()
    });
    let app = app_mailing_to(backend, &sink).await;
    create_with_password(&app, "bob", "bob@example.com", PASSWORD);
    for rows in 1..=3 {
        request_and_settle(&app, rows).await;
    }
    let rows = app.outbox_rows().await;
    assert!(rows.iter().all(|r| r.state == "dead"), "{rows:#?}");

    let retried = app.cli(&["outbox", "retry", "--dead"], None);
    let report = stdout(&retried);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert!(report.contains("1 dead message(s) requeued"), "{report}");
    assert!(
        report.contains("2 dead reset message(s) not re-sent: superseded"),
        "{report}"
    );
    let newest = rows[2].id;
    for older in &rows[..2] {
        assert!(
            report.contains(&format!(
                "message {} not re-sent: superseded by message {newest}",
                older.id
            )),
            "{report}"
        );
    }

    let rows = app
        .wait_for_outbox(WAIT, |all| all.iter().any(|r| r.state == "sent"))
        .await;
    let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["dead", "dead", "sent"]);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1, "exactly one mail is sent");
    let (_, token) = reset_link(&messages[0]);
    assert_eq!(app.validate(&token).await.status(), 200);
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 200);
    assert_eq!(app.login("bob", NEW_PASSWORD).await.status(), 200);
}

async fn retry_dead_never_replaces_a_newer_live_token(backend: Backend) {
    let sink = SmtpSink::start_with(Script {
        rcpt_replies: [(550, "5.1.1 no such user")].into(),
        ..Script::default()
    });
    let app = app_mailing_to(backend, &sink).await;
    create_with_password(&app, "bob", "bob@example.com", PASSWORD);
    request_and_settle(&app, 1).await;
    request_and_settle(&app, 2).await;
    let rows = app.outbox_rows().await;
    let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["dead", "sent"]);
    let delivered = sink.wait_for(1, WAIT).await;
    let (_, live) = reset_link(&delivered[0]);

    let retried = app.cli(&["outbox", "retry", "--dead"], None);
    let report = stdout(&retried);
    assert!(retried.status.success(), "{}", stderr(&retried));
    assert!(report.contains("0 dead message(s) requeued"), "{report}");
    assert!(
        report.contains(&format!(
            "message {} not re-sent: superseded by a live reset token issued after it",
            rows[0].id
        )),
        "{report}"
    );
    let after = app.outbox_rows().await;
    let states: Vec<&str> = after.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["dead", "sent"], "nothing was requeued");
    assert_eq!(sink.count(), 1, "no new mail");
    assert_eq!(
        app.validate(&live).await.status(),
        200,
        "the newer link still works"
    );
    assert_eq!(app.confirm(&live, NEW_PASSWORD).await.status(), 200);
}
