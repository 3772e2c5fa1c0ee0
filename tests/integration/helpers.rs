//! `spawn_app`, fresh databases, and the `latchkey` binary, for every test; waiting for
//! background work by polling a condition with a deadline ([`eventually`], [`TestApp::drain`]),
//! and the teardown check that a test left no reset request or mail behind.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use latchkey::config::Config;
use latchkey::http::AppState;
use latchkey::startup::Application;

/// A fixed 64-byte key (base64) so test databases can be inspected with known hashes.
pub const TEST_SECRET_KEY: &str =
    "bGF0Y2hrZXktaW50ZWdyYXRpb24tdGVzdHMtc2VjcmV0LWtleS0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFi";

/// Which database a test runs against.
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `LATCHKEY_TEST_POSTGRES_URL` is set. Under `.ci/run` a missing URL is a
    /// failure, so PostgreSQL coverage can never be skipped silently.
    pub fn postgres() -> Option<Self> {
        match std::env::var("LATCHKEY_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Self::Postgres(url)),
            _ if every_variant_required() => {
                panic!("LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_POSTGRES_URL is not set: PostgreSQL tests would be skipped")
            }
            _ => {
                eprintln!("skipped: set LATCHKEY_TEST_POSTGRES_URL to run the PostgreSQL variant");
                None
            }
        }
    }
}

/// Runs each listed `async fn name(backend: Backend)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = $crate::helpers::Backend::postgres() {
                        super::$name(backend).await
                    }
                }
            )+
        }
    };
}

/// A database that exists for one test: a SQLite file in a temp dir, or a PostgreSQL database
/// created for the test and dropped after it.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn new(backend: &Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.path().join("latchkey.db").display()),
                dir,
                postgres: None,
            },
            Backend::Postgres(admin_url) => {
                let name = format!(
                    "latchkey_test_{}",
                    hex::encode(latchkey::domain::random_bytes::<6>())
                );
                let mut admin = PgConnection::establish(admin_url).unwrap_or_else(|err| {
                    panic!("LATCHKEY_TEST_POSTGRES_URL is set but unreachable: {err}")
                });
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .unwrap();
                let mut url = url::Url::parse(admin_url).unwrap();
                url.set_path(&name);
                // Apps of finished tests leave their email workers polling until the process
                // ends; over TLS, libpq's OpenSSL is torn down by `exit` under those threads
                // and the test binary can crash after every test passed. Loopback needs no TLS.
                if !url.query_pairs().any(|(key, _)| key == "sslmode") {
                    url.query_pairs_mut().append_pair("sslmode", "disable");
                }
                Self {
                    url: url.to_string(),
                    dir,
                    postgres: Some((admin_url.clone(), name)),
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}

/// The variables every test app starts with; tests override or add to them.
pub fn base_vars(db: &TestDb) -> HashMap<String, String> {
    HashMap::from([
        ("DATABASE_URL".to_owned(), db.url.clone()),
        ("LATCHKEY_BIND".to_owned(), "127.0.0.1:0".to_owned()),
        ("LATCHKEY_SECRET_KEY".to_owned(), TEST_SECRET_KEY.to_owned()),
        (
            "LATCHKEY_PUBLIC_URL".to_owned(),
            "http://latchkey.test".to_owned(),
        ),
        (
            "LATCHKEY_MAIL_DIR".to_owned(),
            db.dir.path().join("mail").display().to_string(),
        ),
        ("LATCHKEY_LOG".to_owned(), "warn".to_owned()),
        // Tests that stop a server by SIGTERM measure their own bounds; the drain test sets
        // its delay. Metrics on a free port: many apps run at once.
        ("LATCHKEY_DRAIN_DELAY".to_owned(), "0s".to_owned()),
        ("LATCHKEY_METRICS_BIND".to_owned(), "127.0.0.1:0".to_owned()),
    ])
}

/// A running application and a client for it.
pub struct TestApp {
    pub address: String,
    /// `http://HOST:PORT` of the metrics listener, unless `LATCHKEY_METRICS_BIND=off`.
    pub metrics_address: Option<String>,
    /// The spawned `run_until_stopped`; aborting it drops the application without a graceful stop.
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
    pub client: reqwest::Client,
    pub state: AppState,
    pub vars: HashMap<String, String>,
    pub db: Arc<TestDb>,
    /// Shared by the apps on one database: the last one to go checks it was left clean.
    teardown: Arc<Teardown>,
    /// Kept alive until after the teardown check (the SMTP server the app sends to).
    held: Vec<Box<dyn std::any::Any + Send + Sync>>,
}

/// What the apps on one database share for the teardown check.
#[derive(Debug, Default)]
struct Teardown {
    /// Apps on the database still alive.
    live: AtomicUsize,
    /// Set by [`TestApp::expect_leftover_work`].
    leftover_expected: AtomicBool,
}

/// Starts the real application on a free port with a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with extra or overriding variables.
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new(&backend);
    let vars = base_vars(&db);
    start(vars, overrides, Arc::new(db), Arc::default()).await
}

