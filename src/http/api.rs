//! JSON endpoints, and the resource shape they share: POST only, with and without the trailing
//! slash, 405 (with `Allow`) for other methods.

pub mod auth;
pub mod health;
pub mod password_reset;

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, Resource};
use serde_json::json;

use super::ApiError;

/// Unknown paths answer JSON like every other API error (DRF's wording).
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::detail(StatusCode::NOT_FOUND, "Not found."))
}

/// A POST endpoint at `path` (which ends in `/`) and at `path` without the slash.
pub fn post_endpoint<F, Args>(path: &str, handler: F) -> (Resource, Resource)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    endpoint(path, Method::POST, handler)
}

/// An endpoint for one method at `path` (which ends in `/`) and at `path` without the slash:
/// the slash-less form is served directly rather than redirected (a redirect would turn a POST
/// into a GET). Other methods get 405 with `Allow`; OPTIONS answers with `Allow` alone.
///
/// Two static resources rather than one with two patterns: actix matches a multi-pattern
/// resource with a regex on every request, which was a tenth of the server's CPU when each
/// request comes on its own connection.
pub fn endpoint<F, Args>(path: &str, method: Method, handler: F) -> (Resource, Resource)
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let bare = path.trim_end_matches('/');
    let bare = if bare.is_empty() { "/" } else { bare };
    (
        one_method(path, method.clone(), handler.clone()),
        one_method(bare, method, handler),
    )
}

fn one_method<F, Args>(pattern: &str, method: Method, handler: F) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    let allow = format!("{method}, OPTIONS");
    let (options_allow, refused_allow) = (allow.clone(), allow);
    web::resource(pattern)
        .route(web::route().method(method).to(handler))
        .route(
            web::route()
                .method(Method::OPTIONS)
                .to(move || options(options_allow.clone())),
        )
        .default_service(web::to(move |req: HttpRequest| {
            method_not_allowed(req, refused_allow.clone())
        }))
}

async fn options(allow: String) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, allow))
        .finish()
}

async fn method_not_allowed(req: HttpRequest, allow: String) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, allow))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "detail": format!("Method \"{}\" not allowed.", req.method()) }))
}

/// `200 {"status": "OK"}`: the package's success body.
pub fn status_ok() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "status": "OK" }))
}
