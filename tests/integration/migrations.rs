use crate::helpers::{base_vars, run_cli, stdout, Backend, TestDb};
use crate::on_both_backends;

on_both_backends!(
    migrate_applies_every_migration_once,
    serve_start_up_leaves_nothing_pending
);

async fn migrate_applies_every_migration_once(backend: Backend) {
    let db = TestDb::new(&backend);
    let vars = base_vars(&db);
    let first = run_cli(&vars, db.dir.path(), &["migrate"], None);
    assert!(first.status.success(), "{}", crate::helpers::stderr(&first));
    assert!(
        stdout(&first).contains("applied 20261124000001"),
        "{}",
        stdout(&first)
    );

    let second = run_cli(&vars, db.dir.path(), &["migrate"], None);
    assert!(second.status.success());
    assert_eq!(stdout(&second).trim(), "no pending migrations");
}

async fn serve_start_up_leaves_nothing_pending(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let db = app.state.db.clone();
    let pending = tokio::task::spawn_blocking(move || latchkey::db::migrations::pending(&db))
        .await
        .unwrap()
        .unwrap();
    assert!(pending.is_empty(), "{pending:?}");
}