async fn start(
    mut vars: HashMap<String, String>,
    overrides: &[(&str, &str)],
    db: Arc<TestDb>,
    teardown: Arc<Teardown>,
) -> TestApp {
    for (key, value) in overrides {
        vars.insert((*key).to_owned(), (*value).to_owned());
    }
    let lookup = vars.clone();
    let config = Config::from_vars(&move |name| lookup.get(name).cloned()).unwrap();
    let app = Application::build(config, true).await.unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    run(app, vars, db, teardown, client)
}

/// Serves `app` in the background as a [`TestApp`] of `db`.
fn run(
    app: Application,
    vars: HashMap<String, String>,
    db: Arc<TestDb>,
    teardown: Arc<Teardown>,
    client: reqwest::Client,
) -> TestApp {
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address().map(|at| format!("http://{at}"));
    let state = app.state().clone();
    let server = tokio::spawn(app.run_until_stopped());
    teardown.live.fetch_add(1, Ordering::SeqCst);
    TestApp {
        address,
        metrics_address,
        server,
        client,
        state,
        vars,
        db,
        teardown,
        held: Vec::new(),
    }
}

impl TestApp {
    /// An application the test built itself (custom hooks, its own configuration) on `db`,
    /// served in the background and checked at teardown like any other.
    pub fn adopt(
        app: Application,
        vars: HashMap<String, String>,
        db: TestDb,
        client: reqwest::Client,
    ) -> TestApp {
        run(app, vars, Arc::new(db), Arc::default(), client)
    }

    /// A second application on the same database, with some variables changed (a restart
    /// with new settings, or another instance).
    pub async fn sibling(&self, overrides: &[(&str, &str)]) -> TestApp {
        start(
            self.vars.clone(),
            overrides,
            self.db.clone(),
            self.teardown.clone(),
        )
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// Runs the `latchkey` binary against this app's database and configuration.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        run_cli(&self.vars, self.db.dir.path(), args, stdin)
    }
}

/// Runs the real binary with exactly `vars` as its environment, in `dir`.
pub fn run_cli(
    vars: &HashMap<String, String>,
    dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
    command
        .args(args)
        .env_clear()
        .envs(vars)
        .current_dir(dir)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Asserts a failed command printed exactly one error line and no panic or backtrace.
pub fn assert_one_error_line(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected failure, stdout: {}",
        stdout(output)
    );
    let text = stderr(output);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {text}");
    assert!(lines[0].starts_with("error: "), "{text}");
    assert!(
        !text.contains("panicked") && !text.contains("backtrace"),
        "{text}"
    );
    lines[0].to_owned()
}

