//! Every request runs in a span with a request id, its route pattern and the client address, and
//! its access-log line carries them as JSON fields, never a token from the path.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{base_vars, Backend, TestDb};

const WAIT: Duration = Duration::from_secs(30);

/// The JSON log lines written so far.
fn log_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// The access-log line of the request to `route`, once it is written.
async fn access_line(path: &std::path::Path, route: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = log_lines(path).into_iter().find(|line| {
            line["fields"]["message"] == "request answered" && line["fields"]["route"] == route
        });
        if let Some(line) = found {
            return line;
        }
        assert!(Instant::now() < deadline, "no access-log line for {route}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_logs_its_id_and_route_pattern_as_json_but_never_the_token() {
    let db = TestDb::new(&Backend::Sqlite);
    let mut vars = base_vars(&db);
    vars.insert("LATCHKEY_LOG".into(), "info".into());
    vars.insert("LATCHKEY_LOG_FORMAT".into(), "json".into());
    let log_path = db.dir.path().join("server.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .env_clear()
        .envs(&vars)
        .env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
        .current_dir(db.dir.path())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let token = "Zq3xV9sP2mKd7TfWb8LrN4cY";
    client
        .get(format!("{base}/reset-password/{token}"))
        .send()
        .await
        .unwrap();
    client.get(format!("{base}/login")).send().await.unwrap();
    let link = access_line(&log_path, "/reset-password/{token}").await;
    let login = access_line(&log_path, "/login").await;
    let _ = child.kill();
    let _ = child.wait();

    let fields = &link["fields"];
    assert_eq!(fields["method"], "GET");
    assert_eq!(fields["path"], "/reset-password/[redacted]");
    assert!(fields["status"].is_u64(), "{link}");
    assert!(fields["duration_ms"].is_number(), "{link}");
    let id = fields["request_id"].as_str().unwrap();
    assert!(!id.is_empty(), "{link}");
    let span = &link["span"];
    assert_eq!(span["name"], "request");
    assert_eq!(
        span["request_id"], id,
        "the line is tied to its request's span"
    );
    assert_eq!(span["route"], "/reset-password/{token}");
    assert_eq!(span["client_ip"], "127.0.0.1");
    assert_ne!(
        login["fields"]["request_id"], id,
        "each request has its own id"
    );
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains(token), "the token leaked into the log: {log}");
}
