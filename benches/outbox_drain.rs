//! Outbox drain rate: how many messages per second 4 worker threads deliver to a local SMTP
//! server, on SQLite and on PostgreSQL.
//!
//!     cargo bench --bench outbox_drain
//!
//! PostgreSQL runs when `LATCHKEY_BENCH_POSTGRES_URL` is set (an admin URL allowed to create a
//! scratch database). `BENCH_MESSAGES` (default 5000) sets the batch size.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/integration/smtp_sink.rs"]
mod smtp_sink;

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use latchkey::config::{Config, DatabaseUrl};
use latchkey::db::{migrations, Db};
use latchkey::email::{Composer, Transport};
use latchkey::secrets::{DerivedKeys, SecretKey};
use latchkey::services::outbox::{self, NewEmail, Outbox, KIND_PASSWORD_CHANGED};
use latchkey::workers::delivery::{Delivery, RetryPolicy};
use latchkey::workers::{PoolSetup, WorkerPool};

const WORKERS: u32 = 4;

fn main() {
    let count: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = DatabaseUrl::Sqlite(dir.path().join("bench.db"));
    report("sqlite", drain(&sqlite, count));
    if let Ok(admin) = std::env::var("LATCHKEY_BENCH_POSTGRES_URL") {
        let name = format!("latchkey_bench_{}", std::process::id());
        let mut conn = PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        let rate = drain(&DatabaseUrl::Postgres(url.to_string()), count);
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut conn)
            .unwrap();
        report("postgres", rate);
    }
}

fn report(backend: &str, (count, elapsed): (usize, Duration)) {
    println!(
        "outbox_drain backend={backend} workers={WORKERS} messages={count} seconds={:.3} messages_per_s={:.0}",
        elapsed.as_secs_f64(),
        count as f64 / elapsed.as_secs_f64()
    );
}

/// Enqueues `count` messages, then times 4 workers sending all of them.
fn drain(url: &DatabaseUrl, count: usize) -> (usize, Duration) {
    let sink = smtp_sink::SmtpSink::start();
    let vars = [
        ("LATCHKEY_EMAIL_BACKEND", "smtp".to_owned()),
        ("LATCHKEY_SMTP_URL", sink.url()),
    ];
    let config = Config::from_vars(&|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let db = Db::connect(url, 8).unwrap();
    migrations::run_pending(&db).unwrap();
    let composer = Composer::new(&config.email.from).unwrap();
    let bodies = DerivedKeys::new(&SecretKey::generate()).outbox_bodies;
    let outbox_handle = Outbox::new(composer.clone(), bodies.clone());
    let content = latchkey::email::RenderedEmail {
        subject: "Your password was changed".to_owned(),
        text: "Hello,\n\nthis is a benchmark message.\n".repeat(8),
        html: "<p>Hello,</p><p>this is a benchmark message.</p>".repeat(8),
    };
    let mut conn = db.get().unwrap();
    conn.write(|conn| {
        for i in 0..count {
            outbox_handle.enqueue(
                conn,
                &NewEmail {
                    kind: KIND_PASSWORD_CHANGED,
                    user_id: None,
                    recipient: &format!("user{i}@example.com"),
                    content: &content,
                    expires_at: None,
                },
            )?;
        }
        Ok::<_, outbox::EnqueueError>(())
    })
    .unwrap();
    drop(conn);

    let delivery = Arc::new(Delivery::new(
        db.clone(),
        Transport::from_config(&config.email).unwrap(),
        composer,
        bodies,
        RetryPolicy::from_config(&config.email),
    ));
    let started = Instant::now();
    let pool = WorkerPool::start(PoolSetup {
        resolver: None,
        publisher: None,
        delivery,
        db: db.clone(),
        signal: outbox_handle.signal(),
        session_ttl: Duration::from_secs(3600),
        audit_retention: Duration::from_secs(86_400),
        workers: WORKERS,
        poll_interval: Duration::from_millis(50),
    })
    .unwrap();
    while sink.count() < count {
        std::thread::sleep(Duration::from_millis(2));
    }
    while latchkey::services::outbox_admin::status(&db)
        .unwrap()
        .counts["sent"]
        < count as i64
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let elapsed = started.elapsed();
    pool.shutdown(Duration::from_secs(5));
    assert_eq!(sink.messages().len(), count, "every message exactly once");
    (count, elapsed)
}
