//! Edges, on both backends: the client address behind proxies (the right-most untrusted entry
//! counts, never what the client wrote), pages that fail politely (database down, malformed
//! query strings), and reset links whose GET and HEAD change nothing, even once expired.

use serde_json::json;

use crate::fixtures::{app_with_mail, seed, WAIT};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    rotating_the_left_most_forwarded_for_entry_does_not_dodge_the_per_ip_limit,
    the_forwarding_header_of_an_untrusted_peer_is_ignored,
    forwarded_for_is_understood_and_its_right_most_entry_counts,
);

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
