//! The reset API over HTTP, on both backends: every body and status of SPEC §4.1, the security
//! rules of SPEC §8 that concern it, and the settings.

use std::collections::HashSet;

use serde_json::json;

use crate::fixtures::{
    app_with_mail, body, mailed_token, readable, reset_link, seed, ALICE_PASSWORD, NEW_PASSWORD,
    WAIT,
};
use crate::helpers::Backend;
use crate::on_both_backends;

const INVALID: &str = "The OTP password entered is not valid. Please check and try again.";

on_both_backends!(
    a_known_address_gets_a_link_that_validates_once_and_confirms_once,
    every_account_state_gets_the_same_answer_and_only_alice_gets_mail,
    request_field_errors_use_drfs_messages,
    the_leakage_setting_restores_the_400_for_ineligible_accounts,
    validate_and_confirm_check_fields_then_token_then_password,
    a_new_request_supersedes_the_previous_token,
    tokens_expire_on_validate_and_confirm,
    exactly_one_of_fifty_concurrent_confirms_succeeds,
    mail_goes_to_the_stored_address_with_a_link_on_the_public_url,
    arrays_duplicates_and_injections_send_nothing,
    the_per_ip_limit_ignores_rotating_forwarded_for,
    the_per_account_mail_cap_is_silent,
    the_mail_allowance_opens_again_when_its_window_ends,
    token_checks_are_limited_per_ip_even_for_valid_tokens,
    the_client_ip_header_is_used_only_when_configured,
    malformed_oversized_and_mistyped_bodies_are_json_4xx,
    paths_without_slash_work_and_other_methods_get_405,
    number_tokens_work_end_to_end,
    tokens_are_stored_only_as_keyed_hashes,
    a_reset_is_audited_and_an_admin_password_change_kills_outstanding_tokens,
    a_dead_reset_mail_is_reissued_with_a_fresh_token_by_retry_dead,
);

async fn a_known_address_gets_a_link_that_validates_once_and_confirms_once(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let response = app.request_reset("alice@example.com").await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({ "status": "OK" }));

    let message = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(message.rcpt_to, vec!["alice@example.com"]);
    assert_eq!(
        message.header("Subject").unwrap(),
        "Reset your Latchkey password"
    );
    let (link, token) = reset_link(&message);
    assert_eq!(link, format!("http://latchkey.test/reset-password/{token}"));
    assert_eq!(token.len(), 64);
    assert!(
        readable(&message).contains("Hello alice") && readable(&message).contains("60 minutes")
    );

    let validated = app.validate(&token).await;
    assert_eq!(validated.status(), 200);
    assert_eq!(
        body(validated).await,
        json!({ "status": "OK" }),
        "no user details by default"
    );
    assert_eq!(
        app.validate(&token).await.status(),
        200,
        "validation never consumes"
    );

    let confirmed = app.confirm(&token, NEW_PASSWORD).await;
    assert_eq!(confirmed.status(), 200);
    assert_eq!(body(confirmed).await, json!({ "status": "OK" }));
    assert!(app.password_is("alice", NEW_PASSWORD).await);
    assert!(!app.password_is("alice", ALICE_PASSWORD).await);

    for replay in [
        app.validate(&token).await,
        app.confirm(&token, "another good passphrase 7").await,
    ] {
        assert_eq!(replay.status(), 404);
        assert_eq!(body(replay).await, json!({ "detail": INVALID }));
    }
    assert_eq!(app.reset_token_count().await, 0);

    let notice = sink.wait_for(2, WAIT).await.remove(1);
    assert_eq!(
        notice.header("Subject").unwrap(),
        "Your Latchkey password was changed"
    );
    assert_eq!(notice.rcpt_to, vec!["alice@example.com"]);
    assert!(!readable(&notice).contains(&token) && !readable(&notice).contains("/reset-password/"));
    assert!(!readable(&notice).contains(NEW_PASSWORD));
}

