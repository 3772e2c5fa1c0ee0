//! Latchkey inside a product, over HTTP on both backends: forward auth and its revocation, a
//! public URL with a path, the cookie's reach, `next` to allowed origins, the product's reset
//! URL, name and theme, static files, CORS for the API, bad values at start-up and the start-up
//! line of `serve`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::json;

use crate::fixtures::{app_with_mail, body, readable, seed, ALICE_PASSWORD, NEW_PASSWORD, WAIT};
use crate::helpers::{assert_one_error_line, run_cli, spawn_app_with, Backend, TestApp};
use crate::on_both_backends;
use crate::web_client::{Browser, Page};

on_both_backends!(
    forward_auth_answers_for_a_session_or_a_bearer_token,
    forward_auth_refuses_revoked_sessions_at_once_on_every_instance,
    forward_auth_sends_browsers_to_login_only_for_allowed_origins,
    every_route_link_form_and_asset_lives_under_the_public_url_path,
    absolute_next_goes_only_to_allowed_origins_after_login_and_logout,
    reset_mails_carry_the_reset_url_and_the_product_name,
    cors_answers_listed_origins_of_the_api_only,
);

impl Browser {
    /// Logs in through the form under `prefix`; returns the response to the POST.
    async fn log_in_under(
        &mut self,
        prefix: &str,
        username: &str,
        password: &str,
        next: &str,
    ) -> Page {
        let csrf = self.get(&format!("{prefix}/login")).await.csrf();
        self.post(
            &format!("{prefix}/login"),
            &[
                ("csrf_token", &csrf),
                ("username", username),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }

    /// `GET /auth/verify` with this browser's cookies and `extra` headers.
    async fn verify(&mut self, prefix: &str, extra: &[(&str, &str)]) -> Page {
        self.send(Method::GET, &format!("{prefix}/auth/verify"), None, extra)
            .await
    }
}

const IDENTITY: [&str; 3] = [
    "x-latchkey-user-id",
    "x-latchkey-username",
    "x-latchkey-email",
];

fn assert_refused(page: &Page) {
    assert_eq!(page.status, 401, "{:?}", page.headers);
    assert_eq!(page.header("www-authenticate"), Some("Bearer"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.body.is_empty());
    for name in IDENTITY {
        assert!(page.headers.get(name).is_none(), "{name} on a refusal");
    }
}

fn assert_alice(page: &Page, id: i64) {
    assert_eq!(page.status, 200, "{:?}", page.headers);
    assert_eq!(
        page.header("x-latchkey-user-id"),
        Some(id.to_string().as_str())
    );
    assert_eq!(page.header("x-latchkey-username"), Some("alice"));
    assert_eq!(page.header("x-latchkey-email"), Some("alice@example.com"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.body.is_empty());
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    let username = username.to_owned();
    app.blocking(move |state| {
        let mut conn = state.db.get().unwrap();
        latchkey::db::users::find_by_username(&mut conn, &username)
            .unwrap()
            .unwrap()
            .id
    })
    .await
}

async fn session_rows(app: &TestApp) -> i64 {
    app.blocking(|state| {
        use diesel::prelude::*;
        use latchkey::db::schema::sessions;
        let mut conn = state.db.get().unwrap();
        sessions::table.count().get_result(&mut *conn).unwrap()
    })
    .await
}

async fn api_token(app: &TestApp, prefix: &str, password: &str) -> String {
    let response = app
        .post_json(
            &format!("{prefix}/api/auth/login"),
            json!({ "username": "alice", "password": password }),
        )
        .await;
    assert_eq!(response.status(), 200);
    body(response).await["token"].as_str().unwrap().to_owned()
}

async fn forward_auth_answers_for_a_session_or_a_bearer_token(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let alice = user_id(&app, "alice").await;
    let mut browser = Browser::new(&app);
    assert_refused(&browser.verify("", &[]).await);
    assert_refused(&browser.verify("", &[("Accept", "text/html")]).await);

    assert_eq!(
        browser
            .log_in_under("", "alice", ALICE_PASSWORD, "")
            .await
            .status,
        303
    );
    assert_alice(&browser.verify("", &[]).await, alice);
    let head = browser.send(Method::HEAD, "/auth/verify", None, &[]).await;
    assert_alice(&head, alice);

    // It moves the session's idle clock, and nothing else of the session.
    let before = app
        .blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::sessions;
            let mut conn = state.db.get().unwrap();
            let soon = latchkey::db::now() + chrono::Duration::minutes(5);
            diesel::update(sessions::table)
                .set(sessions::expires_at.eq(soon))
                .execute(&mut *conn)
                .unwrap();
            sessions::table
                .select((sessions::key_hash, sessions::state, sessions::created_at))
                .load::<(String, String, chrono::NaiveDateTime)>(&mut *conn)
                .unwrap()
        })
        .await;
    assert_alice(&browser.verify("", &[]).await, alice);
    let (after, expiry) = app
        .blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::sessions;
            let mut conn = state.db.get().unwrap();
            let rows = sessions::table
                .select((sessions::key_hash, sessions::state, sessions::created_at))
                .load::<(String, String, chrono::NaiveDateTime)>(&mut *conn)
                .unwrap();
            let expiry: chrono::NaiveDateTime = sessions::table
                .select(diesel::dsl::max(sessions::expires_at))
                .first::<Option<chrono::NaiveDateTime>>(&mut *conn)
                .unwrap()
                .unwrap();
            (rows, expiry)
        })
        .await;
    assert_eq!(
        before, after,
        "verify changed a session beyond its idle clock"
    );
    assert!(
        expiry > latchkey::db::now() + chrono::Duration::minutes(25),
        "the idle clock was not moved: {expiry}"
    );

