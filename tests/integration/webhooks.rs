//! Webhooks through the outbox, against a real HTTP receiver started by the test, with every
//! signature checked by an independent Standard Webhooks implementation (the `standardwebhooks`
//! package from PyPI, in the venv `.ci/test` makes), on both backends.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::fixtures::{app_with_mail, seed, ALICE_PASSWORD, WAIT};
use crate::helpers::{every_variant_required, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_audit_event_arrives_signed_once_per_webhook_id,
    a_receiver_that_is_down_gets_the_event_later_with_the_same_id,
    a_4xx_is_dead_at_once_and_408_429_5xx_are_retried,
    reset_delivery_webhook_sends_the_token_by_webhook_only,
);

/// The example secret of the Standard Webhooks specification.
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The venv python with `standardwebhooks`, from `LATCHKEY_TEST_WEBHOOKS_PYTHON` (`.ci/test`
/// makes one). Under `LATCHKEY_TEST_REQUIRE_ALL=1` a missing variable is a failure.
fn webhooks_python() -> Option<String> {
    match std::env::var("LATCHKEY_TEST_WEBHOOKS_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if every_variant_required() => {
            panic!("LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_WEBHOOKS_PYTHON is not set: the webhook tests would be skipped")
        }
        _ => {
            eprintln!(
                "skipped: set LATCHKEY_TEST_WEBHOOKS_PYTHON to a venv python with standardwebhooks"
            );
            None
        }
    }
}

/// One POST the receiver got.
#[derive(Debug, Clone)]
struct Delivered {
    headers: HashMap<String, String>,
    body: String,
    /// The status it was answered with.
    status: u16,
}

#[derive(Default)]
struct ReceiverState {
    /// Statuses to answer with, in order; 200 once empty.
    script: VecDeque<u16>,
    got: Vec<Delivered>,
}

/// A minimal HTTP/1.1 server on 127.0.0.1: one request per connection.
#[derive(Clone)]
struct Receiver {
    port: u16,
    state: Arc<Mutex<ReceiverState>>,
}

impl Receiver {
    fn start(script: &[u16]) -> Self {
        Self::start_on(TcpListener::bind("127.0.0.1:0").unwrap(), script)
    }

    fn start_on(listener: TcpListener, script: &[u16]) -> Self {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ReceiverState {
            script: script.iter().copied().collect(),
            got: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let mut headers = HashMap::new();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap();
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
                let length: usize = headers
                    .get("content-length")
                    .map_or(0, |v| v.parse().unwrap());
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let status = {
                    let mut state = shared.lock().unwrap();
                    let status = state.script.pop_front().unwrap_or(200);
                    state.got.push(Delivered {
                        headers,
                        body: String::from_utf8(body).unwrap(),
                        status,
                    });
                    status
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Scripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Self { port, state }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Delivered> {
        self.state.lock().unwrap().got.clone()
    }

    /// Waits until `check` holds for what arrived; panics after [`WAIT`].
    async fn wait(&self, check: impl Fn(&[Delivered]) -> bool) -> Vec<Delivered> {
        let found = crate::helpers::poll_until(WAIT, || {
            let got = self.got();
            let found = check(&got);
            async move { found.then_some(got) }
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "the receiver never got what was expected: {:#?}",
                self.got()
            )
        })
    }
}

/// Checks every delivery's signature with the `standardwebhooks` package; returns the events.
fn verified(python: &str, deliveries: &[Delivered]) -> Vec<Value> {
    let input: Vec<Value> = deliveries
        .iter()
        .map(|d| json!({ "headers": d.headers, "body": d.body }))
        .collect();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
hook = Webhook(sys.argv[1])
out = []
for item in json.load(sys.stdin):
    out.append(hook.verify(item["body"], item["headers"]))
print(json.dumps(out))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script, SECRET])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&input).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "standardwebhooks refused a signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn app_with_webhooks(backend: Backend, url: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("LATCHKEY_WEBHOOK_URL", url),
        ("LATCHKEY_WEBHOOK_SECRET", SECRET),
        ("LATCHKEY_EMAIL_RETRY_BASE", "200ms"),
    ];
    vars.extend_from_slice(extra);
    let (app, _sink) = app_with_mail(backend, &vars).await;
    app
}

