//! `GET /healthz` (liveness: up only when the database answers) and `GET /readyz` (readiness:
//! also the migrations match and the instance is not draining).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::http::{blocking, ApiError, AppState};
use crate::services;

/// `200 {"status": "ok"}` after a database round trip; `503` JSON when it fails.
pub async fn health(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    match blocking::run(move || services::health::check(&db)).await? {
        Ok(()) => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "status": "ok" }))),
        Err(err) => {
            tracing::warn!(error = %crate::error::chain(&err), "health check failed");
            Ok(HttpResponse::build(StatusCode::SERVICE_UNAVAILABLE)
                .insert_header(("Cache-Control", "no-store"))
                .json(json!({ "status": "unavailable", "detail": "The database is unreachable." })))
        }
    }
}

/// `200 {"status": "ready"}`, or `503 {"status": REASON}`: `draining` after SIGTERM,
/// `database_unavailable`, `migrations_pending` or `schema_ahead_of_binary`.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let verdict = if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        Err(services::health::NotReady::Draining)
    } else {
        let db = state.db.clone();
        blocking::run(move || services::health::ready(&db)).await?
    };
    let (status, word) = match verdict {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, reason.as_str()),
    };
    Ok(HttpResponse::build(status)
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "status": word })))
}
