//! Security notices over HTTP and real SMTP, on both backends: the "This wasn't me" link of the
//! password-changed notice, the "I did not ask for this" link of the reset mail, the audit log
//! (with `latchkey audit list`), and the device list (API and page).

use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::{
    app_with_mail, body, mailed_token, readable, seed, ALICE_PASSWORD, NEW_PASSWORD, WAIT,
};
use crate::helpers::{stdout, Backend, TestApp};
use crate::on_both_backends;
use crate::smtp_sink::{Received, SmtpSink};
use crate::web_client::Browser;

on_both_backends!(
    the_changed_notice_carries_time_ip_agent_and_a_wasnt_me_link_that_locks_the_account,
    the_wasnt_me_link_works_once_and_reveals_nothing,
    the_reset_mail_can_be_cancelled_from_its_own_link,
    every_listed_event_is_audited_without_secrets_and_audit_list_filters,
    audit_rows_past_their_retention_are_purged,
    devices_are_listed_and_revoked_over_the_api,
    the_sessions_page_lists_and_ends_sessions,
    a_throttled_login_of_a_known_account_is_audited,
    a_number_code_is_cancelled_for_its_own_account_only,
);

/// A browser whose requests carry a `User-Agent` the audit rows are checked for.
fn notice_browser(app: &TestApp) -> Browser {
    Browser::new(app).with_header("User-Agent", "NoticeTest/1.0 (browser)")
}

/// The path of the first link in `message` that contains `marker` (`/wasnt-me/`, `/cancel`).
pub fn link_path(message: &Received, marker: &str) -> String {
    let text = readable(message);
    let mut rest = text.as_str();
    while let Some(start) = rest.find("http://latchkey.test") {
        let link: String = rest[start..]
            .chars()
            .take_while(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, ':' | '/' | '.' | '-' | '_' | '?' | '=' | '%')
            })
            .collect();
        if link.contains(marker) {
            return link.trim_start_matches("http://latchkey.test").to_owned();
        }
        rest = &rest[start + link.len().max(1)..];
    }
    panic!("no link with {marker} in {text}");
}

/// Logs in over the API (with a recognisable user agent) and returns the bearer token.
pub async fn api_login(app: &TestApp, username: &str, password: &str, agent: &str) -> String {
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .header("User-Agent", agent)
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    body(response).await["token"].as_str().unwrap().to_owned()
}

async fn with_token(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// alice changes her password over the API; returns her (still valid) token and the notice.
async fn change_alice_password(app: &TestApp, sink: &SmtpSink) -> (String, Received) {
    let token = api_login(app, "alice", ALICE_PASSWORD, "AliceApp/2.0").await;
    let before = sink.count();
    let changed = app
        .client
        .post(app.url("/api/auth/change_password"))
        .bearer_auth(&token)
        .header("User-Agent", "AliceApp/2.0")
        .json(&json!({
            "old_password": ALICE_PASSWORD,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    let notice = sink.wait_for(before + 1, WAIT).await.pop().unwrap();
    (token, notice)
}

/// The audit events of one account, oldest first.
pub async fn events_of(app: &TestApp, username: &str) -> Vec<String> {
    let username = username.to_owned();
    app.blocking(move |state| {
        let mut conn = state.db.get().unwrap();
        let user = latchkey::db::users::find_by_username(&mut conn, &username)
            .unwrap()
            .unwrap();
        latchkey::db::audit::list_for_user(&mut conn, user.id)
            .unwrap()
            .into_iter()
            .map(|(event, _)| event)
            .collect()
    })
    .await
}

async fn the_changed_notice_carries_time_ip_agent_and_a_wasnt_me_link_that_locks_the_account(
    backend: Backend,
) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let (token, notice) = change_alice_password(&app, &sink).await;
    assert_eq!(notice.rcpt_to, vec!["alice@example.com".to_owned()]);
    let text = readable(&notice);
    assert!(text.contains("127.0.0.1"), "the client IP: {text}");
    assert!(text.contains("AliceApp/2.0"), "the user agent: {text}");
    assert!(text.contains(" UTC"), "the time: {text}");
    let wasnt_me = link_path(&notice, "/wasnt-me/");

    // GET (and HEAD, as a mail scanner would) only shows the confirmation page.
    let mut browser = notice_browser(&app);
    let head = browser.send(Method::HEAD, &wasnt_me, None, &[]).await;
    assert_eq!(head.status, 200);
    let page = browser.get(&wasnt_me).await;
    assert_eq!(page.status, 200);
    // The button's text comes from the catalogue, HTML-escaped ("wasn&apos;t" or the like).
    assert!(
        page.body.contains("t me: secure my account"),
        "{}",
        page.body
    );
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &token)
            .await
            .status(),
        200
    );
    assert!(
        app.password_is("alice", NEW_PASSWORD).await,
        "a GET changes nothing"
    );

    // A POST without the form's CSRF token changes nothing either.
    let forged = browser.post(&wasnt_me, &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &token)
            .await
            .status(),
        200
    );

    // Another browser of alice's, to see it revoked.
    let mut other = notice_browser(&app);
    assert_eq!(other.log_in("alice", NEW_PASSWORD).await.status, 303);
    assert_eq!(other.get("/account").await.status, 200);

    let before = sink.count();
    let done = browser
        .post(&wasnt_me, &[("csrf_token", &page.csrf())])
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("secured"));
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &token)
            .await
            .status(),
        401,
        "every token is revoked"
    );
    assert_eq!(
        other.get("/account").await.status,
        303,
        "every session is revoked"
    );
    let login = app
        .post_json(
            "/api/auth/login",
            json!({ "username": "alice", "password": NEW_PASSWORD }),
        )
        .await;
    assert_eq!(login.status(), 401, "the password is no longer usable");

    // A fresh reset link arrives and works although the account has no password now.
    let mail = sink.wait_for(before + 1, WAIT).await.pop().unwrap();
    assert_eq!(mail.rcpt_to, vec!["alice@example.com".to_owned()]);
    let (_, reset_token) = crate::fixtures::reset_link(&mail);
    assert_eq!(
        app.confirm(&reset_token, "yet another fine passphrase")
            .await
            .status(),
        200
    );
    assert!(
        app.password_is("alice", "yet another fine passphrase")
            .await
    );
    let events = events_of(&app, "alice").await;
    assert!(events.contains(&"wasnt_me".to_owned()), "{events:?}");
}

