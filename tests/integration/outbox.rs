//! The outbox and its workers against a real SMTP server over TCP.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use latchkey::db::outbox::{DEAD, PENDING, SENT};
use latchkey::email::templates::PasswordChangedMail;
use latchkey::services::outbox::{open_body, NewEmail, KIND_PASSWORD_CHANGED};

use crate::helpers::{
    eventually, let_time_pass, spawn_app_with, stdout, Backend, ServerProcess, TestApp,
};
use crate::on_both_backends;
use crate::smtp_sink::{Script, SmtpSink};

const WAIT: Duration = Duration::from_secs(20);

on_both_backends!(
    a_queued_message_is_delivered_as_multipart_with_its_message_id,
    mail_queued_while_smtp_is_down_is_delivered_once_it_is_up,
    a_550_is_dead_after_one_attempt_and_retry_dead_delivers_it,
    a_temporary_refusal_is_retried_until_accepted,
    a_silent_server_times_out_and_the_message_is_rescheduled,
    a_stalled_recipient_does_not_hold_up_other_mail,
    a_message_that_expired_before_sending_is_never_sent,
    a_thousand_messages_are_each_delivered_once,
    the_file_backend_writes_one_eml_per_message,
    workers_stop_when_their_application_is_dropped,
    outbox_list_shows_messages_without_bodies_and_status_exits_3_when_one_is_dead,
);

fn smtp_vars(sink_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LATCHKEY_EMAIL_BACKEND", "smtp".to_owned()),
        ("LATCHKEY_SMTP_URL", sink_url.to_owned()),
        ("LATCHKEY_EMAIL_RETRY_BASE", "100ms".to_owned()),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms".to_owned()),
    ]
}