async fn log_in(app: &TestApp, password: &str) -> u16 {
    app.post_json(
        "/api/auth/login",
        json!({ "username": "alice", "password": password }),
    )
    .await
    .status()
    .as_u16()
}

async fn every_audit_event_arrives_signed_once_per_webhook_id(backend: Backend) {
    let Some(python) = webhooks_python() else {
        return;
    };
    let receiver = Receiver::start(&[]);
    let app = app_with_webhooks(backend, &receiver.url(), &[]).await;
    seed(&app).await;
    assert_eq!(log_in(&app, "a wrong password guess").await, 401);
    assert_eq!(log_in(&app, ALICE_PASSWORD).await, 200);
    // alice, bob, carol, dave created (+ carol deactivated), a failed and a good login.
    let got = receiver.wait(|got| got.len() >= 7).await;
    let events = verified(&python, &got);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for expected in [
        "user_created",
        "user_deactivated",
        "login_failed",
        "login_succeeded",
    ] {
        assert!(types.contains(&expected), "{expected}: {types:?}");
    }
    let failed = events.iter().find(|e| e["type"] == "login_failed").unwrap();
    assert_eq!(failed["data"]["ip_address"], "127.0.0.1");
    assert_eq!(failed["data"]["detail"]["reason"], "invalid_password");
    assert!(failed["data"]["user_id"].as_i64().is_some());
    assert!(failed["timestamp"].as_str().unwrap().ends_with('Z'));
    let ids: std::collections::HashSet<&str> = got
        .iter()
        .map(|d| d.headers["webhook-id"].as_str())
        .collect();
    assert_eq!(ids.len(), got.len(), "each event once, under its own id");
    for delivery in &got {
        assert!(!delivery.body.contains(ALICE_PASSWORD));
        assert!(!delivery.body.contains("argon2"));
    }
    // A forged body fails the independent verification (the check can fail).
    let mut forged = got[0].clone();
    forged.body.push(' ');
    let result = std::panic::catch_unwind(|| verified(&python, &[forged]));
    assert!(result.is_err(), "a forged body must not verify");
}

async fn a_receiver_that_is_down_gets_the_event_later_with_the_same_id(backend: Backend) {
    let Some(python) = webhooks_python() else {
        return;
    };
    // A port nobody listens on yet.
    let reserved = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let url = format!("http://127.0.0.1:{port}/hook");
    let app = app_with_webhooks(backend, &url, &[]).await;
    seed(&app).await;
    assert_eq!(log_in(&app, ALICE_PASSWORD).await, 200);
    // Wait until a delivery failed and is waiting for its retry.
    let rows = app
        .wait_for_outbox(WAIT, |rows| {
            rows.iter()
                .any(|r| r.kind == "webhook" && r.state == "pending" && r.attempts >= 1)
        })
        .await;
    let queued: std::collections::HashMap<String, i64> = rows
        .iter()
        .filter(|r| r.kind == "webhook")
        .map(|r| (r.message_id.clone(), r.id))
        .collect();
    // Also a 503 first: retried too.
    let receiver = Receiver::start_on(TcpListener::bind(("127.0.0.1", port)).unwrap(), &[503]);
    let got = receiver
        .wait(|got| {
            let ok: std::collections::HashSet<&str> = got
                .iter()
                .filter(|d| d.status == 200)
                .map(|d| d.headers["webhook-id"].as_str())
                .collect();
            queued.keys().all(|id| ok.contains(id.as_str()))
        })
        .await;
    app.wait_for_outbox(WAIT, |rows| {
        rows.iter()
            .filter(|r| r.kind == "webhook")
            .all(|r| r.state == "sent")
    })
    .await;
    assert!(!got.is_empty());
    let got = receiver.got();
    assert_eq!(got[0].status, 503);
    let refused = &got[0];
    let retried = got
        .iter()
        .find(|d| d.status == 200 && d.headers["webhook-id"] == refused.headers["webhook-id"])
        .expect("the refused event came again");
    assert_eq!(retried.body, refused.body, "the same event, the same id");
    let delivered: Vec<&str> = got
        .iter()
        .filter(|d| d.status == 200)
        .map(|d| d.headers["webhook-id"].as_str())
        .collect();
    let unique: std::collections::HashSet<&&str> = delivered.iter().collect();
    assert_eq!(
        unique.len(),
        delivered.len(),
        "delivered once per webhook-id"
    );
    verified(&python, &got);
}

