//! The HTTP face: routes, extractors, JSON errors and pages. Handlers extract, make one blocking
//! call into a service, and map the result to a response; rules live in `services`.

pub mod access_log;
pub mod api;
pub mod bearer;
pub mod blocking;
pub mod client;
pub mod cookie_rotation;
pub mod cors;
pub mod csrf;
pub mod errors;
pub mod form;
pub mod forward_auth;
pub mod language;
pub mod metrics;
pub mod pages;
pub mod request_span;
pub mod security_headers;
pub mod session_store;
pub mod state;

use actix_web::middleware::{from_fn, Condition};
use actix_web::web;

pub use errors::ApiError;
pub use state::AppState;

/// Registers every route of Latchkey under the public URL's path (`/auth/…` when
/// `LATCHKEY_PUBLIC_URL` is `https://example.com/auth`): the API first (with CORS when
/// configured), then the stylesheets and static files, then forward auth, then the pages
/// (which alone, with forward auth, run inside the session middleware).
pub fn routes(state: &AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    let pages = pages::routes(state);
    let state = state.clone();
    move |cfg| {
        let config = &state.config;
        let api = web::scope("/api")
            .configure(api::routes)
            .default_service(web::to(api::not_found));
        let mut site = web::scope(config.public_url.prefix())
            .route("/healthz", web::get().to(api::health::health))
            .route("/readyz", web::get().to(api::health::ready))
            .service(
                api.wrap(Condition::new(cors::enabled(config), cors::cors(config)))
                    .wrap(from_fn(cors::preflight_no_content)),
            )
            .route(
                "/static/app.css",
                pages::readable().to(pages::assets::stylesheet),
            );
        if let Some(theme) = config.product.theme_css.clone() {
            site = site.route(
                "/static/theme.css",
                pages::readable().to(move |req| pages::assets::theme(req, theme.clone())),
            );
        }
        if let Some(dir) = &config.product.static_dir {
            site = site.service(
                actix_files::Files::new("/static", dir)
                    .default_handler(web::to(api::not_found))
                    .use_etag(true)
                    .use_last_modified(true),
            );
        }
        let site = site
            .service(
                web::resource("/auth/verify")
                    .wrap(pages::session_middleware(&state))
                    .wrap(from_fn(pages::failures::storage_failures_as_pages))
                    .route(pages::readable().to(forward_auth::verify)),
            )
            .configure(pages)
            .default_service(web::to(api::not_found));
        let prefix = config.public_url.prefix().to_owned();
        if !prefix.is_empty() {
            // `/auth` itself is the start page's address without its slash.
            let start = format!("{prefix}/");
            cfg.route(
                &prefix,
                pages::readable().to(move || {
                    let start = start.clone();
                    async move { pages::redirect(&start) }
                }),
            );
        }
        cfg.service(site).default_service(web::to(api::not_found));
    }
}
