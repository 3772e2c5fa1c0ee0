//! Short number codes (`LATCHKEY_TOKEN_GENERATOR=number`) are checked against one account's
//! token when the request names the account's `email`, and five wrong codes kill that token, so
//! keeping many codes live does not make guessing pay and one client cannot lock out others.

use serde_json::json;

use crate::fixtures::{app_with_mail, body, mailed_token, seed, NEW_PASSWORD};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

const NUMBERS: [(&str, &str); 1] = [("LATCHKEY_TOKEN_GENERATOR", "number")];
const INVALID: &str = "The OTP password entered is not valid. Please check and try again.";

on_both_backends!(
    a_number_code_needs_its_accounts_email_by_default,
    a_code_is_checked_only_against_the_named_accounts_token,
    the_fifth_wrong_code_kills_the_accounts_token,
    concurrent_wrong_codes_cannot_share_an_attempt,
    a_client_exhausting_the_global_limit_never_blocks_another_accounts_code,
    the_emailed_link_names_the_account_and_works_on_the_pages,
);

impl TestApp {
    async fn check_code(
        &self,
        endpoint: &str,
        fields: serde_json::Value,
        client_ip: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/password_reset/{endpoint}/")))
            .header("X-Forwarded-For", client_ip)
            .json(&fields)
            .send()
            .await
            .unwrap()
    }
}

/// A six-digit code that is not `code`.
fn other_code(code: &str, offset: u32) -> String {
    let value: u32 = code.parse().unwrap();
    (100_000 + (value - 100_000 + offset) % 900_000).to_string()
}

async fn a_number_code_needs_its_accounts_email_by_default(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &NUMBERS).await;
    seed(&app).await;
    let code = mailed_token(&app, &sink, "alice@example.com").await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));

    let bare = app.validate(&code).await;
    assert_eq!(bare.status(), 400);
    assert_eq!(
        body(bare).await,
        json!({ "email": ["This field is required."] })
    );
    let bare_confirm = app.confirm(&code, NEW_PASSWORD).await;
    assert_eq!(bare_confirm.status(), 400);
    assert_eq!(
        body(bare_confirm).await,
        json!({ "email": ["This field is required."] })
    );
    let nothing = app
        .post_json("/api/password_reset/validate_token/", json!({}))
        .await;
    assert_eq!(
        body(nothing).await,
        json!({ "token": ["This field is required."], "email": ["This field is required."] })
    );
    let malformed = app
        .post_json(
            "/api/password_reset/validate_token/",
            json!({ "token": code, "email": "not an address" }),
        )
        .await;
    assert_eq!(malformed.status(), 400);

    let fields = json!({ "token": code, "email": " ALICE@example.com " });
    assert_eq!(
        app.check_code("validate_token", fields, "10.0.0.1")
            .await
            .status(),
        200,
        "the email is trimmed and compared as every email is"
    );
    let confirm = json!({ "token": code, "email": "alice@example.com", "password": NEW_PASSWORD });
    assert_eq!(
        app.check_code("confirm", confirm, "10.0.0.1")
            .await
            .status(),
        200
    );
    assert!(app.password_is("alice", NEW_PASSWORD).await);
}

async fn a_code_is_checked_only_against_the_named_accounts_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &NUMBERS).await;
    seed(&app).await;
    let alice = mailed_token(&app, &sink, "alice@example.com").await;
    let bob = mailed_token(&app, &sink, "bob@example.com").await;
    for (code, email) in [
        (&alice, "bob@example.com"),
        (&bob, "alice@example.com"),
        (&alice, "nobody@example.com"),
    ] {
        let response = app
            .check_code(
                "validate_token",
                json!({ "token": code, "email": email }),
                "10.0.0.1",
            )
            .await;
        assert_eq!(response.status(), 404, "{email}");
        assert_eq!(body(response).await, json!({ "detail": INVALID }));
    }
    for (code, email) in [(&alice, "alice@example.com"), (&bob, "bob@example.com")] {
        let response = app
            .check_code(
                "validate_token",
                json!({ "token": code, "email": email }),
                "10.0.0.1",
            )
            .await;
        assert_eq!(
            response.status(),
            200,
            "{email}: a miss on another account costs nothing here"
        );
    }
}

