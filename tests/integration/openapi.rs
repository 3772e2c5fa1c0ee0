//! `GET /api/openapi.json`: an OpenAPI 3.1 document of exactly the routes the server has, and
//! schemathesis (PyPI) fuzzing a live server against it.
//!
//! The schemathesis test needs `LATCHKEY_TEST_SCHEMATHESIS`: the `st` executable of a venv
//! with schemathesis and openapi-spec-validator (`.ci/test` makes one under `target/`). Under `LATCHKEY_TEST_REQUIRE_ALL=1`
//! a missing variable fails the test.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::fixtures::{seed, ALICE_PASSWORD};
use crate::helpers::{every_variant_required, spawn_app_with, Backend, TestApp};

crate::on_both_backends!(
    the_document_is_openapi_3_1_and_lists_exactly_the_served_routes,
    schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe,
);

/// The `/api` operations the contract promises; each must be in the document.
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/api/password_reset/"),
    ("post", "/api/password_reset/validate_token/"),
    ("post", "/api/password_reset/confirm/"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/logout"),
    ("post", "/api/auth/logout_all"),
    ("get", "/api/auth/me"),
    ("post", "/api/auth/change_password"),
    ("get", "/api/openapi.json"),
];

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    response.json().await.unwrap()
}

/// Every `(method, path)` operation of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(*method).is_some() {
                found.insert(((*method).to_owned(), path.clone()));
            }
        }
    }
    found
}

/// Every `$ref` in `value`, which must each resolve inside `doc`.
fn assert_refs_resolve(doc: &Value, value: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                let pointer = target
                    .strip_prefix('#')
                    .unwrap_or_else(|| panic!("{target}"));
                assert!(doc.pointer(pointer).is_some(), "dangling $ref {target}");
            }
            map.values()
                .for_each(|inner| assert_refs_resolve(doc, inner));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|inner| assert_refs_resolve(doc, inner)),
        _ => {}
    }
}

/// The other form of an API path: with the trailing slash if it has none, and the reverse.
fn twin(path: &str) -> String {
    match path.strip_suffix('/') {
        Some(bare) => bare.to_owned(),
        None => format!("{path}/"),
    }
}

async fn the_document_is_openapi_3_1_and_lists_exactly_the_served_routes(backend: Backend) {
    let app = spawn_app_with(backend, &[]).await;
    let doc = document(&app).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "http://latchkey.test");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        serde_json::json!({"type": "http", "scheme": "bearer"})
    );
    assert_refs_resolve(&doc, &doc);

    // The document and the router are built from one table; the document lists it all.
    let documented = operations(&doc);
    let mut table = BTreeSet::new();
    for (mount, endpoints) in latchkey::http::api::catalog() {
        for endpoint in &endpoints {
            let path = format!("{mount}{}", endpoint.path());
            let item = &doc["paths"][&path];
            assert!(item.is_object(), "{path} is served but not documented");
            table.insert(path);
        }
    }
    let documented_paths: BTreeSet<String> = documented.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(documented_paths, table);
    for (method, path) in CONTRACT {
        let key = ((*method).to_owned(), (*path).to_owned());
        assert!(
            documented.contains(&key),
            "{method} {path} is not documented"
        );
    }

    // Every documented operation is really served, at both path forms, and its request
    // bodies are offered as JSON and as form data; a method not documented at a path is 405
    // with exactly the documented methods in `Allow`.
    let mut operation_ids = BTreeSet::new();
    for (method, path) in &documented {
        let operation = &doc["paths"][path][method];
        assert!(operation["responses"].is_object(), "{method} {path}");
        assert!(
            operation["summary"].is_string(),
            "{method} {path} has no summary"
        );
        let id = operation["operationId"].as_str().unwrap().to_owned();
        assert!(
            operation_ids.insert(id),
            "{method} {path}: operationId used twice"
        );
        if let Some(body) = operation.get("requestBody") {
            let content = body["content"].as_object().unwrap();
            assert!(content.contains_key("application/json"), "{path}");
            assert!(
                content.contains_key("application/x-www-form-urlencoded"),
                "{path}"
            );
        }
        for url_path in [path.clone(), twin(path)] {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = app
                .client
                .request(method.clone(), app.url(&url_path))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap()
                .status();
            assert!(
                status != 404 && status != 405,
                "{method} {url_path} is documented but answers {status}"
            );
        }
        let allowed: Vec<String> = METHODS
            .iter()
            .filter(|m| doc["paths"][path].get(**m).is_some())
            .map(|m| m.to_uppercase())
            .chain(["OPTIONS".to_owned()])
            .collect();
        let refused = app
            .client
            .request(reqwest::Method::PUT, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 405, "PUT {path}");
        assert_eq!(refused.headers()["allow"], allowed.join(", ").as_str());
    }

    // No route reaches the router but through that table: an `/api` path literal in a
    // registration call anywhere else in the source is an undocumented route.
    // The one `/api` scope (it carries CORS and the JSON 404) mounts exactly the table.
    let mounting_scope = "scope(\"/api\")\n            .configure(api::routes)";
    for file in rust_files(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace(mounting_scope, "");
        for call in [
            "route(\"/api",
            "resource(\"/api",
            "scope(\"/api",
            "service(\"/api",
        ] {
            assert!(
                !text.contains(call),
                "{} registers an /api route outside latchkey::http::api::catalog: {call}…",
                file.display()
            );
        }
    }
}

