//! A hostile SMTP server cannot stall delivery: real misbehaving servers over TCP (a tarpit that
//! sends its greeting one byte a second, one that stalls its final DATA reply and then drops the
//! connection), against the real workers, the real database and the real `latchkey` binary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use latchkey::db::outbox::{PENDING, SENDING, SENT};

use crate::fixtures::seed;
use crate::helpers::{eventually, poll_until, spawn_app_with, Backend, ServerProcess, TestApp};
use crate::on_both_backends;
use crate::outbox::enqueue_notices;
use crate::smtp_sink::{Script, SmtpSink};

/// `LATCHKEY_SMTP_TIMEOUT` in the tests that measure it.
const TIMEOUT: Duration = Duration::from_secs(2);
/// What a lease may exceed the send budget by (the delivery's margin for recording the outcome).
const LEASE_MARGIN: Duration = Duration::from_secs(2);
/// Scheduling and database slack on a loaded test machine.
const SLACK: Duration = Duration::from_millis(1500);
/// How soon after a message is enqueued an idle worker has claimed it.
const CLAIM_SLACK: Duration = Duration::from_millis(500);
/// How long the tarpit takes per byte: well under the timeout, so a per-read timeout never fires.
const DRIBBLE: Duration = Duration::from_secs(1);

on_both_backends!(
    a_greeting_one_byte_a_second_ends_the_attempt_within_the_smtp_timeout,
    a_reset_request_gets_its_token_while_every_mail_worker_is_stuck_on_a_tarpit,
);