async fn a_4xx_is_dead_at_once_and_408_429_5xx_are_retried(backend: Backend) {
    let Some(python) = webhooks_python() else {
        return;
    };
    let receiver = Receiver::start(&[]);
    let app = app_with_webhooks(backend, &receiver.url(), &[]).await;
    // Nothing but these events: four accounts created one by one, each answered in turn.
    receiver.state.lock().unwrap().script = [400, 408, 429, 500].into_iter().collect();
    for name in ["erin", "frank"] {
        app.create_user(name, &format!("{name}@example.com")).await;
    }
    let rows = app
        .wait_for_outbox(WAIT, |rows| {
            let hooks: Vec<_> = rows.iter().filter(|r| r.kind == "webhook").collect();
            hooks.len() == 2 && hooks.iter().all(|r| r.state == "sent" || r.state == "dead")
        })
        .await;
    let hooks: Vec<_> = rows.iter().filter(|r| r.kind == "webhook").collect();
    let dead: Vec<_> = hooks.iter().filter(|r| r.state == "dead").collect();
    assert_eq!(dead.len(), 1, "{hooks:#?}");
    assert_eq!(dead[0].attempts, 1, "a 400 is dead at once");
    assert!(dead[0].last_error.as_deref().unwrap().contains("400"));
    let sent: Vec<_> = hooks.iter().filter(|r| r.state == "sent").collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].attempts, 4,
        "408, 429 and 500 were retried, then 200"
    );
    let got = receiver.got();
    assert_eq!(got.len(), 5);
    verified(&python, &got);
}

async fn reset_delivery_webhook_sends_the_token_by_webhook_only(backend: Backend) {
    let Some(python) = webhooks_python() else {
        return;
    };
    let receiver = Receiver::start(&[]);
    let sink = crate::smtp_sink::SmtpSink::start();
    let smtp = sink.url();
    let app = crate::helpers::spawn_app_with(
        backend,
        &[
            ("LATCHKEY_EMAIL_BACKEND", "smtp"),
            ("LATCHKEY_SMTP_URL", &smtp),
            ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
            ("LATCHKEY_WEBHOOK_URL", &receiver.url()),
            ("LATCHKEY_WEBHOOK_SECRET", SECRET),
            ("LATCHKEY_RESET_DELIVERY", "webhook"),
        ],
    )
    .await;
    seed(&app).await;
    assert_eq!(app.request_reset("ghost@example.com").await.status(), 200);
    assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
    let got = receiver
        .wait(|got| {
            got.iter()
                .any(|d| d.body.contains("password_reset_token_created"))
        })
        .await;
    app.settle().await;
    let events = verified(&python, &got);
    let created: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "password_reset_token_created")
        .collect();
    assert_eq!(created.len(), 1, "only the known account: {events:#?}");
    let data = &created[0]["data"];
    assert_eq!(data["username"], "alice");
    assert_eq!(data["email"], "alice@example.com");
    let token = data["token"].as_str().unwrap().to_owned();
    assert_eq!(
        data["reset_url"],
        format!("http://latchkey.test/reset-password/{token}")
    );
    assert_eq!(app.validate(&token).await.status(), 200, "the token works");
    assert_eq!(
        sink.count(),
        0,
        "no reset mail with LATCHKEY_RESET_DELIVERY=webhook"
    );
    // Only that event carries the token; at rest it was sealed and is now cleared.
    for delivery in got
        .iter()
        .filter(|d| !d.body.contains("password_reset_token_created"))
    {
        assert!(!delivery.body.contains(&token));
    }
    for row in app.outbox_rows().await {
        assert!(!row.body_text.contains(&token) && !row.body_html.contains(&token));
    }
    let requested = events
        .iter()
        .filter(|e| e["type"] == "password_reset_requested")
        .count();
    let requested = if requested > 0 {
        requested
    } else {
        crate::helpers::eventually(WAIT, "password_reset_requested never arrived", || {
            let count = receiver
                .got()
                .iter()
                .filter(|d| d.body.contains("\"password_reset_requested\""))
                .count();
            async move { (count > 0).then_some(count) }
        })
        .await
    };
    assert_eq!(requested, 1, "known account only");
}

