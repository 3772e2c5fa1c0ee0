//! The HTML pages over HTTP, on both backends: every page and failure, sessions, CSRF, headers.

use std::time::Duration;

use base64::Engine;
use reqwest::Method;

use crate::fixtures::{app_with_mail, mailed_token, seed, ALICE_PASSWORD, NEW_PASSWORD};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::web_client::Browser;

on_both_backends!(
    every_page_sends_the_security_headers,
    logging_in_renews_the_session_and_the_old_cookie_is_worthless,
    login_failures_re_render_the_form,
    every_form_needs_its_csrf_token,
    logout_ends_the_session_for_good,
    only_local_next_paths_are_followed,
    forgot_password_answers_the_same_for_every_address,
    the_reset_link_moves_the_token_into_the_session_without_consuming_it,
    the_reset_form_checks_then_sets_the_password_without_logging_in,
    invalid_links_say_so_with_a_way_forward,
    a_link_that_expires_while_its_form_is_open_changes_nothing,
    changing_the_password_keeps_this_browser_and_ends_the_others,
    api_revocations_end_browser_sessions,
    user_text_is_escaped,
    sessions_have_absolute_and_idle_timeouts,
    other_methods_get_405_with_allow,
);

async fn every_page_sends_the_security_headers(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let mut browser = Browser::new(&app);
    for path in [
        "/login",
        "/forgot-password",
        "/reset-password",
        "/account",
        "/",
        "/reset-password/abc",
    ] {
        let page = browser.get(path).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("object-src 'none'"),
            "{path}: {csp}"
        );
        assert!(csp.contains("base-uri 'none'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("http"), "no foreign origin: {csp}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
        assert!(
            page.headers.get("strict-transport-security").is_none(),
            "no HSTS over http"
        );
        let head = browser.send(Method::HEAD, path, None, &[]).await;
        assert_eq!(head.status, page.status, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has no body");
        for name in [
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
            "x-frame-options",
            "cache-control",
        ] {
            assert_eq!(
                head.headers.get(name),
                page.headers.get(name),
                "HEAD {path}: {name}"
            );
        }
    }
    let css = browser.get("/static/app.css").await;
    assert_eq!(css.status, 200);
    assert!(css.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert_eq!(css.headers["cache-control"], "public, max-age=86400");
    assert!(css.body.contains("prefers-color-scheme: dark"));
    let etag = css.headers["etag"].to_str().unwrap().to_owned();
    let again = browser
        .send(
            Method::GET,
            "/static/app.css",
            None,
            &[("If-None-Match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);

    let https = app
        .sibling(&[("LATCHKEY_PUBLIC_URL", "https://auth.example.com")])
        .await;
    let login = https.client.get(https.url("/login")).send().await.unwrap();
    assert!(login.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age=31536000"));
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("__Host-latchkey=") && cookie.contains("Secure"),
        "{cookie}"
    );
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/")
    );
    assert!(!cookie.contains("Domain"));
}

async fn logging_in_renews_the_session_and_the_old_cookie_is_worthless(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    let form = browser.get("/login").await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("<label for=\"username\">")
            && form.body.contains("<label for=\"password\">")
    );
    let before = browser.cookies.clone();
    let page = browser
        .post(
            "/login",
            &[
                ("csrf_token", &form.csrf()),
                ("username", "alice"),
                ("password", ALICE_PASSWORD),
            ],
        )
        .await;
    assert_eq!((page.status, page.location()), (303, "/account"));
    assert_ne!(before, browser.cookies, "a new session id at login");
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("alice@example.com"));
    let mut stale = Browser::with_cookies(&app, before);
    let refused = stale.get("/account").await;
    assert_eq!(
        (refused.status, refused.location()),
        (303, "/login?next=/account")
    );
    assert_eq!(browser.get("/").await.location(), "/account");
    assert_eq!(stale.get("/").await.location(), "/login");
}

async fn login_failures_re_render_the_form(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    for (username, password) in [
        ("alice", "wrong horse battery staple"),
        ("nobody", ALICE_PASSWORD),
        ("carol", "carol's horse battery staple"),
    ] {
        let page = browser.log_in(username, password).await;
        assert_eq!(page.status, 401);
        assert!(page.body.contains(&format!(
            "role=\"alert\">{}</p>",
            &latchkey::http::pages::login::wrong_credentials()
        )));
        assert!(
            page.body
                .contains("autocomplete=\"current-password\" value=\"\" required autofocus"),
            "the cursor goes back to the password"
        );
        assert!(
            page.body.contains(&format!("value=\"{username}\"")),
            "the username is kept"
        );
    }
    assert_eq!(browser.get("/account").await.status, 303);
}

async fn every_form_needs_its_csrf_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut other = Browser::new(&app);
    let foreign_token = other.get("/login").await.csrf();
    let mut browser = Browser::new(&app);
    let token = browser.get("/login").await.csrf();
    let credentials = [("username", "alice"), ("password", ALICE_PASSWORD)];
    for (csrf, site) in [
        ("", "same-origin"),
        (foreign_token.as_str(), "same-origin"),
        (token.as_str(), "cross-site"),
    ] {
        let mut form = vec![("csrf_token", csrf)];
        form.extend_from_slice(&credentials);
        let page = browser
            .send(
                Method::POST,
                "/login",
                Some(&form),
                &[("Sec-Fetch-Site", site)],
            )
            .await;
        assert_eq!(page.status, 403, "{csrf:?} {site}");
        assert!(page
            .body
            .contains("This form expired or came from another site"));
        assert_eq!(
            browser.get("/account").await.status,
            303,
            "nothing happened"
        );
    }
    let page = browser
        .post("/forgot-password", &[("email", "alice@example.com")])
        .await;
    assert_eq!(page.status, 403);
    app.settle().await;
    assert_eq!(sink.count(), 0, "no mail for a forged form");

    assert_eq!(browser.log_in("alice", ALICE_PASSWORD).await.status, 303);
    let change = browser
        .post(
            "/account/password",
            &[
                ("old_password", ALICE_PASSWORD),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(change.status, 403);
    let logout = browser.post("/logout", &[]).await;
    assert_eq!(logout.status, 403);
    assert_eq!(browser.get("/account").await.status, 200, "still logged in");
    assert_eq!(
        app.login("alice", ALICE_PASSWORD).await.status(),
        200,
        "password unchanged"
    );
}

async fn logout_ends_the_session_for_good(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    browser.log_in("alice", ALICE_PASSWORD).await;
    let captured = browser.cookies.clone();
    let csrf = browser.get("/account").await.csrf();
    let response = app
        .client
        .post(app.url("/logout"))
        .header("Cookie", browser.cookie_header())
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login");
    let cleared = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let mut replay = Browser::with_cookies(&app, captured);
    assert_eq!(
        replay.get("/account").await.location(),
        "/login?next=/account"
    );
}

async fn only_local_next_paths_are_followed(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    for (next, expected) in [
        ("/account/password", "/account/password"),
        ("https://evil.test", "/account"),
        ("//evil.test", "/account"),
        ("/\\evil.test", "/account"),
        ("/%2F%2Fevil.test", "/account"),
        ("javascript:alert(1)", "/account"),
        ("/account%0d%0aX:1", "/account"),
    ] {
        let mut browser = Browser::new(&app);
        let csrf = browser
            .get(&format!("/login?next={}", urlencode(next)))
            .await
            .csrf();
        let page = browser
            .post(
                "/login",
                &[
                    ("csrf_token", &csrf),
                    ("username", "alice"),
                    ("password", ALICE_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!((page.status, page.location()), (303, expected), "{next}");
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn forgot_password_answers_the_same_for_every_address(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut bodies = Vec::new();
    for email in [
        "alice@example.com",
        "nobody@example.com",
        "carol@example.com",
        "dave@example.com",
    ] {
        let mut browser = Browser::new(&app);
        let form = browser.get("/forgot-password").await;
        assert!(form
            .body
            .contains("<label for=\"email\">Email address</label>"));
        let page = browser
            .post(
                "/forgot-password",
                &[("csrf_token", &form.csrf()), ("email", email)],
            )
            .await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Check your inbox") && page.body.contains("60 minutes"));
        bodies.push(page.body);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    app.settle().await;
    assert_eq!(
        sink.messages()
            .iter()
            .map(|m| m.rcpt_to.clone())
            .collect::<Vec<_>>(),
        vec![vec!["alice@example.com".to_owned()]]
    );

    let mut browser = Browser::new(&app);
    let form = browser.get("/forgot-password").await;
    let invalid = browser
        .post(
            "/forgot-password",
            &[("csrf_token", &form.csrf()), ("email", "not-an-email")],
        )
        .await;
    assert_eq!(invalid.status, 400);
    assert!(
        invalid.body.contains("aria-invalid=\"true\"")
            && invalid
                .body
                .contains("<li>Enter a valid email address.</li>")
    );
    let blank = browser
        .post(
            "/forgot-password",
            &[("csrf_token", &form.csrf()), ("email", "  ")],
        )
        .await;
    assert_eq!(blank.status, 400);
    assert!(blank.body.contains("<li>This field may not be blank.</li>"));
    app.settle().await;
    assert_eq!(sink.count(), 1, "no mail for bad input");
}

async fn the_reset_link_moves_the_token_into_the_session_without_consuming_it(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let link = format!("/reset-password/{token}");
    for _ in 0..5 {
        let head = app.client.head(app.url(&link)).send().await.unwrap();
        assert_eq!(head.status(), 303);
        let mut scanner = Browser::new(&app);
        assert_eq!(scanner.get(&link).await.status, 303);
    }
    let mut browser = Browser::new(&app);
    let redirect = browser.get(&link).await;
    assert_eq!(
        (redirect.status, redirect.location()),
        (303, "/reset-password")
    );
    assert_eq!(redirect.headers["referrer-policy"], "no-referrer");
    assert_eq!(redirect.headers["cache-control"], "no-store");
    for value in browser.cookies.values() {
        let decoded = urlencoding_decode(value);
        let raw = base64::engine::general_purpose::STANDARD
            .decode(decoded.as_bytes())
            .unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&raw).contains(&token) && !decoded.contains(&token),
            "the cookie never carries the token"
        );
    }
    let form = browser.get("/reset-password").await;
    assert_eq!(form.status, 200);
    assert!(!form.body.contains(&token), "the token is not in the page");
    assert_eq!(
        app.validate(&token).await.status(),
        200,
        "nothing was consumed"
    );
}

fn urlencoding_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

async fn the_reset_form_checks_then_sets_the_password_without_logging_in(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mut browser = Browser::new(&app);
    browser.get(&format!("/reset-password/{token}")).await;
    let csrf = browser.get("/reset-password").await.csrf();
    let mismatch = browser
        .post(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("password", NEW_PASSWORD),
                ("confirm_password", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 400);
    assert!(mismatch
        .body
        .contains("The two password fields didn\u{2019}t match."));
    let weak = browser
        .post(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("password", "password"),
                ("confirm_password", "password"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert!(
        weak.body.contains("This password is too common.")
            && weak.body.contains("at least 12 characters")
    );
    let done = browser
        .post(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("Password changed") && done.body.contains("href=\"/login\""));
    assert_eq!(
        browser.get("/account").await.location(),
        "/login?next=/account",
        "a reset never logs in"
    );
    assert_eq!(app.login("alice", NEW_PASSWORD).await.status(), 200);
    assert_eq!(
        Browser::new(&app)
            .get(&format!("/reset-password/{token}"))
            .await
            .status,
        404,
        "used once"
    );
}

async fn invalid_links_say_so_with_a_way_forward(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let mut browser = Browser::new(&app);
    for path in [
        format!("/reset-password/{}", "ab".repeat(32)),
        "/reset-password/short".to_owned(),
        "/reset-password".to_owned(),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(
            page.body.contains("This link does not work")
                && page.body.contains("href=\"/forgot-password\"")
        );
    }
}

async fn changing_the_password_keeps_this_browser_and_ends_the_others(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    browser.log_in("alice", ALICE_PASSWORD).await;
    let mut elsewhere = Browser::new(&app);
    elsewhere.log_in("alice", ALICE_PASSWORD).await;
    let api_token = app.token("alice", ALICE_PASSWORD).await;

    let form = browser.get("/account/password").await;
    assert!(form
        .body
        .contains("<label for=\"old_password\">Current password</label>"));
    let csrf = form.csrf();
    let wrong = browser
        .post(
            "/account/password",
            &[
                ("csrf_token", &csrf),
                ("old_password", "not it at all"),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong
        .body
        .contains("Your old password was entered incorrectly."));
    let changed = browser
        .post(
            "/account/password",
            &[
                ("csrf_token", &csrf),
                ("old_password", ALICE_PASSWORD),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(
        (changed.status, changed.location()),
        (303, "/account?changed=1")
    );
    let account = browser.get("/account?changed=1").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("Your password was changed."));
    assert_eq!(
        elsewhere.get("/account").await.status,
        303,
        "other sessions end"
    );
    assert_eq!(app.me(&api_token).await.status(), 401, "and tokens");
    assert_eq!(app.login("alice", NEW_PASSWORD).await.status(), 200);
    assert!(sink.wait_for(1, crate::fixtures::WAIT).await[0]
        .header("Subject")
        .unwrap()
        .contains("changed"));
}

async fn api_revocations_end_browser_sessions(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    browser.log_in("alice", ALICE_PASSWORD).await;
    let token = app.token("alice", ALICE_PASSWORD).await;
    assert_eq!(
        app.with_bearer(Method::POST, "/api/auth/logout_all", &token, None)
            .await
            .status(),
        204
    );
    assert_eq!(browser.get("/account").await.status, 303);

    browser.log_in("alice", ALICE_PASSWORD).await;
    let reset = mailed_token(&app, &sink, "alice@example.com").await;
    assert_eq!(app.confirm(&reset, NEW_PASSWORD).await.status(), 200);
    assert_eq!(browser.get("/account").await.status, 303);

    browser.log_in("alice", NEW_PASSWORD).await;
    let token = app.token("alice", NEW_PASSWORD).await;
    assert_eq!(
        app.change(&token, NEW_PASSWORD, ALICE_PASSWORD, ALICE_PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(browser.get("/account").await.status, 303);
    let cookie_only = app
        .client
        .post(app.url("/api/auth/logout_all"))
        .header("Cookie", browser.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(
        cookie_only.status(),
        401,
        "a session cookie never authenticates the API"
    );
}

async fn user_text_is_escaped(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let created = app.cli(
        &[
            "users",
            "create",
            "--username",
            "<script>alert(1)</script>",
            "--email",
            "x@example.com",
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(created.status.success());
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .log_in("<script>alert(1)</script>", ALICE_PASSWORD)
            .await
            .status,
        303
    );
    let account = browser.get("/account").await;
    assert!(
        account
            .body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        account.body
    );
    assert!(!account.body.contains("<script>"));
}

async fn sessions_have_absolute_and_idle_timeouts(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[("LATCHKEY_SESSION_TTL", "4s")]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    browser.log_in("alice", ALICE_PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(browser.get("/account").await.status, 200);
        // A clock on purpose: activity spread over time does not extend the absolute lifetime.
        crate::helpers::let_time_pass(Duration::from_millis(500)).await;
    }
    // A clock on purpose: the four-second absolute session lifetime runs out.
    crate::helpers::let_time_pass(Duration::from_millis(2800)).await;
    assert_eq!(
        browser.get("/account").await.status,
        303,
        "absolute timeout despite activity"
    );

    let idle = app
        .sibling(&[
            ("LATCHKEY_SESSION_TTL", "1h"),
            ("LATCHKEY_SESSION_IDLE_TIMEOUT", "3s"),
        ])
        .await;
    let mut browser = Browser::new(&idle);
    browser.log_in("alice", ALICE_PASSWORD).await;
    assert_eq!(browser.get("/account").await.status, 200);
    // A clock on purpose: the three-second idle timeout passes.
    crate::helpers::let_time_pass(Duration::from_millis(3500)).await;
    assert_eq!(browser.get("/account").await.status, 303, "idle timeout");

    let mut bob = Browser::new(&idle);
    bob.log_in("bob", "bob's horse battery staple").await;
    let purge = || crate::helpers::stdout(&idle.cli(&["tokens", "purge"], None));
    let purged = purge();
    assert!(purged.ends_with("and 2 expired session(s)\n"), "{purged}");
    assert!(purge().ends_with("and 0 expired session(s)\n"));
    assert_eq!(
        bob.get("/account").await.status,
        200,
        "a live session is kept"
    );
}

async fn a_link_that_expires_while_its_form_is_open_changes_nothing(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[("LATCHKEY_RESET_TOKEN_TTL", "2s")]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .get(&format!("/reset-password/{token}"))
            .await
            .status,
        303
    );
    let form = browser.get("/reset-password").await;
    assert_eq!(form.status, 200);
    // A clock on purpose: the link's two-second lifetime runs out while its form is open.
    crate::helpers::let_time_pass(Duration::from_millis(2500)).await;

    let late = browser
        .post(
            "/reset-password",
            &[
                ("csrf_token", &form.csrf()),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(late.status, 404);
    assert!(
        late.body.contains("This link does not work")
            && late.body.contains("href=\"/forgot-password\"")
    );
    assert!(
        app.password_is("alice", ALICE_PASSWORD).await,
        "nothing changed"
    );
    let relink = Browser::new(&app)
        .get(&format!("/reset-password/{token}"))
        .await;
    assert_eq!(relink.status, 404, "the expired link itself says so too");
    assert!(relink.body.contains("This link does not work"));
}

async fn other_methods_get_405_with_allow(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let mut browser = Browser::new(&app);
    let pages = [
        ("/", "GET, HEAD"),
        ("/login", "GET, HEAD, POST"),
        ("/logout", "POST"),
        ("/forgot-password", "GET, HEAD, POST"),
        ("/reset-password/abc", "GET, HEAD"),
        ("/reset-password", "GET, HEAD, POST"),
        ("/account", "GET, HEAD"),
        ("/account/password", "GET, HEAD, POST"),
    ];
    for (path, allowed) in pages {
        for method in ["TRACE", "PUT", "DELETE", "PATCH"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let page = browser.send(method.clone(), path, None, &[]).await;
            assert_eq!(page.status, 405, "{method} {path}");
            let allow = page.headers.get("allow").map(|v| v.to_str().unwrap());
            assert_eq!(allow, Some(allowed), "{method} {path}");
        }
    }
}
