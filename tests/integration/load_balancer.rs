//! A real load balancer: Debian's nginx as a non-daemon child process (its own prefix, config,
//! pid and log, ephemeral ports; never the system service), round-robin over three `serve`
//! instances on one PostgreSQL database. Gated on `LATCHKEY_TEST_NGINX=1` (set by `.ci/run` and
//! `.ci/test`); under `LATCHKEY_TEST_REQUIRE_ALL=1` a missing nginx fails instead of skipping.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::fixtures::{seed, ALICE_PASSWORD};
use crate::helpers::{
    every_variant_required, free_port, spawn_app_with, Backend, ServerProcess, TestApp,
};
use crate::nginx_process::{self, NginxProcess};
use crate::smtp_sink::SmtpSink;

const USERS: usize = 1000;

fn nginx_enabled() -> bool {
    if std::env::var("LATCHKEY_TEST_NGINX").is_ok_and(|v| v == "1") {
        return true;
    }
    assert!(
        !every_variant_required(),
        "LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_NGINX is not set: the nginx test would be skipped"
    );
    eprintln!(
        "skipped: set LATCHKEY_TEST_NGINX=1 (and install nginx) to run the load-balancer test"
    );
    false
}

/// nginx round-robin over `upstreams` on a free port, with everything under `dir`.
struct Nginx {
    _process: NginxProcess,
    port: u16,
}

