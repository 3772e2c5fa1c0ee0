//! `latchkey users import --format django` with hashes made by real Django and real bcrypt,
//! logging in over HTTP afterwards, and the admin commands `users show / set-email / rename /
//! delete`, on both backends through the real binary.

use diesel::prelude::*;
use serde_json::Value;

use crate::fixtures::{app_with_mail, WAIT};
use crate::helpers::{
    assert_one_error_line, django_python, spawn_app, stderr, stdout, Backend, TestApp,
};
use crate::on_both_backends;

/// Made by tests/django/make_hashes.py --cheap with real Django (see tests/django/README.md).
const SAMPLE: &str = include_str!("../django/sample_dumpdata.json");

fn password_for(username: &str) -> String {
    format!("Imported {username} pässwörd 42")
}

on_both_backends!(
    every_django_hasher_logs_in_once_imported_and_is_then_argon2id,
    a_malformed_record_imports_nothing_and_names_its_number,
    django_fields_carry_over,
    plain_passwords_are_hashed_without_output_on_a_pipe,
    show_prints_the_account,
    set_email_notifies_the_old_address_and_revokes_reset_tokens,
    rename_follows_the_rules_of_create,
    delete_removes_the_account_and_keeps_its_audit_rows_by_id,
);

async fn user(app: &TestApp, username: &str) -> Option<latchkey::db::users::User> {
    let username = username.to_owned();
    app.blocking(move |state| {
        latchkey::db::users::find_by_username(&mut state.db.get().unwrap(), &username).unwrap()
    })
    .await
}

async fn user_count(app: &TestApp) -> usize {
    app.blocking(|state| {
        latchkey::services::account_admin::list_users(&state.db)
            .unwrap()
            .len()
    })
    .await
}

fn import(app: &TestApp, format: &str, input: &str) -> std::process::Output {
    app.cli(&["users", "import", "--format", format], Some(input))
}

