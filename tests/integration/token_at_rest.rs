//! SEC-11 at rest: the raw reset token never reaches the database, neither in the outbox (sealed
//! mail bodies) nor in the browser session (sealed token), so no row, SQLite file or WAL frame
//! yields a working reset link.

use base64::Engine;
use diesel::prelude::*;
use latchkey::db::outbox::{DEAD, PENDING, SENT};
use latchkey::services::outbox::open_body;
use latchkey::workers::delivery::UNSEALABLE_ERROR;

use crate::fixtures::{app_with_mail, mailed_token, reset_link, seed, WAIT};
use crate::helpers::{spawn_app_with, stdout, Backend, TestApp};
use crate::on_both_backends;
use crate::smtp_sink::{Script, SmtpSink};

on_both_backends!(
    no_reset_token_is_left_in_the_database_after_mail_and_link,
    a_pending_reset_mail_is_stored_sealed_and_delivered_intact,
    a_body_sealed_under_another_key_is_dead_not_sent_and_retry_dead_renders_it_again,
    a_session_token_that_cannot_be_opened_counts_as_no_token,
);

/// Every `email_outbox` body and `sessions` state, as stored.
async fn stored_texts(app: &TestApp) -> Vec<String> {
    app.blocking(|state| {
        use latchkey::db::schema::{email_outbox, sessions};
        let mut conn = state.db.get().unwrap();
        let bodies: Vec<(String, String)> = email_outbox::table
            .select((email_outbox::body_text, email_outbox::body_html))
            .load(&mut *conn)
            .unwrap();
        let states: Vec<String> = sessions::table
            .select(sessions::state)
            .load(&mut *conn)
            .unwrap();
        bodies
            .into_iter()
            .flat_map(|(text, html)| [text, html])
            .chain(states)
            .collect()
    })
    .await
}

/// The bytes of the SQLite database file and its WAL (when there is one); empty on PostgreSQL.
fn sqlite_files(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    let Some(path) = app.db.url.strip_prefix("sqlite://") else {
        return Vec::new();
    };
    [path.to_owned(), format!("{path}-wal")]
        .into_iter()
        .filter_map(|file| std::fs::read(&file).ok().map(|bytes| (file, bytes)))
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// GETs `path` with `cookie`, no redirects followed; returns status, body and the cookies set.
async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> (u16, String, String) {
    let response = app
        .client
        .get(app.url(path))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let set: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| {
            let text = value.to_str().unwrap();
            text.split(';').next().unwrap().to_owned()
        })
        .collect();
    (status, response.text().await.unwrap(), set.join("; "))
}

/// Follows the emailed link like a browser: the session (a `sessions` row) now holds the token.
/// Returns the cookie of that session.
async fn open_link_in_browser(app: &TestApp, token: &str) -> String {
    let (status, _, cookie) = get_with_cookie(app, &format!("/reset-password/{token}"), "").await;
    assert_eq!(status, 303);
    assert!(!cookie.is_empty(), "the link starts a session");
    let (status, body, _) = get_with_cookie(app, "/reset-password", &cookie).await;
    assert_eq!(status, 200, "the session's sealed token opens: {body}");
    assert!(body.contains("csrf_token"));
    cookie
}

async fn no_reset_token_is_left_in_the_database_after_mail_and_link(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    app.settle().await;
    open_link_in_browser(&app, &token).await;

    let texts = stored_texts(&app).await;
    assert!(
        texts.iter().any(|text| text.contains("reset_token")),
        "a session holds a reset token: {texts:?}"
    );
    for text in &texts {
        assert!(
            !text.contains(&token),
            "the token is stored in clear: {text}"
        );
    }

    let files = sqlite_files(&app);
    if !files.is_empty() {
        assert!(
            files
                .iter()
                .any(|(_, bytes)| contains(bytes, "alice@example.com")),
            "the files read are the live database, which stores addresses in clear"
        );
        for (file, bytes) in &files {
            assert!(!contains(bytes, &token), "{file} contains the reset token");
            assert!(
                !contains(bytes, "/reset-password/"),
                "{file} contains a link"
            );
        }
    }
}

