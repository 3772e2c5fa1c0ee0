//! `GET /api/openapi.json`: the OpenAPI 3.1 description of every `/api` endpoint, generated
//! from the handlers' `#[utoipa::path]` annotations and the route table
//! ([`super::catalog`]) the server itself is built from.
//!
//! The document is built per request (a few microseconds, never on a hot path) because its
//! `servers` entry is the deployment's `LATCHKEY_PUBLIC_URL`: paths in it are relative to that
//! URL, which is right when Latchkey is served under a path too.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Paths, Server};
use utoipa::OpenApi;

use super::schemas;
use super::Endpoint;
use crate::config::Config;
use crate::http::AppState;

/// Everything of the document but its paths: info (from Cargo.toml), the schemas and reusable
/// responses the annotations name, and the bearer security scheme. A schema or response
/// named in an annotation must be listed here.
#[derive(OpenApi)]
#[openapi(
    info(title = "Latchkey"),
    components(
        schemas(
            schemas::ResetRequest,
            schemas::TokenCheck,
            schemas::ResetConfirm,
            schemas::LoginRequest,
            schemas::ChangePasswordRequest,
            schemas::StatusOk,
            schemas::TokenValid,
            schemas::LoginToken,
            schemas::Me,
            schemas::Device,
            schemas::Detail,
            schemas::FieldErrors,
            schemas::BadRequestBody,
        ),
        responses(
            schemas::BadRequest,
            schemas::PayloadTooLarge,
            schemas::UnsupportedMediaType,
            schemas::Throttled,
            schemas::Unauthorized,
            schemas::InvalidToken,
            schemas::DeviceNotFound,
            schemas::Unavailable,
        ),
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "password_reset", description = "Reset a forgotten password by an emailed \
            token, wire-compatible with django-rest-passwordreset."),
        (name = "accounts", description = "Log in for a bearer token, log out, who am I, \
            change password."),
        (name = "meta", description = "This document."),
    )
)]
pub struct ApiDoc;

/// Name of the security scheme operations refer to with `security(("bearer" = []))` (the
/// annotation takes a literal, so the name is written there too).
pub const BEARER: &str = "bearer";

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The endpoints of this module, mounted at `/api`.
pub fn endpoints() -> Vec<Endpoint> {
    vec![Endpoint::new(__path_openapi_json, openapi_json)]
}

/// The whole document for a deployment configured by `config`.
pub fn document(config: &Config) -> Document {
    let mut document = ApiDoc::openapi();
    let mut paths = Paths::new();
    for (mount, endpoints) in super::catalog() {
        for endpoint in &endpoints {
            endpoint.document(mount, &mut paths);
        }
    }
    document.paths = paths;
    let base = config.public_url.join("");
    document.servers = Some(vec![Server::new(base)]);
    document
}

/// The OpenAPI 3.1 document of this API (what you are reading).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    summary = "This OpenAPI 3.1 document",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document.", content_type = "application/json",
            body = Object),
    )
)]
pub async fn openapi_json(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(document(&state.config))
}