impl Nginx {
    fn start(dir: &Path, upstreams: &[u16]) -> Self {
        let port = free_port();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=0;\n"))
            .collect();
        let http = format!(
            "access_log off;\n\
             upstream latchkey {{\n{servers}    }}\n\
             server {{\n        listen 127.0.0.1:{port};\n        location / {{\n\
                     proxy_pass http://latchkey;\n            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
                     proxy_next_upstream error timeout;\n        }}\n    }}"
        );
        let binary = nginx_process::binary().expect("nginx is installed (apt-get install nginx)");
        Self {
            _process: NginxProcess::start(&binary, dir, 1024, &http),
            port,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

async fn post(client: &reqwest::Client, url: String, body: serde_json::Value) -> u16 {
    client
        .post(url)
        .json(&body)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_instances_behind_nginx_are_one_deployment() {
    if !nginx_enabled() {
        return;
    }
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let sink = SmtpSink::start();
    let admin: TestApp = spawn_app_with(backend, &[("LATCHKEY_EMAIL_WORKERS", "0")]).await;
    seed(&admin).await;
    admin
        .blocking(|state| {
            for i in 0..USERS + 300 {
                latchkey::services::account_admin::create_user(
                    &state.db,
                    &state.hasher,
                    latchkey::domain::PasswordRules { min_length: 12 },
                    latchkey::services::account_admin::NewAccount {
                        username: latchkey::domain::Username::parse(&format!("user{i}")).unwrap(),
                        email: latchkey::domain::EmailAddress::parse(&format!(
                            "user{i}@example.com"
                        ))
                        .unwrap(),
                        password: None,
                    },
                )
                .unwrap();
            }
        })
        .await;
    let mut vars: HashMap<String, String> = admin.vars.clone();
    for (key, value) in [
        ("LATCHKEY_EMAIL_BACKEND", "smtp".to_owned()),
        ("LATCHKEY_SMTP_URL", sink.url()),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms".to_owned()),
        ("LATCHKEY_EMAIL_WORKERS", "4".to_owned()),
        ("LATCHKEY_REQUIRE_USABLE_PASSWORD", "false".to_owned()),
        ("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "6/1h".to_owned()),
        (
            "LATCHKEY_RATE_RESET_REQUESTS_PER_IP",
            "100000/1h".to_owned(),
        ),
        ("LATCHKEY_DRAIN_DELAY", "1s".to_owned()),
    ] {
        vars.insert(key.to_owned(), value);
    }
    let dir = admin.db.dir.path();
    let ports = [free_port(), free_port(), free_port()];
    let mut instances = Vec::new();
    for port in ports {
        instances.push(ServerProcess::start_on(&vars, dir, port).await);
    }
    let nginx_dir = tempfile::tempdir().unwrap();
    let nginx = Nginx::start(nginx_dir.path(), &ports);
    let client = reqwest::Client::new();
    crate::helpers::wait_until_ok(&nginx.url("/readyz"), Duration::from_secs(30)).await;
    let direct = |port: u16, path: &str| format!("http://127.0.0.1:{port}{path}");

    // A bearer token, a browser session and a reset link made on one instance work on all.
    let login = client
        .post(nginx.url("/api/auth/login"))
        .json(&json!({ "username": "alice", "password": ALICE_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token: serde_json::Value = login.json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    let page = client.get(direct(ports[0], "/login")).send().await.unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let form = page.text().await.unwrap();
    let marker = "name=\"csrf_token\" value=\"";
    let start = form.find(marker).unwrap() + marker.len();
    let csrf = form[start..].split('"').next().unwrap().to_owned();
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let logged_in = no_redirect
        .post(direct(ports[0], "/login"))
        .header("Cookie", &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "bob"),
            ("password", "bob's horse battery staple"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status(), 303);
    let session = logged_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let issued = admin.cli(&["tokens", "issue", "dave"], None);
    let link_token = crate::helpers::stdout(&issued)
        .trim()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    for port in ports {
        let me = client
            .get(direct(port, "/api/auth/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(me.status(), 200, "bearer token on instance {port}");
        let account = no_redirect
            .get(direct(port, "/account"))
            .header("Cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(account.status(), 200, "browser session on instance {port}");
        let link = post(
            &client,
            direct(port, "/api/password_reset/validate_token/"),
            json!({ "token": link_token }),
        )
        .await;
        assert_eq!(link, 200, "reset link on instance {port}");
    }
    // Limits hold for the deployment: alternating instances gets what one allows (three of
    // the six token checks went to the link above, one per instance).
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let token = "ab".repeat(32);
        statuses.push(
            post(
                &client,
                nginx.url("/api/password_reset/validate_token/"),
                json!({ "token": token }),
            )
            .await,
        );
    }
    assert_eq!(statuses, [404, 404, 404, 429, 429, 429]);

    // 1,000 reset requests spread over the instances: exactly one mail each.
    let mut answered = Vec::new();
    for chunk in (0..USERS).collect::<Vec<_>>().chunks(50) {
        answered.extend(
            join_all(chunk.iter().map(|i| {
                post(
                    &client,
                    nginx.url("/api/password_reset/"),
                    json!({ "email": format!("user{i}@example.com") }),
                )
            }))
            .await,
        );
    }
    assert!(
        answered.iter().all(|s| *s == 200),
        "every request answered 200"
    );
    let mails = sink.wait_for(USERS, Duration::from_secs(60)).await;
    let recipients: HashSet<String> = mails.iter().map(|m| m.rcpt_to[0].clone()).collect();
    assert_eq!((mails.len(), recipients.len()), (USERS, USERS));

    // A rolling restart under steady load loses no request and no mail.
    let load_client = client.clone();
    let load_url = nginx.url("/api/password_reset/");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stop.clone();
    let load = tokio::spawn(async move {
        let mut statuses = Vec::new();
        let mut i = USERS;
        while !stopping.load(std::sync::atomic::Ordering::Relaxed) && i < USERS + 300 {
            statuses.push(
                post(
                    &load_client,
                    load_url.clone(),
                    json!({ "email": format!("user{i}@example.com") }),
                )
                .await,
            );
            i += 1;
            // A pace, not a wait: steady load through every restart, not a burst before it.
            crate::helpers::let_time_pass(Duration::from_millis(5)).await;
        }
        (statuses, i - USERS)
    });
    for (index, port) in ports.into_iter().enumerate() {
        instances[index].signal("-TERM");
        let status = instances[index].wait_exit(Duration::from_secs(30)).await;
        assert!(status.success(), "{status:?}");
        instances[index] = ServerProcess::start_on(&vars, dir, port).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (statuses, sent) = load.await.unwrap();
    assert!(sent > 0);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "no request lost: {statuses:?}"
    );
    let mails = sink.wait_for(USERS + sent, Duration::from_secs(60)).await;
    let recipients: HashSet<String> = mails.iter().map(|m| m.rcpt_to[0].clone()).collect();
    assert_eq!(
        (mails.len(), recipients.len()),
        (USERS + sent, USERS + sent)
    );
}