async fn every_account_state_gets_the_same_answer_and_only_alice_gets_mail(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut answers = Vec::new();
    for email in [
        "alice@example.com",
        "nobody@example.com",
        "carol@example.com",
        "dave@example.com",
    ] {
        let response = app.request_reset(email).await;
        let status = response.status();
        let mut names: Vec<String> = response.headers().keys().map(|k| k.to_string()).collect();
        names.sort();
        answers.push((status, names, response.bytes().await.unwrap()));
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    app.settle().await;
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].rcpt_to, vec!["alice@example.com"]);
    assert_eq!(app.reset_token_count().await, 1);
}

async fn request_field_errors_use_drfs_messages(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    let cases = [
        (json!({}), "This field is required."),
        (json!({ "email": "" }), "This field may not be blank."),
        (json!({ "email": null }), "This field may not be null."),
        (
            json!({ "email": "not-an-email" }),
            "Enter a valid email address.",
        ),
        (
            json!({ "email": "u\u{0455}er5@mail.com" }),
            "Enter a valid email address.",
        ),
        (json!({ "email": 123 }), "Enter a valid email address."),
        (
            json!({ "email": ["alice@example.com"] }),
            "Not a valid string.",
        ),
        (
            json!({ "email": "x\u{0000}@example.com" }),
            "Null characters are not allowed.",
        ),
    ];
    for (request, message) in cases {
        let response = app.post_json("/api/password_reset/", request.clone()).await;
        assert_eq!(response.status(), 400, "{request}");
        assert_eq!(
            body(response).await,
            json!({ "email": [message] }),
            "{request}"
        );
    }
    app.settle().await;
    assert!(sink.messages().is_empty());
}

async fn the_leakage_setting_restores_the_400_for_ineligible_accounts(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[("LATCHKEY_NO_INFORMATION_LEAKAGE", "false")]).await;
    seed(&app).await;
    let expected = json!({ "email": ["We couldn't find an account associated with that email. Please try a different e-mail address."] });
    for email in [
        "nobody@example.com",
        "carol@example.com",
        "dave@example.com",
    ] {
        let response = app.request_reset(email).await;
        assert_eq!(response.status(), 400, "{email}");
        assert_eq!(body(response).await, expected);
    }
    assert_eq!(app.request_reset("ALICE@example.com").await.status(), 200);
    assert_eq!(sink.wait_for(1, WAIT).await.len(), 1);
}

async fn validate_and_confirm_check_fields_then_token_then_password(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let missing = app
        .post_json("/api/password_reset/validate_token/", json!({}))
        .await;
    assert_eq!(
        (missing.status().as_u16(), body(missing).await),
        (400, json!({ "token": ["This field is required."] }))
    );
    let unknown = app.validate(&"ab".repeat(32)).await;
    assert_eq!(
        (unknown.status().as_u16(), body(unknown).await),
        (404, json!({ "detail": INVALID }))
    );
    let misshapen = app.validate("not_a_valid_token").await;
    assert_eq!(
        (misshapen.status().as_u16(), body(misshapen).await),
        (404, json!({ "detail": INVALID }))
    );

    let both = app
        .post_json("/api/password_reset/confirm/", json!({}))
        .await;
    assert_eq!(
        (both.status().as_u16(), body(both).await),
        (
            400,
            json!({ "password": ["This field is required."], "token": ["This field is required."] })
        )
    );
    let bad_token_short_password = app.confirm(&"ab".repeat(32), "x").await;
    assert_eq!(
        bad_token_short_password.status(),
        404,
        "the token is checked before the password"
    );

    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let weak = app.confirm(&token, "1").await;
    assert_eq!(weak.status(), 400);
    assert_eq!(
        body(weak).await,
        json!({ "password": [
            "This password is too short. It must contain at least 12 characters.",
            "This password is too common.",
            "This password is entirely numeric."
        ] })
    );
    let similar = app.confirm(&token, "alice@example").await;
    assert_eq!(
        body(similar).await["password"][0],
        "The password is too similar to the email address."
    );
    let long = app.confirm(&token, &"x".repeat(1025)).await;
    assert_eq!(
        body(long).await,
        json!({ "password": ["This password is too long."] })
    );
    assert_eq!(
        app.validate(&token).await.status(),
        200,
        "a rejected password keeps the token"
    );
    assert_eq!(
        app.confirm(&token, &format!("  {NEW_PASSWORD}  "))
            .await
            .status(),
        200
    );
    assert!(
        app.password_is("alice", &format!("  {NEW_PASSWORD}  "))
            .await,
        "passwords are never trimmed"
    );
}

