//! `GET /healthz`: up only when the database answers.

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