impl TestApp {
    /// Runs blocking library code (database look-ups, enqueueing) against this app.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&AppState) -> T + Send + 'static,
    ) -> T {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || work(&state))
            .await
            .unwrap()
    }

    /// Creates an account without a password (no hashing, so it is quick).
    pub async fn create_user(&self, username: &str, email: &str) -> latchkey::db::users::User {
        let (username, email) = (username.to_owned(), email.to_owned());
        self.blocking(move |state| {
            latchkey::services::account_admin::create_user(
                &state.db,
                &state.hasher,
                latchkey::domain::PasswordRules { min_length: 12 },
                latchkey::services::account_admin::NewAccount {
                    username: latchkey::domain::Username::parse(&username).unwrap(),
                    email: latchkey::domain::EmailAddress::parse(&email).unwrap(),
                    password: None,
                },
            )
            .unwrap()
        })
        .await
    }

    /// Every outbox row, oldest first.
    pub async fn outbox_rows(&self) -> Vec<latchkey::db::outbox::OutboxMessage> {
        self.blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::email_outbox;
            let mut conn = state.db.get().unwrap();
            email_outbox::table
                .order(email_outbox::id.asc())
                .select(latchkey::db::outbox::OutboxMessage::as_select())
                .load(&mut *conn)
                .unwrap()
        })
        .await
    }

    /// Waits until `check` holds for the outbox rows; panics after `timeout`.
    pub async fn wait_for_outbox(
        &self,
        timeout: Duration,
        check: impl Fn(&[latchkey::db::outbox::OutboxMessage]) -> bool,
    ) -> Vec<latchkey::db::outbox::OutboxMessage> {
        let last = std::cell::RefCell::new(Vec::new());
        let found = poll_until(timeout, || async {
            let rows = self.outbox_rows().await;
            if check(&rows) {
                return Some(rows);
            }
            *last.borrow_mut() = rows;
            None
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "outbox never reached the expected state: {:#?}",
                last.borrow()
            )
        })
    }

    /// Runs pending background work to completion: waits until every accepted reset request
    /// is resolved, every audit event handed to the webhook publisher, and no mail or webhook
    /// is due or being sent (the worker pool is idle). Mail scheduled for a later retry may
    /// remain; the returned [`Backlog`] says how much. Panics after [`DRAIN_WAIT`].
    pub async fn drain(&self) -> Backlog {
        let last = std::cell::Cell::new(Backlog::default());
        let idle = poll_until(DRAIN_WAIT, || async {
            let now = self.blocking(backlog).await;
            last.set(now);
            now.is_idle().then_some(now)
        })
        .await;
        idle.unwrap_or_else(|| panic!("background work never finished: {:?}", last.get()))
    }

    /// Waits until every accepted reset request was resolved and its mail handed to SMTP
    /// (retries included, unlike [`TestApp::drain`]).
    pub async fn settle(&self) {
        let last = std::cell::Cell::new(Backlog::default());
        let clean = poll_until(DRAIN_WAIT, || async {
            let now = self.blocking(backlog).await;
            last.set(now);
            now.is_clean().then_some(())
        })
        .await;
        assert!(clean.is_some(), "work never settled: {:?}", last.get());
    }

    /// Keeps `thing` (a server the app talks to) alive until this app's teardown check has
    /// run, whatever order the test drops its variables in.
    pub fn hold(&mut self, thing: impl std::any::Any + Send + Sync) {
        self.held.push(Box::new(thing));
    }

    /// This test leaves work behind on purpose (a dead SMTP server, a retry scheduled for
    /// later, an instance without workers): skip the teardown check for its database.
    pub fn expect_leftover_work(&self) {
        self.teardown
            .leftover_expected
            .store(true, Ordering::SeqCst);
    }
}

/// How long [`TestApp::drain`] and the teardown check wait for background work.
pub const DRAIN_WAIT: Duration = Duration::from_secs(30);

/// How often the `eventually`-style helpers look again.
const POLL: Duration = Duration::from_millis(20);

/// Background work left in a database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Accepted reset requests no resolver has turned into a token yet.
    pub unresolved_requests: i64,
    /// Audit events the webhook publisher has not handled yet.
    pub unpublished_events: i64,
    /// Outbox rows being sent, or waiting with their next attempt due.
    pub due_mail: i64,
    /// Outbox rows waiting for a retry that is not due yet.
    pub scheduled_mail: i64,
}

impl Backlog {
    /// Nothing a worker could do now.
    pub fn is_idle(&self) -> bool {
        self.unresolved_requests == 0 && self.unpublished_events == 0 && self.due_mail == 0
    }

    /// Nothing left at all that concerns a user: no request, no unsent mail.
    pub fn is_clean(&self) -> bool {
        self.unresolved_requests == 0 && self.due_mail == 0 && self.scheduled_mail == 0
    }
}

/// Counts what is left, in the order work flows (a request becomes an audit event and a mail
/// in one transaction, an event a webhook in another), so no item can slip between two reads.
fn backlog(state: &AppState) -> Backlog {
    use diesel::prelude::*;
    use latchkey::db::outbox::{PENDING, SENDING};
    use latchkey::db::schema::{audit_events, email_outbox, reset_requests};
    let mut conn = state.db.get().unwrap();
    let unresolved_requests = reset_requests::table
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let unpublished_events = audit_events::table
        .filter(audit_events::webhook_pending.eq(true))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let now = latchkey::db::now();
    let due_mail = email_outbox::table
        .filter(
            email_outbox::state.eq(SENDING).or(email_outbox::state
                .eq(PENDING)
                .and(email_outbox::next_attempt_at.le(now))),
        )
        .count()
        .get_result(&mut *conn)
        .unwrap();
    let scheduled_mail = email_outbox::table
        .filter(email_outbox::state.eq(PENDING))
        .filter(email_outbox::next_attempt_at.gt(now))
        .count()
        .get_result(&mut *conn)
        .unwrap();
    Backlog {
        unresolved_requests,
        unpublished_events,
        due_mail,
        scheduled_mail,
    }
}