    // Reading the session changes nothing else: an inactive account is refused, and the same
    // session is good again once the account is active.
    let rows = session_rows(&app).await;
    app.blocking(|state| {
        latchkey::services::account_admin::set_active(&state.db, "alice", false).unwrap()
    })
    .await;
    assert_refused(&browser.verify("", &[]).await);
    assert_eq!(session_rows(&app).await, rows);
    app.blocking(|state| {
        latchkey::services::account_admin::set_active(&state.db, "alice", true).unwrap()
    })
    .await;
    assert_alice(&browser.verify("", &[]).await, alice);

    // A bearer token instead of the cookie; a bad one is refused even beside a good cookie.
    let token = api_token(&app, "", ALICE_PASSWORD).await;
    let bearer = format!("Bearer {token}");
    let mut stranger = Browser::new(&app);
    assert_alice(
        &stranger.verify("", &[("Authorization", &bearer)]).await,
        alice,
    );
    assert_refused(
        &browser
            .verify("", &[("Authorization", "Bearer 00ff")])
            .await,
    );
    assert_refused(
        &stranger
            .verify("", &[("Authorization", "Basic YTpi")])
            .await,
    );
    // A forged cookie is nobody.
    stranger
        .cookies
        .insert("latchkey_session".to_owned(), "forged".to_owned());
    assert_refused(&stranger.verify("", &[]).await);
    // Identity headers carry the stored values byte for byte, non-ASCII included.
    app.blocking(|state| {
        use latchkey::domain::{EmailAddress, PasswordRules, Username};
        use latchkey::services::account_admin::{create_user, NewAccount};
        let account = NewAccount {
            username: Username::parse("Zoë").unwrap(),
            email: EmailAddress::parse("zoe@exämple.com").unwrap(),
            password: Some(ALICE_PASSWORD.into()),
        };
        create_user(
            &state.db,
            &state.hasher,
            PasswordRules { min_length: 12 },
            account,
        )
        .unwrap()
    })
    .await;
    let mut zoe = Browser::new(&app);
    assert_eq!(
        zoe.log_in_under("", "Zoë", ALICE_PASSWORD, "").await.status,
        303
    );
    let page = zoe.verify("", &[]).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.headers["x-latchkey-username"].as_bytes(),
        "Zoë".as_bytes()
    );
    assert_eq!(
        page.headers["x-latchkey-email"].as_bytes(),
        "zoe@exämple.com".as_bytes()
    );

    // The endpoint reads; it does not accept writes.
    let post = browser.send(Method::POST, "/auth/verify", None, &[]).await;
    assert_eq!(post.status, 405);
}

