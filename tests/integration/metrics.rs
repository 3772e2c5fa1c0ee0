//! Prometheus metrics on their own listener: every series SPEC names is there, moves with the
//! events it counts, labels routes by pattern (never a token), and is absent from the public port.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    metrics_count_requests_logins_resets_and_limits_by_pattern_never_by_token,
    metrics_can_be_turned_off,
);

async fn scrape(app: &TestApp) -> String {
    let url = format!("{}/metrics", app.metrics_address.as_ref().unwrap());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    response.text().await.unwrap()
}

/// The value of one sample (`name{labels}` exactly as rendered), 0 when absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

async fn post(app: &TestApp, path: &str, body: serde_json::Value) -> u16 {
    app.client
        .post(app.url(path))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn metrics_count_requests_logins_resets_and_limits_by_pattern_never_by_token(
    backend: Backend,
) {
    let app = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "3/1h"),
            ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
        ],
    )
    .await;
    app.create_user("alice", "alice@example.com").await;
    let set = app.cli(
        &["users", "set-password", "alice", "--password-stdin"],
        Some("correct horse battery"),
    );
    assert!(set.status.success());
    let before = scrape(&app).await;
    let token = "ab".repeat(32);
    assert_eq!(
        post(
            &app,
            "/api/password_reset/validate_token/",
            json!({ "token": token })
        )
        .await,
        404
    );
    let link = app.get(&format!("/reset-password/{token}")).await;
    assert!(link.status().is_client_error() || link.status().is_success());
    assert_eq!(
        post(
            &app,
            "/api/password_reset/validate_token/",
            json!({ "token": token })
        )
        .await,
        404
    );
    assert_eq!(
        post(
            &app,
            "/api/password_reset/validate_token/",
            json!({ "token": token })
        )
        .await,
        429
    );
    let login = |password: &'static str| {
        post(
            &app,
            "/api/auth/login",
            json!({ "username": "alice", "password": password }),
        )
    };
    assert_eq!(login("correct horse battery").await, 200);
    assert_eq!(login("not the password").await, 401);
    assert_eq!(
        post(
            &app,
            "/api/password_reset/",
            json!({ "email": "alice@example.com" })
        )
        .await,
        200
    );

    // The reset mail goes out (file backend): the sent stage and the outbox gauge follow.
    let last = std::cell::RefCell::new(String::new());
    let after = crate::helpers::poll_until(Duration::from_secs(20), || async {
        let text = scrape(&app).await;
        if sample(&text, r#"latchkey_password_resets_total{stage="sent"}"#) >= 1.0
            && sample(&text, r#"latchkey_outbox_messages{state="sent"}"#) >= 1.0
        {
            return Some(text);
        }
        *last.borrow_mut() = text;
        None
    })
    .await
    .unwrap_or_else(|| panic!("the reset mail was never counted:\n{}", last.borrow()));
    for series in [
        "latchkey_http_requests_total",
        "latchkey_http_request_duration_seconds",
        "latchkey_logins_total",
        "latchkey_password_resets_total",
        "latchkey_rate_limited_total",
        "latchkey_password_hash_seconds",
        "latchkey_password_hash_queue",
        "latchkey_outbox_messages",
        "latchkey_outbox_oldest_pending_seconds",
    ] {
        assert!(
            after.contains(&format!("# TYPE {series} ")),
            "{series} missing:\n{after}"
        );
    }

    let moved = |series: &str| sample(&after, series) - sample(&before, series);
    assert_eq!(
        moved(
            r#"latchkey_http_requests_total{route="/api/password_reset/validate_token/",status="404"}"#
        ),
        2.0
    );
    assert_eq!(
        moved(
            r#"latchkey_http_requests_total{route="/api/password_reset/validate_token/",status="429"}"#
        ),
        1.0
    );
    assert_eq!(
        moved(r#"latchkey_rate_limited_total{limit="token_checks_per_ip"}"#),
        1.0
    );
    assert_eq!(moved(r#"latchkey_logins_total{outcome="success"}"#), 1.0);
    assert_eq!(moved(r#"latchkey_logins_total{outcome="invalid"}"#), 1.0);
    assert_eq!(
        moved(r#"latchkey_password_resets_total{stage="requested"}"#),
        1.0
    );
    assert!(
        moved("latchkey_password_hash_seconds_count") >= 2.0,
        "two logins hashed"
    );
    assert!(
        moved(r#"latchkey_http_request_duration_seconds_count{route="/api/auth/login"}"#) >= 2.0
    );
    assert!(
        after.contains(r#"route="/reset-password/{token}""#),
        "the link is labelled by its pattern:\n{after}"
    );
    assert!(!after.contains(&token), "a token never reaches a label");
    assert_eq!(
        sample(&after, r#"latchkey_outbox_messages{state="dead"}"#),
        0.0
    );

    // Never on the public port.
    assert_eq!(app.get("/metrics").await.status(), 404);
}

async fn metrics_can_be_turned_off(backend: Backend) {
    let app = spawn_app_with(backend, &[("LATCHKEY_METRICS_BIND", "off")]).await;
    assert!(app.metrics_address.is_none());
    assert_eq!(app.get("/healthz").await.status(), 200);
}