async fn app_for(backend: Backend, sink_url: &str, extra: &[(&'static str, &str)]) -> TestApp {
    let mut vars = smtp_vars(sink_url);
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(backend, &pairs).await
}

/// Enqueues `count` password-changed notices for one new user, in one transaction.
pub async fn enqueue_notices(app: &TestApp, username: &str, count: usize) -> Vec<i64> {
    enqueue_for(app, username, count, None).await
}

async fn enqueue_for(
    app: &TestApp,
    username: &str,
    count: usize,
    expires_at: Option<chrono::NaiveDateTime>,
) -> Vec<i64> {
    let user = app
        .create_user(username, &format!("{username}@example.com"))
        .await;
    app.blocking(move |state| {
        let link = format!(
            "{}/wasnt-me/{}",
            state.config.public_url.join(""),
            "0".repeat(64)
        );
        let content = PasswordChangedMail {
            product: "Latchkey",
            username: &user.username,
            changed_at: latchkey::db::now(),
            ip_address: None,
            user_agent: None,
            wasnt_me_link: &link,
            wasnt_me_expires_at: latchkey::db::now(),
            wasnt_me_lifetime: Duration::from_secs(3600),
        }
        .render()
        .unwrap();
        let mut conn = state.db.get().unwrap();
        let ids = conn
            .write(|conn| {
                (0..count)
                    .map(|_| {
                        state.outbox.enqueue(
                            conn,
                            &NewEmail {
                                kind: KIND_PASSWORD_CHANGED,
                                user_id: Some(user.id),
                                recipient: &user.email,
                                content: &content,
                                expires_at,
                            },
                        )
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap();
        state.outbox.notify();
        ids
    })
    .await
}

async fn a_queued_message_is_delivered_as_multipart_with_its_message_id(backend: Backend) {
    let sink = SmtpSink::start();
    let app = app_for(backend, &sink.url(), &[]).await;
    enqueue_notices(&app, "alice", 1).await;

    let message = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(message.rcpt_to, vec!["alice@example.com"]);
    assert_eq!(message.mail_from, "no-reply@localhost");
    assert_eq!(
        message.header("Subject").unwrap(),
        "Your Latchkey password was changed"
    );
    assert_eq!(message.header("To").unwrap(), "alice@example.com");
    assert!(message
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    assert!(message.data.contains("text/plain") && message.data.contains("text/html"));
    assert!(message.data.contains("Hello alice"));

    let rows = app
        .wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
    let row = &rows[0];
    assert_eq!(message.message_id(), row.message_id);
    assert_eq!(
        (row.attempts, row.body_text.as_str(), row.body_html.as_str()),
        (1, "", "")
    );
    assert!(row.sent_at.is_some() && row.lease_until.is_none());
}

async fn mail_queued_while_smtp_is_down_is_delivered_once_it_is_up(backend: Backend) {
    let port = crate::helpers::free_port();
    let app = app_for(backend, &format!("smtp://127.0.0.1:{port}"), &[]).await;
    let ids = enqueue_notices(&app, "alice", 3).await;

    let rows = app
        .wait_for_outbox(WAIT, |rows| {
            rows.iter().all(|r| r.state == PENDING && r.attempts >= 2)
        })
        .await;
    let bodies = &app.state.keys.outbox_bodies;
    assert!(
        rows.iter().all(|r| r.last_error.is_some()
            && !r.body_text.contains("alice")
            && open_body(bodies, &r.body_text).unwrap().contains("alice")),
        "a pending message keeps its body, sealed"
    );

    let sink = SmtpSink::start_on(port, Script::default());
    let messages = sink.wait_for(3, WAIT).await;
    app.wait_for_outbox(WAIT, |rows| rows.iter().all(|r| r.state == SENT))
        .await;
    let distinct: HashSet<String> = messages.iter().map(|m| m.message_id()).collect();
    assert_eq!((messages.len(), distinct.len()), (ids.len(), ids.len()));
}

async fn a_550_is_dead_after_one_attempt_and_retry_dead_delivers_it(backend: Backend) {
    let sink = SmtpSink::start_with(Script {
        rcpt_replies: [(550, "5.1.1 no such user")].into(),
        ..Script::default()
    });
    let app = app_for(backend, &sink.url(), &[]).await;
    enqueue_notices(&app, "alice", 1).await;

    let rows = app
        .wait_for_outbox(WAIT, |rows| rows[0].state == DEAD)
        .await;
    assert_eq!(rows[0].attempts, 1);
    assert!(
        rows[0].last_error.as_deref().unwrap().contains("550"),
        "{:?}",
        rows[0].last_error
    );
    assert_eq!(
        (rows[0].body_text.as_str(), rows[0].body_html.as_str()),
        ("", "")
    );
    let status = stdout(&app.cli(&["outbox", "status"], None));
    assert!(
        status.contains("dead\t1") && status.contains("sent\t0"),
        "{status}"
    );

    let retried = app.cli(&["outbox", "retry", "--dead"], None);
    assert!(
        stdout(&retried).contains("1 dead message(s) requeued"),
        "{}",
        stdout(&retried)
    );
    let message = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        message.message_id(),
        rows[0].message_id,
        "a retried message keeps its Message-ID"
    );
    assert!(
        message.data.contains("Hello alice"),
        "the cleared body was rendered again"
    );
    app.wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
}

async fn a_temporary_refusal_is_retried_until_accepted(backend: Backend) {
    let sink = SmtpSink::start_with(Script {
        data_replies: [(451, "4.3.0 try later"), (451, "4.3.0 try later")].into(),
        ..Script::default()
    });
    let app = app_for(backend, &sink.url(), &[]).await;
    enqueue_notices(&app, "alice", 1).await;
    sink.wait_for(1, WAIT).await;
    let rows = app
        .wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
    assert_eq!(rows[0].attempts, 3);
}

async fn a_silent_server_times_out_and_the_message_is_rescheduled(backend: Backend) {
    let sink = SmtpSink::start_with(Script {
        silent: true,
        ..Script::default()
    });
    let app = app_for(backend, &sink.url(), &[("LATCHKEY_SMTP_TIMEOUT", "1s")]).await;
    // Meant: the silent server never takes the message; it stays scheduled for a retry.
    app.expect_leftover_work();
    enqueue_notices(&app, "alice", 1).await;
    let rows = app
        .wait_for_outbox(WAIT, |rows| {
            rows[0].attempts >= 2 && rows[0].state == PENDING
        })
        .await;
    let error = rows[0].last_error.clone().unwrap().to_lowercase();
    assert!(
        error.contains("timed out waiting for the smtp server"),
        "{error}"
    );
    assert!(rows[0].next_attempt_at > rows[0].created_at);
}

async fn a_stalled_recipient_does_not_hold_up_other_mail(backend: Backend) {
    let sink = SmtpSink::start_with(Script {
        hang_on_rcpt: Some("hang@example.com".to_owned()),
        ..Script::default()
    });
    let app = app_for(backend, &sink.url(), &[("LATCHKEY_SMTP_TIMEOUT", "30s")]).await;
    // Meant: the stalled recipient's message is still being sent when the test ends.
    app.expect_leftover_work();
    enqueue_notices(&app, "hang", 1).await;
    for name in ["bob", "carol", "dave", "erin"] {
        enqueue_notices(&app, name, 1).await;
    }
    let messages = sink.wait_for(4, Duration::from_secs(10)).await;
    assert!(messages
        .iter()
        .all(|m| m.rcpt_to != vec!["hang@example.com"]));
    let rows = app.outbox_rows().await;
    assert_eq!(
        rows[0].state, "sending",
        "the stalled message is still held by its worker"
    );
}

async fn a_message_that_expired_before_sending_is_never_sent(backend: Backend) {
    let sink = SmtpSink::start();
    let app = app_for(backend, &sink.url(), &[]).await;
    let past = latchkey::db::now() - chrono::Duration::minutes(1);
    enqueue_for(&app, "alice", 1, Some(past)).await;
    let rows = app
        .wait_for_outbox(WAIT, |rows| rows[0].state == DEAD)
        .await;
    assert_eq!(
        rows[0].last_error.as_deref(),
        Some(latchkey::db::outbox::EXPIRED_ERROR)
    );
    assert_eq!(rows[0].body_text, "");
    assert!(sink.messages().is_empty());
    let status = stdout(&app.cli(&["outbox", "status"], None));
    assert!(status.contains("(1 expired before sending)"), "{status}");
}

async fn a_thousand_messages_are_each_delivered_once(backend: Backend) {
    let sink = SmtpSink::start();
    let app = app_for(backend, &sink.url(), &[("LATCHKEY_EMAIL_WORKERS", "4")]).await;
    enqueue_notices(&app, "alice", 1000).await;
    let messages = sink.wait_for(1000, Duration::from_secs(120)).await;
    app.wait_for_outbox(WAIT, |rows| rows.iter().all(|r| r.state == SENT))
        .await;
    let distinct: HashSet<String> = messages.iter().map(|m| m.message_id()).collect();
    assert_eq!((sink.messages().len(), distinct.len()), (1000, 1000));
}

async fn the_file_backend_writes_one_eml_per_message(backend: Backend) {
    let app = spawn_app_with(backend, &[("LATCHKEY_EMAIL_BACKEND", "file")]).await;
    enqueue_notices(&app, "alice", 2).await;
    app.wait_for_outbox(WAIT, |rows| rows.iter().all(|r| r.state == SENT))
        .await;
    let dir = std::path::PathBuf::from(&app.vars["LATCHKEY_MAIL_DIR"]);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2);
    assert!(files
        .iter()
        .all(|f| f.extension().is_some_and(|e| e == "eml")));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.contains("To: alice@example.com") && text.contains("Hello alice"));
}

/// Variables for `latchkey serve` child processes sharing the app's database.
fn process_vars(app: &TestApp, sink: &SmtpSink, timeout: &str) -> HashMap<String, String> {
    let mut vars = app.vars.clone();
    vars.insert("LATCHKEY_EMAIL_WORKERS".to_owned(), "4".to_owned());
    for (key, value) in smtp_vars(&sink.url()) {
        vars.insert(key.to_owned(), value);
    }
    vars.insert("LATCHKEY_SMTP_TIMEOUT".to_owned(), timeout.to_owned());
    vars
}

/// A `latchkey serve` process caught in the middle of a send: the SMTP server has the body
/// and withholds its reply. The in-process app only enqueues (it has no workers).
struct SendInFlight {
    sink: SmtpSink,
    app: TestApp,
    vars: HashMap<String, String>,
    server: ServerProcess,
}

async fn send_in_flight(smtp_timeout: &str) -> SendInFlight {
    let sink = SmtpSink::start_with(Script {
        hold_data: true,
        ..Script::default()
    });
    let app = app_for(
        Backend::Sqlite,
        &sink.url(),
        &[("LATCHKEY_EMAIL_WORKERS", "0")],
    )
    .await;
    let vars = process_vars(&app, &sink, smtp_timeout);
    let server = ServerProcess::start(&vars, app.db.dir.path()).await;
    enqueue_notices(&app, "alice", 1).await;
    eventually(WAIT, "the server never started sending", || {
        let started = sink.data_started();
        async move { (started > 0).then_some(()) }
    })
    .await;
    SendInFlight {
        sink,
        app,
        vars,
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_process_was_killed_mid_send_is_sent_by_the_next_process() {
    let SendInFlight {
        sink,
        app,
        vars,
        mut server,
    } = send_in_flight("2s").await;
    server.signal("-KILL");
    server.wait_exit(WAIT).await;
    assert_eq!(app.outbox_rows().await[0].state, "sending");

    sink.set_script(Script::default());
    let _next = ServerProcess::start(&vars, app.db.dir.path()).await;
    let message = sink.wait_for(1, WAIT).await.remove(0);
    let rows = app
        .wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
    assert_eq!(message.message_id(), rows[0].message_id);
    assert!(
        rows[0].attempts >= 2,
        "claimed again after the lease expired"
    );
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_message_in_flight_finish() {
    let SendInFlight {
        sink,
        app,
        mut server,
        ..
    } = send_in_flight("10s").await;
    server.signal("-TERM");
    // Shutdown has begun once the listener is gone (no drain delay in tests): only then is the
    // held message let through.
    let port = server.port;
    eventually(WAIT, "the server never stopped listening", || async move {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .await;
    sink.set_script(Script::default());
    let status = server.wait_exit(WAIT).await;
    assert!(status.success(), "{status:?}");
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(app.outbox_rows().await[0].state, SENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_outbox_send_each_message_once() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let sink = SmtpSink::start();
    let app = app_for(backend, &sink.url(), &[("LATCHKEY_EMAIL_WORKERS", "0")]).await;
    let vars = process_vars(&app, &sink, "5s");
    let _one = ServerProcess::start(&vars, app.db.dir.path()).await;
    let _two = ServerProcess::start(&vars, app.db.dir.path()).await;
    enqueue_notices(&app, "alice", 1000).await;
    let messages = sink.wait_for(1000, Duration::from_secs(120)).await;
    app.wait_for_outbox(WAIT, |rows| rows.iter().all(|r| r.state == SENT))
        .await;
    // A clock on purpose: a message sent twice would arrive within this window.
    let_time_pass(Duration::from_millis(500)).await;
    let distinct: HashSet<String> = messages.iter().map(|m| m.message_id()).collect();
    assert_eq!((sink.messages().len(), distinct.len()), (1000, 1000));
}

async fn workers_stop_when_their_application_is_dropped(backend: Backend) {
    let sink = SmtpSink::start();
    let mut app = app_for(backend, &sink.url(), &[]).await;
    app.server.abort();
    assert!((&mut app.server).await.unwrap_err().is_cancelled());
    // A worker may be mid-step when the pool is dropped; give it time to finish that step (a
    // bounded wait: the pool's threads end unobserved, nothing in the library reports it).
    let_time_pass(Duration::from_millis(500)).await;
    let ids = enqueue_notices(&app, "alice", 1).await;
    // A clock on purpose: the claim is that nothing is sent for ten poll intervals.
    let_time_pass(Duration::from_secs(1)).await;
    assert_eq!(sink.count(), 0, "ten poll intervals later nothing was sent");
    let rows = app.outbox_rows().await;
    assert_eq!((rows[0].id, rows[0].state.as_str()), (ids[0], PENDING));

    let next = app.sibling(&[]).await;
    sink.wait_for(1, WAIT).await;
    // The sink has the message before the worker records it: wait for the record.
    next.wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
    assert_eq!(sink.count(), 1, "another instance sends it, once");
}

async fn outbox_list_shows_messages_without_bodies_and_status_exits_3_when_one_is_dead(
    backend: Backend,
) {
    let sink = SmtpSink::start_with(Script {
        rcpt_replies: [(550, "5.1.1 no such user")].into(),
        ..Script::default()
    });
    let app = app_for(backend, &sink.url(), &[("LATCHKEY_EMAIL_WORKERS", "0")]).await;
    let healthy = app.cli(&["outbox", "status"], None);
    assert_eq!(healthy.status.code(), Some(0), "nothing dead yet");
    let ids = enqueue_notices(&app, "alice", 2).await;
    let listed = app.cli(&["outbox", "list"], None);
    assert_eq!(listed.status.code(), Some(0));
    let lines: Vec<String> = stdout(&listed).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    let first: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(first[0], ids[1].to_string(), "newest first");
    assert_eq!(
        &first[1..6],
        ["pending", "alice@example.com", "password_changed", "0", "-"]
    );

    // A worker meets the 550 for one message (the sink accepts the other) and gives up on it.
    let worker = app.sibling(&[("LATCHKEY_EMAIL_WORKERS", "1")]).await;
    let rows = worker
        .wait_for_outbox(WAIT, |rows| {
            rows.iter()
                .all(|row| row.state == DEAD || row.state == SENT)
        })
        .await;
    let dead = rows.iter().find(|row| row.state == DEAD).unwrap();
    let status = app.cli(&["outbox", "status"], None);
    assert_eq!(status.status.code(), Some(3), "{}", stdout(&status));
    assert!(stdout(&status).contains("dead\t1"), "{}", stdout(&status));
    assert!(crate::helpers::stderr(&status).is_empty(), "no error line");

    let one = app.cli(&["outbox", "list", "--limit", "1"], None);
    assert_eq!(stdout(&one).lines().count(), 1, "--limit 1");
    let json = app.cli(&["outbox", "list", "--state", "dead", "--json"], None);
    assert_eq!(json.status.code(), Some(0));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1, "only the dead one");
    let row = rows[0].as_object().unwrap();
    assert_eq!(row["id"], dead.id);
    assert_eq!(row["state"], "dead");
    assert_eq!(row["recipient"], "alice@example.com");
    assert_eq!(row["attempts"], 1);
    assert!(row["last_error"].as_str().unwrap().contains("550"));
    assert!(row["created_at"].as_str().unwrap().ends_with('Z'));
    let mut keys: Vec<&str> = row.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "attempts",
            "created_at",
            "expires_at",
            "id",
            "kind",
            "last_error",
            "next_attempt_at",
            "recipient",
            "sent_at",
            "state"
        ],
        "never a body or subject"
    );
    let pending = app.cli(&["outbox", "list", "--state", "pending"], None);
    assert_eq!(stdout(&pending), "");
    let bad = app.cli(&["outbox", "list", "--state", "lost"], None);
    assert_eq!(bad.status.code(), Some(2));
}