/// The teardown check: when the last app on a database goes away (not while a test is already
/// failing), its reset requests are resolved and its mail is sent, after waiting up to
/// [`DRAIN_WAIT`] for the workers, unless the test called [`TestApp::expect_leftover_work`].
/// Drop is synchronous: one blocking pooled connection, a few counts.
impl Drop for TestApp {
    fn drop(&mut self) {
        let last = self.teardown.live.fetch_sub(1, Ordering::SeqCst) == 1;
        if !last
            || std::thread::panicking()
            || self.teardown.leftover_expected.load(Ordering::SeqCst)
        {
            return;
        }
        let check = || {
            let mut left = Backlog::default();
            let clean = poll_blocking(DRAIN_WAIT, || {
                left = backlog(&self.state);
                left.is_clean().then_some(())
            });
            (clean, left)
        };
        // The workers are OS threads, but a webhook receiver may be a task on this runtime.
        let (clean, left) = match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(check)
            }
            _ => check(),
        };
        assert!(
            clean.is_some(),
            "the test left background work behind: {left:?} (call app.drain() before the end, \
             or app.expect_leftover_work() if it is meant)"
        );
    }
}

/// Calls `probe` until it returns `Some`, every few milliseconds, for at most `timeout`;
/// `None` if it never did. The one place async tests wait for something to happen.
pub async fn poll_until<T, F, Fut>(timeout: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe().await {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Like [`poll_until`], with `what` in the panic message when `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll_until(timeout, probe)
        .await
        .unwrap_or_else(|| panic!("{what} (waited {timeout:?})"))
}

/// [`poll_until`] for threads outside the runtime (servers in tests, `Drop`).
pub fn poll_blocking<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// Lets `duration` of wall-clock time pass: only for tests whose point is a clock (a token
/// lifetime, a rate-limit window, proving nothing happens for a while); each caller says why.
/// Anything that waits for an event polls it instead ([`eventually`]).
pub async fn let_time_pass(duration: Duration) {
    tokio::time::sleep(duration).await;
}

/// A free TCP port on the loopback interface (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `GET url` answers `200`; panics after `timeout`.
pub async fn wait_until_ok(url: &str, timeout: Duration) {
    eventually(timeout, &format!("{url} never answered 200"), || async {
        reqwest::get(url)
            .await
            .is_ok_and(|r| r.status() == 200)
            .then_some(())
    })
    .await
}

/// A `latchkey serve` child process, killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
}

impl ServerProcess {
    /// Starts the binary with `vars` on a free port and waits until `/healthz` answers.
    pub async fn start(vars: &HashMap<String, String>, dir: &Path) -> Self {
        Self::start_on(vars, dir, free_port()).await
    }

    /// Like [`ServerProcess::start`] on a given port (a restart behind a load balancer).
    pub async fn start_on(vars: &HashMap<String, String>, dir: &Path, port: u16) -> Self {
        Self::launch(vars, dir, port, &["serve"], Stdio::null()).await
    }

    /// `latchkey` with no arguments (the default command serves) on a free port, its standard
    /// error written to `log` for the test to read; waits until `/healthz` answers.
    pub async fn start_logged(vars: &HashMap<String, String>, dir: &Path, log: &Path) -> Self {
        let log = std::fs::File::create(log).unwrap();
        Self::launch(vars, dir, free_port(), &[], log.into()).await
    }

    async fn launch(
        vars: &HashMap<String, String>,
        dir: &Path,
        port: u16,
        args: &[&str],
        stderr: Stdio,
    ) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(args)
            .env_clear()
            .envs(vars)
            .env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let process = Self { child, port };
        wait_until_ok(
            &format!("http://127.0.0.1:{port}/healthz"),
            Duration::from_secs(30),
        )
        .await;
        process
    }

    /// Sends a signal (`-TERM`, `-KILL`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; panics after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let child = &mut self.child;
        eventually(timeout, "process did not exit", || {
            let status = child.try_wait().unwrap();
            async move { status }
        })
        .await
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `.ci/run` sets `LATCHKEY_TEST_REQUIRE_ALL=1`: then a test variant whose prerequisite is
/// missing fails instead of being skipped. (Not `CI`, which many runners set for every job.)
pub fn every_variant_required() -> bool {
    std::env::var("LATCHKEY_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// The `python` of a virtualenv with Django, bcrypt and argon2-cffi, from
/// `LATCHKEY_TEST_DJANGO_PYTHON` (`.ci/run` makes one). Under `LATCHKEY_TEST_REQUIRE_ALL=1` a
/// missing variable is a failure, so the real-Django tests can never be skipped silently.
pub fn django_python() -> Option<String> {
    match std::env::var("LATCHKEY_TEST_DJANGO_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if every_variant_required() => {
            panic!("LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_DJANGO_PYTHON is not set: the real-Django tests would be skipped")
        }
        _ => {
            eprintln!("skipped: set LATCHKEY_TEST_DJANGO_PYTHON to a venv python with Django, bcrypt and argon2-cffi");
            None
        }
    }
}