fn rust_files(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(rust_files(path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    found
}

/// The `st` executable from `LATCHKEY_TEST_SCHEMATHESIS`, or `None` (a skip) when unset.
fn schemathesis() -> Option<String> {
    match std::env::var("LATCHKEY_TEST_SCHEMATHESIS") {
        Ok(st) if !st.is_empty() => Some(st),
        _ if every_variant_required() => {
            panic!("LATCHKEY_TEST_REQUIRE_ALL=1 but LATCHKEY_TEST_SCHEMATHESIS is not set: the schemathesis test would be skipped")
        }
        _ => {
            eprintln!("skipped: set LATCHKEY_TEST_SCHEMATHESIS to a schemathesis `st` executable");
            None
        }
    }
}

/// Runs `st run` against `app` with a bearer token, `filter` selecting operations; panics
/// with schemathesis' report on any finding.
async fn fuzz(st: &str, app: &TestApp, token: &str, filter: &[&str]) {
    let mut command = tokio::process::Command::new(st);
    command
        .args(["run", &app.url("/api/openapi.json"), "--url", &app.address])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            "--mode",
            "all",
            "--max-examples",
            "25",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            // Hypothesis' health checks judge the data generator (too slow on a busy machine,
            // too many rejected draws), not the server: they must not fail the test.
            "--suppress-health-check",
            "all",
            "--header",
            &format!("Authorization: Bearer {token}"),
        ])
        .args(filter)
        .env("NO_COLOR", "1")
        // Hypothesis keeps its example database in the working directory.
        .current_dir(app.db.dir.path())
        .kill_on_drop(true);
    let run = tokio::time::timeout(Duration::from_secs(170), command.output())
        .await
        .expect("schemathesis did not finish within its time budget")
        .expect("cannot run schemathesis");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.status.success(),
        "schemathesis found problems:\n{report}"
    );
    let generated = report
        .lines()
        .find_map(|line| line.trim().split_once(" generated, "))
        .and_then(|(count, _)| count.parse::<u32>().ok())
        .unwrap_or(0);
    assert!(generated > 0, "schemathesis ran no test case:\n{report}");
}

async fn schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe(
    backend: Backend,
) {
    let Some(st) = schemathesis() else { return };
    // Rate limits on, lower than the defaults so the fuzzer meets them.
    let app = spawn_app_with(
        backend,
        &[
            ("LATCHKEY_RATE_RESET_REQUESTS_PER_IP", "10/10m"),
            ("LATCHKEY_RATE_TOKEN_CHECKS_PER_IP", "10/10m"),
            ("LATCHKEY_RATE_LOGIN_FAILURES_PER_IP", "10/10m"),
            ("LATCHKEY_RATE_PASSWORD_CHANGES_PER_ACCOUNT", "5/1h"),
        ],
    )
    .await;
    seed(&app).await;

    // The document is valid OpenAPI 3.1 by an independent validator.
    let file = app.db.dir.path().join("openapi.json");
    std::fs::write(
        &file,
        app.get("/api/openapi.json").await.bytes().await.unwrap(),
    )
    .unwrap();
    let validator = std::path::Path::new(&st).with_file_name("openapi-spec-validator");
    let checked = tokio::process::Command::new(&validator)
        .arg(&file)
        .output()
        .await
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", validator.display()));
    assert!(
        checked.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let login = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "alice", "password": ALICE_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token = login.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // The token stays valid for everything but logging out, which goes last.
    fuzz(&st, &app, &token, &["--exclude-path-regex", "logout"]).await;

    // Then with the per-IP reset and token-check limits used up, so the fuzzer's requests
    // there meet 429 (with `Retry-After`), which must match the document too.
    for path in [
        "/api/password_reset/",
        "/api/password_reset/validate_token/",
    ] {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let answer = app
                .client
                .post(app.url(path))
                .json(&serde_json::json!({"email": "alice@example.com", "token": "0"}))
                .send()
                .await
                .unwrap();
            if answer.status() == 429 {
                assert!(answer.headers().contains_key("retry-after"));
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{path} never limited");
        }
    }
    fuzz(
        &st,
        &app,
        &token,
        &[
            "--include-path-regex",
            "logout|password_reset/$|validate_token",
        ],
    )
    .await;
}