async fn the_wasnt_me_link_works_once_and_reveals_nothing(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let (_, notice) = change_alice_password(&app, &sink).await;
    let wasnt_me = link_path(&notice, "/wasnt-me/");
    let mut browser = notice_browser(&app);
    let page = browser.get(&wasnt_me).await;
    let done = browser
        .post(&wasnt_me, &[("csrf_token", &page.csrf())])
        .await;
    assert_eq!(done.status, 200);

    let used = browser.get(&wasnt_me).await;
    let unknown = browser.get(&format!("/wasnt-me/{}", "ab".repeat(32))).await;
    let malformed = browser.get("/wasnt-me/not-a-token").await;
    for page in [&used, &unknown, &malformed] {
        assert_eq!(page.status, 404);
        assert_eq!(page.body, unknown.body, "the same page whatever the link");
        assert!(!page.body.contains("alice"));
    }
    // A POST of the used link (with a valid form) changes nothing and says the same.
    let csrf = browser.get("/login").await.csrf();
    let again = browser.post(&wasnt_me, &[("csrf_token", &csrf)]).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body, unknown.body);
}

async fn the_reset_mail_can_be_cancelled_from_its_own_link(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let mail = sink.messages().pop().unwrap();
    let cancel = link_path(&mail, "/cancel");
    assert_eq!(cancel, format!("/reset-password/{token}/cancel"));

    let mut browser = notice_browser(&app);
    let page = browser.get(&cancel).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("I did not ask for this"));
    assert_eq!(
        app.validate(&token).await.status(),
        200,
        "a GET changes nothing"
    );
    let forged = browser.post(&cancel, &[("csrf_token", "nope")]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.validate(&token).await.status(), 200);

    let done = browser.post(&cancel, &[("csrf_token", &page.csrf())]).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        app.validate(&token).await.status(),
        404,
        "the token is unusable"
    );
    assert_eq!(app.confirm(&token, NEW_PASSWORD).await.status(), 404);
    assert!(app.password_is("alice", ALICE_PASSWORD).await);

    let again = browser.get(&cancel).await;
    let unknown = browser
        .get(&format!("/reset-password/{}/cancel", "cd".repeat(32)))
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(
        again.body, unknown.body,
        "used and unknown links look the same"
    );
    let events = events_of(&app, "alice").await;
    assert!(
        events.contains(&"password_reset_cancelled".to_owned()),
        "{events:?}"
    );
}