/// With trace logging, webhooks on and reset tokens delivered by mail and webhook, neither the
/// reset token, the "This wasn't me" token nor a password reaches the log: the new links are
/// redacted in the access log like the reset link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_notice_token_reaches_the_log() {
    let receiver = Receiver::start(&[]);
    let sink = crate::smtp_sink::SmtpSink::start();
    let db = crate::helpers::TestDb::new(&Backend::Sqlite);
    let mut vars = crate::helpers::base_vars(&db);
    for (key, value) in [
        ("LATCHKEY_EMAIL_BACKEND", "smtp".to_owned()),
        ("LATCHKEY_SMTP_URL", sink.url()),
        ("LATCHKEY_LOG", "trace".to_owned()),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms".to_owned()),
        ("LATCHKEY_WEBHOOK_URL", receiver.url()),
        ("LATCHKEY_WEBHOOK_SECRET", SECRET.to_owned()),
        ("LATCHKEY_RESET_DELIVERY", "both".to_owned()),
    ] {
        vars.insert(key.into(), value);
    }
    let created = crate::helpers::run_cli(
        &vars,
        db.dir.path(),
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        Some(&format!("{ALICE_PASSWORD}\n")),
    );
    assert!(created.status.success());
    let log_path = db.dir.path().join("server.log");
    let server = crate::helpers::ServerProcess::start_logged(&vars, db.dir.path(), &log_path).await;
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let requested = client
        .post(format!("{base}/api/password_reset/"))
        .json(&json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(requested.status(), 200);
    let mail = sink.wait_for(1, WAIT).await.pop().unwrap();
    let (_, reset_token) = crate::fixtures::reset_link(&mail);
    let cancel = format!("{base}/reset-password/{reset_token}/cancel");
    assert_eq!(client.head(&cancel).send().await.unwrap().status(), 200);
    assert_eq!(client.get(&cancel).send().await.unwrap().status(), 200);
    let got = receiver
        .wait(|got| {
            got.iter()
                .any(|d| d.body.contains("password_reset_token_created"))
        })
        .await;
    assert!(
        got.iter().any(|d| d.body.contains(&reset_token)),
        "the webhook carries it"
    );

    let login: Value = client
        .post(format!("{base}/api/auth/login"))
        .json(&json!({ "username": "alice", "password": ALICE_PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bearer = login["token"].as_str().unwrap().to_owned();
    let changed = client
        .post(format!("{base}/api/auth/change_password"))
        .bearer_auth(&bearer)
        .json(&json!({
            "old_password": ALICE_PASSWORD,
            "password": crate::fixtures::NEW_PASSWORD,
            "confirm_password": crate::fixtures::NEW_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let notice = sink.wait_for(2, WAIT).await.pop().unwrap();
    let text = crate::fixtures::readable(&notice);
    let start = text.find("/wasnt-me/").unwrap() + "/wasnt-me/".len();
    let wasnt_me: String = text[start..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(wasnt_me.len(), 64);
    let link = format!("{base}/wasnt-me/{wasnt_me}");
    assert_eq!(client.get(&link).send().await.unwrap().status(), 200);
    // Every audit event reached the receiver before the log is read.
    receiver
        .wait(|got| got.iter().any(|d| d.body.contains("\"password_changed\"")))
        .await;
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("/wasnt-me/[redacted]"),
        "the access log shows the redacted link"
    );
    assert!(log.contains("webhook"), "webhooks were logged: {log}");
    for secret in [
        reset_token.as_str(),
        wasnt_me.as_str(),
        bearer.as_str(),
        ALICE_PASSWORD,
        crate::fixtures::NEW_PASSWORD,
        "argon2id$",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    ] {
        assert!(!log.contains(secret), "{secret} reached the log");
    }
    for delivery in receiver.got() {
        if !delivery.body.contains("password_reset_token_created") {
            assert!(!delivery.body.contains(&reset_token) && !delivery.body.contains(&wasnt_me));
        }
    }
}