async fn a_new_request_supersedes_the_previous_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let first = mailed_token(&app, &sink, "alice@example.com").await;
    let second = mailed_token(&app, &sink, "alice@example.com").await;
    assert_ne!(first, second);
    assert_eq!(app.validate(&first).await.status(), 404);
    assert_eq!(app.validate(&second).await.status(), 200);
    assert_eq!(app.reset_token_count().await, 1);
}

async fn tokens_expire_on_validate_and_confirm(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[("LATCHKEY_RESET_TOKEN_TTL", "2s")]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    assert!(readable(&sink.messages()[0]).contains("2 seconds"));
    // A clock on purpose: the token's two-second lifetime runs out.
    crate::helpers::let_time_pass(std::time::Duration::from_millis(2500)).await;
    let expired = app.validate(&token).await;
    assert_eq!(
        (expired.status().as_u16(), body(expired).await),
        (404, json!({ "detail": INVALID }))
    );
    assert_eq!(
        app.reset_token_count().await,
        0,
        "an expired token found on validate is deleted"
    );
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 404);
    assert!(app.password_is("alice", ALICE_PASSWORD).await);
}

async fn exactly_one_of_fifty_concurrent_confirms_succeeds(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let attempts = (0..50).map(|i| {
        let (client, url, barrier, token) = (
            app.client.clone(),
            app.url("/api/password_reset/confirm/"),
            barrier.clone(),
            token.clone(),
        );
        tokio::spawn(async move {
            let password = format!("concurrent passphrase number {i}");
            barrier.wait().await;
            let response = client
                .post(url)
                .json(&json!({ "token": token, "password": password }))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), password)
        })
    });
    let results: Vec<(u16, String)> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<&String> = results
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(status, _)| *status == 200 || *status == 404));
    assert!(app.password_is("alice", winners[0]).await);
}

async fn mail_goes_to_the_stored_address_with_a_link_on_the_public_url(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    for (email, host_header) in [
        ("ALICE@EXAMPLE.COM", ("Host", "evil.test")),
        ("alice@EXAMPLE.com", ("X-Forwarded-Host", "evil.test")),
        (
            "alice@exampLe.com",
            ("Forwarded", "host=evil.test;proto=http"),
        ),
        ("al\u{0131}ce@example.com", ("X-Forwarded-Proto", "http")),
    ] {
        let response = app
            .client
            .post(app.url("/api/password_reset/"))
            .header(host_header.0, host_header.1)
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert!(
            response.status() == 200 || response.status() == 400,
            "{email}"
        );
    }
    app.settle().await;
    let messages = sink.messages();
    assert!(!messages.is_empty());
    for message in &messages {
        assert_eq!(message.rcpt_to, vec!["alice@example.com"]);
        assert_eq!(message.header("To").unwrap(), "alice@example.com");
        let (link, _) = reset_link(message);
        assert!(
            link.starts_with("http://latchkey.test/reset-password/"),
            "{link}"
        );
        assert!(
            message.data.contains(&format!("\r\n{link}\r\n")),
            "the raw message carries the link whole, not soft-wrapped"
        );
    }
}