/// Imports `document` and checks, for every account with a usable password, that a wrong
/// password is refused, the right one logs in over HTTP, and the stored hash is then Latchkey's
/// argon2id (the foreign hash is gone) that still accepts the same password. The accounts are
/// checked concurrently (each one's steps in order), as real clients would log in.
async fn import_and_log_in_each(app: &TestApp, document: &str) -> Vec<String> {
    let output = import(app, "django", document);
    assert!(output.status.success(), "{}", stderr(&output));
    let records: Vec<Value> = serde_json::from_str(document).unwrap();
    let accounts: Vec<(String, String)> = records
        .iter()
        .map(|record| &record["fields"])
        .filter(|fields| fields["is_active"].as_bool().unwrap())
        .map(|fields| {
            (
                fields["username"].as_str().unwrap().to_owned(),
                fields["password"].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(_, stored)| !stored.starts_with('!'))
        .collect();
    let checks = accounts.iter().map(|(username, stored)| async move {
        let before = user(app, username).await.unwrap();
        assert_eq!(
            before.password_hash.as_deref(),
            Some(stored.as_str()),
            "{username}: stored as given"
        );

        let wrong = app.login(username, "not the password at all").await;
        assert_ne!(
            wrong.status(),
            200,
            "{username}: a wrong password is refused"
        );
        let right = app.login(username, &password_for(username)).await;
        assert_eq!(
            right.status(),
            200,
            "{username}: the Django password logs in"
        );

        let after = user(app, username).await.unwrap().password_hash.unwrap();
        assert!(
            after.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{username}: {after}"
        );
        assert_ne!(&after, stored, "{username}: the foreign hash is gone");
        let again = app.login(username, &password_for(username)).await;
        assert_eq!(
            again.status(),
            200,
            "{username}: the re-hashed password still works"
        );
        format!("{}|{username}", stored.split('$').next().unwrap_or(""))
    });
    futures_util::future::join_all(checks).await
}

async fn every_django_hasher_logs_in_once_imported_and_is_then_argon2id(backend: Backend) {
    let app = spawn_app(backend).await;
    let checked = import_and_log_in_each(&app, SAMPLE).await;
    for name in [
        "django_pbkdf2_sha256",
        "django_pbkdf2_sha1",
        "django_argon2id",
        "django_argon2i",
        "django_bcrypt_sha256",
        "django_scrypt",
        "django_bcrypt",
        "bcrypt_2b",
        "bcrypt_2a",
        "bcrypt_2y",
    ] {
        assert!(
            checked.iter().any(|c| c.ends_with(&format!("|{name}"))),
            "{name}: {checked:?}"
        );
    }
}

/// The same with hashes made now by the real Django (the installed version) at its default
/// costs (argon2 with 100 MiB and p=8, bcrypt cost 12, scrypt N=2^14, p=5) except PBKDF2's:
/// 100,000 iterations instead of 10^6, because this debug build runs PBKDF2's generic code
/// unoptimised (10^6 take 5 s here, a few hundred ms in a release build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_made_now_by_real_django_at_default_cost_log_in() {
    let Some(python) = django_python() else {
        return;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/django/make_hashes.py");
    let output = std::process::Command::new(&python)
        .args([script, "--pbkdf2-iterations", "100000"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document = String::from_utf8(output.stdout).unwrap();
    for default_cost in [
        "pbkdf2_sha256$100000$",
        "m=102400,t=2,p=8$",
        "$2b$12$",
        "scrypt$16384$",
    ] {
        assert!(
            document.contains(default_cost),
            "{default_cost}: {document}"
        );
    }
    let app = spawn_app(Backend::Sqlite).await;
    let checked = import_and_log_in_each(&app, &document).await;
    assert_eq!(checked.len(), 10, "{checked:?}");
}

async fn a_malformed_record_imports_nothing_and_names_its_number(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut records: Vec<Value> = serde_json::from_str(SAMPLE).unwrap();
    records[2]["fields"]["password"] = "$argon2id$garbage".into();
    let line = assert_one_error_line(&import(
        &app,
        "django",
        &serde_json::to_string(&records).unwrap(),
    ));
    assert!(
        line.contains("record 3 (pk 3)") && line.contains("argon2"),
        "{line}"
    );
    assert!(
        !line.contains("garbage"),
        "the hash is never echoed: {line}"
    );
    assert_eq!(user_count(&app).await, 0, "nothing is imported");

    records[2]["fields"]["password"] = "pbkdf2_sha256$1000$salt$tooshort".into();
    let line = assert_one_error_line(&import(
        &app,
        "django",
        &serde_json::to_string(&records).unwrap(),
    ));
    assert!(
        line.contains("record 3") && line.contains("pbkdf2_sha256"),
        "{line}"
    );
    assert_eq!(user_count(&app).await, 0);

    // JSON lines: the malformed argon2id hash that used to be accepted and could never log in.
    let lines = concat!(
        "{\"username\":\"u1\",\"email\":\"u1@example.com\",\"password_hash\":\"$2b$04$uW0vVMjMuxYRE6UP9wT6yuw2vV7.9S8XupsE/OdO5kDTgWZpX7t/G\"}\n",
        "{\"username\":\"u2\",\"email\":\"u2@example.com\",\"password_hash\":\"$argon2id$garbage\"}\n",
    );
    let line = assert_one_error_line(&import(&app, "jsonl", lines));
    assert!(line.contains("line 2") && line.contains("argon2"), "{line}");
    assert_eq!(user_count(&app).await, 0);

    let line = assert_one_error_line(&import(&app, "django", "[{\"pk\": 1}]"));
    assert!(
        line.contains("record 1") && line.contains("fields"),
        "{line}"
    );
    let line = assert_one_error_line(&import(&app, "django", "{\"not\": \"a list\"}"));
    assert!(line.contains("dumpdata"), "{line}");
    assert_eq!(user_count(&app).await, 0);
}

async fn django_fields_carry_over(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = import(&app, "django", SAMPLE);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), "imported 12 user(s)");

    let none = user(&app, "no_password").await.unwrap();
    assert_eq!(none.password_hash, None, "Django's unusable `!` password");
    let inactive = user(&app, "inactive_user").await.unwrap();
    assert!(!inactive.is_active);
    let refused = app
        .login("inactive_user", &password_for("inactive_user"))
        .await;
    assert_ne!(refused.status(), 200, "an inactive account cannot log in");

    let first = user(&app, "django_pbkdf2_sha256").await.unwrap();
    assert_eq!(
        first.created_at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
        "2023-02-11T08:30:00.123"
    );
    let shown = stdout(&app.cli(&["users", "show", "django_pbkdf2_sha256"], None));
    assert!(
        shown.contains("last login: 2024-05-01T12:00:00Z"),
        "{shown}"
    );
    assert!(shown.contains("created: 2023-02-11T08:30:00Z"), "{shown}");
    assert!(
        shown.contains("password: set (imported pbkdf2_sha256"),
        "{shown}"
    );
    let shown = stdout(&app.cli(&["users", "show", "bcrypt_2a"], None));
    assert!(shown.contains("last login: never"), "{shown}");

    let again = assert_one_error_line(&import(&app, "django", SAMPLE));
    assert!(
        again.contains("record 1 (pk 1)") && again.contains("taken"),
        "{again}"
    );
    assert_eq!(user_count(&app).await, 12);
}

async fn plain_passwords_are_hashed_without_output_on_a_pipe(backend: Backend) {
    let app = spawn_app(backend).await;
    let lines: String = (0..8)
        .map(|i| format!("{{\"username\":\"p{i}\",\"email\":\"p{i}@example.com\",\"password\":\"plain horse battery {i}\",\"last_login\":\"2024-01-0{}T00:00:00Z\"}}\n", i + 1))
        .collect();
    let output = app.cli(&["users", "import"], Some(&lines));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stderr(&output), "", "no progress bar on a pipe");
    assert_eq!(stdout(&output).trim(), "imported 8 user(s)");
    let p3 = user(&app, "p3").await.unwrap();
    assert!(p3.password_hash.unwrap().starts_with("$argon2id$v=19$"));
    assert_eq!(app.login("p3", "plain horse battery 3").await.status(), 200);

    let more =
        "{\"username\":\"q\",\"email\":\"q@example.com\",\"password\":\"plain horse battery q\"}\n";
    let quiet = app.cli(&["users", "import", "--quiet"], Some(more));
    assert!(quiet.status.success(), "{}", stderr(&quiet));
    assert_eq!(stdout(&quiet), "");
    assert_eq!(stderr(&quiet), "");
}

fn create(app: &TestApp, username: &str, email: &str) {
    let output = app.cli(
        &["users", "create", "--username", username, "--email", email],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
}

async fn show_prints_the_account(backend: Backend) {
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
        Some("correct horse battery staple\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let shown = stdout(&app.cli(&["users", "show", "alice"], None));
    for expected in [
        "username: alice",
        "email: alice@example.com",
        "active: yes",
        "password: set\n",
        "last login: never",
        "sessions: 0 (0 browser, 0 API tokens)",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }
    assert!(shown.starts_with("id: "), "{shown}");
    assert_eq!(
        app.login("alice", "correct horse battery staple")
            .await
            .status(),
        200
    );
    let shown = stdout(&app.cli(&["users", "show", "alice"], None));
    assert!(
        shown.contains("sessions: 1 (0 browser, 1 API token)"),
        "{shown}"
    );
    assert!(!shown.contains("last login: never"), "{shown}");
    let line = assert_one_error_line(&app.cli(&["users", "show", "nobody"], None));
    assert!(line.contains("no user named \"nobody\""), "{line}");
}

async fn audit_events(app: &TestApp, user_id: i64) -> Vec<String> {
    app.blocking(move |state| {
        latchkey::db::audit::list_for_user(&mut state.db.get().unwrap(), user_id)
            .unwrap()
            .into_iter()
            .map(|(event, _)| event)
            .collect()
    })
    .await
}

async fn set_email_notifies_the_old_address_and_revokes_reset_tokens(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    create(&app, "alice", "alice@example.com");
    create(&app, "bob", "bob@example.com");
    create(&app, "carol@example.com", "carol@example.com");
    let issued = app.cli(&["tokens", "issue", "alice"], None);
    assert!(issued.status.success(), "{}", stderr(&issued));
    assert_eq!(app.reset_token_count().await, 1);

    let line =
        assert_one_error_line(&app.cli(&["users", "set-email", "alice", "BOB@example.com"], None));
    assert!(line.contains("already exists"), "{line}");
    let line =
        assert_one_error_line(&app.cli(&["users", "set-email", "alice", "not an address"], None));
    assert!(line.contains("not a valid email address"), "{line}");
    let line = assert_one_error_line(&app.cli(
        &["users", "set-email", "carol@example.com", "c@example.com"],
        None,
    ));
    assert!(line.contains("an email address other than"), "{line}");
    let line =
        assert_one_error_line(&app.cli(&["users", "set-email", "nobody", "n@example.com"], None));
    assert!(line.contains("no user named"), "{line}");
    assert_eq!(
        app.reset_token_count().await,
        1,
        "a refused change revokes nothing"
    );

    let output = app.cli(&["users", "set-email", "alice", "alice@new.example"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    let alice = user(&app, "alice").await.unwrap();
    assert_eq!(alice.email, "alice@new.example");
    assert_eq!(alice.email_key, "alice@new.example");
    assert_eq!(
        app.reset_token_count().await,
        0,
        "every reset token is revoked"
    );
    assert_eq!(
        audit_events(&app, alice.id).await,
        [
            "user_created",
            "reset_token_issued_by_admin",
            "user_updated"
        ]
    );

    let mail = sink.wait_for(1, WAIT).await;
    let notice = mail
        .iter()
        .find(|m| crate::fixtures::readable(m).contains("email address was changed"))
        .unwrap();
    assert_eq!(
        notice.rcpt_to,
        ["alice@example.com"],
        "the notice goes to the old address"
    );
    assert!(!crate::fixtures::readable(notice).contains("alice@new.example"));
}

async fn rename_follows_the_rules_of_create(backend: Backend) {
    let app = spawn_app(backend).await;
    create(&app, "alice", "alice@example.com");
    create(&app, "bob", "bob@example.com");
    let line = assert_one_error_line(&app.cli(&["users", "rename", "alice", "bob"], None));
    assert!(
        line.contains("a user named \"bob\" already exists"),
        "{line}"
    );
    let line =
        assert_one_error_line(&app.cli(&["users", "rename", "alice", "bob@example.com"], None));
    assert!(line.contains("an email address other than"), "{line}");
    let line = assert_one_error_line(&app.cli(
        &["users", "rename", "alice", "x\r\nBcc: evil@attacker.test"],
        None,
    ));
    assert!(line.contains("control characters"), "{line}");
    let line = assert_one_error_line(&app.cli(&["users", "rename", "nobody", "new"], None));
    assert!(line.contains("no user named"), "{line}");

    let output = app.cli(&["users", "rename", "alice", "alice@example.com"], None);
    assert!(
        output.status.success(),
        "its own address is allowed: {}",
        stderr(&output)
    );
    let output = app.cli(&["users", "rename", "alice@example.com", "alicia"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(user(&app, "alice").await.is_none());
    let alicia = user(&app, "alicia").await.unwrap();
    assert_eq!(alicia.email, "alice@example.com");
    assert_eq!(
        audit_events(&app, alicia.id).await,
        ["user_created", "user_updated", "user_updated"]
    );
}

async fn delete_removes_the_account_and_keeps_its_audit_rows_by_id(backend: Backend) {
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
        Some("correct horse battery staple\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    create(&app, "bob", "bob@example.com");
    let token = app.token("alice", "correct horse battery staple").await;
    assert!(app
        .cli(&["tokens", "issue", "alice"], None)
        .status
        .success());
    let alice = user(&app, "alice").await.unwrap();
    app.cli(&["users", "rename", "alice", "alice2"], None);

    let line = assert_one_error_line(&app.cli(&["users", "delete", "alice2"], None));
    assert!(line.contains("--yes"), "{line}");
    assert!(
        user(&app, "alice2").await.is_some(),
        "nothing deleted without --yes"
    );

    let output = app.cli(&["users", "delete", "alice2", "--yes"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(user(&app, "alice2").await.is_none());
    assert!(user(&app, "bob").await.is_some(), "only that account");
    assert_eq!(app.reset_token_count().await, 0);
    let me = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "its bearer token is dead");
    let (tokens, sessions) = app
        .blocking(move |state| {
            use latchkey::db::schema::{api_tokens, sessions};
            let mut conn = state.db.get().unwrap();
            let tokens: i64 = api_tokens::table
                .filter(api_tokens::user_id.eq(alice.id))
                .count()
                .get_result(&mut *conn)
                .unwrap();
            let sessions: i64 = sessions::table
                .filter(sessions::user_id.eq(alice.id))
                .count()
                .get_result(&mut *conn)
                .unwrap();
            (tokens, sessions)
        })
        .await;
    assert_eq!((tokens, sessions), (0, 0));
    assert_eq!(
        audit_events(&app, alice.id).await,
        [
            "user_created",
            "login_succeeded",
            "reset_token_issued_by_admin",
            "user_updated",
            "user_deleted"
        ],
        "the audit rows keep the events under the account's id"
    );
    let line = assert_one_error_line(&app.cli(&["users", "delete", "alice2", "--yes"], None));
    assert!(line.contains("no user named"), "{line}");
    let line = assert_one_error_line(&app.cli(&["users", "show", "alice2"], None));
    assert!(line.contains("no user named"), "{line}");
}

/// The dummy-hash rule with an imported hash that costs far more than argon2id: after a
/// restart (the floor is measured at start-up), a wrong password for an unknown name takes as
/// long as one for the imported account, instead of answering ~20 times faster and telling
/// which names exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_name_costs_as_much_as_an_account_with_an_imported_hash() {
    use base64::Engine;
    let app = spawn_app(Backend::Sqlite).await;
    // Made here, not by Django: only its cost matters (200,000 PBKDF2 rounds).
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"victim's password", b"salt1234", 200_000, &mut hash);
    let stored = format!(
        "pbkdf2_sha256$200000$salt1234${}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    );
    let line = format!("{{\"username\":\"victim\",\"email\":\"victim@example.com\",\"password_hash\":\"{stored}\"}}\n");
    let output = import(&app, "jsonl", &line);
    assert!(output.status.success(), "{}", stderr(&output));

    let restarted = app.sibling(&[]).await;
    crate::helpers::eventually(
        std::time::Duration::from_secs(30),
        "the floor was never measured",
        || {
            let measured = !restarted.state.hasher.timing_floor().is_zero();
            async move { measured.then_some(()) }
        },
    )
    .await;
    let timed = |login: &'static str| {
        let restarted = &restarted;
        async move {
            let started = std::time::Instant::now();
            let response = restarted.login(login, "a wrong password").await;
            assert_ne!(response.status(), 200);
            started.elapsed()
        }
    };
    let imported = timed("victim").await;
    // The floor in force now: the fastest check of this kind of hash so far (the one just made
    // may have been faster than the start-up measurement, made while other tests ran).
    let floor = restarted.state.hasher.timing_floor();
    let unknown = timed("nobody-at-all").await;
    assert!(unknown >= floor, "{unknown:?} < floor {floor:?}");
    assert!(
        unknown >= imported / 3,
        "unknown {unknown:?} vs imported {imported:?} (floor {floor:?})"
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`), plain passwords are hashed under
/// a progress bar with count, rate and time left (`TERM` set, as terminals do); `--quiet` draws
/// none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_a_progress_bar_unless_quiet() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: util-linux `script` is not installed");
        return;
    }
    let app = spawn_app(Backend::Sqlite).await;
    let on_terminal = |name: &str, flags: &str| {
        let lines: String = (0..6)
            .map(|i| format!("{{\"username\":\"{name}{i}\",\"email\":\"{name}{i}@example.com\",\"password\":\"plain horse battery {i}\"}}\n"))
            .collect();
        let input = app.db.dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&input, lines).unwrap();
        let output = std::process::Command::new("script")
            .args([
                "-qec",
                &format!("exec \"$LATCHKEY_BIN\" users import {flags} < \"$INPUT\""),
                "/dev/null",
            ])
            .env_clear()
            .envs(&app.vars)
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TERM", "xterm")
            .env("LATCHKEY_BIN", env!("CARGO_BIN_EXE_latchkey"))
            .env("INPUT", &input)
            .current_dir(app.db.dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shown = on_terminal("t", "");
    assert!(shown.contains("hashing passwords ["), "{shown:?}");
    assert!(
        shown.contains("/6") && shown.contains("/s") && shown.contains("left"),
        "{shown:?}"
    );
    assert!(shown.contains("imported 6 user(s)"), "{shown:?}");
    let quiet = on_terminal("q", "--quiet");
    assert!(!quiet.contains("hashing"), "{quiet:?}");
    assert_eq!(user_count(&app).await, 12);
}
