//! The HTTP face: routes, extractors, JSON errors and pages. Handlers extract, make one blocking
//! call into a service, and map the result to a response; rules live in `services`.

pub mod access_log;
pub mod api;
pub mod bearer;
pub mod blocking;
pub mod client;
pub mod cookie_rotation;
pub mod csrf;
pub mod errors;
pub mod form;
pub mod metrics;
pub mod pages;
pub mod security_headers;
pub mod session_store;
pub mod state;

use actix_web::web;

pub use errors::ApiError;
pub use state::AppState;

/// Registers every route of Latchkey: the API first, then the stylesheet, then the pages
/// (which alone run inside the session middleware).
pub fn routes(state: &AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    let pages = pages::routes(state);
    move |cfg| {
        cfg.route("/healthz", web::get().to(api::health::health))
            .route("/readyz", web::get().to(api::health::ready))
            .configure(api::password_reset::routes("/api/password_reset"))
            .configure(api::auth::routes("/api/auth"))
            .route(
                "/static/app.css",
                pages::readable().to(pages::assets::stylesheet),
            )
            .configure(pages)
            .default_service(web::to(api::not_found));
    }
}
