//! `latchkey` with no arguments on a fresh directory: the README's first command.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::free_port;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_command_serves_sqlite_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // Metrics on a free port: the default one may be taken by another test run on this machine.
    let vars = HashMap::from([
        ("LATCHKEY_BIND".to_owned(), format!("127.0.0.1:{port}")),
        ("LATCHKEY_METRICS_BIND".to_owned(), "127.0.0.1:0".to_owned()),
    ]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .env_clear()
        .envs(&vars)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let status =
        crate::helpers::eventually(Duration::from_secs(30), "server never answered", || async {
            client.get(&url).send().await.ok().map(|r| r.status())
        })
        .await;
    assert_eq!(status, 200);
    assert!(dir.path().join("latchkey.db").exists());
    let secret = dir.path().join("latchkey.secret");
    assert!(secret.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = crate::helpers::eventually(
        Duration::from_secs(30),
        "did not stop after SIGTERM",
        || {
            let status = child.try_wait().unwrap();
            async move { status }
        },
    )
    .await;
    assert!(exit.success(), "exit status {exit:?}");
}
