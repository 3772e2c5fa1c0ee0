//! Pages that forgive ordinary behaviour: a double submission, a long pause on the reset form,
//! a deployment that looks accounts up by username, an unknown path, a stale logout; and pages
//! that say exactly what is wrong and what to do (the account a form is for, every password rule
//! up front, the real wait when locked out, the cursor on the first error, contrast).

use crate::fixtures::{app_with_mail, mailed_token, seed, ALICE_PASSWORD, NEW_PASSWORD, WAIT};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::web_client::Browser;
use latchkey::i18n::human_wait;

on_both_backends!(
    a_reset_form_submitted_twice_says_password_changed_both_times,
    a_reset_form_submitted_twice_at_once_says_password_changed_both_times,
    the_reset_form_outlives_the_idle_timeout_while_its_link_is_valid,
    the_forgot_page_asks_for_a_username_where_accounts_are_looked_up_by_one,
    the_reset_form_names_its_account_and_every_rule_and_focuses_the_first_error,
    lock_out_pages_say_the_wait_that_retry_after_gives,
    unknown_paths_are_a_page_for_browsers_and_json_for_the_api,
    logging_out_of_a_session_that_is_already_over_goes_to_the_login_page,
);

/// Opens the mailed link for alice in `browser`; returns the form page's CSRF token.
async fn open_reset_form(browser: &mut Browser, token: &str) -> String {
    let link = browser.get(&format!("/reset-password/{token}")).await;
    assert_eq!(link.status, 303);
    let form = browser.get("/reset-password").await;
    assert_eq!(form.status, 200, "{}", form.body);
    form.csrf()
}

async fn a_reset_form_submitted_twice_says_password_changed_both_times(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mut browser = Browser::new(&app);
    let csrf = open_reset_form(&mut browser, &token).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let saved = browser.cookies.clone();
    let first = browser.post("/reset-password", &form).await;
    assert_eq!(first.status, 200);
    assert!(first.body.contains("Password changed"));
    // The second click of a double click carries the cookie the form was loaded with.
    browser.cookies = saved;
    let second = browser.post("/reset-password", &form).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(second.body.contains("Password changed"));
    let reload = browser.get("/reset-password").await;
    assert!(reload.body.contains("Password changed"), "{}", reload.body);
    assert!(app.password_is("alice", NEW_PASSWORD).await);
    assert_eq!(
        browser.get("/account").await.status,
        303,
        "a reset still logs nobody in"
    );

    // Another browser with the used link learns nothing new: the link does not work.
    let mut other = Browser::new(&app);
    let used = other.get(&format!("/reset-password/{token}")).await;
    assert_eq!(used.status, 404);
    assert!(used.body.contains("This link does not work"));
    let stray = other.get("/reset-password").await;
    assert_eq!(stray.status, 404);
}

async fn a_reset_form_submitted_twice_at_once_says_password_changed_both_times(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mut browser = Browser::new(&app);
    let csrf = open_reset_form(&mut browser, &token).await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("password", NEW_PASSWORD),
        ("confirm_password", NEW_PASSWORD),
    ];
    let mut twin = Browser::new(&app);
    twin.cookies = browser.cookies.clone();
    let (first, second) = tokio::join!(
        browser.post("/reset-password", &form),
        twin.post("/reset-password", &form)
    );
    for page in [&first, &second] {
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Password changed"), "{}", page.body);
    }
    assert!(app.password_is("alice", NEW_PASSWORD).await);
}

async fn the_reset_form_outlives_the_idle_timeout_while_its_link_is_valid(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[("LATCHKEY_SESSION_IDLE_TIMEOUT", "2s")]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mut browser = Browser::new(&app);
    let csrf = open_reset_form(&mut browser, &token).await;
    // A session opened at the same moment without a link: once it has idled out, so would
    // the form's session have without the hold.
    let mut idle = Browser::new(&app);
    let idle_csrf = idle.get("/login").await.csrf();
    crate::helpers::eventually(WAIT, "the idle session never expired", || async {
        let mut probe = Browser::with_cookies(&app, idle.cookies.clone());
        (probe.get("/login").await.csrf() != idle_csrf).then_some(())
    })
    .await;
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
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Password changed"));
    assert!(app.password_is("alice", NEW_PASSWORD).await);
}

