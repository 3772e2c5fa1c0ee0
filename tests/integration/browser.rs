//! The pages in a real browser: headless Chromium driven through chromedriver walks the whole
//! forgot → mail → link → new password → log in → account → change password → log out journey,
//! reading the reset mail from a real SMTP server, and saves a screenshot of every page; a second
//! journey follows the "This wasn't me" link of a password-changed notice, cancels a reset from
//! its mail and opens the sessions page.
//!
//! Gated on `LATCHKEY_TEST_BROWSER=1` (set by `.ci/run`, which installs `chromium` and
//! `chromium-driver`); under `CI=true` a missing gate is a failure, so the journey cannot be
//! skipped silently. Screenshots land in `target/screenshots/{desktop,phone,dark}/`, or under
//! `LATCHKEY_SCREENSHOT_DIR`; the desktop ones are committed in `docs/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

use crate::fixtures::{app_with_mail, reset_link, seed, ALICE_PASSWORD, NEW_PASSWORD, WAIT};
use crate::helpers::{free_port, Backend};

const THIRD_PASSWORD: &str = "yet another long passphrase 7";

/// The screen a journey runs on.
#[derive(Clone, Copy, Debug)]
enum Screen {
    Desktop,
    Phone,
    Dark,
}

impl Screen {
    fn name(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Phone => "phone",
            Self::Dark => "dark",
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_on_a_desktop() {
    if enabled() {
        journey(Screen::Desktop).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_on_a_375px_phone() {
    if enabled() {
        journey(Screen::Phone).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_dark_mode() {
    if enabled() {
        journey(Screen::Dark).await;
    }
}

/// What a person does that a form must forgive, and what a password manager reads: the
/// cursor lands on the first error, the reset form names its account in a username field, and
/// a double click on "Set the new password" ends on "Password changed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_and_a_typo_in_a_browser() {
    if !enabled() {
        return;
    }
    let address = format!("127.0.0.1:{}", free_port());
    let public_url = format!("http://{address}");
    let (app, sink) = app_with_mail(
        Backend::Sqlite,
        &[
            ("LATCHKEY_BIND", &address),
            ("LATCHKEY_PUBLIC_URL", &public_url),
        ],
    )
    .await;
    seed(&app).await;
    let driver = ChromeDriver::start();
    let page = Page {
        client: driver.open(Screen::Desktop).await,
        base: public_url,
        screen: Screen::Desktop,
    };
    page.visit("/forgot-password").await;
    page.fill("email", "alice@example.com").await;
    page.submit().await;
    let mail = sink.wait_for(1, WAIT).await;
    let (link, _) = reset_link(&mail[0]);
    page.client.goto(&link).await.unwrap();
    page.expect("/reset-password", "Choose a new password")
        .await;

    let fields: Value = page
        .client
        .execute(
            "return [...document.querySelectorAll('form input:not([type=hidden]), form input[name=username]')]
                .map(input => [input.name, input.autocomplete, input.value])",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        fields,
        json!([
            ["username", "username", "alice"],
            ["password", "new-password", ""],
            ["confirm_password", "new-password", ""]
        ]),
        "a password manager files the new password under alice"
    );
    let shown: Value = page
        .client
        .execute(
            "return getComputedStyle(document.querySelector('input[name=username]')).display",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        shown,
        json!("none"),
        "the username field is for machines only"
    );

    page.fill("password", NEW_PASSWORD).await;
    page.fill("confirm_password", "a different passphrase 99")
        .await;
    page.submit().await;
    page.expect("/reset-password", "Choose a new password")
        .await;
    let focused: Value = page
        .client
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(
        focused,
        json!("confirm_password"),
        "the cursor is on the error"
    );

    page.fill("password", NEW_PASSWORD).await;
    page.fill("confirm_password", NEW_PASSWORD).await;
    // Two clicks 40 ms apart, as a double click sends them: the browser abandons the first
    // submission for the second, which reaches the server after the first used the token.
    page.leaving(async {
        page.client
            .execute(
                "const button = document.querySelector('form button[type=submit]');
                 button.click();
                 setTimeout(() => button.click(), 40);",
                vec![],
            )
            .await
            .unwrap();
    })
    .await;
    page.expect("/reset-password", "Password changed").await;
    assert!(app.password_is("alice", NEW_PASSWORD).await);
    page.client.close().await.unwrap();
}

/// The journey in German, on a desktop and a 375 px phone: every heading and message comes
/// from the German catalogue, and the reset mail is German too. Screenshots land in
/// `{screenshots}/de-desktop/` and `{screenshots}/de-phone/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_in_german_on_a_desktop_and_a_phone() {
    if !enabled() {
        return;
    }
    let german = latchkey::i18n::supported("de").unwrap();
    let de = |key: &str| latchkey::i18n::with(&german, || latchkey::i18n::t(key));
    for screen in [Screen::Desktop, Screen::Phone] {
        let address = format!("127.0.0.1:{}", free_port());
        let public_url = format!("http://{address}");
        let (app, sink) = app_with_mail(
            Backend::Sqlite,
            &[
                ("LATCHKEY_BIND", &address),
                ("LATCHKEY_PUBLIC_URL", &public_url),
            ],
        )
        .await;
        seed(&app).await;
        let driver = ChromeDriver::start();
        let page = Page {
            client: driver.open_in(screen, "de").await,
            base: public_url,
            screen,
        };
        let snap = |name: &'static str| {
            let page = &page;
            async move {
                let png = page.client.screenshot().await.unwrap();
                let dir = screenshot_dir().join(format!("de-{}", screen.name()));
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
            }
        };
        page.visit("/").await;
        page.expect("/login", &de("login-title")).await;
        let lang: Value = page
            .client
            .execute("return document.documentElement.lang", vec![])
            .await
            .unwrap();
        assert_eq!(lang, json!("de"));
        snap("login").await;
        page.fill("username", "alice").await;
        page.fill("password", "nicht das richtige Passwort").await;
        page.submit().await;
        assert_eq!(page.text("p.alert").await, de("login-wrong"));
        snap("login-error").await;
        page.follow(&de("login-forgot")).await;
        page.expect("/forgot-password", &de("forgot-title")).await;
        snap("forgot-password").await;
        page.fill("email", "alice@example.com").await;
        page.submit().await;
        page.expect("/forgot-password", &de("inbox-title")).await;
        snap("check-inbox").await;
        let mail = sink.wait_for(1, WAIT).await;
        assert!(
            mail[0].data.contains("lang=\"de\"") || mail[0].data.contains("lang=3D\"de\""),
            "a German mail"
        );
        let (link, _) = reset_link(&mail[0]);
        page.client.goto(&link).await.unwrap();
        page.expect("/reset-password", &de("reset-title")).await;
        snap("reset-password").await;
        page.fill("password", NEW_PASSWORD).await;
        page.fill("confirm_password", "etwas ganz anderes 1234")
            .await;
        page.submit().await;
        page.expect("/reset-password", &de("reset-title")).await;
        assert_eq!(
            page.text("#confirm_password-errors").await,
            de("api-password-mismatch")
        );
        snap("reset-password-error").await;
        page.fill("password", NEW_PASSWORD).await;
        page.fill("confirm_password", NEW_PASSWORD).await;
        page.submit().await;
        page.expect("/reset-password", &de("done-title")).await;
        snap("password-changed").await;
        page.follow(&de("done-login")).await;
        log_in_with_the_keyboard(&page, "alice", NEW_PASSWORD).await;
        page.expect("/account", &de("account-title")).await;
        snap("account").await;
        page.follow(&de("account-change")).await;
        page.expect("/account/password", &de("change-title")).await;
        snap("change-password").await;
        page.visit("/reset-password/not-a-token-anyone-sent").await;
        page.expect(
            "/reset-password/not-a-token-anyone-sent",
            &de("invalid-title"),
        )
        .await;
        snap("link-invalid").await;
        page.client.close().await.unwrap();
    }
}

fn enabled() -> bool {
    match std::env::var("LATCHKEY_TEST_BROWSER") {
        Ok(value) if value == "1" => true,
        _ if crate::helpers::every_variant_required() => {
            panic!("LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_BROWSER is not 1: the browser tests would be skipped")
        }
        _ => {
            eprintln!("skipped: set LATCHKEY_TEST_BROWSER=1 (needs chromium and chromedriver)");
            false
        }
    }
}

async fn journey(screen: Screen) {
    let address = format!("127.0.0.1:{}", free_port());
    let public_url = format!("http://{address}");
    let (app, sink) = app_with_mail(
        Backend::Sqlite,
        &[
            ("LATCHKEY_BIND", &address),
            ("LATCHKEY_PUBLIC_URL", &public_url),
        ],
    )
    .await;
    seed(&app).await;
    let driver = ChromeDriver::start();
    let page = Page {
        client: driver.open(screen).await,
        base: public_url,
        screen,
    };

    page.visit("/").await;
    page.expect("/login", "Log in").await;
    page.snap("login").await;
    page.follow("Forgot your password?").await;
    page.expect("/forgot-password", "Forgot your password?")
        .await;
    page.snap("forgot-password").await;
    page.fill("email", "alice@example.com").await;
    page.submit().await;
    page.expect("/forgot-password", "Check your inbox").await;
    page.snap("check-inbox").await;

    let mail = sink.wait_for(1, WAIT).await;
    let (link, token) = reset_link(&mail[0]);
    assert!(
        link.starts_with(&page.base),
        "the link points at the public URL: {link}"
    );
    page.client.goto(&link).await.unwrap();
    page.expect("/reset-password", "Choose a new password")
        .await;
    let address_bar = page.client.current_url().await.unwrap();
    assert!(
        !address_bar.as_str().contains(&token),
        "the token left the address bar"
    );
    assert!(!page.client.source().await.unwrap().contains(&token));
    page.snap("reset-password").await;

    page.fill("password", NEW_PASSWORD).await;
    page.fill("confirm_password", "not the same passphrase")
        .await;
    page.submit().await;
    page.expect("/reset-password", "Choose a new password")
        .await;
    assert_eq!(
        page.text("#confirm_password-errors").await,
        latchkey::services::account::change_password::PASSWORD_MISMATCH
    );
    page.snap("reset-password-error").await;
    page.fill("password", NEW_PASSWORD).await;
    page.fill("confirm_password", NEW_PASSWORD).await;
    page.submit().await;
    page.expect("/reset-password", "Password changed").await;
    page.snap("password-changed").await;

    page.follow("Log in").await;
    page.expect("/login", "Log in").await;
    page.fill("username", "alice").await;
    page.fill("password", ALICE_PASSWORD).await;
    page.submit().await;
    page.expect("/login", "Log in").await;
    assert_eq!(
        page.text("p.alert").await,
        latchkey::http::pages::login::wrong_credentials(),
        "the old password is dead"
    );
    page.snap("login-error").await;
    log_in_with_the_keyboard(&page, "alice", NEW_PASSWORD).await;
    page.expect("/account", "Your account").await;
    assert!(page.text("dl.details").await.contains("alice@example.com"));
    page.snap("account").await;

    page.follow("Change your password").await;
    page.expect("/account/password", "Change your password")
        .await;
    page.snap("change-password").await;
    page.fill("old_password", NEW_PASSWORD).await;
    page.fill("password", THIRD_PASSWORD).await;
    page.fill("confirm_password", THIRD_PASSWORD).await;
    page.submit().await;
    page.expect("/account", "Your account").await;
    assert!(page.text("p.notice").await.contains("password was changed"));
    page.snap("account-password-changed").await;

    page.submit().await;
    page.expect("/login", "Log in").await;
    page.visit("/account").await;
    page.expect("/login", "Log in").await;
    assert!(app.password_is("alice", THIRD_PASSWORD).await);

    page.visit("/reset-password/not-a-token-anyone-sent").await;
    page.expect(
        "/reset-password/not-a-token-anyone-sent",
        "This link does not work",
    )
    .await;
    page.snap("link-invalid").await;
    page.client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wasnt_me_journey_on_a_desktop() {
    if enabled() {
        wasnt_me_journey(Screen::Desktop).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wasnt_me_journey_on_a_375px_phone() {
    if enabled() {
        wasnt_me_journey(Screen::Phone).await;
    }
}

/// The first link in `message` under `base` whose text contains `marker`.
fn mailed_link(message: &crate::smtp_sink::Received, base: &str, marker: &str) -> String {
    let text = crate::fixtures::readable(message);
    text.match_indices(base)
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| {
                    c.is_ascii_alphanumeric()
                        || matches!(c, ':' | '/' | '.' | '-' | '_' | '?' | '=')
                })
                .collect::<String>()
        })
        .find(|link| link.contains(marker))
        .unwrap_or_else(|| panic!("no {marker} link in {text}"))
}

/// Someone else changed alice's password: the notice's "This wasn't me" link locks the account
/// and mails a reset link that gets her back in; then a reset she did not ask for is cancelled
/// from its mail, and the sessions page lists what is logged in.
async fn wasnt_me_journey(screen: Screen) {
    let address = format!("127.0.0.1:{}", free_port());
    let public_url = format!("http://{address}");
    let (app, sink) = app_with_mail(
        Backend::Sqlite,
        &[
            ("LATCHKEY_BIND", &address),
            ("LATCHKEY_PUBLIC_URL", &public_url),
        ],
    )
    .await;
    seed(&app).await;
    // The "attacker" changes the password over the API.
    let login: Value = app
        .post_json(
            "/api/auth/login",
            json!({ "username": "alice", "password": ALICE_PASSWORD }),
        )
        .await
        .json()
        .await
        .unwrap();
    let attacker = login["token"].as_str().unwrap().to_owned();
    let changed = app
        .client
        .post(app.url("/api/auth/change_password"))
        .bearer_auth(&attacker)
        .json(&json!({
            "old_password": ALICE_PASSWORD,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let notice = sink.wait_for(1, WAIT).await.pop().unwrap();
    let wasnt_me = mailed_link(&notice, &public_url, "/wasnt-me/");
    let path = wasnt_me.trim_start_matches(&public_url).to_owned();

    let driver = ChromeDriver::start();
    let page = Page {
        client: driver.open(screen).await,
        base: public_url.clone(),
        screen,
    };
    page.client.goto(&wasnt_me).await.unwrap();
    page.expect(&path, "Secure your account").await;
    page.snap("wasnt-me").await;
    page.submit().await;
    page.expect(&path, "Your account is secured").await;
    page.snap("wasnt-me-done").await;
    let me = app
        .client
        .get(app.url("/api/auth/me"))
        .bearer_auth(&attacker)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 401, "the attacker's token is dead");

    let mail = sink.wait_for(2, WAIT).await.pop().unwrap();
    let (link, _) = reset_link(&mail);
    page.client.goto(&link).await.unwrap();
    page.expect("/reset-password", "Choose a new password")
        .await;
    page.fill("password", THIRD_PASSWORD).await;
    page.fill("confirm_password", THIRD_PASSWORD).await;
    page.submit().await;
    page.expect("/reset-password", "Password changed").await;
    assert!(app.password_is("alice", THIRD_PASSWORD).await);

    // A reset she did not ask for: cancelled from the mail.
    assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
    let mail = sink.wait_for(3, WAIT).await;
    let reset_mail = mail
        .iter()
        .rev()
        .find(|m| crate::fixtures::readable(m).contains("/cancel"))
        .unwrap();
    let cancel = mailed_link(reset_mail, &public_url, "/cancel");
    let cancel_path = cancel.trim_start_matches(&public_url).to_owned();
    page.client.goto(&cancel).await.unwrap();
    page.expect(&cancel_path, "Cancel this password reset")
        .await;
    page.snap("reset-cancel").await;
    page.submit().await;
    page.expect(&cancel_path, "Password reset cancelled").await;
    page.snap("reset-cancelled").await;
    let (_, token) = reset_link(reset_mail);
    assert_eq!(app.validate(&token).await.status(), 404);

    // The sessions page, with this browser and an app token.
    let _app_token = app
        .post_json(
            "/api/auth/login",
            json!({ "username": "alice", "password": THIRD_PASSWORD }),
        )
        .await;
    page.visit("/login").await;
    page.expect("/login", "Log in").await;
    log_in_with_the_keyboard(&page, "alice", THIRD_PASSWORD).await;
    page.expect("/account", "Your account").await;
    page.follow("Your sessions").await;
    page.expect("/account/sessions", "Your sessions").await;
    assert!(page.text("ul.devices").await.contains("This browser"));
    page.snap("sessions").await;

    page.visit(&path).await;
    page.expect(&path, "This link does not work").await;
    page.snap("notice-link-invalid").await;
    page.client.close().await.unwrap();
}

/// Tab order and Enter only: the username field, Tab, the password, Enter submits.
async fn log_in_with_the_keyboard(page: &Page, username: &str, password: &str) {
    let field = page.client.find(Locator::Id("username")).await.unwrap();
    field.clear().await.unwrap();
    let keys = format!(
        "{username}{}{password}{}",
        char::from(Key::Tab),
        char::from(Key::Enter)
    );
    page.leaving(async { field.send_keys(&keys).await.unwrap() })
        .await;
}

/// The browser on one page of the app, with the checks every page gets.
struct Page {
    client: Client,
    base: String,
    screen: Screen,
}

impl Page {
    async fn visit(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// Waits until the browser shows `heading` at `path`, then checks the page fits the screen
    /// and follows the colour scheme.
    async fn expect(&self, path: &str, heading: &str) {
        let h1 = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&format!(
                "//h1[normalize-space()={heading:?}]"
            )))
            .await
            .unwrap_or_else(|err| panic!("no heading {heading:?} on {path}: {err}"));
        assert!(h1.is_displayed().await.unwrap());
        assert_eq!(self.client.current_url().await.unwrap().path(), path);
        let fits: Value = self
            .client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            fits,
            json!(true),
            "{path} scrolls sideways on {:?}",
            self.screen
        );
        let dark: Value = self
            .client
            .execute(
                "return [matchMedia('(prefers-color-scheme: dark)').matches, getComputedStyle(document.body).backgroundColor]",
                vec![],
            )
            .await
            .unwrap();
        let wants_dark = matches!(self.screen, Screen::Dark);
        assert_eq!(dark[0], json!(wants_dark), "{dark}");
        let background = dark[1].as_str().unwrap();
        assert_eq!(
            is_dark(background),
            wants_dark,
            "{path} background {background} on {:?}",
            self.screen
        );
    }

    async fn follow(&self, link_text: &str) {
        let link = self
            .client
            .find(Locator::LinkText(link_text))
            .await
            .unwrap();
        self.leaving(async { link.click().await.unwrap() }).await;
    }

    /// Runs `action` and waits until the browser has left the current document, so the next
    /// check cannot see the old page (a re-rendered form has the same heading).
    async fn leaving(&self, action: impl std::future::Future<Output = ()>) {
        let old_document = self.client.find(Locator::Css("html")).await.unwrap();
        action.await;
        crate::helpers::eventually(WAIT, "no new page was loaded", || async {
            old_document.tag_name().await.is_err().then_some(())
        })
        .await;
    }

    async fn fill(&self, id: &str, value: &str) {
        let field = self.client.find(Locator::Id(id)).await.unwrap();
        let label = self.text(&format!("label[for={id}]")).await;
        assert!(!label.is_empty(), "field {id} has a label");
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn submit(&self) {
        let button = self
            .client
            .find(Locator::Css("form button[type=submit]"))
            .await
            .unwrap();
        self.leaving(async { button.click().await.unwrap() }).await;
    }

    async fn text(&self, selector: &str) -> String {
        let element = self.client.find(Locator::Css(selector)).await.unwrap();
        element.text().await.unwrap().trim().to_owned()
    }

    async fn snap(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = screenshot_dir().join(self.screen.name());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

/// `rgb(r, g, b)` darker than mid-grey.
fn is_dark(css_color: &str) -> bool {
    let channels: Vec<u32> = css_color
        .trim_start_matches("rgba(")
        .trim_start_matches("rgb(")
        .trim_end_matches(')')
        .split(',')
        .take(3)
        .map(|part| part.trim().parse().unwrap())
        .collect();
    channels.iter().sum::<u32>() < 3 * 128
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("LATCHKEY_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots"))
}

/// A chromedriver process of this test's own, stopped on drop.
struct ChromeDriver {
    process: Child,
    port: u16,
    profiles: tempfile::TempDir,
}

impl ChromeDriver {
    fn start() -> Self {
        let port = free_port();
        let program =
            std::env::var("LATCHKEY_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".to_owned());
        let process = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start {program}: {err} (apt-get install chromium-driver)")
            });
        let listening = crate::helpers::poll_blocking(WAIT, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(listening.is_some(), "chromedriver did not listen on {port}");
        Self {
            process,
            port,
            profiles: tempfile::tempdir().unwrap(),
        }
    }

    /// A fresh headless Chromium with its own profile, sized and themed for `screen`.
    async fn open(&self, screen: Screen) -> Client {
        self.open_in(screen, "en").await
    }

    /// The same, asking for pages in `language` (`--lang` and the `Accept-Language` pref).
    async fn open_in(&self, screen: Screen, language: &str) -> Client {
        let profile = self
            .profiles
            .path()
            .join(format!("{}-{language}", screen.name()));
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--lang={language}"),
        ];
        let mut options = json!({
            "binary": std::env::var("LATCHKEY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        });
        match screen {
            Screen::Desktop => args.push("--window-size=1280,900".to_owned()),
            Screen::Dark => args.extend([
                "--window-size=1280,900".to_owned(),
                "--force-dark-mode".to_owned(),
            ]),
            Screen::Phone => {
                options["mobileEmulation"] = json!({
                    "deviceMetrics": { "width": 375, "height": 812, "pixelRatio": 2.0, "touch": true }
                });
            }
        }
        options["args"] = json!(args);
        options["prefs"] = json!({ "intl.accept_languages": language });
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".to_owned(), json!("chrome"));
        capabilities.insert("goog:chromeOptions".to_owned(), options);
        // Plain HTTP to the local chromedriver: no TLS library is initialised in the test process.
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|err| panic!("chromedriver could not start Chromium: {err}"))
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}
