use crate::helpers::{spawn_app, Backend};
use crate::on_both_backends;

on_both_backends!(
    healthz_answers_ok_after_a_database_round_trip,
    unknown_paths_answer_json_404
);

async fn healthz_answers_ok_after_a_database_round_trip(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "status": "ok" }));
}

async fn unknown_paths_answer_json_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, serde_json::json!({ "detail": "Not found." }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_503_json_when_postgres_goes_away() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let app = spawn_app(backend.clone()).await;
    // Meant: the database is dropped below, so there is nothing left to check at teardown.
    app.expect_leftover_work();
    assert_eq!(app.get("/healthz").await.status(), 200);

    // Drop the app's database from under it: every pooled connection dies and none can be made.
    let Backend::Postgres(admin_url) = backend else {
        unreachable!()
    };
    let name = url::Url::parse(&app.db.url)
        .unwrap()
        .path()
        .trim_start_matches('/')
        .to_owned();
    {
        use diesel::{Connection, RunQueryDsl};
        let mut admin = diesel::PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
    }
    let started = std::time::Instant::now();
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    assert!(
        !body.to_string().to_lowercase().contains("postgres"),
        "{body}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}