async fn forward_auth_refuses_revoked_sessions_at_once_on_every_instance(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let other = app.sibling(&[]).await;
    let alice = user_id(&app, "alice").await;

    // Logout in the browser.
    let mut browser = Browser::new(&app);
    browser.log_in_under("", "alice", ALICE_PASSWORD, "").await;
    let mut elsewhere = Browser::new(&other);
    elsewhere.cookies = browser.cookies.clone();
    assert_alice(&elsewhere.verify("", &[]).await, alice);
    let csrf = browser.get("/account").await.csrf();
    let cookies = browser.cookies.clone();
    assert_eq!(
        browser
            .post("/logout", &[("csrf_token", &csrf)])
            .await
            .status,
        303
    );
    browser.cookies = cookies;
    assert_refused(&browser.verify("", &[]).await);
    assert_refused(&elsewhere.verify("", &[]).await);

    // Log out everywhere through the API.
    let mut browser = Browser::new(&app);
    browser.log_in_under("", "alice", ALICE_PASSWORD, "").await;
    assert_alice(&browser.verify("", &[]).await, alice);
    let token = api_token(&app, "", ALICE_PASSWORD).await;
    let response = app
        .client
        .post(app.url("/api/auth/logout_all"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_refused(&browser.verify("", &[]).await);
    assert_refused(
        &browser
            .verify("", &[("Authorization", &format!("Bearer {token}"))])
            .await,
    );

    // A password change through the API.
    let mut browser = Browser::new(&app);
    browser.log_in_under("", "alice", ALICE_PASSWORD, "").await;
    let token = api_token(&app, "", ALICE_PASSWORD).await;
    let response = app
        .client
        .post(app.url("/api/auth/change_password"))
        .bearer_auth(&token)
        .json(&json!({
            "old_password": ALICE_PASSWORD,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_refused(&browser.verify("", &[]).await);
    let mut elsewhere = Browser::new(&other);
    elsewhere.cookies = browser.cookies.clone();
    assert_refused(&elsewhere.verify("", &[]).await);

    // A reset.
    let mut browser = Browser::new(&app);
    assert_eq!(
        browser
            .log_in_under("", "alice", NEW_PASSWORD, "")
            .await
            .status,
        303
    );
    assert_alice(&browser.verify("", &[]).await, alice);
    let token = crate::fixtures::mailed_token(&app, &sink, "alice@example.com").await;
    assert_eq!(app.confirm(&token, ALICE_PASSWORD).await.status(), 200);
    assert_refused(&browser.verify("", &[]).await);
}

async fn forward_auth_sends_browsers_to_login_only_for_allowed_origins(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_PUBLIC_URL", "https://example.com/auth"),
            ("LATCHKEY_ALLOWED_RETURN_ORIGINS", "https://app.example.com"),
        ],
    )
    .await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    let traefik = |host: &'static str| {
        [
            ("Accept", "text/html,application/xhtml+xml"),
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", host),
            ("X-Forwarded-Uri", "/inbox?folder=a&x=1"),
        ]
    };
    let page = browser.verify("/auth", &traefik("app.example.com")).await;
    assert_eq!(page.status, 302);
    let next = "https://app.example.com/inbox?folder=a&x=1";
    let expected: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    assert_eq!(
        page.location(),
        format!("https://example.com/auth/login?{expected}")
    );
    for name in IDENTITY {
        assert!(page.headers.get(name).is_none());
    }
    // The public URL's own origin: next is the path.
    let own = browser
        .verify(
            "/auth",
            &[
                ("Accept", "text/html"),
                ("X-Original-URL", "https://example.com/app/page?x=1"),
            ],
        )
        .await;
    assert_eq!(own.status, 302);
    assert_eq!(
        own.location(),
        "https://example.com/auth/login?next=%2Fapp%2Fpage%3Fx%3D1"
    );
    // Any other origin, no original URL, or no browser: 401.
    assert_refused(&browser.verify("/auth", &traefik("evil.test")).await);
    assert_refused(&browser.verify("/auth", &[("Accept", "text/html")]).await);
    let mut api_client = traefik("app.example.com");
    api_client[0] = ("Accept", "application/json");
    assert_refused(&browser.verify("/auth", &api_client).await);

    // The login that follows lands back on the product.
    let login = browser.get(&format!("/auth/login?{expected}")).await;
    assert!(login
        .body
        .contains(&format!("value=\"{}\"", next.replace('&', "&amp;"))));
    let done = browser
        .log_in_under("/auth", "alice", ALICE_PASSWORD, next)
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), next);
}

