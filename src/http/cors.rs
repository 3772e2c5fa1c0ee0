//! CORS for `/api/*` only, for single-page apps on the origins of `LATCHKEY_CORS_ORIGINS`
//! (actix-cors does the origin checks, preflights and `Vary: Origin`).
//!
//! * A listed origin's preflight answers `204` with `Access-Control-Allow-Origin: <origin>`,
//!   `Vary: Origin`, `Access-Control-Allow-Methods: GET, POST, OPTIONS` and
//!   `Access-Control-Allow-Headers: Authorization, Content-Type`; its requests get the origin
//!   back (and may read `Retry-After` and `WWW-Authenticate`).
//! * Never `Access-Control-Allow-Credentials`: the API is bearer-only, cookies have no say.
//! * An unlisted origin gets no CORS header at all (its preflight is refused with `400`; its
//!   plain requests are answered as for any client, which the browser then hides from it).
//! * No origin listed: the middleware is not mounted, so nothing changes.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;

use crate::config::Config;

/// Methods the API uses.
const METHODS: &str = "GET, POST, OPTIONS";
/// Request headers a single-page app needs: the bearer token and a JSON body.
const HEADERS: &str = "Authorization, Content-Type";
/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE_SECS: usize = 600;

/// Whether CORS is on at all.
pub fn enabled(config: &Config) -> bool {
    !config.product.cors_origins.is_empty()
}

/// The CORS middleware for the configured origins.
pub fn cors(config: &Config) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allowed_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        .block_on_origin_mismatch(false);
    for origin in &config.product.cors_origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Around [`cors`]: an accepted preflight is `204 No Content` (actix-cors says `200`), with the
/// method and header lists in a fixed order; an answer to a refused origin keeps no CORS header.
pub async fn preflight_no_content(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = next.call(req).await?;
    let accepted = response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    if !accepted {
        // actix-cors adds its exposed-headers list even for an origin it refused.
        let headers = response.headers_mut();
        let cors: Vec<_> = headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in cors {
            headers.remove(name);
        }
    }
    if preflight && accepted && response.status() == StatusCode::OK {
        *response.response_mut().status_mut() = StatusCode::NO_CONTENT;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            header::HeaderValue::from_static(METHODS),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::HeaderValue::from_static(HEADERS),
        );
    }
    Ok(response)
}
