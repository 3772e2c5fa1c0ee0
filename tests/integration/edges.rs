//! Edges, on both backends: the client address behind proxies (the right-most untrusted entry
//! counts, never what the client wrote), pages that fail politely (database down, malformed
//! query strings), and reset links whose GET and HEAD change nothing, even once expired.

use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use reqwest::Method;
use serde_json::json;

use crate::fixtures::{app_with_mail, body, mailed_token, seed, ALICE_PASSWORD, WAIT};
use crate::helpers::{stdout, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    rotating_the_left_most_forwarded_for_entry_does_not_dodge_the_per_ip_limit,
    the_forwarding_header_of_an_untrusted_peer_is_ignored,
    forwarded_for_is_understood_and_its_right_most_entry_counts,
    pages_and_api_answer_503_while_the_database_is_down_and_recover,
    malformed_query_strings_and_forms_get_html_400_pages,
    get_and_head_of_an_expired_reset_link_change_nothing,
    an_ipv6_client_is_counted_per_network_not_per_address,
);

const API_UNAVAILABLE: &str = "The service is temporarily unavailable. Please try again shortly.";

impl TestApp {
    /// A reset request for `email` carrying the forwarding header `name: value`.
    async fn reset_via(&self, name: &str, value: &str, email: &str) -> u16 {
        self.client
            .post(self.url("/api/password_reset/"))
            .header(name, value)
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The client address stored with the (only) reset token.
    async fn token_ip(&self) -> Option<String> {
        self.blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::password_reset_tokens as t;
            t::table
                .select(t::ip_address)
                .first(&mut *state.db.get().unwrap())
                .unwrap()
        })
        .await
    }
}

async fn rotating_the_left_most_forwarded_for_entry_does_not_dodge_the_per_ip_limit(
    backend: Backend,
) {
    let (app, _sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
            ("LATCHKEY_TRUSTED_PROXIES", "127.0.0.1"),
            ("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "5/1h"),
        ],
    )
    .await;
    // The trusted proxy (the test client, at 127.0.0.1) appends the address it saw,
    // 203.0.113.9, to whatever the client wrote on the left.
    let mut statuses = Vec::new();
    for i in 0..8 {
        let value = format!("198.51.100.{i}, 203.0.113.9");
        let email = format!("nobody{i}@example.com");
        statuses.push(app.reset_via("X-Forwarded-For", &value, &email).await);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(
        app.reset_via(
            "X-Forwarded-For",
            "198.51.100.1, 203.0.113.10",
            "nobody@example.com"
        )
        .await,
        200,
        "another client behind the same proxy keeps its own budget"
    );
}

async fn the_forwarding_header_of_an_untrusted_peer_is_ignored(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
            ("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/8, 2001:db8::/32"),
            ("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "5/1h"),
        ],
    )
    .await;
    seed(&app).await;
    let mut statuses = vec![
        app.reset_via("X-Forwarded-For", "203.0.113.77", "alice@example.com")
            .await,
    ];
    sink.wait_for(1, WAIT).await;
    assert_eq!(app.token_ip().await.as_deref(), Some("127.0.0.1"));
    for i in 1..8 {
        let value = format!("203.0.113.{i}");
        let email = format!("nobody{i}@example.com");
        statuses.push(app.reset_via("X-Forwarded-For", &value, &email).await);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429, 429]);
}

