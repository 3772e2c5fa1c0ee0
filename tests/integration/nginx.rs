//! The nginx example of `deploy/nginx/latchkey.conf`, run by Debian's nginx (a child process
//! with its own prefix, config, pid and logs in a temp dir, on free ports) with TLS from a
//! certificate made for the test, in front of the real Latchkey and a stand-in product that
//! echoes the identity headers it is given. Gated on `LATCHKEY_TEST_NGINX=1` (`.ci/run` and
//! `.ci/test` set it and install nginx); under `LATCHKEY_TEST_REQUIRE_ALL=1` a missing nginx
//! fails rather than skips.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixtures::{app_with_mail, readable, seed, ALICE_PASSWORD, NEW_PASSWORD, WAIT};
use crate::helpers::{every_variant_required, free_port, Backend};
use crate::nginx_process::{self, NginxProcess};
use crate::on_both_backends;
use crate::web_client::{Browser, Page};

on_both_backends!(the_nginx_example_guards_the_product_and_tells_it_who_is_logged_in);

/// The address the test's browser connects from: not nginx's own (127.0.0.1), so the client
/// address Latchkey reports can only be right if the trusted-proxy rules are.
const BROWSER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// Debian's nginx when `LATCHKEY_TEST_NGINX=1`.
fn nginx_binary() -> Option<PathBuf> {
    if std::env::var("LATCHKEY_TEST_NGINX").is_ok_and(|v| v == "1") {
        match nginx_process::binary() {
            Some(path) => return Some(path),
            None => {
                panic!("LATCHKEY_TEST_NGINX=1 but nginx is not installed (apt-get install nginx)")
            }
        }
    }
    if every_variant_required() {
        panic!("LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_NGINX is not set: the nginx journey would be skipped");
    }
    eprintln!("skipped: set LATCHKEY_TEST_NGINX=1 (with Debian's nginx installed) to run the nginx journey");
    None
}

/// The stand-in product: answers every request with the `X-Latchkey-*` headers it received.
async fn start_product() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65_536 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let mut body = String::from("product\n");
                for line in text.lines() {
                    if line.to_ascii_lowercase().starts_with("x-latchkey-") {
                        body.push_str(&line.to_ascii_lowercase());
                        body.push('\n');
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    port
}

/// A self-signed certificate for `localhost` and 127.0.0.1, made by openssl.
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl could not make a certificate");
    (cert, key)
}

/// `deploy/nginx/latchkey.conf` with the test's ports and certificate; each rewritten line
/// must be there exactly once, so the test runs the example as shipped.
fn site(ports: (u16, u16, u16, u16), cert: &Path, key: &Path) -> String {
    let (http, https, latchkey, product) = ports;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nginx/latchkey.conf");
    let mut site = std::fs::read_to_string(path).unwrap();
    for (from, to) in [
        ("listen 80;".to_owned(), format!("listen 127.0.0.1:{http};")),
        (
            "listen 443 ssl;".to_owned(),
            format!("listen 127.0.0.1:{https} ssl;"),
        ),
        (
            "server 127.0.0.1:8080;".to_owned(),
            format!("server 127.0.0.1:{latchkey};"),
        ),
        (
            "server 127.0.0.1:3000;".to_owned(),
            format!("server 127.0.0.1:{product};"),
        ),
        (
            "/etc/ssl/latchkey/example.com.crt;".to_owned(),
            format!("{};", cert.display()),
        ),
        (
            "/etc/ssl/latchkey/example.com.key;".to_owned(),
            format!("{};", key.display()),
        ),
    ] {
        assert_eq!(
            site.matches(&from).count(),
            1,
            "{from} in the nginx example"
        );
        site = site.replace(&from, &to);
    }
    site
}