async fn every_listed_event_is_audited_without_secrets_and_audit_list_filters(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    // login_failed (known), an unknown name (not recorded), login_succeeded, logout, logout_all.
    let wrong = app
        .post_json(
            "/api/auth/login",
            json!({ "username": "alice", "password": "wrong guess here" }),
        )
        .await;
    assert_eq!(wrong.status(), 401);
    let unknown = app
        .post_json(
            "/api/auth/login",
            json!({ "username": "nobody", "password": "wrong guess here" }),
        )
        .await;
    assert_eq!(unknown.status(), 401);
    let token = api_login(&app, "alice", ALICE_PASSWORD, "AuditApp/1.0").await;
    assert_eq!(
        with_token(&app, Method::POST, "/api/auth/logout", &token)
            .await
            .status(),
        204
    );
    let token = api_login(&app, "alice", ALICE_PASSWORD, "AuditApp/1.0").await;
    assert_eq!(
        with_token(&app, Method::POST, "/api/auth/logout_all", &token)
            .await
            .status(),
        204
    );
    // Reset requested (known account only), completed; an unknown address leaves no row.
    assert_eq!(app.request_reset("ghost@example.com").await.status(), 200);
    let reset = mailed_token(&app, &sink, "alice@example.com").await;
    assert_eq!(app.confirm(&reset, NEW_PASSWORD).await.status(), 200);
    app.settle().await;
    // Admin events through the real binary.
    let set = app.cli(
        &["users", "set-password", "bob", "--password-stdin"],
        Some("an admin chosen passphrase\n"),
    );
    assert!(set.status.success());
    assert!(app
        .cli(&["users", "deactivate", "bob"], None)
        .status
        .success());
    assert!(app
        .cli(&["users", "activate", "bob"], None)
        .status
        .success());
    assert!(app.cli(&["tokens", "issue", "bob"], None).status.success());
    let created = app.cli(
        &[
            "users",
            "create",
            "--username",
            "erin",
            "--email",
            "erin@example.com",
        ],
        None,
    );
    assert!(created.status.success());

    let alice = events_of(&app, "alice").await;
    for expected in [
        "login_failed",
        "login_succeeded",
        "logout",
        "logout_all",
        "password_reset_requested",
        "password_reset_completed",
    ] {
        assert!(
            alice.contains(&expected.to_owned()),
            "{expected}: {alice:?}"
        );
    }
    let bob = events_of(&app, "bob").await;
    for expected in [
        "password_set_by_admin",
        "user_deactivated",
        "user_activated",
        "reset_token_issued_by_admin",
    ] {
        assert!(bob.contains(&expected.to_owned()), "{expected}: {bob:?}");
    }
    assert_eq!(events_of(&app, "erin").await, ["user_created"]);

    // `audit list`: newest first, filters, JSON lines; no secret anywhere.
    let all = app.cli(&["audit", "list", "--json", "--limit", "1000"], None);
    assert!(all.status.success(), "{}", crate::helpers::stderr(&all));
    let lines: Vec<Value> = stdout(&all)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let ids: Vec<i64> = lines
        .iter()
        .map(|line| line["id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first: {ids:?}"
    );
    let text = stdout(&all);
    for secret in [
        ALICE_PASSWORD,
        NEW_PASSWORD,
        reset.as_str(),
        token.as_str(),
        "argon2",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let failed = lines
        .iter()
        .find(|line| line["event"] == "login_failed")
        .unwrap();
    assert_eq!(failed["ip_address"], "127.0.0.1");
    assert!(failed["timestamp"].as_str().unwrap().ends_with('Z'));
    let logged_in = lines
        .iter()
        .find(|line| line["event"] == "login_succeeded")
        .unwrap();
    assert_eq!(logged_in["user_agent"], "AuditApp/1.0");

    let filtered = app.cli(
        &[
            "audit",
            "list",
            "--user",
            "alice",
            "--event",
            "login_succeeded",
            "--since",
            "24h",
            "--limit",
            "1",
        ],
        None,
    );
    assert!(filtered.status.success());
    let filtered = stdout(&filtered);
    let rows: Vec<&str> = filtered.lines().collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("\tlogin_succeeded\t"), "{}", rows[0]);
    assert!(rows[0].contains("AuditApp/1.0"));
    let bad = app.cli(&["audit", "list", "--event", "nonsense"], None);
    crate::helpers::assert_one_error_line(&bad);
    let bad = app.cli(&["audit", "list", "--since", "yesterday-ish"], None);
    crate::helpers::assert_one_error_line(&bad);
}

async fn audit_rows_past_their_retention_are_purged(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[("LATCHKEY_AUDIT_RETENTION", "1h")]).await;
    seed(&app).await;
    app.blocking(|state| {
        let mut conn = state.db.get().unwrap();
        conn.write(|conn| {
            latchkey::db::audit::NewAuditEvent {
                user_id: None,
                event: "login_succeeded",
                ip_address: None,
                user_agent: None,
                detail: "{}",
                webhook_pending: false,
                created_at: latchkey::db::now() - chrono::Duration::hours(2),
            }
            .insert(conn)
        })
        .unwrap();
    })
    .await;
    let before = stdout(&app.cli(&["audit", "list"], None)).lines().count();
    let purge = app.cli(&["tokens", "purge"], None);
    assert!(purge.status.success());
    assert!(
        stdout(&purge).contains("1 audit event(s)"),
        "{}",
        stdout(&purge)
    );
    let after = stdout(&app.cli(&["audit", "list"], None)).lines().count();
    assert_eq!(after, before - 1, "only the old row went");
}

