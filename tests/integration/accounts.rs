//! `/api/auth/…` over HTTP on both backends: every row of SPEC §4.2, revocation, throttling.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fixtures::{
    app_with_mail, body, mailed_token, seed, ALICE_PASSWORD, NEW_PASSWORD, WAIT,
};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

const INVALID_LOGIN: &str = "Invalid username/password";

on_both_backends!(
    login_gives_a_bearer_token_that_me_accepts,
    every_failed_login_gets_the_same_401,
    login_field_errors_are_400,
    logout_revokes_only_the_calling_token,
    logout_all_revokes_every_token,
    change_password_keeps_the_calling_token_and_revokes_the_others,
    change_password_reports_each_field,
    a_reset_revokes_every_token,
    tokens_expire_and_are_purged,
    only_the_authorization_header_authenticates,
    oversized_passwords_are_refused_before_hashing,
    failed_logins_are_throttled_per_account_and_ip_and_recover,
    failed_logins_are_throttled_per_ip,
    a_reset_clears_the_login_throttle,
    change_password_attempts_are_limited,
    a_deactivated_account_loses_its_tokens,
    an_old_cost_hash_is_upgraded_at_login,
);

impl TestApp {
    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/auth/login",
            json!({ "username": username, "password": password }),
        )
        .await
    }

    /// Logs in as a client at `ip` (the app must trust `X-Forwarded-For`).
    pub async fn login_from(&self, ip: &str, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/auth/login"))
            .header("X-Forwarded-For", ip)
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Logs in and returns the token (panics unless the login succeeds).
    pub async fn token(&self, username: &str, password: &str) -> String {
        let response = self.login(username, password).await;
        assert_eq!(response.status(), 200);
        body(response).await["token"].as_str().unwrap().to_owned()
    }

    pub async fn with_bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        payload: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(payload) = payload {
            request = request.json(&payload);
        }
        request.send().await.unwrap()
    }

    pub async fn me(&self, token: &str) -> reqwest::Response {
        self.with_bearer(reqwest::Method::GET, "/api/auth/me", token, None)
            .await
    }

    pub async fn change(
        &self,
        token: &str,
        old: &str,
        new: &str,
        confirm: &str,
    ) -> reqwest::Response {
        let payload = json!({ "old_password": old, "password": new, "confirm_password": confirm });
        self.with_bearer(
            reqwest::Method::POST,
            "/api/auth/change_password",
            token,
            Some(payload),
        )
        .await
    }
}

async fn assert_unauthorized(response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

async fn login_gives_a_bearer_token_that_me_accepts(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let response = app.login("alice", ALICE_PASSWORD).await;
    assert_eq!(response.status(), 200);
    let answer = body(response).await;
    let token = answer["token"].as_str().unwrap();
    assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(answer["token_type"], "Bearer");
    let expires =
        chrono::DateTime::parse_from_rfc3339(answer["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "{days}");

    let me = app.me(token).await;
    assert_eq!(me.status(), 200);
    let me = body(me).await;
    assert_eq!(
        (me["username"].as_str(), me["email"].as_str()),
        (Some("alice"), Some("alice@example.com"))
    );
    assert!(me["id"].is_i64());

    let by_email = app.login("ALICE@Example.com", ALICE_PASSWORD).await;
    assert_eq!(
        by_email.status(),
        200,
        "an email address works in the username field"
    );
    let stored: Vec<String> = app
        .blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::api_tokens as t;
            t::table
                .select(t::token_hash)
                .load(&mut *state.db.get().unwrap())
                .unwrap()
        })
        .await;
    assert!(
        !stored.iter().any(|hash| hash == token),
        "only hashes are stored"
    );
}

async fn every_failed_login_gets_the_same_401(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut answers = Vec::new();
    for (username, password) in [
        ("nobody", ALICE_PASSWORD),
        ("alice", "wrong horse battery staple"),
        ("carol", "carol's horse battery staple"),
        ("dave", "anything at all here"),
    ] {
        let response = app.login(username, password).await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        answers.push((response.status().as_u16(), body(response).await));
    }
    assert!(
        answers
            .iter()
            .all(|a| *a == (401, json!({ "detail": INVALID_LOGIN }))),
        "{answers:?}"
    );
}

async fn login_field_errors_are_400(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let response = app.post_json("/api/auth/login", json!({})).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        body(response).await,
        json!({ "username": ["This field is required."], "password": ["This field is required."] })
    );
    let form = app
        .post_raw(
            "/api/auth/login",
            "application/x-www-form-urlencoded",
            "username=alice",
        )
        .await;
    assert_eq!(
        body(form).await,
        json!({ "password": ["This field is required."] })
    );
}

async fn logout_revokes_only_the_calling_token(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let (first, second) = (
        app.token("alice", ALICE_PASSWORD).await,
        app.token("alice", ALICE_PASSWORD).await,
    );
    let logout = app
        .with_bearer(reqwest::Method::POST, "/api/auth/logout", &first, None)
        .await;
    assert_eq!(logout.status(), 204);
    assert_unauthorized(app.me(&first).await).await;
    assert_eq!(app.me(&second).await.status(), 200);
    assert_unauthorized(
        app.with_bearer(reqwest::Method::POST, "/api/auth/logout", &first, None)
            .await,
    )
    .await;
}