async fn the_forgot_page_asks_for_a_username_where_accounts_are_looked_up_by_one(backend: Backend) {
    let again = backend.clone();
    let (app, sink) = app_with_mail(backend, &[("LATCHKEY_LOOKUP_FIELD", "username")]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    let page = browser.get("/forgot-password").await;
    assert!(
        page.body.contains("<label for=\"email\">Username</label>"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("type=\"text\" autocomplete=\"username\""));
    assert!(!page.body.contains("Email address"));
    let sent = browser
        .post(
            "/forgot-password",
            &[("csrf_token", &page.csrf()), ("email", "alice")],
        )
        .await;
    assert_eq!(sent.status, 200);
    assert!(
        sent.body.contains("If an account has that username"),
        "{}",
        sent.body
    );
    let mail = sink.wait_for(1, WAIT).await;
    assert_eq!(mail[0].rcpt_to, vec!["alice@example.com".to_owned()]);

    let (email_app, _sink) = app_with_mail(again, &[]).await;
    let page = Browser::new(&email_app).get("/forgot-password").await;
    assert!(page
        .body
        .contains("<label for=\"email\">Email address</label>"));
    assert!(page.body.contains("type=\"email\" autocomplete=\"email\""));
}

async fn the_reset_form_names_its_account_and_every_rule_and_focuses_the_first_error(
    backend: Backend,
) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mut browser = Browser::new(&app);
    let csrf = open_reset_form(&mut browser, &token).await;
    let form = browser.get("/reset-password").await;
    assert!(form.body.contains("For the account <strong>alice</strong>"));
    assert!(
        form.body.contains(
            "<input type=\"text\" name=\"username\" autocomplete=\"username\" value=\"alice\" hidden readonly>"
        ),
        "password managers learn the account: {}",
        form.body
    );
    for rule in [
        "At least 12 characters",
        "Not like your username or email address",
        "Not a commonly used password, and not only digits",
    ] {
        assert!(form.body.contains(rule), "{rule}");
    }
    assert!(form.body.contains("aria-describedby=\"password-rules\""));
    assert!(!form.body.contains("autofocus"), "no error, no jump");

    let mismatch = browser
        .post(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("password", NEW_PASSWORD),
                ("confirm_password", "something else entirely"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 400);
    assert_eq!(mismatch.body.matches("autofocus").count(), 1);
    assert!(mismatch
        .body
        .contains("id=\"confirm_password\" name=\"confirm_password\" type=\"password\" autocomplete=\"new-password\" value=\"\" required autofocus"));
    assert!(mismatch
        .body
        .contains("For the account <strong>alice</strong>"));

    let weak = browser
        .post(
            "/reset-password",
            &[
                ("csrf_token", &csrf),
                ("password", "12345678901234"),
                ("confirm_password", "12345678901234"),
            ],
        )
        .await;
    assert_eq!(weak.status, 400);
    assert_eq!(weak.body.matches("autofocus").count(), 1);
    assert!(weak
        .body
        .contains("id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" value=\"\" required autofocus"));
    assert!(weak
        .body
        .contains("aria-describedby=\"password-rules password-errors\""));

    assert_eq!(
        browser
            .log_in("bob", "bob's horse battery staple")
            .await
            .status,
        303
    );
    let change = browser.get("/account/password").await;
    assert!(change.body.contains("At least 12 characters"));
    assert!(change
        .body
        .contains("name=\"username\" autocomplete=\"username\" value=\"bob\" hidden readonly"));
    let wrong = browser
        .post(
            "/account/password",
            &[
                ("csrf_token", &change.csrf()),
                ("old_password", "not bob's password at all"),
                ("password", NEW_PASSWORD),
                ("confirm_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("id=\"old_password\" name=\"old_password\" type=\"password\" autocomplete=\"current-password\" value=\"\" required autofocus"));
}

async fn lock_out_pages_say_the_wait_that_retry_after_gives(backend: Backend) {
    let (app, _sink) = app_with_mail(
        backend,
        &[
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP", "2/1h"),
            ("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "1/10m"),
        ],
    )
    .await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    let mut locked = None;
    for _ in 0..4 {
        let page = browser.log_in("alice", "not the password at all").await;
        if page.status == 429 {
            locked = Some(page);
            break;
        }
        assert_eq!(page.status, 401);
    }
    let page = locked.expect("locked out after two failures");
    let seconds: u64 = page.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(seconds > 60 * 55, "{seconds}");
    assert_eq!(human_wait(seconds), "an hour");
    assert!(
        page.body
            .contains("Try again in an hour, or reset your password."),
        "{}",
        page.body
    );
    assert!(!page.body.contains("a few minutes"));

    let mut forgetful = Browser::new(&app);
    let csrf = forgetful.get("/forgot-password").await.csrf();
    let first = forgetful
        .post(
            "/forgot-password",
            &[("csrf_token", &csrf), ("email", "alice@example.com")],
        )
        .await;
    assert_eq!(first.status, 200);
    let limited = forgetful
        .post(
            "/forgot-password",
            &[("csrf_token", &csrf), ("email", "bob@example.com")],
        )
        .await;
    assert_eq!(limited.status, 429);
    let seconds: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let wait = human_wait(seconds);
    assert!(wait == "10 minutes" || wait == "9 minutes", "{wait}");
    assert!(
        limited
            .body
            .contains(&format!("Please try again in {wait}.")),
        "{}",
        limited.body
    );
    // Its last mail goes out before the SMTP server is dropped with the test.
    app.drain().await;
}

async fn unknown_paths_are_a_page_for_browsers_and_json_for_the_api(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let page = app
        .client
        .get(app.url("/no/such/page"))
        .header("Accept", html)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(page.headers().contains_key("content-security-policy"));
    let body = page.text().await.unwrap();
    assert!(body.contains("<h1>Page not found</h1>"), "{body}");

    for (path, accept) in [
        ("/no/such/page", None),
        ("/no/such/page", Some("application/json")),
        ("/api/no/such/endpoint", Some(html)),
    ] {
        let mut request = app.client.get(app.url(path));
        if let Some(accept) = accept {
            request = request.header("Accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"detail":"Not found."}"#,
            "{path} {accept:?}"
        );
    }
}

async fn logging_out_of_a_session_that_is_already_over_goes_to_the_login_page(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.log_in("alice", ALICE_PASSWORD).await.status, 303);
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    let csrf = account.csrf();
    // The session ends elsewhere ("log out everywhere" from another device).
    let token = crate::fixtures::body(app.login("alice", ALICE_PASSWORD).await).await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let everywhere = app
        .client
        .post(app.url("/api/auth/logout_all"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(everywhere.status(), 204);

    let stale = browser.post("/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(stale.status, 303, "{}", stale.body);
    assert_eq!(stale.location(), "/login");

    // A live session still needs its token, and a cross-site form never passes.
    assert_eq!(browser.log_in("alice", ALICE_PASSWORD).await.status, 303);
    assert_eq!(browser.post("/logout", &[]).await.status, 403);
    assert_eq!(browser.get("/account").await.status, 200, "still logged in");
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .send(
            reqwest::Method::POST,
            "/logout",
            Some(&[]),
            &[("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    assert_eq!(forged.status, 403);
}

/// Form-control borders and the focus ring need 3:1 against the card and the field's own
/// background, in light and in dark mode (WCAG 1.4.11 non-text contrast).
#[test]
fn input_borders_and_the_focus_ring_have_three_to_one_contrast() {
    let css =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/static/app.css")).unwrap();
    let light = css.split("@media").next().unwrap();
    let dark = css
        .split("@media (prefers-color-scheme: dark)")
        .nth(1)
        .unwrap()
        .split("\n}\n")
        .next()
        .unwrap();
    for (scheme, block) in [("light", light), ("dark", dark)] {
        let colour = |name: &str| {
            let value = block
                .split(&format!("--{name}:"))
                .nth(1)
                .or_else(|| light.split(&format!("--{name}:")).nth(1))
                .unwrap_or_else(|| panic!("--{name} in {scheme}"));
            luminance(value.trim().split(';').next().unwrap())
        };
        for foreground in ["input-border", "focus"] {
            for background in ["card", "bg"] {
                let ratio = contrast(colour(foreground), colour(background));
                assert!(
                    ratio >= 3.0,
                    "{scheme}: --{foreground} on --{background} is {ratio:.2}:1"
                );
            }
        }
    }
}

/// WCAG relative luminance of `#rrggbb`.
fn luminance(hex: &str) -> f64 {
    let hex = hex.trim_start_matches('#');
    let channel = |at: usize| {
        let value = f64::from(u8::from_str_radix(&hex[at..at + 2], 16).unwrap()) / 255.0;
        if value <= 0.039_28 {
            value / 12.92
        } else {
            ((value + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: f64, b: f64) -> f64 {
    let (light, dark) = if a > b { (a, b) } else { (b, a) };
    (light + 0.05) / (dark + 0.05)
}