/// A browser talking to nginx over TLS from [`BROWSER_IP`], keeping its cookies.
fn visitor(port: u16, cert: &Path) -> Browser {
    let cert = reqwest::Certificate::from_pem(&std::fs::read(cert).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(cert)
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .local_address(IpAddr::V4(BROWSER_IP))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Browser::at(client, format!("https://localhost:{port}"))
}

impl Browser {
    /// Logs alice in through nginx at `/auth/login`, to be sent on to `next`.
    async fn log_in_as_alice(&mut self, password: &str, next: &str) -> Page {
        let form = self.get(&format!("/auth/login?next={next}")).await;
        assert_eq!(form.status, 200, "{}", form.body);
        self.post(
            "/auth/login",
            &[
                ("csrf_token", &form.csrf()),
                ("username", "alice"),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }
}

async fn the_nginx_example_guards_the_product_and_tells_it_who_is_logged_in(backend: Backend) {
    let Some(binary) = nginx_binary() else {
        return;
    };
    let (http_port, tls_port) = (free_port(), free_port());
    let product_port = start_product().await;
    let public_url = format!("https://localhost:{tls_port}/auth");
    let (app, sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_PUBLIC_URL", &public_url),
            ("LATCHKEY_COOKIE_PATH", "/"),
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
            ("LATCHKEY_TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    seed(&app).await;
    let latchkey_port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = make_certificate(dir.path());
    let site = site(
        (http_port, tls_port, latchkey_port, product_port),
        &cert,
        &key,
    );
    std::fs::write(dir.path().join("site.conf"), &site).unwrap();
    let d = dir.path().display();
    let mut nginx = NginxProcess::start(
        &binary,
        dir.path(),
        256,
        &format!("access_log {d}/access.log;\ninclude {d}/site.conf;"),
    );
    nginx.wait_for(tls_port).await;
    nginx.wait_for(http_port).await;

    // Plain http is sent to https.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{http_port}/app/"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 301);

    // Anonymous: the product is out of reach, the browser goes to the login page.
    let mut browser = visitor(tls_port, &cert);
    let anonymous = browser.get("/app/page?x=1").await;
    assert_eq!(anonymous.status, 302, "{}", nginx.error_log());
    assert_eq!(anonymous.location(), "/auth/login?next=/app/page?x=1");
    assert!(!anonymous.body.contains("product"));
    let spoofed = browser
        .send(
            Method::GET,
            "/app/",
            None,
            &[("X-Latchkey-Username", "mallory")],
        )
        .await;
    assert_eq!(spoofed.status, 302);

    // Logging in there comes back to the product, which is told who it is.
    let login = browser
        .log_in_as_alice(ALICE_PASSWORD, "/app/page?x=1")
        .await;
    assert_eq!(login.status, 303, "{}", login.body);
    assert_eq!(login.location(), "/app/page?x=1");
    assert!(
        browser.cookies.contains_key("__Host-latchkey"),
        "{:?}",
        browser.cookies
    );
    let alice_id = app
        .blocking(|state| {
            let mut conn = state.db.get().unwrap();
            latchkey::db::users::find_by_username(&mut conn, "alice")
                .unwrap()
                .unwrap()
                .id
        })
        .await;
    let page = browser
        .send(
            Method::GET,
            "/app/page?x=1",
            None,
            &[("X-Latchkey-Username", "mallory")],
        )
        .await;
    assert_eq!(page.status, 200, "{}", nginx.error_log());
    assert!(page.body.starts_with("product\n"), "{}", page.body);
    assert!(
        page.body
            .contains(&format!("x-latchkey-user-id: {alice_id}\n")),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("x-latchkey-username: alice\n"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("x-latchkey-email: alice@example.com\n"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("mallory"),
        "a client's own identity header never passes"
    );

    // Logout locks the product again, for this cookie and for a copy of it.
    let stolen = browser.cookies.clone();
    let csrf = browser.get("/auth/account").await.csrf();
    let logout = browser.post("/auth/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(logout.status, 303);
    assert_eq!(browser.get("/app/page").await.status, 302);
    browser.cookies = stolen;
    assert_eq!(browser.get("/app/page").await.status, 302);
    browser.cookies.clear();

    // The API through the proxy sees the real client address, whatever the client claims.
    let token_response = browser
        .client
        .post(format!("{}/auth/api/auth/login", browser.base))
        .header("X-Forwarded-For", "203.0.113.9")
        .json(&serde_json::json!({ "username": "alice", "password": ALICE_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(token_response.status(), 200);
    let token = token_response.json::<serde_json::Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = app
        .blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::api_tokens;
            let mut conn = state.db.get().unwrap();
            api_tokens::table
                .order(api_tokens::id.desc())
                .select(api_tokens::ip_address)
                .first::<Option<String>>(&mut *conn)
                .unwrap()
        })
        .await;
    assert_eq!(seen.as_deref(), Some("127.0.0.2"));
    // A bearer token opens the product too (auth_request passes Authorization on).
    let bearer = format!("Bearer {token}");
    let with_token = browser
        .send(Method::GET, "/app/", None, &[("Authorization", &bearer)])
        .await;
    assert_eq!(with_token.status, 200);
    assert!(with_token.body.contains("x-latchkey-username: alice\n"));

    // A reset mail's link works through the proxy.
    let form = browser.get("/auth/forgot-password").await;
    let before = sink.count();
    let asked = browser
        .post(
            "/auth/forgot-password",
            &[("csrf_token", &form.csrf()), ("email", "alice@example.com")],
        )
        .await;
    assert_eq!(asked.status, 200);
    let messages = sink.wait_for(before + 1, WAIT).await;
    let text = readable(messages.last().unwrap());
    let prefix = format!("{public_url}/reset-password/");
    let start = text.find(&prefix).expect("the link under the public URL");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    let path = link.trim_start_matches(&browser.base).to_owned();
    let followed = browser.get(&path).await;
    assert_eq!(followed.status, 303, "{}", followed.body);
    assert_eq!(followed.location(), "/auth/reset-password");
    let form = browser.get("/auth/reset-password").await;
    assert_eq!(form.status, 200);
    let done = browser
        .post(
            "/auth/reset-password",
            &[
                ("csrf_token", &form.csrf()),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    // The reset ended the bearer token; the new password opens the product.
    let revoked = browser
        .send(Method::GET, "/app/", None, &[("Authorization", &bearer)])
        .await;
    assert_eq!(revoked.status, 302);
    let login = browser.log_in_as_alice(NEW_PASSWORD, "/app/").await;
    assert_eq!(login.location(), "/app/");
    let page = browser.get("/app/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("x-latchkey-username: alice\n"));
}