async fn devices_are_listed_and_revoked_over_the_api(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let phone = api_login(&app, "alice", ALICE_PASSWORD, "Phone/1").await;
    let laptop = api_login(&app, "alice", ALICE_PASSWORD, "Laptop/1").await;
    let mut browser = notice_browser(&app);
    assert_eq!(browser.log_in("alice", ALICE_PASSWORD).await.status, 303);
    let bob = api_login(&app, "bob", "bob's horse battery staple", "Bob/1").await;

    let listed = with_token(&app, Method::GET, "/api/auth/sessions", &phone).await;
    assert_eq!(listed.status(), 200);
    let raw = listed.text().await.unwrap();
    assert!(
        !raw.contains(&phone) && !raw.contains(&laptop),
        "never the token"
    );
    let list: Vec<Value> = serde_json::from_str(&raw).unwrap();
    assert_eq!(list.len(), 3, "{list:#?}");
    for entry in &list {
        let keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "id",
            "kind",
            "created_at",
            "last_used_at",
            "ip_address",
            "user_agent",
            "current",
        ] {
            assert!(keys.contains(&key), "{key} in {entry}");
        }
        assert_eq!(entry["ip_address"], "127.0.0.1");
    }
    let current: Vec<&Value> = list.iter().filter(|e| e["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["kind"], "api_token");
    assert_eq!(current[0]["user_agent"], "Phone/1");
    let browser_entry = list.iter().find(|e| e["kind"] == "browser").unwrap();
    assert_eq!(browser_entry["user_agent"], "NoticeTest/1.0 (browser)");
    let laptop_id = list.iter().find(|e| e["user_agent"] == "Laptop/1").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another account's id is unknown to bob; then alice revokes her laptop.
    let path = format!("/api/auth/sessions/{laptop_id}");
    assert_eq!(
        with_token(&app, Method::DELETE, &path, &bob).await.status(),
        404
    );
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &laptop)
            .await
            .status(),
        200
    );
    assert_eq!(
        with_token(&app, Method::DELETE, &path, &phone)
            .await
            .status(),
        204
    );
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &laptop)
            .await
            .status(),
        401
    );
    assert_eq!(
        with_token(&app, Method::DELETE, &path, &phone)
            .await
            .status(),
        404
    );
    assert_eq!(
        with_token(&app, Method::DELETE, "/api/auth/sessions/nonsense", &phone)
            .await
            .status(),
        404
    );
    // The browser session, by its id.
    let browser_path = format!(
        "/api/auth/sessions/{}",
        browser_entry["id"].as_str().unwrap()
    );
    assert_eq!(
        with_token(&app, Method::DELETE, &browser_path, &phone)
            .await
            .status(),
        204
    );
    assert_eq!(
        browser.get("/account").await.status,
        303,
        "the browser is logged out"
    );
    let left: Vec<Value> = with_token(&app, Method::GET, "/api/auth/sessions", &phone)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        with_token(
            &app,
            Method::GET,
            "/api/auth/sessions",
            "f".repeat(64).as_str()
        )
        .await
        .status(),
        401
    );
    let events = events_of(&app, "alice").await;
    assert_eq!(
        events.iter().filter(|e| *e == "session_revoked").count(),
        2,
        "{events:?}"
    );
}