async fn forwarded_for_is_understood_and_its_right_most_entry_counts(backend: Backend) {
    // No LATCHKEY_TRUSTED_PROXIES: the peer is the one proxy and appends the last element.
    let (app, sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_CLIENT_IP_HEADER", "Forwarded"),
            ("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "5/1h"),
        ],
    )
    .await;
    seed(&app).await;
    let real = "for=\"[2001:db8:1::7]:4711\";proto=https";
    let first = format!("for=198.51.100.250, {real}");
    let mut statuses = vec![
        app.reset_via("Forwarded", &first, "alice@example.com")
            .await,
    ];
    sink.wait_for(1, WAIT).await;
    assert_eq!(app.token_ip().await.as_deref(), Some("2001:db8:1::7"));
    for i in 1..8 {
        let value = format!("for=198.51.100.{i};proto=http, {real}");
        let email = format!("nobody{i}@example.com");
        statuses.push(app.reset_via("Forwarded", &value, &email).await);
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(
        app.reset_via("Forwarded", "for=192.0.2.60", "nobody@example.com")
            .await,
        200,
        "another client keeps its own budget"
    );
    let mut unknown = Vec::new();
    for i in 0..6 {
        let value = format!("for=198.51.100.{i}, for=unknown");
        let email = format!("nobody{i}@example.com");
        unknown.push(app.reset_via("Forwarded", &value, &email).await);
    }
    assert_eq!(
        unknown,
        vec![200, 200, 200, 200, 200, 429],
        "an unknown node counts as the proxy itself, which the client cannot rotate"
    );
}

/// A way to take the test database away from the running app, and to give it back.
enum Outage {
    /// Another process holds SQLite's write lock (a backup, a `sqlite3` shell).
    Sqlite(diesel::SqliteConnection),
    /// PostgreSQL refuses connections to the database, and its sessions were ended.
    Postgres { admin: String, name: String },
}

impl Outage {
    async fn begin(app: &TestApp, backend: &Backend) -> Self {
        let url = app.db.url.clone();
        let backend = backend.clone();
        tokio::task::spawn_blocking(move || match backend {
            Backend::Sqlite => {
                let path = url.trim_start_matches("sqlite://");
                let mut conn = diesel::SqliteConnection::establish(path).unwrap();
                diesel::connection::SimpleConnection::batch_execute(
                    &mut conn,
                    "PRAGMA busy_timeout = 10000; BEGIN EXCLUSIVE;",
                )
                .unwrap();
                Self::Sqlite(conn)
            }
            Backend::Postgres(admin) => {
                let name = url::Url::parse(&url).unwrap().path()[1..].to_owned();
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
                    .execute(&mut conn)
                    .unwrap();
                diesel::sql_query(format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ))
                .execute(&mut conn)
                .unwrap();
                Self::Postgres { admin, name }
            }
        })
        .await
        .unwrap()
    }

    async fn end(self) {
        tokio::task::spawn_blocking(move || match self {
            Self::Sqlite(mut conn) => {
                diesel::connection::SimpleConnection::batch_execute(&mut conn, "COMMIT").unwrap();
            }
            Self::Postgres { admin, name } => {
                let mut conn = diesel::PgConnection::establish(&admin).unwrap();
                diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
                    .execute(&mut conn)
                    .unwrap();
            }
        })
        .await
        .unwrap();
    }
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn assert_unavailable_page(what: &str, response: reqwest::Response) {
    assert_eq!(response.status(), 503, "{what}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: {content_type}"
    );
    let page = response.text().await.unwrap();
    assert!(
        page.contains("<h1>Temporarily unavailable</h1>") && page.contains("</html>"),
        "{what}: {page}"
    );
}

async fn pages_and_api_answer_503_while_the_database_is_down_and_recover(backend: Backend) {
    // Mail workers poll rarely, so they do not queue for the database during the outage.
    let (app, _sink) =
        app_with_mail(backend.clone(), &[("LATCHKEY_EMAIL_POLL_INTERVAL", "1h")]).await;
    seed(&app).await;
    let first = app.get("/login").await;
    assert_eq!(first.status(), 200);
    let cookie = session_cookie(&first);
    let login = || {
        app.client
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": "alice", "password": ALICE_PASSWORD }))
            .send()
    };

    let outage = Outage::begin(&app, &backend).await;
    let started = Instant::now();
    let (fresh, api) = tokio::join!(app.client.get(app.url("/login")).send(), login());
    assert_unavailable_page(
        "a new visitor (the session cannot be saved)",
        fresh.unwrap(),
    )
    .await;
    let api = api.unwrap();
    assert_eq!(api.status(), 503);
    assert_eq!(body(api).await["detail"], API_UNAVAILABLE);
    if matches!(backend, Backend::Postgres(_)) {
        // SQLite still reads while another process holds the write lock; PostgreSQL does not.
        let returning = app
            .client
            .get(app.url("/account"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_unavailable_page(
            "a returning visitor (the session cannot be loaded)",
            returning,
        )
        .await;
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered within the pool's checkout timeout and SQLite's busy timeout, not a hang"
    );
    if matches!(backend, Backend::Postgres(_)) {
        // Forward auth refuses (503, never a 200 or a bare 500) while it cannot check.
        let bearer = format!("Bearer {}", "ab".repeat(32));
        for (name, value) in [("Cookie", cookie.as_str()), ("Authorization", &bearer)] {
            let verify = app
                .client
                .get(app.url("/auth/verify"))
                .header(name, value)
                .send()
                .await
                .unwrap();
            assert_eq!(verify.status(), 503, "forward auth with {name}");
            assert!(verify.headers().get("x-latchkey-user-id").is_none());
        }
    }

    outage.end().await;
    let last = std::cell::Cell::new(None);
    let recovered = crate::helpers::poll_until(Duration::from_secs(20), || async {
        let page = app
            .client
            .get(app.url("/login"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        last.set(Some(page.status()));
        (page.status() == 200).then_some(())
    })
    .await;
    assert!(
        recovered.is_some(),
        "the pages did not recover: {:?}",
        last.get()
    );
    assert_eq!(
        login().await.unwrap().status(),
        200,
        "the API recovered too"
    );
}

async fn malformed_query_strings_and_forms_get_html_400_pages(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    for (method, path) in [
        (Method::GET, "/login?next=a&next=b"),
        (Method::HEAD, "/login?next=a&next=b"),
        (Method::GET, "/account?changed=1&changed=2"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{method} {path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        if method == Method::GET {
            let page = response.text().await.unwrap();
            assert!(
                page.contains("This address is not valid") && page.contains("</html>"),
                "{path}: {page}"
            );
            assert!(!page.contains("deserialize"), "{page}");
        }
    }
    let form = app
        .client
        .post(app.url("/login"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("username=a&username=b&password=x&csrf_token=y")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 400);
    assert!(form.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = form.text().await.unwrap();
    assert!(
        page.contains("Something was wrong with the form") && page.contains("</html>"),
        "{page}"
    );
}

async fn get_and_head_of_an_expired_reset_link_change_nothing(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    app.blocking(|state| {
        use diesel::prelude::*;
        use latchkey::db::schema::password_reset_tokens as t;
        diesel::update(t::table)
            .set(t::expires_at.eq(latchkey::db::now() - chrono::Duration::hours(1)))
            .execute(&mut *state.db.get().unwrap())
            .unwrap();
    })
    .await;
    let link = format!("/reset-password/{token}");
    for method in [Method::HEAD, Method::GET] {
        let response = app
            .client
            .request(method.clone(), app.url(&link))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{method}");
        if method == Method::GET {
            assert!(response
                .text()
                .await
                .unwrap()
                .contains("This link does not work"));
        }
        assert_eq!(app.reset_token_count().await, 1, "{method} changed nothing");
    }
    let purge = app.cli(&["tokens", "purge"], None);
    assert!(
        stdout(&purge).contains("deleted 1 expired reset token(s)"),
        "{}",
        stdout(&purge)
    );
    assert_eq!(app.reset_token_count().await, 0, "the purge removes it");
}

async fn an_ipv6_client_is_counted_per_network_not_per_address(backend: Backend) {
    let (app, _sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_IP", "3/1h"),
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP", "3/1h"),
        ],
    )
    .await;
    seed(&app).await;
    let login = |address: String, password: &'static str| {
        let request = app
            .client
            .post(app.url("/api/auth/login"))
            .header("X-Forwarded-For", address)
            .json(&json!({ "username": "alice", "password": password }));
        async move { request.send().await.unwrap().status().as_u16() }
    };
    // One host owns the whole /64: a fresh address for every guess is still one client.
    let mut statuses = Vec::new();
    for host in 1..=5 {
        statuses.push(login(format!("2001:db8:1:2::{host:x}"), "wrong password").await);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    assert_eq!(
        login("2001:db8:1:2:ffff::1".to_owned(), ALICE_PASSWORD).await,
        429,
        "the right password from the same /64 waits too"
    );
    assert_eq!(
        login("2001:db8:1:3::1".to_owned(), ALICE_PASSWORD).await,
        200,
        "the next /64 is another client"
    );

    let narrow = app.sibling(&[("LATCHKEY_IPV6_PREFIX", "128")]).await;
    let mut statuses = Vec::new();
    for host in 1..=5 {
        let status = narrow
            .client
            .post(narrow.url("/api/auth/login"))
            .header("X-Forwarded-For", format!("2001:db8:9::{host:x}"))
            .json(&json!({ "username": "bob", "password": "wrong password" }))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        statuses.push(status);
    }
    assert_eq!(
        statuses, [401; 5],
        "LATCHKEY_IPV6_PREFIX=128 counts each address"
    );
}
