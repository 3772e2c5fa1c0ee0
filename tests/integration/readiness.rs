//! `/readyz` and the drain on SIGTERM: readiness follows the database and its migrations, and a
//! `serve` process told to stop first says `draining` while it still serves, then stops
//! accepting, finishes the request and the mail in hand, and exits 0.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::json;

use crate::helpers::{eventually, spawn_app_with, stdout, Backend, ServerProcess, TestApp};
use crate::on_both_backends;
use crate::smtp_sink::{Script, SmtpSink};

on_both_backends!(
    readyz_follows_the_database_and_its_migrations,
    sigterm_drains_then_finishes_the_request_and_the_mail_in_hand_and_exits_0,
);

async fn readyz(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn execute(app: &TestApp, sql: &'static str) {
    app.blocking(move |state| {
        let mut conn = state.db.get().unwrap();
        diesel::sql_query(sql).execute(&mut *conn).unwrap();
    })
    .await;
}

async fn readyz_follows_the_database_and_its_migrations(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    assert_eq!(readyz(&app).await, (200, json!({ "status": "ready" })));

    // A newer binary migrated the database: this one must not take traffic.
    execute(
        &app,
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')",
    )
    .await;
    assert_eq!(
        readyz(&app).await,
        (503, json!({ "status": "schema_ahead_of_binary" }))
    );
    assert_eq!(app.get("/healthz").await.status(), 200, "still alive");
    execute(
        &app,
        "DELETE FROM __diesel_schema_migrations WHERE version = '29991231000000'",
    )
    .await;
    assert_eq!(readyz(&app).await.0, 200);

    // A migration this binary needs is missing (as under `serve --no-migrate`).
    execute(
        &app,
        "DELETE FROM __diesel_schema_migrations WHERE version = '20261202000150'",
    )
    .await;
    assert_eq!(
        readyz(&app).await,
        (503, json!({ "status": "migrations_pending" }))
    );
}

/// Sends a POST whose body is still incomplete, so the request is in flight on the server.
fn start_request(port: u16, body: &str, sent: usize) -> std::net::TcpStream {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST /api/password_reset/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..sent]
    )
    .unwrap();
    stream.flush().unwrap();
    stream
}

async fn sigterm_drains_then_finishes_the_request_and_the_mail_in_hand_and_exits_0(
    backend: Backend,
) {
    const DELAY: Duration = Duration::from_secs(2);
    let sink = SmtpSink::start_with(Script {
        hold_data: true,
        ..Script::default()
    });
    let app = spawn_app_with(backend, &[("LATCHKEY_EMAIL_WORKERS", "0")]).await;
    app.create_user("alice", "alice@example.com").await;
    let mut vars: HashMap<String, String> = app.vars.clone();
    for (key, value) in [
        ("LATCHKEY_EMAIL_WORKERS", "1".to_owned()),
        ("LATCHKEY_EMAIL_BACKEND", "smtp".to_owned()),
        ("LATCHKEY_SMTP_URL", sink.url()),
        ("LATCHKEY_SMTP_TIMEOUT", "30s".to_owned()),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms".to_owned()),
        ("LATCHKEY_REQUIRE_USABLE_PASSWORD", "false".to_owned()),
        ("LATCHKEY_DRAIN_DELAY", "2s".to_owned()),
    ] {
        vars.insert(key.to_owned(), value);
    }
    let mut server = ServerProcess::start(&vars, app.db.dir.path()).await;
    let port = server.port;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);

    // A reset mail is on its way: the sink holds the end-of-data reply.
    let requested = client
        .post(format!("{base}/api/password_reset/"))
        .json(&json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(requested.status(), 200);
    eventually(
        Duration::from_secs(20),
        "the mail was never being sent",
        || {
            let started = sink.data_started();
            async move { (started > 0).then_some(()) }
        },
    )
    .await;
    let body = r#"{"email": "nobody@example.com"}"#;
    let mut in_flight = start_request(port, body, 5);

    let signalled = Instant::now();
    server.signal("-TERM");
    // Draining: readiness says so while every other request is still served.
    let draining: serde_json::Value = eventually(
        Duration::from_secs(10),
        "readiness never said draining",
        || async {
            let response = client.get(format!("{base}/readyz")).send().await.unwrap();
            if response.status() != 503 {
                return None;
            }
            Some(response.json().await.unwrap())
        },
    )
    .await;
    assert_eq!(draining, json!({ "status": "draining" }));
    let served = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(served.status(), 200, "draining still serves");

    // Then it stops accepting, not before the delay.
    eventually(
        Duration::from_secs(20),
        "the server never stopped accepting",
        || async move {
            std::net::TcpStream::connect(("127.0.0.1", port))
                .is_err()
                .then_some(())
        },
    )
    .await;
    let stopped_after = signalled.elapsed();
    assert!(
        stopped_after >= DELAY,
        "stopped accepting {stopped_after:?} after SIGTERM, before the drain delay"
    );

    // The request in flight is finished.
    in_flight.write_all(&body.as_bytes()[5..]).unwrap();
    let mut answer = String::new();
    in_flight.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // So is the mail in hand: the process waits for it, then exits 0.
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "waits for the send"
    );
    sink.set_script(Script::default());
    let status = server.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "{status:?}");
    assert_eq!(sink.messages().len(), 1);
    let sent = app.cli(&["outbox", "list", "--state", "sent"], None);
    assert_eq!(
        stdout(&sent).lines().count(),
        1,
        "recorded as sent before the exit"
    );
}