async fn every_route_link_form_and_asset_lives_under_the_public_url_path(backend: Backend) {
    let (app, sink) = app_with_mail(
        backend,
        &[("LATCHKEY_PUBLIC_URL", "http://latchkey.test/auth")],
    )
    .await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    let under_prefix = |page: &Page, what: &str| {
        let links = page.links();
        assert!(!links.is_empty(), "{what}: no links");
        for link in links {
            assert!(link.starts_with("/auth/"), "{what}: {link}");
        }
        assert!(
            page.body.contains("href=\"/auth/static/app.css\""),
            "{what}"
        );
    };
    for path in [
        "/auth/login",
        "/auth/forgot-password",
        "/auth/reset-password",
        "/auth/reset-password/abc",
    ] {
        let page = browser.get(path).await;
        assert!(page.status == 200 || page.status == 404, "{path}");
        under_prefix(&page, path);
    }
    // Error pages too: an unreadable query, a form without its CSRF token.
    let bad_query = browser.get("/auth/login?next=a&next=b").await;
    assert_eq!(bad_query.status, 400);
    under_prefix(&bad_query, "400 page");
    let forbidden = browser.post("/auth/logout", &[]).await;
    assert_eq!(forbidden.status, 403);
    under_prefix(&forbidden, "403 page");

    // Nothing answers outside the path.
    for path in ["/login", "/healthz", "/static/app.css", "/auth/verify"] {
        assert_eq!(browser.get(path).await.status, 404, "{path}");
    }
    assert_eq!(browser.get("/auth/healthz").await.status, 200);
    assert_eq!(browser.get("/auth/static/app.css").await.status, 200);
    let home = browser.get("/auth/").await;
    assert_eq!(home.location(), "/auth/login");
    let bare = browser.get("/auth").await;
    assert_eq!(bare.location(), "/auth/");
    let account = browser.get("/auth/account").await;
    assert_eq!(account.location(), "/auth/login?next=/auth/account");

    // Log in: the cookie is the path's, the redirect and every page under it.
    let login = browser
        .log_in_under("/auth", "alice", ALICE_PASSWORD, "")
        .await;
    assert_eq!(login.location(), "/auth/account");
    let cookie = browser.set_cookies.last().unwrap().clone();
    assert!(cookie.contains("Path=/auth"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    for path in ["/auth/account", "/auth/account/password"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        under_prefix(&page, path);
    }
    assert_eq!(browser.verify("/auth", &[]).await.status, 200);
    let csrf = browser.get("/auth/account").await.csrf();
    let logout = browser.post("/auth/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(logout.location(), "/auth/login");

    // The API and the emailed link.
    let before = sink.count();
    assert_eq!(
        app.post_json(
            "/auth/api/password_reset/",
            json!({ "email": "alice@example.com" })
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        app.post_json(
            "/api/password_reset/",
            json!({ "email": "alice@example.com" })
        )
        .await
        .status(),
        404
    );
    let messages = sink.wait_for(before + 1, WAIT).await;
    let (link, token) = crate::fixtures::reset_link(messages.last().unwrap());
    assert_eq!(
        link,
        format!("http://latchkey.test/auth/reset-password/{token}")
    );
    let followed = browser.get(&format!("/auth/reset-password/{token}")).await;
    assert_eq!(followed.location(), "/auth/reset-password");
    let form = browser.get("/auth/reset-password").await;
    assert_eq!(form.status, 200);
    under_prefix(&form, "reset form");
    let csrf = form.csrf();
    let done = browser
        .post(
            "/auth/reset-password",
            &[
                ("csrf_token", &csrf),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 200);
    under_prefix(&done, "reset done");
    let csrf = browser.get("/auth/forgot-password").await.csrf();
    let inbox = browser
        .post(
            "/auth/forgot-password",
            &[("csrf_token", &csrf), ("email", "bob@example.com")],
        )
        .await;
    assert_eq!(inbox.status, 200);
    under_prefix(&inbox, "check inbox");
    // Its last mail goes out before the SMTP server is dropped with the test.
    app.drain().await;
}

async fn absolute_next_goes_only_to_allowed_origins_after_login_and_logout(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[(
            "LATCHKEY_ALLOWED_RETURN_ORIGINS",
            "https://app.example.com, http://localhost:3000",
        )],
    )
    .await;
    seed(&app).await;
    for (next, lands) in [
        (
            "https://app.example.com/inbox",
            "https://app.example.com/inbox",
        ),
        ("http://localhost:3000/", "http://localhost:3000/"),
        ("/account/password", "/account/password"),
        ("https://evil.test/", "/account"),
        ("//app.example.com/", "/account"),
        ("http://app.example.com/", "/account"),
        ("https://app.example.com@evil.test/", "/account"),
    ] {
        let mut browser = Browser::new(&app);
        let done = browser
            .log_in_under("", "alice", ALICE_PASSWORD, next)
            .await;
        assert_eq!(done.location(), lands, "login next={next}");
        let csrf = browser.get("/account").await.csrf();
        let logout = browser
            .post("/logout", &[("csrf_token", &csrf), ("next", next)])
            .await;
        let lands = if lands == "/account" { "/login" } else { lands };
        let lands = if lands == "/account/password" {
            "/account/password"
        } else {
            lands
        };
        assert_eq!(logout.location(), lands, "logout next={next}");
    }
    // Browsers check a form's redirect against form-action: the listed origins are in it,
    // and nothing else is loosened.
    let csp = app.get("/login").await.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.ends_with("form-action 'self' https://app.example.com http://localhost:3000"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'self';"), "{csp}");
    // Shared across subdomains: the cookie names the parent domain.
    let shared = app
        .sibling(&[
            ("LATCHKEY_PUBLIC_URL", "http://auth.example.test"),
            ("LATCHKEY_COOKIE_DOMAIN", "example.test"),
        ])
        .await;
    let mut browser = Browser::new(&shared);
    browser.log_in_under("", "alice", ALICE_PASSWORD, "").await;
    let cookie = browser.set_cookies.last().unwrap().clone();
    assert!(cookie.contains("Domain=example.test"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    let mut no_domain = Browser::new(&app);
    no_domain
        .log_in_under("", "alice", ALICE_PASSWORD, "")
        .await;
    assert!(!no_domain.set_cookies.last().unwrap().contains("Domain"));
    // The same next without the variable is ignored, as before.
    let plain = app
        .sibling(&[("LATCHKEY_ALLOWED_RETURN_ORIGINS", "")])
        .await;
    let mut browser = Browser::new(&plain);
    let done = browser
        .log_in_under("", "alice", ALICE_PASSWORD, "https://app.example.com/inbox")
        .await;
    assert_eq!(done.location(), "/account");
}

async fn reset_mails_carry_the_reset_url_and_the_product_name(backend: Backend) {
    let codes_backend = backend.clone();
    let (app, sink) = app_with_mail(
        backend,
        &[
            (
                "LATCHKEY_RESET_URL",
                "https://app.example.com/reset#token={token}",
            ),
            ("LATCHKEY_PRODUCT_NAME", "Acme <Cloud>"),
        ],
    )
    .await;
    seed(&app).await;
    let link_in = |message: &crate::smtp_sink::Received| -> String {
        let text = readable(message);
        let start = text
            .find("https://app.example.com/")
            .expect("the product's link");
        text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect()
    };
    // The API flow: the link is the product's, and its token works with the API.
    let before = sink.count();
    assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
    let messages = sink.wait_for(before + 1, WAIT).await;
    let mail = messages.last().unwrap();
    assert_eq!(
        mail.header("Subject").unwrap(),
        "Reset your Acme <Cloud> password"
    );
    let text = readable(mail);
    assert!(text.contains("your Acme <Cloud> account"), "{text}");
    assert!(
        text.contains("sent automatically by Acme <Cloud>"),
        "{text}"
    );
    assert!(
        text.contains("Acme &lt;Cloud&gt;"),
        "the HTML part escapes it"
    );
    // The only Latchkey page the mail links to is "I did not ask for this", which Latchkey
    // serves whatever LATCHKEY_RESET_URL says.
    for (at, _) in text.match_indices("latchkey.test/reset-password/") {
        let link: String = text[at..]
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
            .collect();
        assert!(link.ends_with("/cancel"), "{link}");
    }
    let link = link_in(mail);
    let token = link
        .strip_prefix("https://app.example.com/reset#token=")
        .expect(&link)
        .to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(app.validate(&token).await.status(), 200);
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 200);
    // The password-changed notice names the product too.
    let messages = sink.wait_for(before + 2, WAIT).await;
    assert!(messages
        .iter()
        .any(|m| m.header("Subject").as_deref() == Some("Your Acme <Cloud> password was changed")));

    // The pages' flow mails the same kind of link; the pages carry the name.
    let mut browser = Browser::new(&app);
    let form = browser.get("/forgot-password").await;
    assert!(
        form.body.contains("· Acme &lt;Cloud&gt;</title>"),
        "{}",
        form.body
    );
    assert!(form.body.contains("class=\"brand\">Acme &lt;Cloud&gt;</a>"));
    let before = sink.count();
    browser
        .post(
            "/forgot-password",
            &[("csrf_token", &form.csrf()), ("email", "bob@example.com")],
        )
        .await;
    let messages = sink.wait_for(before + 1, WAIT).await;
    assert!(link_in(messages.last().unwrap()).starts_with("https://app.example.com/reset#token="));

    // Number codes: the link names its account in the query, before the fragment.
    drop(app);
    let (codes, sink) = app_with_mail(
        codes_backend,
        &[
            (
                "LATCHKEY_RESET_URL",
                "https://app.example.com/reset#token={token}",
            ),
            ("LATCHKEY_TOKEN_GENERATOR", "number"),
        ],
    )
    .await;
    seed(&codes).await;
    let before = sink.count();
    assert_eq!(codes.request_reset("bob@example.com").await.status(), 200);
    let messages = sink.wait_for(before + 1, WAIT).await;
    let link = link_in(messages.last().unwrap());
    let pattern = regex::Regex::new(
        r"^https://app\.example\.com/reset\?email=bob%40example\.com#token=\d{6}$",
    )
    .unwrap();
    assert!(pattern.is_match(&link), "{link}");
}

async fn cors_answers_listed_origins_of_the_api_only(backend: Backend) {
    let app = spawn_app_with(
        backend.clone(),
        &[("LATCHKEY_CORS_ORIGINS", "https://app.example.com")],
    )
    .await;
    seed(&app).await;
    let preflight = |app: &TestApp, origin: &str, path: &str| {
        app.client
            .request(Method::OPTIONS, app.url(path))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "content-type, authorization",
            )
            .send()
    };
    let cors_headers = |headers: &HeaderMap| -> Vec<String> {
        headers
            .keys()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name.starts_with("access-control-"))
            .collect()
    };
    let ok = preflight(&app, "https://app.example.com", "/api/auth/login")
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    let h = ok.headers();
    assert_eq!(h["access-control-allow-origin"], "https://app.example.com");
    assert!(h["vary"].to_str().unwrap().contains("Origin"), "{h:?}");
    assert_eq!(h["access-control-allow-methods"], "GET, POST, OPTIONS");
    assert_eq!(
        h["access-control-allow-headers"],
        "Authorization, Content-Type"
    );
    assert!(h.get("access-control-allow-credentials").is_none());

    // The real request from that origin is answered with the origin, never credentials.
    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .header("Origin", "https://app.example.com")
        .json(&json!({ "username": "alice", "password": ALICE_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert_eq!(
        login.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(login
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let me = app
        .client
        .get(app.url("/api/auth/me"))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401);
    assert_eq!(
        me.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );

    // An unlisted origin gets no CORS header at all, preflight or not.
    let refused = preflight(&app, "https://evil.test", "/api/auth/login")
        .await
        .unwrap();
    assert!(
        cors_headers(refused.headers()).is_empty(),
        "{:?}",
        refused.headers()
    );
    let plain = app
        .client
        .post(app.url("/api/auth/login"))
        .header("Origin", "https://evil.test")
        .json(&json!({ "username": "alice", "password": "wrong password here" }))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 401);
    assert!(cors_headers(plain.headers()).is_empty());
    // Pages and forward auth never get CORS headers.
    for path in ["/login", "/auth/verify", "/static/app.css"] {
        let page = app
            .client
            .get(app.url(path))
            .header("Origin", "https://app.example.com")
            .send()
            .await
            .unwrap();
        assert!(cors_headers(page.headers()).is_empty(), "{path}");
    }
    // Without the variable the API answers OPTIONS as before, without CORS.
    let plain = app.sibling(&[("LATCHKEY_CORS_ORIGINS", "")]).await;
    let options = preflight(&plain, "https://app.example.com", "/api/auth/login")
        .await
        .unwrap();
    assert_eq!(options.status(), 204);
    assert_eq!(options.headers()["allow"], "POST, OPTIONS");
    assert!(cors_headers(options.headers()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_theme_and_static_files_are_served_same_origin_without_traversal() {
    let files = tempfile::tempdir().unwrap();
    let static_dir = files.path().join("public");
    std::fs::create_dir(&static_dir).unwrap();
    std::fs::write(
        static_dir.join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    std::fs::write(static_dir.join(".env"), "SECRET=hidden").unwrap();
    std::fs::write(files.path().join("secret.txt"), "outside the dir").unwrap();
    let theme = files.path().join("theme.css");
    std::fs::write(
        &theme,
        ":root { --accent: #ff0066; --logo: url(\"logo.svg\"); }",
    )
    .unwrap();
    let app = spawn_app_with(
        Backend::Sqlite,
        &[
            ("LATCHKEY_PUBLIC_URL", "http://latchkey.test/auth"),
            ("LATCHKEY_THEME_CSS", theme.to_str().unwrap()),
            ("LATCHKEY_STATIC_DIR", static_dir.to_str().unwrap()),
        ],
    )
    .await;
    let mut browser = Browser::new(&app);
    let login = browser.get("/auth/login").await;
    let builtin = login.body.find("href=\"/auth/static/app.css\"").unwrap();
    let themed = login.body.find("href=\"/auth/static/theme.css\"").unwrap();
    assert!(
        builtin < themed,
        "the theme comes after the built-in stylesheet"
    );
    let csp = login.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'self'") && !csp.contains("http"),
        "{csp}"
    );

    let css = browser.get("/auth/static/theme.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.body.contains("--accent: #ff0066"));
    let logo = browser.get("/auth/static/logo.svg").await;
    assert_eq!(logo.status, 200);
    assert!(logo
        .header("content-type")
        .unwrap()
        .starts_with("image/svg"));
    let builtin_css = browser.get("/auth/static/app.css").await;
    for property in ["--radius", "--font", "--accent", "--logo"] {
        assert!(builtin_css.body.contains(property), "{property}");
    }

    for path in [
        "/auth/static/../secret.txt",
        "/auth/static/%2e%2e/secret.txt",
        "/auth/static/..%2fsecret.txt",
        "/auth/static/%2e%2e%2fsecret.txt",
        "/auth/static/.env",
        "/auth/static/",
        "/auth/static/missing.png",
    ] {
        let page = browser.get(path).await;
        assert!(
            page.status == 404 || page.status == 400,
            "{path}: {}",
            page.status
        );
        assert!(
            !page.body.contains("outside the dir") && !page.body.contains("SECRET"),
            "{path}"
        );
    }
    // The raw request line too (reqwest normalises `..` away).
    let raw = raw_get(&app.address, "/auth/static/../secret.txt").await;
    assert!(!raw.contains("outside the dir"), "{raw}");
    assert!(
        raw.starts_with("HTTP/1.1 404") || raw.starts_with("HTTP/1.1 400"),
        "{raw}"
    );

    // Without the variables: no theme link, nothing else under /static/.
    let plain = spawn_app_with(Backend::Sqlite, &[]).await;
    let login = plain.get("/login").await.text().await.unwrap();
    assert!(!login.contains("theme.css"));
    assert_eq!(plain.get("/static/theme.css").await.status(), 404);
    assert_eq!(plain.get("/static/logo.svg").await.status(), 404);
}

/// One HTTP/1.1 GET written by hand, so the path reaches the server exactly as typed.
async fn raw_get(address: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn bad_values_of_the_new_variables_stop_start_up_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    for (variable, value) in [
        ("LATCHKEY_RESET_URL", "https://app.example.com/reset"),
        (
            "LATCHKEY_RESET_URL",
            "https://app.example.com/{token}/{token}",
        ),
        ("LATCHKEY_RESET_URL", "/reset/{token}"),
        ("LATCHKEY_CORS_ORIGINS", "*"),
        ("LATCHKEY_CORS_ORIGINS", "https://app.example.com/path"),
        ("LATCHKEY_ALLOWED_RETURN_ORIGINS", "app.example.com"),
        ("LATCHKEY_COOKIE_DOMAIN", "not a domain"),
        ("LATCHKEY_COOKIE_PATH", "auth"),
        ("LATCHKEY_THEME_CSS", "/nonexistent/theme.css"),
        ("LATCHKEY_STATIC_DIR", "/nonexistent/dir"),
        ("LATCHKEY_PUBLIC_URL", "https://example.com/a{b}"),
    ] {
        let vars = HashMap::from([(variable.to_owned(), value.to_owned())]);
        let output = run_cli(&vars, dir.path(), &["serve"], None);
        let line = assert_one_error_line(&output);
        assert!(line.contains(variable), "{variable}={value}: {line}");
    }
    let vars = HashMap::from([(
        "LATCHKEY_PRODUCT_NAME".to_owned(),
        "Acme\r\nBcc: x@evil.test".to_owned(),
    )]);
    let line = assert_one_error_line(&run_cli(&vars, dir.path(), &["serve"], None));
    assert!(line.contains("LATCHKEY_PRODUCT_NAME"), "{line}");
}

/// Starts `latchkey serve` with `vars` and returns its log lines up to the listening line.
fn start_up_lines(vars: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains("latchkey is listening"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("no start-up line: {seen:#?}");
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    seen
}

#[test]
fn serve_logs_what_it_runs_with_and_warns_about_likely_mistakes() {
    let port = crate::helpers::free_port();
    let bind = format!("127.0.0.1:{port}");
    let lines = start_up_lines(&[
        ("LATCHKEY_BIND", &bind),
        ("LATCHKEY_PUBLIC_URL", "http://127.0.0.1:1/auth"),
        ("LATCHKEY_PUBLC_URL", "http://typo.test"),
        ("LATCHKEY_EMAIL_BACKEND", "log"),
        ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/8"),
    ]);
    let text = lines.join("\n");
    let listening = lines
        .iter()
        .find(|l| l.contains("latchkey is listening"))
        .unwrap();
    for part in [
        "http://127.0.0.1:1/auth",
        &bind,
        "sqlite latchkey.db",
        "email=log",
        "10.0.0.0/8",
    ] {
        assert!(listening.contains(part), "{part} in {listening}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.contains("WARN") && l.contains("LATCHKEY_PUBLC_URL")),
        "{text}"
    );
    assert!(
        lines.iter().any(|l| l.contains("WARN")
            && l.contains("LATCHKEY_PUBLIC_URL")
            && l.contains(&format!("listens on port {port}"))),
        "{text}"
    );

    // A matching port and known variables only: no warning.
    let port = crate::helpers::free_port();
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://localhost:{port}");
    let quiet = start_up_lines(&[("LATCHKEY_BIND", &bind), ("LATCHKEY_PUBLIC_URL", &public)]);
    assert!(!quiet.iter().any(|l| l.contains("WARN")), "{quiet:#?}");
}