async fn arrays_duplicates_and_injections_send_nothing(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let json_cases = [
        r#"{"email":["alice@example.com","evil@attacker.test"]}"#,
        r#"{"email":{"a":1}}"#,
        r#"{"email":"alice@example.com","email":"evil@attacker.test"}"#,
        r#"{"email":"alice@example.com\r\nBcc: evil@attacker.test"}"#,
        r#"{"email":"%@example.com"}"#,
        r#"{"email":"_lice@example.com"}"#,
        r#"{"email":"' OR '1'='1"}"#,
    ];
    for raw in json_cases {
        let response = app
            .post_raw("/api/password_reset/", "application/json", raw)
            .await;
        let status = response.status().as_u16();
        assert!(status == 400 || status == 200, "{raw}: {status}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
    }
    for raw in [
        "email=alice%40example.com&email=evil%40attacker.test",
        "email%5B%5D=alice%40example.com",
    ] {
        let response = app
            .post_raw(
                "/api/password_reset/",
                "application/x-www-form-urlencoded",
                raw,
            )
            .await;
        assert_eq!(response.status(), 400, "{raw}");
    }
    app.settle().await;
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
}

async fn the_per_ip_limit_ignores_rotating_forwarded_for(backend: Backend) {
    let (app, _sink) =
        app_with_mail(backend, &[("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "5/1h")]).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let response = app
            .client
            .post(app.url("/api/password_reset/"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .json(&json!({ "email": format!("nobody{i}@example.com") }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry_after >= 1);
            let detail = body(response).await["detail"].as_str().unwrap().to_owned();
            assert!(detail.starts_with("Request was throttled."), "{detail}");
        }
    }
    assert_eq!(statuses, vec![200, 200, 200, 200, 200, 429, 429, 429]);

    // SPEC §4.1 checks the fields before the limit: a malformed request is still told why.
    let missing = app.post_json("/api/password_reset/", json!({})).await;
    assert_eq!(
        (missing.status().as_u16(), body(missing).await),
        (400, json!({ "email": ["This field is required."] }))
    );
    let invalid = app.request_reset("not-an-address").await;
    assert_eq!(
        (invalid.status().as_u16(), body(invalid).await),
        (400, json!({ "email": ["Enter a valid email address."] }))
    );
}

async fn the_per_account_mail_cap_is_silent(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[("LATCHKEY_RATE_RESET_MAILS_PER_ACCOUNT", "2/1h")],
    )
    .await;
    seed(&app).await;
    for _ in 0..5 {
        let response = app.request_reset("alice@example.com").await;
        assert_eq!(response.status(), 200);
        assert_eq!(body(response).await, json!({ "status": "OK" }));
    }
    app.settle().await;
    assert_eq!(sink.messages().len(), 2);
}

/// Each request is resolved on its own, so the later ones meet an account whose row already
/// shows the allowance used up (the resolver then writes nothing for them); once the window
/// ends, the same account gets mail again.
async fn the_mail_allowance_opens_again_when_its_window_ends(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[("LATCHKEY_RATE_RESET_MAILS_PER_ACCOUNT", "2/6s")],
    )
    .await;
    seed(&app).await;
    for window in 1..=2 {
        let opened = std::time::Instant::now();
        for _ in 0..4 {
            assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
            app.settle().await;
        }
        assert!(
            opened.elapsed() < std::time::Duration::from_secs(6),
            "the four requests fit in one window"
        );
        assert_eq!(sink.messages().len(), 2 * window, "window {window}");
        crate::helpers::let_time_pass(std::time::Duration::from_millis(6200)).await;
    }
}

async fn token_checks_are_limited_per_ip_even_for_valid_tokens(backend: Backend) {
    let (app, sink) =
        app_with_mail(backend, &[("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "6/1h")]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    for _ in 0..5 {
        assert_eq!(app.validate(&"ab".repeat(32)).await.status(), 404);
    }
    assert_eq!(app.validate(&token).await.status(), 200);
    let limited = app.validate(&token).await;
    assert_eq!(limited.status(), 429, "no oracle while limited");
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 429);
}

async fn the_client_ip_header_is_used_only_when_configured(backend: Backend) {
    for (header_setting, expected) in [(None, "127.0.0.1"), (Some("X-Forwarded-For"), "1.1.1.1")] {
        // With the header, 2.2.2.2 is listed as our own second proxy, so 1.1.1.1 is the client.
        let extra: Vec<(&str, &str)> = header_setting
            .map(|h| {
                [
                    ("LATCHKEY_CLIENT_IP_HEADER", h),
                    ("LATCHKEY_TRUSTED_PROXIES", "127.0.0.1, 2.2.2.2"),
                ]
            })
            .into_iter()
            .flatten()
            .collect();
        let (app, sink) = app_with_mail(backend.clone(), &extra).await;
        seed(&app).await;
        let response = app
            .client
            .post(app.url("/api/password_reset/"))
            .header("X-Forwarded-For", "1.1.1.1, 2.2.2.2")
            .header("User-Agent", "u".repeat(64 * 1024))
            .json(&json!({ "email": "alice@example.com" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        sink.wait_for(1, WAIT).await;
        let (ip, agent) = app
            .blocking(|state| {
                use diesel::prelude::*;
                use latchkey::db::schema::password_reset_tokens as t;
                let mut conn = state.db.get().unwrap();
                t::table
                    .select((t::ip_address, t::user_agent))
                    .first::<(Option<String>, Option<String>)>(&mut *conn)
                    .unwrap()
            })
            .await;
        assert_eq!(ip.as_deref(), Some(expected));
        assert_eq!(agent.unwrap().chars().count(), 512);
    }
}

async fn malformed_oversized_and_mistyped_bodies_are_json_4xx(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let json_ct = "application/json";
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (json_ct, b"{\"email\": ".to_vec(), 400),
        (json_ct, b"[]".to_vec(), 400),
        (json_ct, b"null".to_vec(), 400),
        (json_ct, b"{\"email\":\"a@b.io\"} trailing".to_vec(), 400),
        (json_ct, b"\xef\xbb\xbf{\"email\":\"a@b.io\"}".to_vec(), 400),
        (json_ct, b"{\"email\":\"\xff@b.io\"}".to_vec(), 400),
        (json_ct, b"{\"email\":\"\xc0\xaf@b.io\"}".to_vec(), 400),
        (
            "application/x-www-form-urlencoded",
            b"email=%FF%FE".to_vec(),
            400,
        ),
        ("text/plain", b"email=a@b.io".to_vec(), 415),
        ("multipart/form-data; boundary=x", b"--x--".to_vec(), 415),
        (json_ct, vec![b' '; 20 * 1024 * 1024], 413),
    ];
    for (content_type, raw, expected) in cases {
        let response = app
            .post_raw("/api/password_reset/", content_type, raw)
            .await;
        assert_eq!(response.status().as_u16(), expected, "{content_type}");
        let text = response.text().await.unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(parsed.is_object(), "{text}");
        for leak in ["panicked", "diesel", "sqlite", "postgres", "src/"] {
            assert!(!text.to_lowercase().contains(leak), "{text}");
        }
    }
    let declared = app
        .client
        .post(app.url("/api/password_reset/"))
        .header("Content-Type", json_ct)
        .header("Content-Length", "1000000000000")
        .body("{}")
        .send()
        .await;
    if let Ok(response) = declared {
        assert_eq!(response.status(), 413);
    }
    let none = app
        .client
        .post(app.url("/api/password_reset/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(none).await,
        json!({ "email": ["This field is required."] })
    );
    for content_type in [json_ct, "application/x-www-form-urlencoded", "text/plain"] {
        let empty = app
            .post_raw("/api/password_reset/", content_type, Vec::new())
            .await;
        assert_eq!(
            (empty.status().as_u16(), body(empty).await),
            (400, json!({ "email": ["This field is required."] })),
            "an empty {content_type} body has no fields, as in DRF"
        );
    }
}

async fn paths_without_slash_work_and_other_methods_get_405(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    for path in [
        "/api/password_reset",
        "/api/password_reset/validate_token",
        "/api/password_reset/confirm",
    ] {
        let response = app
            .post_json(
                path,
                json!({ "token": "x", "password": "y", "email": "a@b.io" }),
            )
            .await;
        assert!(matches!(response.status().as_u16(), 200 | 404), "{path}");
        for method in ["GET", "PUT", "DELETE", "TRACE", "PATCH"] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(&format!("{path}/")))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 405, "{method} {path}/");
            assert_eq!(response.headers()["allow"], "POST, OPTIONS");
            assert_eq!(
                body(response).await,
                json!({ "detail": format!("Method \"{method}\" not allowed.") })
            );
        }
    }
    let cors = app
        .client
        .post(app.url("/api/password_reset/"))
        .header("Origin", "https://evil.test")
        .json(&json!({ "email": "a@b.io" }))
        .send()
        .await
        .unwrap();
    assert!(cors.headers().get("access-control-allow-origin").is_none());
}

async fn number_tokens_work_end_to_end(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_TOKEN_GENERATOR", "number"),
            ("LATCHKEY_TOKEN_MIN_NUMBER", "100000"),
            ("LATCHKEY_TOKEN_MAX_NUMBER", "999999"),
            // The package's token-only form; codes bound to an email: number_codes.rs.
            ("LATCHKEY_NUMBER_TOKEN_REQUIRES_EMAIL", "false"),
        ],
    )
    .await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    assert!(
        token.len() == 6 && token.bytes().all(|b| b.is_ascii_digit()),
        "{token}"
    );
    assert_eq!(app.validate(&token).await.status(), 200);
    assert_eq!(app.validate("12").await.status(), 404);
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 200);
    // Its last mail goes out before the SMTP server is dropped with the test.
    app.drain().await;
}

async fn tokens_are_stored_only_as_keyed_hashes(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let stored: Vec<String> = app
        .blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::password_reset_tokens as t;
            t::table
                .select(t::token_hash)
                .load(&mut *state.db.get().unwrap())
                .unwrap()
        })
        .await;
    assert_eq!(stored, vec![app.state.keys.reset_tokens.hash(&token)]);
    assert!(!stored.contains(&token));
    let unique: HashSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), 1);
}