/// Accepts every connection and sends `220 ` and then one more byte per second, forever (until
/// the client leaves or the tarpit is dropped): a greeting that never completes.
struct Tarpit {
    port: u16,
    accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Tarpit {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (accepted, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (counter, stopping) = (accepted.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                counter.fetch_add(1, Ordering::SeqCst);
                let stopping = stopping.clone();
                thread::spawn(move || dribble(stream, &stopping));
            }
        });
        Self {
            port,
            accepted,
            stop,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Waits until `count` clients are connected (and so stuck in their greeting).
    async fn wait_for_clients(&self, count: usize, timeout: Duration) {
        let reached = poll_until(timeout, || {
            let accepted = self.accepted.load(Ordering::SeqCst);
            async move { (accepted >= count).then_some(()) }
        })
        .await;
        assert!(
            reached.is_some(),
            "only {} of {count} clients reached the tarpit",
            self.accepted.load(Ordering::SeqCst)
        );
    }
}

impl Drop for Tarpit {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn dribble(mut stream: TcpStream, stop: &AtomicBool) {
    let _ = stream.set_nodelay(true);
    for byte in b"220 ".iter().chain(std::iter::repeat(&b'x')) {
        if stop.load(Ordering::SeqCst) || stream.write_all(&[*byte]).is_err() {
            return;
        }
        thread::sleep(DRIBBLE);
    }
}

fn smtp_vars(url: &str, timeout: Duration) -> Vec<(&'static str, String)> {
    vec![
        ("LATCHKEY_EMAIL_BACKEND", "smtp".to_owned()),
        ("LATCHKEY_SMTP_URL", url.to_owned()),
        (
            "LATCHKEY_SMTP_TIMEOUT",
            format!("{}ms", timeout.as_millis()),
        ),
        ("LATCHKEY_EMAIL_RETRY_BASE", "100ms".to_owned()),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms".to_owned()),
    ]
}

async fn app_on(
    backend: Backend,
    url: &str,
    timeout: Duration,
    extra: &[(&'static str, &str)],
) -> TestApp {
    let mut vars = smtp_vars(url, timeout);
    vars.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(backend, &pairs).await
}

fn to_chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap()
}

async fn a_greeting_one_byte_a_second_ends_the_attempt_within_the_smtp_timeout(backend: Backend) {
    let tarpit = Tarpit::start();
    // A long retry delay: the first attempt's outcome stays in the row to be looked at.
    let app = app_on(
        backend,
        &tarpit.url(),
        TIMEOUT,
        &[
            ("LATCHKEY_EMAIL_WORKERS", "1"),
            ("LATCHKEY_EMAIL_RETRY_BASE", "1h"),
        ],
    )
    .await;
    // Meant: the tarpit never accepts a message; its retry is an hour away.
    app.expect_leftover_work();
    let started = Instant::now();
    enqueue_notices(&app, "alice", 1).await;

    // Watch the row: every lease it is given while being sent, and when the attempt ends.
    let latest_lease = std::cell::Cell::new(None);
    let row = poll_until(
        (started + TIMEOUT + SLACK).saturating_duration_since(Instant::now()),
        || async {
            let row = app.outbox_rows().await.remove(0);
            if row.state == SENDING {
                latest_lease.set(latest_lease.get().max(row.lease_until));
            }
            (row.state != SENDING && row.attempts >= 1).then_some(row)
        },
    )
    .await
    .unwrap_or_else(|| {
        panic!(
            "after {:?} the attempt against the tarpit is still running (SMTP timeout {TIMEOUT:?})",
            started.elapsed()
        )
    });
    let latest_lease = latest_lease.get();
    let took = started.elapsed();
    eprintln!("attempt against a one-byte-a-second greeting ended after {took:?}");
    assert!(tarpit.accepted.load(Ordering::SeqCst) >= 1, "it was tried");
    assert_eq!((row.state.as_str(), row.attempts), (PENDING, 1));
    let error = row.last_error.clone().unwrap().to_lowercase();
    assert!(error.contains("timed out"), "{error}");
    assert!(row.next_attempt_at > row.created_at, "retried later");
    let latest_lease = latest_lease.expect("the claim was seen");
    // The claim is not stored: it follows `created_at` by the worker's wake-up.
    let claimed_by = row.created_at + to_chrono(CLAIM_SLACK);
    assert!(
        latest_lease <= claimed_by + to_chrono(TIMEOUT + LEASE_MARGIN),
        "lease renewed to {latest_lease} for a claim at about {}",
        row.created_at
    );
}

async fn a_reset_request_gets_its_token_while_every_mail_worker_is_stuck_on_a_tarpit(
    backend: Backend,
) {
    let tarpit = Tarpit::start();
    // A long SMTP timeout: both mail workers stay stuck for the whole test.
    let app = app_on(
        backend,
        &tarpit.url(),
        Duration::from_secs(60),
        &[("LATCHKEY_EMAIL_WORKERS", "2")],
    )
    .await;
    // Meant: every mail worker is stuck on the tarpit until the test ends.
    app.expect_leftover_work();
    seed(&app).await;
    enqueue_notices(&app, "stuck", 2).await;
    tarpit.wait_for_clients(2, Duration::from_secs(10)).await;

    let asked = Instant::now();
    assert_eq!(app.request_reset("bob@example.com").await.status(), 200);
    let made = poll_until(
        (asked + Duration::from_secs(3)).saturating_duration_since(Instant::now()),
        || async { (app.reset_token_count().await > 0).then_some(()) },
    )
    .await;
    assert!(
        made.is_some(),
        "no reset token {:?} after the request while the mail workers are stuck",
        asked.elapsed()
    );
    eprintln!(
        "reset token created {:?} after the request, every mail worker stuck",
        asked.elapsed()
    );
    let rows = app.outbox_rows().await;
    let bob = rows
        .iter()
        .find(|row| row.recipient == "bob@example.com")
        .expect("bob's reset mail is queued with his token");
    assert_eq!(
        (bob.kind.as_str(), bob.state.as_str()),
        ("password_reset", PENDING)
    );
    assert_eq!(
        rows.iter().filter(|row| row.state == SENDING).count(),
        2,
        "both mail workers are still on the tarpit"
    );
}

/// A server that speaks SMTP until the end of the message, then sends its final reply one byte a
/// second and drops the connection mid-reply. It takes one connection, then frees its port.
struct Dropper {
    port: u16,
    body_received: Arc<Mutex<Option<Instant>>>,
}

impl Dropper {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body_received = Arc::new(Mutex::new(None));
        let received = body_received.clone();
        thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            drop(listener);
            let _ = drop_mid_data(stream, &received);
        });
        Self {
            port,
            body_received,
        }
    }