async fn the_fifth_wrong_code_kills_the_accounts_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &NUMBERS).await;
    seed(&app).await;
    let code = mailed_token(&app, &sink, "alice@example.com").await;
    let alice = |token: String| json!({ "token": token, "email": "alice@example.com" });
    for offset in 1..=4 {
        let wrong = app
            .check_code(
                "validate_token",
                alice(other_code(&code, offset)),
                "10.0.0.1",
            )
            .await;
        assert_eq!(wrong.status(), 404);
    }
    assert_eq!(
        app.check_code("validate_token", alice(code.clone()), "10.0.0.1")
            .await
            .status(),
        200,
        "four wrong codes leave the token alive, and a right one costs no attempt"
    );
    assert_eq!(
        app.check_code("validate_token", alice(other_code(&code, 5)), "10.0.0.1")
            .await
            .status(),
        404
    );
    assert_eq!(
        app.reset_token_count().await,
        0,
        "the fifth wrong code deleted it"
    );
    let right = json!({ "token": code, "email": "alice@example.com", "password": NEW_PASSWORD });
    assert_eq!(
        app.check_code("confirm", right, "10.0.0.1").await.status(),
        404
    );
    assert!(!app.password_is("alice", NEW_PASSWORD).await);
}

async fn concurrent_wrong_codes_cannot_share_an_attempt(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &NUMBERS).await;
    seed(&app).await;
    let code = mailed_token(&app, &sink, "alice@example.com").await;
    let guesses = (1..=30).map(|offset| {
        let (client, url) = (
            app.client.clone(),
            app.url("/api/password_reset/validate_token/"),
        );
        let guess = other_code(&code, offset);
        tokio::spawn(async move {
            client
                .post(url)
                .header("X-Forwarded-For", "10.0.0.9")
                .json(&json!({ "token": guess, "email": "alice@example.com" }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    });
    for guess in futures_util::future::join_all(guesses).await {
        assert_eq!(guess.unwrap(), 404);
    }
    assert_eq!(
        app.reset_token_count().await,
        0,
        "30 concurrent wrong codes killed the token"
    );
    let attempts: Vec<i32> = app
        .blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::password_reset_tokens as t;
            t::table
                .select(t::failed_attempts)
                .load(&mut *state.db.get().unwrap())
                .unwrap()
        })
        .await;
    assert!(attempts.is_empty());
}

async fn a_client_exhausting_the_global_limit_never_blocks_another_accounts_code(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_TOKEN_GENERATOR", "number"),
            ("LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL", "false"),
            ("LATCHKEY_RATE_TOKEN_CHECKS_GLOBAL", "5/1h"),
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ],
    )
    .await;
    seed(&app).await;
    let code = mailed_token(&app, &sink, "alice@example.com").await;
    for offset in 1..=5 {
        let guess = json!({ "token": other_code(&code, offset) });
        assert_eq!(
            app.check_code("validate_token", guess, "203.0.113.7")
                .await
                .status(),
            404,
            "without email the package's token-only form still works"
        );
    }
    let exhausted = app
        .check_code(
            "validate_token",
            json!({ "token": other_code(&code, 6) }),
            "203.0.113.7",
        )
        .await;
    assert_eq!(exhausted.status(), 429);
    assert!(exhausted.headers().contains_key("retry-after"));
    let bare = app
        .check_code("validate_token", json!({ "token": code }), "198.51.100.20")
        .await;
    assert_eq!(
        bare.status(),
        429,
        "the global limit holds for token-only checks"
    );

    let bound = json!({ "token": code, "email": "alice@example.com", "password": NEW_PASSWORD });
    assert_eq!(
        app.check_code("validate_token", bound.clone(), "198.51.100.20")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.check_code("confirm", bound, "198.51.100.20")
            .await
            .status(),
        200
    );
    assert!(app.password_is("alice", NEW_PASSWORD).await);
}

async fn the_emailed_link_names_the_account_and_works_on_the_pages(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &NUMBERS).await;
    seed(&app).await;
    let code = mailed_token(&app, &sink, "alice@example.com").await;
    let message = sink.messages().pop().unwrap();
    let text = crate::fixtures::readable(&message);
    let link = format!("http://latchkey.test/reset-password/{code}?email=alice%40example.com");
    assert!(text.contains(&link), "{text}");

    let followed = app
        .get(&format!("/reset-password/{code}?email=alice%40example.com"))
        .await;
    assert_eq!(followed.status(), 303);
    assert_eq!(followed.headers()["location"], "/reset-password");
    let without_account = app.get(&format!("/reset-password/{code}")).await;
    assert_eq!(
        without_account.status(),
        404,
        "a bare code names no account"
    );
    let other_account = app
        .get(&format!("/reset-password/{code}?email=bob%40example.com"))
        .await;
    assert_eq!(other_account.status(), 404);
    assert_eq!(
        app.reset_token_count().await,
        1,
        "one wrong account is one attempt, not a kill"
    );
}
