//! The accounts most tests start from, a running app with a real SMTP server, and reset
//! helpers: alice and bob (with passwords), carol (inactive), dave (no usable password).

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::smtp_sink::{Received, SmtpSink};

pub const ALICE_PASSWORD: &str = "correct horse battery staple";
pub const NEW_PASSWORD: &str = "a brand new passphrase 42";
pub const WAIT: Duration = Duration::from_secs(20);

/// An app whose mail goes to a fresh SMTP server, with `extra` variables.
pub async fn app_with_mail(backend: Backend, extra: &[(&str, &str)]) -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start();
    let url = sink.url();
    let mut vars: Vec<(&str, &str)> = vec![
        ("LATCHKEY_EMAIL_BACKEND", "smtp"),
        ("LATCHKEY_SMTP_URL", &url),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
    ];
    vars.extend_from_slice(extra);
    let mut app = spawn_app_with(backend, &vars).await;
    // `let (app, sink) = …` drops the sink first: the app keeps it until its teardown check.
    app.hold(sink.clone());
    (app, sink)
}

/// alice, bob, carol (inactive) and dave (no password).
pub async fn seed(app: &TestApp) {
    app.blocking(|state| {
        use latchkey::domain::{EmailAddress, PasswordRules, Username};
        use latchkey::services::account_admin::{create_user, set_active, NewAccount};
        let accounts = [
            ("alice", Some(ALICE_PASSWORD)),
            ("bob", Some("bob's horse battery staple")),
            ("carol", Some("carol's horse battery staple")),
            ("dave", None),
        ];
        for (name, password) in accounts {
            let account = NewAccount {
                username: Username::parse(name).unwrap(),
                email: EmailAddress::parse(&format!("{name}@example.com")).unwrap(),
                password: password.map(Into::into),
            };
            create_user(
                &state.db,
                &state.hasher,
                PasswordRules { min_length: 12 },
                account,
            )
            .unwrap();
        }
        set_active(&state.db, "carol", false).unwrap();
    })
    .await;
}

impl TestApp {
    pub async fn post_json(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn request_reset(&self, email: &str) -> reqwest::Response {
        self.post_json("/api/password_reset/", json!({ "email": email }))
            .await
    }

    pub async fn validate(&self, token: &str) -> reqwest::Response {
        self.post_json(
            "/api/password_reset/validate_token/",
            json!({ "token": token }),
        )
        .await
    }

    pub async fn confirm(&self, token: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/password_reset/confirm/",
            json!({ "token": token, "password": password }),
        )
        .await
    }

    /// Whether `password` is now alice's (or anyone's) password.
    pub async fn password_is(&self, username: &str, password: &str) -> bool {
        let (username, password) = (username.to_owned(), password.to_owned());
        self.blocking(move |state| {
            let mut conn = state.db.get().unwrap();
            let user = latchkey::db::users::find_by_username(&mut conn, &username)
                .unwrap()
                .unwrap();
            let verdict = state
                .hasher
                .verify(&password.into(), user.password_hash.as_deref())
                .unwrap();
            matches!(verdict, latchkey::passwords::Verification::Valid { .. })
        })
        .await
    }

    /// How many reset tokens are stored.
    pub async fn reset_token_count(&self) -> i64 {
        self.blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::password_reset_tokens;
            let mut conn = state.db.get().unwrap();
            password_reset_tokens::table
                .count()
                .get_result(&mut *conn)
                .unwrap()
        })
        .await
    }
}

/// Messages with quoted-printable soft line breaks undone.
pub fn readable(message: &Received) -> String {
    message.data.replace("=\r\n", "").replace("=3D", "=")
}

/// The reset link in a message, and its token.
pub fn reset_link(message: &Received) -> (String, String) {
    let text = readable(message);
    let start = text.find("http").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '-' | '_'))
        .collect();
    let token = link.rsplit('/').next().unwrap().to_owned();
    (link, token)
}

/// Requests a reset for `email` and returns the token mailed for it (the newest message).
pub async fn mailed_token(app: &TestApp, sink: &SmtpSink, email: &str) -> String {
    let before = sink.count();
    assert_eq!(app.request_reset(email).await.status(), 200);
    let messages = sink.wait_for(before + 1, WAIT).await;
    reset_link(messages.last().unwrap()).1
}

/// The body of a response as JSON.
pub async fn body(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}