async fn logout_all_revokes_every_token(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let (first, second) = (
        app.token("alice", ALICE_PASSWORD).await,
        app.token("alice", ALICE_PASSWORD).await,
    );
    let bob = app.token("bob", "bob's horse battery staple").await;
    assert_eq!(
        app.with_bearer(reqwest::Method::POST, "/api/auth/logout_all", &first, None)
            .await
            .status(),
        204
    );
    assert_unauthorized(app.me(&first).await).await;
    assert_unauthorized(app.me(&second).await).await;
    assert_eq!(
        app.me(&bob).await.status(),
        200,
        "other accounts are untouched"
    );
}

async fn change_password_keeps_the_calling_token_and_revokes_the_others(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let (caller, other) = (
        app.token("alice", ALICE_PASSWORD).await,
        app.token("alice", ALICE_PASSWORD).await,
    );
    let pending_reset = mailed_token(&app, &sink, "alice@example.com").await;
    let changed = app
        .change(&caller, ALICE_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(body(changed).await, json!({ "status": "OK" }));
    assert_eq!(app.me(&caller).await.status(), 200);
    assert_unauthorized(app.me(&other).await).await;
    assert_eq!(
        app.validate(&pending_reset).await.status(),
        404,
        "a mailed link dies with the change"
    );
    assert_eq!(app.login("alice", ALICE_PASSWORD).await.status(), 401);
    assert_eq!(app.login("alice", NEW_PASSWORD).await.status(), 200);
    let notice = sink.wait_for(2, WAIT).await.remove(1);
    assert_eq!(
        notice.header("Subject").unwrap(),
        "Your Latchkey password was changed"
    );
    assert!(!crate::fixtures::readable(&notice).contains(NEW_PASSWORD));
}

async fn change_password_reports_each_field(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    let wrong = app
        .change(&token, "not my password at all", NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(wrong.status(), 400);
    assert_eq!(
        body(wrong).await,
        json!({ "old_password": ["Your old password was entered incorrectly. Please enter it again."] })
    );
    let mismatch = app
        .change(
            &token,
            ALICE_PASSWORD,
            NEW_PASSWORD,
            "something else entirely",
        )
        .await;
    assert_eq!(
        body(mismatch).await,
        json!({ "confirm_password": ["The two password fields didn\u{2019}t match."] })
    );
    let weak = app
        .change(&token, ALICE_PASSWORD, "password", "password")
        .await;
    assert_eq!(
        body(weak).await,
        json!({ "password": ["This password is too short. It must contain at least 12 characters.", "This password is too common."] })
    );
    let missing = app
        .with_bearer(
            reqwest::Method::POST,
            "/api/auth/change_password",
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        body(missing).await,
        json!({
            "old_password": ["This field is required."],
            "password": ["This field is required."],
            "confirm_password": ["This field is required."]
        })
    );
    assert_unauthorized(app.post_json("/api/auth/change_password", json!({})).await).await;
    assert_eq!(
        app.login("alice", ALICE_PASSWORD).await.status(),
        200,
        "nothing changed"
    );
}

async fn a_reset_revokes_every_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    let reset = mailed_token(&app, &sink, "alice@example.com").await;
    assert_eq!(
        app.me(&token).await.status(),
        200,
        "requesting a reset changes nothing"
    );
    assert_eq!(app.confirm(&reset, NEW_PASSWORD).await.status(), 200);
    assert_unauthorized(app.me(&token).await).await;
    // Its last mail goes out before the SMTP server is dropped with the test.
    app.drain().await;
}

async fn tokens_expire_and_are_purged(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[("LATCHKEY_API_TOKEN_TTL", "3s")]).await;
    seed(&app).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    assert_eq!(app.me(&token).await.status(), 200);
    // A clock on purpose: the three-second API token lifetime runs out.
    crate::helpers::let_time_pass(Duration::from_millis(3300)).await;
    assert_unauthorized(app.me(&token).await).await;
    let purged = crate::helpers::stdout(&app.cli(&["tokens", "purge"], None));
    assert!(purged.contains(", 1 expired API token(s) and"), "{purged}");
}

