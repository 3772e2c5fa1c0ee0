//! JSON endpoints.

pub mod health;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::ApiError;

/// Unknown paths answer JSON like every other API error (DRF's wording).
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::detail(StatusCode::NOT_FOUND, "Not found."))
}