async fn a_reset_is_audited_and_an_admin_password_change_kills_outstanding_tokens(
    backend: Backend,
) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 200);
    let events = app
        .blocking(|state| {
            let mut conn = state.db.get().unwrap();
            let alice = latchkey::db::users::find_by_username(&mut conn, "alice")
                .unwrap()
                .unwrap();
            latchkey::db::audit::list_for_user(&mut conn, alice.id).unwrap()
        })
        .await;
    assert_eq!(
        events
            .iter()
            .map(|(event, _)| event.as_str())
            .collect::<Vec<_>>(),
        vec![
            "user_created",
            "password_reset_requested",
            "password_reset_completed"
        ]
    );

    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let set = app.cli(
        &["users", "set-password", "alice", "--password-stdin"],
        Some("an admin chosen passphrase\n"),
    );
    assert!(set.status.success());
    assert_eq!(app.validate(&token).await.status(), 404);
}

async fn a_dead_reset_mail_is_reissued_with_a_fresh_token_by_retry_dead(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    sink.set_script(crate::smtp_sink::Script {
        rcpt_replies: [(550, "5.1.1 mailbox unavailable")].into(),
        ..Default::default()
    });
    assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
    let rows = app
        .wait_for_outbox(WAIT, |rows| rows.len() == 1 && rows[0].state == "dead")
        .await;
    assert_eq!(
        rows[0].body_text, "",
        "a dead reset mail keeps no live link"
    );
    let retried = app.cli(&["outbox", "retry", "--dead"], None);
    assert!(crate::helpers::stdout(&retried).contains("1 dead message(s) requeued"));
    let message = sink.wait_for(1, WAIT).await.remove(0);
    let (_, token) = reset_link(&message);
    assert_eq!(app.validate(&token).await.status(), 200);
    assert_eq!(app.reset_token_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_outbox_insert_leaves_no_token_and_the_same_answer() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    app.blocking(|state| {
        use diesel::RunQueryDsl;
        let mut conn = state.db.get().unwrap();
        diesel::sql_query(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql",
        )
        .execute(&mut *conn)
        .unwrap();
        diesel::sql_query("CREATE TRIGGER refuse_mail BEFORE INSERT ON email_outbox FOR EACH ROW EXECUTE FUNCTION refuse()")
            .execute(&mut *conn)
            .unwrap();
    })
    .await;
    let response = app.request_reset("alice@example.com").await;
    assert_eq!(response.status(), 200);
    assert_eq!(body(response).await, json!({ "status": "OK" }));
    app.settle().await;
    assert_eq!(
        app.reset_token_count().await,
        0,
        "token and mail commit together or not at all"
    );
    assert_eq!(sink.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_password_reaches_the_log() {
    let sink = crate::smtp_sink::SmtpSink::start();
    let db = crate::helpers::TestDb::new(&Backend::Sqlite);
    let mut vars = crate::helpers::base_vars(&db);
    for (key, value) in [
        ("LATCHKEY_EMAIL_BACKEND", "smtp"),
        ("LATCHKEY_LOG", "trace"),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
    ] {
        vars.insert(key.into(), value.into());
    }
    vars.insert("LATCHKEY_SMTP_URL".into(), sink.url());
    let log_path = db.dir.path().join("server.log");
    let created = crate::helpers::run_cli(
        &vars,
        db.dir.path(),
        &[
            "users",
            "create",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(created.status.success());
    let server = crate::helpers::ServerProcess::start_logged(&vars, db.dir.path(), &log_path).await;
    let base = format!("http://127.0.0.1:{}", server.port);
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).json(&body).send()
    };
    post(
        "/api/password_reset/",
        json!({ "email": "alice@example.com" }),
    )
    .await
    .unwrap();
    let (_, token) = reset_link(&sink.wait_for(1, WAIT).await[0]);
    post(
        "/api/password_reset/validate_token/",
        json!({ "token": token }),
    )
    .await
    .unwrap();
    let link = format!("{base}/reset-password/{token}");
    let scanner = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(scanner.head(&link).send().await.unwrap().status(), 303);
    assert_eq!(scanner.get(&link).send().await.unwrap().status(), 303);
    post(
        "/api/password_reset/confirm/",
        json!({ "token": token, "password": "x" }),
    )
    .await
    .unwrap();
    let confirmed = post(
        "/api/password_reset/confirm/",
        json!({ "token": token, "password": NEW_PASSWORD }),
    )
    .await
    .unwrap();
    assert_eq!(confirmed.status(), 200);
    let login: serde_json::Value = post(
        "/api/auth/login",
        json!({ "username": "alice", "password": NEW_PASSWORD }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let bearer = login["token"].as_str().unwrap().to_owned();
    let me = client
        .get(format!("{base}/api/auth/me"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    sink.wait_for(2, WAIT).await;
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        log.contains("password reset with an emailed token"),
        "the log was written"
    );
    assert!(
        log.contains("/reset-password/[redacted]"),
        "the access log shows the redacted link"
    );
    for secret in [
        token.as_str(),
        bearer.as_str(),
        NEW_PASSWORD,
        "correct horse battery staple",
    ] {
        assert!(!log.contains(secret), "{secret} leaked into the log");
    }
}
