//! `spawn_app`, fresh databases, and the `latchkey` binary, for every test.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

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
    pub db: std::sync::Arc<TestDb>,
}

/// Starts the real application on a free port with a fresh database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// Like [`spawn_app`], with extra or overriding variables.
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let db = TestDb::new(&backend);
    let vars = base_vars(&db);
    start(vars, overrides, std::sync::Arc::new(db)).await
}

async fn start(
    mut vars: HashMap<String, String>,
    overrides: &[(&str, &str)],
    db: std::sync::Arc<TestDb>,
) -> TestApp {
    for (key, value) in overrides {
        vars.insert((*key).to_owned(), (*value).to_owned());
    }
    let lookup = vars.clone();
    let config = Config::from_vars(&move |name| lookup.get(name).cloned()).unwrap();
    let app = Application::build(config, true).await.unwrap();
    let address = format!("http://{}", app.address());
    let metrics_address = app.metrics_address().map(|at| format!("http://{at}"));
    let state = app.state().clone();
    let server = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics_address,
        server,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        state,
        vars,
        db,
    }
}

impl TestApp {
    /// A second application on the same database, with some variables changed (a restart
    /// with new settings, or another instance).
    pub async fn sibling(&self, overrides: &[(&str, &str)]) -> TestApp {
        start(self.vars.clone(), overrides, self.db.clone()).await
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
        timeout: std::time::Duration,
        check: impl Fn(&[latchkey::db::outbox::OutboxMessage]) -> bool,
    ) -> Vec<latchkey::db::outbox::OutboxMessage> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let rows = self.outbox_rows().await;
            if check(&rows) {
                return rows;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "outbox never reached the expected state: {rows:#?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
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
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(vars, dir, port).await
    }

    /// Like [`ServerProcess::start`] on a given port (a restart behind a load balancer).
    pub async fn start_on(vars: &HashMap<String, String>, dir: &Path, port: u16) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .arg("serve")
            .env_clear()
            .envs(vars)
            .env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let process = Self { child, port };
        let url = format!("http://127.0.0.1:{port}/healthz");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while reqwest::get(&url)
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "server on port {port} never became healthy"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
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
    pub async fn wait_exit(&mut self, timeout: std::time::Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "process did not exit");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
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
