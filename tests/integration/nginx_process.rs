//! Debian's nginx as a child process of one test: its own prefix, config, pid and logs in a
//! temp dir, in the foreground, on the test's ports (never the system service). Shared by the
//! nginx journey and the load-balancer test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::helpers::{eventually, poll_blocking};

/// Debian's nginx binary, wherever the package put it.
pub fn binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
}

/// An nginx master process of our own, stopped when dropped.
pub struct NginxProcess {
    child: Child,
    dir: PathBuf,
}

impl NginxProcess {
    /// Writes `dir/nginx.conf` (one worker, every path under `dir`, `http` as the body of the
    /// `http` block) and starts `binary` on it in the foreground.
    pub fn start(binary: &Path, dir: &Path, worker_connections: u32, http: &str) -> Self {
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\n\
             user root;\n\
             pid {d}/nginx.pid;\n\
             error_log {d}/error.log warn;\n\
             events {{ worker_connections {worker_connections}; }}\n\
             http {{\n\
                 client_body_temp_path {d}/client_body;\n\
                 proxy_temp_path {d}/proxy;\n\
                 fastcgi_temp_path {d}/fastcgi;\n\
                 uwsgi_temp_path {d}/uwsgi;\n\
                 scgi_temp_path {d}/scgi;\n\
                 {http}\n\
             }}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .arg("-e")
            .arg(dir.join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self {
            child,
            dir: dir.to_owned(),
        }
    }

    /// What nginx logged (the first thing to read when a request through it fails).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// Waits until nginx accepts connections on `port`; panics (with its error log) otherwise.
    pub async fn wait_for(&mut self, port: u16) {
        let child = &mut self.child;
        let listening = eventually(Duration::from_secs(20), "nginx never listened", || {
            let exited = child.try_wait().unwrap();
            async move {
                if let Some(status) = exited {
                    return Some(Err(status));
                }
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                    .then_some(Ok(()))
            }
        })
        .await;
        if let Err(status) = listening {
            panic!("nginx exited ({status}): {}", self.error_log());
        }
    }
}

impl Drop for NginxProcess {
    /// SIGTERM first: the master stops its workers (SIGKILL would orphan them, still holding
    /// the ports), then SIGKILL if it has not exited within a few seconds.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let child = &mut self.child;
        if poll_blocking(Duration::from_secs(5), || child.try_wait().ok().flatten()).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
