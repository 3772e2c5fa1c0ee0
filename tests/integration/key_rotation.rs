//! `LATCHKEY_SECRET_KEY_FALLBACKS`: rotating the secret key logs nobody out and breaks no link;
//! removing the fallback afterwards ends what only the old key can open.

use std::collections::HashMap;

use base64::Engine;
use serde_json::json;

use crate::fixtures::{seed, ALICE_PASSWORD};
use crate::helpers::{spawn_app_with, stdout, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(rotating_the_key_logs_nobody_out_and_removing_the_fallback_ends_the_old_things,);

fn key(byte: u8) -> String {
    base64::engine::general_purpose::STANDARD.encode([byte; 64])
}

/// A browser's cookies, sent to whichever instance it talks to.
#[derive(Default)]
struct Cookies(HashMap<String, String>);

impl Cookies {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> (u16, String, String) {
        let header: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = request
            .header("Cookie", header.join("; "))
            .send()
            .await
            .unwrap();
        for set in response.headers().get_all("set-cookie") {
            let text = set.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.insert(name.to_owned(), value.to_owned());
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map_or(String::new(), |v| v.to_str().unwrap().to_owned());
        (status, location, response.text().await.unwrap())
    }

    async fn log_in(&mut self, app: &TestApp) {
        let (_, _, form) = self.send(app.client.get(app.url("/login"))).await;
        let marker = "name=\"csrf_token\" value=\"";
        let start = form.find(marker).unwrap() + marker.len();
        let csrf = form[start..].split('"').next().unwrap().to_owned();
        let (status, _, _) = self
            .send(app.client.post(app.url("/login")).form(&[
                ("csrf_token", csrf.as_str()),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ]))
            .await;
        assert_eq!(status, 303);
    }

    /// True when `/account` shows the account (not a redirect to the login form).
    async fn logged_in(&mut self, app: &TestApp) -> bool {
        let (status, location, _) = self.send(app.client.get(app.url("/account"))).await;
        assert!(
            status == 200 || location.starts_with("/login"),
            "{status} {location}"
        );
        status == 200
    }
}

async fn bearer(app: &TestApp) -> String {
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "alice", "password": ALICE_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.client
        .get(app.url("/api/auth/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A reset link issued by the admin command, for `user`; returns its token.
fn issue(app: &TestApp, user: &str) -> String {
    let issued = app.cli(&["tokens", "issue", user], None);
    assert!(
        issued.status.success(),
        "{}",
        crate::helpers::stderr(&issued)
    );
    let link = stdout(&issued);
    link.trim().rsplit('/').next().unwrap().to_owned()
}

async fn validate(app: &TestApp, token: &str) -> u16 {
    app.client
        .post(app.url("/api/password_reset/validate_token/"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn rotating_the_key_logs_nobody_out_and_removing_the_fallback_ends_the_old_things(
    backend: Backend,
) {
    let (old, new) = (key(1), key(2));
    let before = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_SECRET_KEY", &old),
            ("LATCHKEY_EMAIL_WORKERS", "0"),
        ],
    )
    .await;
    seed(&before).await;
    // Made under the old key: a browser session, bearer tokens, reset links, a queued mail.
    let mut browser = Cookies::default();
    browser.log_in(&before).await;
    let mut idle_browser = Cookies::default();
    idle_browser.log_in(&before).await;
    let (used, idle) = (bearer(&before).await, bearer(&before).await);
    let link = issue(&before, "alice");
    let queued = before.cli(&["tokens", "issue", "bob", "--send"], None);
    assert!(queued.status.success());

    // Rotated: the new key makes everything new, the old one still opens what it made.
    let rotated = before
        .sibling(&[
            ("LATCHKEY_SECRET_KEY", &new),
            ("LATCHKEY_SECRET_KEY_FALLBACKS", &old),
            ("LATCHKEY_EMAIL_WORKERS", "1"),
        ])
        .await;
    assert!(browser.logged_in(&rotated).await, "nobody is logged out");
    assert_eq!(me(&rotated, &used).await, 200, "bearer tokens keep working");
    assert_eq!(
        validate(&rotated, &link).await,
        200,
        "a pending link still works"
    );
    rotated.settle().await;
    let rows = rotated.outbox_rows().await;
    assert!(
        rows.iter().all(|row| row.state == "sent"),
        "the mail sealed under the old key is opened and sent: {rows:?}"
    );
    let fresh = bearer(&rotated).await;

    // The fallback removed: what was used during the rotation moved to the new key; what only
    // the old key opens is over.
    let after = before
        .sibling(&[
            ("LATCHKEY_SECRET_KEY", &new),
            ("LATCHKEY_EMAIL_WORKERS", "0"),
        ])
        .await;
    assert!(
        browser.logged_in(&after).await,
        "a browser seen during the rotation"
    );
    assert_eq!(
        me(&after, &used).await,
        200,
        "a token used during the rotation"
    );
    assert_eq!(me(&after, &fresh).await, 200);
    assert_eq!(
        validate(&after, &link).await,
        200,
        "a link checked during the rotation"
    );
    assert!(
        !idle_browser.logged_in(&after).await,
        "an old-key-only session ends"
    );
    assert_eq!(me(&after, &idle).await, 401, "an old-key-only token ends");
    let old_only_link = issue(&before, "alice");
    assert_eq!(
        validate(&after, &old_only_link).await,
        404,
        "an old-key-only link ends"
    );

    // And an instance still on the old key alone cannot open what the new key made.
    assert_eq!(me(&before, &fresh).await, 401);
}