async fn the_sessions_page_lists_and_ends_sessions(backend: Backend) {
    let (app, _sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let phone = api_login(&app, "alice", ALICE_PASSWORD, "Phone/1").await;
    let mut browser = notice_browser(&app);
    assert_eq!(
        browser.get("/account/sessions").await.status,
        303,
        "logged in only"
    );
    assert_eq!(browser.log_in("alice", ALICE_PASSWORD).await.status, 303);
    let page = browser.get("/account/sessions").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Phone/1"), "{}", page.body);
    assert!(page.body.contains("This browser"));
    assert_eq!(page.body.matches("name=\"id\"").count(), 2);

    // End the phone's token from its button (the first entry: tokens come first).
    let marker = "name=\"id\" value=\"";
    let start = page.body.find(marker).unwrap() + marker.len();
    let phone_id = page.body[start..].split('"').next().unwrap().to_owned();
    let forged = browser
        .post(
            "/account/sessions",
            &[("csrf_token", "x"), ("id", &phone_id)],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &phone)
            .await
            .status(),
        200
    );
    let ended = browser
        .post(
            "/account/sessions",
            &[("csrf_token", &page.csrf()), ("id", &phone_id)],
        )
        .await;
    assert_eq!(ended.status, 303);
    assert_eq!(ended.location(), "/account/sessions?revoked=1");
    assert_eq!(
        with_token(&app, Method::GET, "/api/auth/me", &phone)
            .await
            .status(),
        401
    );

    // Ending this browser's own session logs it out.
    let page = browser.get(ended.location()).await;
    assert!(page.body.contains("The session was ended."));
    let start = page.body.find(marker).unwrap() + marker.len();
    let own = page.body[start..].split('"').next().unwrap().to_owned();
    let out = browser
        .post(
            "/account/sessions",
            &[("csrf_token", &page.csrf()), ("id", &own)],
        )
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/login");
    assert_eq!(browser.get("/account").await.status, 303);
}

async fn a_throttled_login_of_a_known_account_is_audited(backend: Backend) {
    let (app, _sink) = app_with_mail(
        backend,
        &[("LATCHKEY_RATE_LOGIN_FAILURES_PER_ACCOUNT_IP", "2/1h")],
    )
    .await;
    seed(&app).await;
    let guess = |username: &'static str| {
        app.post_json(
            "/api/auth/login",
            json!({ "username": username, "password": "not the password at all" }),
        )
    };
    assert_eq!(guess("alice").await.status(), 401);
    assert_eq!(guess("alice").await.status(), 401);
    assert_eq!(guess("alice").await.status(), 429);
    for _ in 0..3 {
        guess("nobody").await;
    }
    let events = events_of(&app, "alice").await;
    assert_eq!(
        events.iter().filter(|e| *e == "login_failed").count(),
        2,
        "{events:?}"
    );
    assert_eq!(
        events.iter().filter(|e| *e == "login_throttled").count(),
        1,
        "{events:?}"
    );
    let all = stdout(&app.cli(&["audit", "list", "--event", "login_failed"], None));
    assert_eq!(
        all.lines().count(),
        2,
        "an unknown name leaves no row: {all}"
    );
}

async fn a_number_code_is_cancelled_for_its_own_account_only(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[("LATCHKEY_TOKEN_GENERATOR", "number")]).await;
    seed(&app).await;
    assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
    let mail = sink.wait_for(1, WAIT).await.pop().unwrap();
    let cancel = link_path(&mail, "/cancel");
    assert!(cancel.contains("/cancel?email="), "{cancel}");
    let code = cancel
        .trim_start_matches("/reset-password/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut browser = notice_browser(&app);
    // The same code named for another account is not alice's link.
    let other = format!("/reset-password/{code}/cancel?email=bob%40example.com");
    assert_eq!(browser.get(&other).await.status, 404);
    let without = format!("/reset-password/{code}/cancel");
    assert_eq!(
        browser.get(&without).await.status,
        404,
        "number codes need their account"
    );
    let page = browser.get(&cancel).await;
    assert_eq!(page.status, 200);
    let done = browser.post(&cancel, &[("csrf_token", &page.csrf())]).await;
    assert_eq!(done.status, 200);
    let check = app
        .post_json(
            "/api/password_reset/validate_token/",
            json!({ "token": code, "email": "alice@example.com" }),
        )
        .await;
    assert_eq!(check.status(), 404, "the code no longer works");
}
