//! The limits that answer 429 on PostgreSQL are the deployment's: two instances on one database
//! allow what one allows, a restart remembers, and concurrent requests never get past a limit.
//! On SQLite (one instance) they are in memory and just as exact within the process.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    concurrent_reset_requests_never_get_past_the_per_ip_limit,
    a_busy_client_under_a_large_limit_is_never_refused,
    concurrent_requests_within_the_limit_are_never_refused,
);

const RESET: &str = "/api/password_reset/";
const VALIDATE: &str = "/api/password_reset/validate_token/";

async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn reset(app: &TestApp) -> u16 {
    post(app, RESET, json!({ "email": "nobody@example.com" }))
        .await
        .status()
        .as_u16()
}

async fn concurrent_reset_requests_never_get_past_the_per_ip_limit(backend: Backend) {
    let app = spawn_app_with(backend, &[("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "10/1h")]).await;
    let statuses = join_all((0..40).map(|_| reset(&app))).await;
    let passed = statuses.iter().filter(|s| **s == 200).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((passed, refused), (10, 30), "{statuses:?}");
}

async fn concurrent_requests_within_the_limit_are_never_refused(backend: Backend) {
    // Under a limit a little above the burst, no request may be refused: units one request's
    // ask brings back must serve the others, never strand while they are refused.
    let app = spawn_app_with(backend, &[("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "60/1h")]).await;
    let statuses = join_all((0..50).map(|_| reset(&app))).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

async fn a_busy_client_under_a_large_limit_is_never_refused(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "100000/1h")],
    )
    .await;
    for _ in 0..10 {
        let statuses =
            join_all((0..50).map(|_| post(&app, VALIDATE, json!({ "token": "f".repeat(64) }))))
                .await;
        for response in statuses {
            assert_eq!(response.status(), 404, "an unknown token, never a 429");
        }
    }
}

fn postgres() -> Option<Backend> {
    Backend::postgres()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_per_ip_limits_and_a_restart_keeps_them() {
    let Some(backend) = postgres() else { return };
    let first = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "6/1h"),
            ("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "4/1h"),
        ],
    )
    .await;
    let second = first.sibling(&[]).await;
    // An attacker alternating instances gets what one instance allows.
    let mut passed = 0;
    for round in 0..6 {
        let app = if round % 2 == 0 { &first } else { &second };
        passed += usize::from(reset(app).await == 200);
    }
    assert_eq!(passed, 6);
    for app in [&first, &second] {
        let refused = post(app, RESET, json!({ "email": "nobody@example.com" })).await;
        assert_eq!(refused.status(), 429);
        let wait: u64 = refused.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (1..=600).contains(&wait),
            "one unit refills in 10 minutes: {wait}"
        );
    }
    let validate = |app| post(app, VALIDATE, json!({ "token": "f".repeat(64) }));
    let mut statuses = Vec::new();
    for round in 0..6 {
        let app = if round % 2 == 0 { &first } else { &second };
        statuses.push(validate(app).await.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 404, 429, 429]);

    // Both instances go away; the one started next still knows the counts.
    first.server.abort();
    second.server.abort();
    let restarted = first.sibling(&[]).await;
    assert_eq!(reset(&restarted).await, 429);
    assert_eq!(validate(&restarted).await.status(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_number_code_limit_is_the_deployments() {
    let Some(backend) = postgres() else { return };
    let first = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_TOKEN_GENERATOR", "number"),
            ("LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL", "false"),
            ("LATCHKEY_RATE_TOKEN_CHECKS_GLOBAL", "5/1h"),
            ("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "off"),
        ],
    )
    .await;
    let second = first.sibling(&[]).await;
    let mut statuses = Vec::new();
    for round in 0..8 {
        let app = if round % 2 == 0 { &first } else { &second };
        let response = post(app, VALIDATE, json!({ "token": "123456" })).await;
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [404, 404, 404, 404, 404, 429, 429, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_per_ip_are_counted_for_the_deployment_and_a_success_gives_back() {
    let Some(backend) = postgres() else { return };
    let first = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_IP", "3/1h"),
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP", "off"),
        ],
    )
    .await;
    let second = first.sibling(&[]).await;
    first.create_user("alice", "alice@example.com").await;
    let set = first.cli(
        &["users", "set-password", "alice", "--password-stdin"],
        Some("correct horse battery"),
    );
    assert!(set.status.success(), "{}", crate::helpers::stderr(&set));
    let login = |app, password: &'static str| {
        post(
            app,
            "/api/auth/login",
            json!({ "username": "alice", "password": password }),
        )
    };
    // Successes give their unit back, whichever instance took it.
    for app in [&first, &second, &first, &second] {
        assert_eq!(login(app, "correct horse battery").await.status(), 200);
    }
    let mut statuses = Vec::new();
    for round in 0..5 {
        let app = if round % 2 == 0 { &first } else { &second };
        statuses.push(login(app, "wrong password here").await.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    assert_eq!(
        login(&second, "correct horse battery").await.status(),
        429,
        "a used-up limit refuses even the right password"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_limit_rows_are_purged() {
    let Some(backend) = postgres() else { return };
    let app = spawn_app_with(backend, &[("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "2/1s")]).await;
    assert_eq!(reset(&app).await, 200);
    let rows = || {
        app.blocking(|state| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            let mut conn = state.db.get().unwrap();
            diesel::sql_query("SELECT COUNT(*) AS n FROM rate_limits")
                .get_result::<Count>(&mut *conn)
                .unwrap()
                .n
        })
    };
    assert_eq!(rows().await, 1);
    crate::helpers::eventually(
        Duration::from_secs(10),
        "the idle row was never purged",
        || async {
            let purged = app.cli(&["tokens", "purge"], None);
            assert!(purged.status.success());
            (rows().await == 0).then_some(())
        },
    )
    .await;
}