async fn only_the_authorization_header_authenticates(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    assert_unauthorized(app.get(&format!("/api/auth/me?token={token}")).await).await;
    let cookie = app
        .client
        .get(app.url("/api/auth/me"))
        .header("Cookie", format!("token={token}; sessionid={token}"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(cookie).await;
    let basic = app
        .client
        .get(app.url("/api/auth/me"))
        .header("Authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_unauthorized(basic).await;
    let missing = app.get("/api/auth/me").await;
    assert_eq!(
        body(missing).await,
        json!({ "detail": "Authentication credentials were not provided." })
    );
    assert_unauthorized(app.me(&"0".repeat(64)).await).await;
}

async fn oversized_passwords_are_refused_before_hashing(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let huge = app.login("alice", &"x".repeat(1024 * 1024)).await;
    assert_eq!(huge.status(), 413);
    let long = app.login("alice", &"x".repeat(2000)).await;
    assert_eq!(long.status(), 401);
}

async fn failed_logins_are_throttled_per_account_and_ip_and_recover(backend: Backend) {
    let (app, _sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP", "3/3s"),
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ],
    )
    .await;
    seed(&app).await;
    let attacker = "203.0.113.7";
    for _ in 0..3 {
        let wrong = app
            .login_from(attacker, "alice", "wrong horse battery staple")
            .await;
        assert_eq!(wrong.status(), 401);
    }
    let limited = app
        .login_from(attacker, "ALICE@example.com", ALICE_PASSWORD)
        .await;
    assert_eq!(
        limited.status(),
        429,
        "the right password is refused while limited, whatever name is typed"
    );
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry));
    assert_eq!(
        app.login_from("198.51.100.1", "alice", ALICE_PASSWORD)
            .await
            .status(),
        200,
        "failures from one address never lock the owner out elsewhere"
    );
    for _ in 0..3 {
        let unknown = app
            .login_from(attacker, "nobody", "whatever it may be")
            .await;
        assert_eq!(unknown.status(), 401);
    }
    assert_eq!(
        app.login_from(attacker, "nobody", "whatever it may be")
            .await
            .status(),
        429,
        "unknown names are limited alike"
    );
    // A clock on purpose: the login limiter's window passes.
    crate::helpers::let_time_pass(Duration::from_millis(3100)).await;
    assert_eq!(
        app.login_from(attacker, "alice", ALICE_PASSWORD)
            .await
            .status(),
        200
    );
}

async fn failed_logins_are_throttled_per_ip(backend: Backend) {
    let (app, _sink) =
        app_with_mail(backend, &[("LATCHKEY_RATE_LOGIN_FAILURES_PER_IP", "3/1h")]).await;
    seed(&app).await;
    for name in ["x1", "x2", "x3"] {
        assert_eq!(app.login(name, "whatever it may be").await.status(), 401);
    }
    let limited = app.login("alice", ALICE_PASSWORD).await;
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}

async fn a_reset_clears_the_login_throttle(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[("LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP", "2/1h")],
    )
    .await;
    seed(&app).await;
    for _ in 0..2 {
        app.login("alice", "wrong horse battery staple").await;
    }
    assert_eq!(app.login("alice", ALICE_PASSWORD).await.status(), 429);
    let reset = mailed_token(&app, &sink, "alice@example.com").await;
    assert_eq!(
        app.confirm(&reset, NEW_PASSWORD).await.status(),
        200,
        "the reset flow still works"
    );
    assert_eq!(app.login("alice", NEW_PASSWORD).await.status(), 200);
}

async fn change_password_attempts_are_limited(backend: Backend) {
    let (app, _sink) = app_with_mail(
        backend,
        &[("LATCHKEY_RATE_PASSWORD_CHANGES_PER_ACCOUNT", "2/1h")],
    )
    .await;
    seed(&app).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    for _ in 0..2 {
        assert_eq!(
            app.change(
                &token,
                "wrong horse battery staple",
                NEW_PASSWORD,
                NEW_PASSWORD
            )
            .await
            .status(),
            400
        );
    }
    let limited = app
        .change(&token, ALICE_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(limited.status(), 429);
    assert_eq!(
        app.login("alice", ALICE_PASSWORD).await.status(),
        200,
        "nothing changed"
    );
}

async fn a_deactivated_account_loses_its_tokens(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    assert!(app
        .cli(&["users", "deactivate", "alice"], None)
        .status
        .success());
    assert_unauthorized(app.me(&token).await).await;
    let set = app.cli(
        &["users", "set-password", "bob", "--password-stdin"],
        Some("an admin chosen passphrase\n"),
    );
    assert!(set.status.success());
    assert_eq!(
        app.login("bob", "an admin chosen passphrase")
            .await
            .status(),
        200
    );
}

async fn an_old_cost_hash_is_upgraded_at_login(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    assert!(alice_hash(&app).await.contains("m=19456,t=2,p=1"));
    let stronger = app.sibling(&[("LATCHKEY_ARGON2_ITERATIONS", "3")]).await;
    assert_eq!(stronger.login("alice", ALICE_PASSWORD).await.status(), 200);
    let upgraded = alice_hash(&stronger).await;
    assert!(upgraded.contains("m=19456,t=3,p=1"), "{upgraded}");
    assert_eq!(stronger.login("alice", ALICE_PASSWORD).await.status(), 200);
}

async fn alice_hash(app: &TestApp) -> String {
    app.blocking(|state| {
        let mut conn = state.db.get().unwrap();
        latchkey::db::users::find_by_username(&mut conn, "alice")
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
    })
    .await
}
