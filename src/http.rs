//! The HTTP face: routes, extractors, JSON errors and pages. Handlers extract, make one blocking
//! call into a service, and map the result to a response; rules live in `services`.

pub mod access_log;
pub mod api;
pub mod bearer;
pub mod blocking;
pub mod client;
pub mod errors;
pub mod form;
pub mod state;

use actix_web::web;

pub use errors::ApiError;
pub use state::AppState;

/// Registers every route of Latchkey.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(api::health::health))
        .configure(api::password_reset::routes("/api/password_reset"))
        .configure(api::auth::routes("/api/auth"))
        .default_service(web::to(api::not_found));
}