async fn a_pending_reset_mail_is_stored_sealed_and_delivered_intact(backend: Backend) {
    let port = crate::helpers::free_port();
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_EMAIL_BACKEND", "smtp"),
            ("LATCHKEY_SMTP_URL", &smtp_url),
            ("LATCHKEY_EMAIL_RETRY_BASE", "100ms"),
            ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
        ],
    )
    .await;
    seed(&app).await;
    assert_eq!(app.request_reset("alice@example.com").await.status(), 200);
    let rows = app
        .wait_for_outbox(WAIT, |rows| {
            rows.len() == 1 && rows[0].state == PENDING && rows[0].attempts >= 1
        })
        .await;
    let row = &rows[0];
    let bodies = &app.state.keys.outbox_bodies;
    for stored in [&row.body_text, &row.body_html] {
        assert!(stored.starts_with("v1."), "{stored}");
        for clear in ["reset-password", "latchkey.test", "alice"] {
            assert!(!stored.contains(clear), "{clear} is stored in clear");
        }
    }
    let text = open_body(bodies, &row.body_text).unwrap();
    let html = open_body(bodies, &row.body_html).unwrap();
    let start = text.find("http://latchkey.test/reset-password/").unwrap();
    let link: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '-' | '_'))
        .collect();
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(html.contains(&token), "both parts carry the link");
    assert!(!row.body_text.contains(&token) && !row.body_html.contains(&token));

    let sink = SmtpSink::start_on(port, Script::default());
    let message = sink.wait_for(1, WAIT).await.remove(0);
    assert_eq!(reset_link(&message), (link, token.clone()));
    app.wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
    assert_eq!(app.validate(&token).await.status(), 200);
}

async fn a_body_sealed_under_another_key_is_dead_not_sent_and_retry_dead_renders_it_again(
    backend: Backend,
) {
    let sink = SmtpSink::start();
    let smtp_url = sink.url();
    let smtp = [
        ("LATCHKEY_EMAIL_BACKEND", "smtp"),
        ("LATCHKEY_SMTP_URL", smtp_url.as_str()),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
    ];
    let mut enqueuing = smtp.to_vec();
    enqueuing.push(("LATCHKEY_EMAIL_WORKERS", "0"));
    let old = spawn_app_with(backend, &enqueuing).await;
    crate::outbox::enqueue_notices(&old, "alice", 1).await;

    let new_key = base64::engine::general_purpose::STANDARD.encode([9u8; 64]);
    let mut rotated = smtp.to_vec();
    rotated.extend([
        ("LATCHKEY_SECRET_KEY", new_key.as_str()),
        ("LATCHKEY_EMAIL_WORKERS", "1"),
    ]);
    let new = old.sibling(&rotated).await;
    let rows = new
        .wait_for_outbox(WAIT, |rows| rows[0].state == DEAD)
        .await;
    assert_eq!(rows[0].last_error.as_deref(), Some(UNSEALABLE_ERROR));
    assert_eq!(
        (rows[0].body_text.as_str(), rows[0].body_html.as_str()),
        ("", "")
    );
    assert_eq!(sink.count(), 0, "nothing was sent");

    let retried = new.cli(&["outbox", "retry", "--dead"], None);
    assert!(
        stdout(&retried).contains("1 dead message(s) requeued"),
        "{}",
        stdout(&retried)
    );
    let message = sink.wait_for(1, WAIT).await.remove(0);
    assert!(message.data.contains("Hello alice"), "rendered again");
    new.wait_for_outbox(WAIT, |rows| rows[0].state == SENT)
        .await;
}

async fn a_session_token_that_cannot_be_opened_counts_as_no_token(backend: Backend) {
    let (app, sink) = app_with_mail(backend, &[]).await;
    seed(&app).await;
    let token = mailed_token(&app, &sink, "alice@example.com").await;
    let cookie = open_link_in_browser(&app, &token).await;
    let altered = app
        .blocking(|state| {
            let mut conn = state.db.get().unwrap();
            diesel::sql_query("UPDATE sessions SET state = replace(state, '\"v1.', '\"v1.AB')")
                .execute(&mut *conn)
                .unwrap()
        })
        .await;
    assert_eq!(altered, 1);
    let (status, body, _) = get_with_cookie(&app, "/reset-password", &cookie).await;
    assert_eq!(status, 404);
    assert!(body.contains("This link does not work"), "{body}");
    assert_eq!(
        app.validate(&token).await.status(),
        200,
        "the token itself is untouched"
    );
}
