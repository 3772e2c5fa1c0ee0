//! Several instances on one database under concurrent load: every accepted reset request ends
//! in exactly one token and one mail, whichever instance took it and whatever the database
//! says about conflicting transactions (deadlocks, serialization failures, a busy SQLite file).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_accepted_reset_request_on_two_instances_ends_in_one_mail,
    a_request_accepted_while_no_instance_resolves_is_mailed_later_however_old,
);

async fn a_request_accepted_while_no_instance_resolves_is_mailed_later_however_old(
    backend: Backend,
) {
    let enqueue_only = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_EMAIL_WORKERS", "0"),
            ("LATCHKEY_RESET_TOKEN_TTL", "1s"),
            ("LATCHKEY_REQUIRE_USABLE_PASSWORD", "false"),
            ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
        ],
    )
    .await;
    enqueue_only.create_user("alice", "alice@example.com").await;
    let answered = Instant::now();
    let response = enqueue_only
        .client
        .post(enqueue_only.url("/api/password_reset/"))
        .json(&serde_json::json!({ "email": "alice@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The request is older than a token's lifetime before any instance can resolve it (a
    // clock on purpose).
    crate::helpers::let_time_pass(Duration::from_millis(1500).saturating_sub(answered.elapsed()))
        .await;
    let resolver = enqueue_only
        .sibling(&[("LATCHKEY_EMAIL_WORKERS", "1")])
        .await;
    let mails = wait_for_resolved(&resolver, 1).await;
    assert_eq!(mails.get("alice@example.com"), Some(&1));
}

/// PostgreSQL only: a sequence (which a rollback does not undo) lets a trigger fail the first
/// token inserts with the deadlock and serialization errors the server would raise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_deadlocks_is_retried_and_nothing_is_dropped() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let app = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_REQUIRE_USABLE_PASSWORD", "false"),
            ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
        ],
    )
    .await;
    for index in 0..3 {
        app.create_user(&format!("user{index}"), &format!("user{index}@example.com"))
            .await;
    }
    app.blocking(|state| {
        use diesel::RunQueryDsl;
        let mut conn = state.db.get().unwrap();
        for statement in [
            "CREATE SEQUENCE injected_failures",
            "CREATE FUNCTION fail_first_token_inserts() RETURNS trigger AS $$
             DECLARE n bigint := nextval('injected_failures');
             BEGIN
               IF n <= 2 THEN
                 RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
               ELSIF n <= 4 THEN
                 RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001';
               END IF;
               RETURN NEW;
             END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER inject BEFORE INSERT ON password_reset_tokens
             FOR EACH ROW EXECUTE FUNCTION fail_first_token_inserts()",
        ] {
            diesel::sql_query(statement).execute(&mut *conn).unwrap();
        }
    })
    .await;
    for index in 0..3 {
        let response = app
            .client
            .post(app.url("/api/password_reset/"))
            .json(&serde_json::json!({ "email": format!("user{index}@example.com") }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let mails = wait_for_resolved(&app, 3).await;
    assert_eq!(
        mails.len(),
        3,
        "each account got its mail despite four failed attempts"
    );
    assert_eq!(app.reset_token_count().await, 3);
}

const ACCOUNTS: usize = 60;
const REQUESTS_PER_ACCOUNT: usize = 8;
const CLIENTS: usize = 20;

async fn every_accepted_reset_request_on_two_instances_ends_in_one_mail(backend: Backend) {
    let unlimited = [
        ("LATCHKEY_RATE_LIMITS", "off"),
        ("LATCHKEY_REQUIRE_USABLE_PASSWORD", "false"),
        ("LATCHKEY_RATE_RESET_MAILS_PER_ACCOUNT", "off"),
        ("LATCHKEY_EMAIL_POLL_INTERVAL", "100ms"),
    ];
    let first = spawn_app_with(backend, &unlimited).await;
    let second = first.sibling(&[]).await;
    for index in 0..ACCOUNTS {
        first
            .create_user(&format!("user{index}"), &format!("user{index}@example.com"))
            .await;
    }

    // Every client takes its share of the requests, alternating between the instances; the
    // accounts are interleaved so concurrent batches name the same accounts in other orders.
    let addresses = [first.address.clone(), second.address.clone()];
    let client = first.client.clone();
    let mut clients = Vec::new();
    for worker in 0..CLIENTS {
        let (addresses, client) = (addresses.clone(), client.clone());
        clients.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            let mut index = worker;
            while index < ACCOUNTS * REQUESTS_PER_ACCOUNT {
                let account = (index * 7) % ACCOUNTS;
                let response = client
                    .post(format!("{}/api/password_reset/", addresses[index % 2]))
                    .json(&serde_json::json!({ "email": format!("user{account}@example.com") }))
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
                index += CLIENTS;
            }
            statuses
        }));
    }
    let mut answered = 0;
    for handle in clients {
        for status in handle.await.unwrap() {
            assert_eq!(status, 200, "every request is accepted");
            answered += 1;
        }
    }
    assert_eq!(answered, ACCOUNTS * REQUESTS_PER_ACCOUNT);

    let mails = wait_for_resolved(&first, ACCOUNTS * REQUESTS_PER_ACCOUNT).await;
    assert_eq!(mails.len(), ACCOUNTS, "every account got mail");
    for (recipient, count) in &mails {
        assert_eq!(
            *count, REQUESTS_PER_ACCOUNT,
            "{recipient} got one mail per accepted request"
        );
    }
    assert_eq!(
        first.reset_token_count().await,
        ACCOUNTS as i64,
        "each account holds exactly one (the newest) token"
    );
}

/// Waits until no request is pending and `expected` reset mails exist; returns mails per
/// recipient. Fails when the requests are resolved but mail is missing (a dropped request).
async fn wait_for_resolved(app: &TestApp, expected: usize) -> HashMap<String, usize> {
    let look = || async {
        app.blocking(|state| {
            use diesel::prelude::*;
            use latchkey::db::schema::{email_outbox, reset_requests};
            let mut conn = state.db.get().unwrap();
            let pending: i64 = reset_requests::table
                .count()
                .get_result(&mut *conn)
                .unwrap();
            let recipients: Vec<String> = email_outbox::table
                .filter(email_outbox::kind.eq("password_reset"))
                .select(email_outbox::recipient)
                .load(&mut *conn)
                .unwrap();
            (pending, recipients)
        })
        .await
    };
    let resolved = crate::helpers::poll_until(Duration::from_secs(60), || async {
        let (pending, mails) = look().await;
        (pending == 0).then_some(mails)
    })
    .await;
    let pending = if resolved.is_some() {
        0
    } else {
        look().await.0
    };
    assert_eq!(pending, 0, "reset requests still pending after a minute");
    // The rows leave the table in the same transaction that writes the mail, so pending == 0
    // means every batch has committed.
    let mails = resolved.unwrap();
    assert_eq!(mails.len(), expected, "accepted reset requests were lost");
    let mut counts = HashMap::new();
    for recipient in mails {
        *counts.entry(recipient).or_insert(0) += 1;
    }
    counts
}