    fn body_received(&self) -> Option<Instant> {
        *self.body_received.lock().unwrap()
    }
}

fn drop_mid_data(stream: TcpStream, received: &Mutex<Option<Instant>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    out.write_all(b"220 dropper ESMTP\r\n")?;
    let mut in_data = false;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if in_data {
            if line == ".\r\n" {
                *received.lock().unwrap() = Some(Instant::now());
                break;
            }
            continue;
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-dropper\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?,
            "DATA" => {
                in_data = true;
                out.write_all(b"354 go ahead\r\n")?;
            }
            "QUIT" => return Ok(()),
            _ => out.write_all(b"250 ok\r\n")?,
        }
    }
    // Eight seconds of a reply that never completes, then the connection is gone.
    for byte in b"250 acce" {
        out.write_all(&[*byte])?;
        thread::sleep(DRIBBLE);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_dropped_mid_data_is_retried_and_the_message_delivered_once() {
    let dropper = Dropper::start();
    let port = dropper.port;
    let app = app_on(
        Backend::Sqlite,
        &format!("smtp://127.0.0.1:{port}"),
        TIMEOUT,
        &[("LATCHKEY_EMAIL_WORKERS", "1")],
    )
    .await;
    enqueue_notices(&app, "alice", 1).await;
    let body_received = eventually(
        Duration::from_secs(10),
        "the message never reached DATA",
        || {
            let at = dropper.body_received();
            async move { at }
        },
    )
    .await;
    // The dropper has let go of its port: a good server takes it over for the retries.
    let sink = SmtpSink::start_on(port, Script::default());

    let messages = sink.wait_for(1, Duration::from_secs(10)).await;
    let took = body_received.elapsed();
    eprintln!("delivered {took:?} after the dropped attempt's body was sent");
    assert!(
        took < TIMEOUT + SLACK,
        "the stalled attempt held the message for {took:?} (SMTP timeout {TIMEOUT:?})"
    );
    let rows = app
        .wait_for_outbox(Duration::from_secs(10), |rows| rows[0].state == SENT)
        .await;
    assert!(rows[0].attempts >= 2, "delivered by a retry: {:?}", rows[0]);
    assert_eq!(messages[0].message_id(), rows[0].message_id);
    assert!(messages[0].data.contains("alice"));
    // Nothing else arrives: the message was delivered once.
    // A bounded watch on purpose: the claim is that nothing happens for a while.
    let again = poll_until(Duration::from_millis(500), || {
        let count = sink.count();
        async move { (count != 1).then_some(count) }
    })
    .await;
    assert_eq!(again, None, "delivered more than once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_sends_stuck_on_a_tarpit_within_the_smtp_timeout() {
    let tarpit = Tarpit::start();
    let timeout = Duration::from_secs(3);
    // The in-process app only enqueues; the `latchkey serve` process sends.
    let app = app_on(
        Backend::Sqlite,
        &tarpit.url(),
        timeout,
        &[("LATCHKEY_EMAIL_WORKERS", "0")],
    )
    .await;
    // Meant: the tarpit never accepts a message, so the mail stays queued.
    app.expect_leftover_work();
    let mut vars: HashMap<String, String> = app.vars.clone();
    vars.insert("LATCHKEY_EMAIL_WORKERS".to_owned(), "2".to_owned());
    let mut server = ServerProcess::start(&vars, app.db.dir.path()).await;
    enqueue_notices(&app, "alice", 2).await;
    tarpit.wait_for_clients(2, Duration::from_secs(10)).await;

    let signalled = Instant::now();
    server.signal("-TERM");
    let status = server.wait_exit(timeout + LEASE_MARGIN + SLACK).await;
    eprintln!(
        "serve exited {:?} after SIGTERM with both workers on a tarpit",
        signalled.elapsed()
    );
    assert!(status.success(), "{status:?}");
    let rows = app.outbox_rows().await;
    assert!(
        rows.iter()
            .all(|row| row.state == PENDING && row.attempts == 1 && row.last_error.is_some()),
        "both attempts ended and were recorded before the exit: {rows:#?}"
    );
}
