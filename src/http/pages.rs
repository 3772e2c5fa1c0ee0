//! The HTML face: server-rendered pages over the same services as the API, with server-side
//! sessions, CSRF tokens on every form, and no JavaScript.

pub mod account;
pub mod assets;
pub mod devices;
pub mod failures;
pub mod forgot;
pub mod login;
pub mod notices;
pub mod reset;
pub mod session;
pub mod site;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_web::cookie::{time, Key, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::{guard, web, HttpResponse, ResponseError};
use askama::Template;

use super::cookie_rotation::{self, CookieKeys};
use super::session_store::DbSessionStore;
use super::AppState;
pub use failures::PageError;

/// Mounts every page, inside the session middleware (the API never gets a session). Around it,
/// a failure of the session store becomes the 503 page, and a malformed query string the 400
/// page, so a browser never sees a bare 500 or framework text.
///
/// The middleware wraps each page resource rather than the scope: the failure guard keeps a
/// handle on the request to answer with, which actix allows only once routing is done.
pub fn routes(state: &AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    let state = state.clone();
    move |cfg| {
        let cookie_keys = Arc::new(CookieKeys::new(
            session_cookie_name(&state),
            &state.keys.cookie_key,
            &state.keys.fallback_cookie_keys,
        ));
        let page = |path: &str| {
            let cookie_keys = cookie_keys.clone();
            web::resource(path)
                .wrap(session_middleware(&state))
                .wrap(from_fn(failures::storage_failures_as_pages))
                // Outermost: it rewrites a request header, which actix allows only while no
                // other middleware holds a handle on the request (the failure guard does).
                .wrap(from_fn(move |req, next| {
                    cookie_rotation::upgrade_old_cookies(cookie_keys.clone(), req, next)
                }))
        };
        cfg.service(
            web::scope("")
                .app_data(failures::query_config())
                .app_data(failures::path_config())
                .service(page("/").route(readable().to(login::home)))
                .service(
                    page("/login")
                        .route(readable().to(login::login_form))
                        .post(login::login),
                )
                .service(page("/logout").post(login::logout))
                .service(
                    page("/forgot-password")
                        .route(readable().to(forgot::forgot_form))
                        .post(forgot::forgot),
                )
                .service(page("/reset-password/{token}").route(readable().to(reset::reset_link)))
                .service(
                    page("/reset-password/{token}/cancel")
                        .route(readable().to(notices::cancel_form))
                        .post(notices::cancel),
                )
                .service(
                    page("/wasnt-me/{token}")
                        .route(readable().to(notices::wasnt_me_form))
                        .post(notices::wasnt_me),
                )
                .service(
                    page("/reset-password")
                        .route(readable().to(reset::reset_form))
                        .post(reset::reset),
                )
                .service(page("/account").route(readable().to(account::account)))
                .service(
                    page("/account/password")
                        .route(readable().to(account::password_form))
                        .post(account::change_password),
                )
                .service(
                    page("/account/sessions")
                        .route(readable().to(devices::sessions))
                        .post(devices::revoke),
                )
                .default_service(web::to(failures::not_found)),
        );
    }
}

/// A GET route that answers HEAD too (actix leaves the body out): link checkers and mail
/// scanners probe pages with HEAD.
pub fn readable() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// The session cookie's name: `__Host-latchkey` when the browser can hold the cookie to that
/// rule (https, `Path=/`, no `Domain`), else `__Secure-latchkey` behind https, else
/// `latchkey_session`.
fn session_cookie_name(state: &AppState) -> &'static str {
    let product = &state.config.product;
    let https = state.config.public_url.is_https();
    match (https, product.cookie_path.as_str(), &product.cookie_domain) {
        (true, "/", None) => "__Host-latchkey",
        (true, _, _) => "__Secure-latchkey",
        (false, _, _) => "latchkey_session",
    }
}

/// actix-session over the `sessions` table, with the cookie as the deployment needs it: `Path`
/// and `Domain` from `LATCHKEY_COOKIE_PATH` / `LATCHKEY_COOKIE_DOMAIN`, `Secure` behind https.
/// The name is `session_cookie_name`.
pub fn session_middleware(state: &AppState) -> SessionMiddleware<DbSessionStore> {
    let https = state.config.public_url.is_https();
    let product = &state.config.product;
    let store = DbSessionStore::new(
        state.db.clone(),
        state.keys.sessions.clone(),
        state.config.session_idle_timeout,
        state.config.session_ttl,
    );
    let ttl = time::Duration::seconds(
        i64::try_from(state.config.session_ttl.as_secs()).unwrap_or(i64::MAX),
    );
    SessionMiddleware::builder(store, Key::from(&state.keys.cookie_key))
        .cookie_name(session_cookie_name(state).to_owned())
        .cookie_secure(https)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path(product.cookie_path.clone())
        .cookie_domain(product.cookie_domain.clone())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            PersistentSession::default()
                .session_ttl(ttl)
                .session_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
        .build()
}

/// A rendered page with `status`; never cached (pages carry tokens or account data).
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_LANGUAGE, crate::i18n::tag()))
            .body(html),
        Err(err) => PageError::internal(&err).error_response(),
    }
}

/// `303 See Other` to a local path (already under the prefix) or an allowed absolute URL.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Adds `Retry-After` to a page answering 429.
pub fn retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The route table above, and the page modules beside it.
    const TABLE: &str = include_str!("pages.rs");
    const PAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/pages");

    #[test]
    fn every_post_page_takes_its_form_through_the_csrf_extractor() {
        let table = TABLE.split("#[cfg(test)]").next().unwrap_or_default();
        let posts: Vec<&str> = table
            .split(".post(")
            .skip(1)
            .map(|rest| rest.split(')').next().unwrap_or_default())
            .collect();
        assert!(posts.len() >= 8, "the route table was read: {posts:?}");
        for handler in posts {
            let (module, name) = handler.split_once("::").expect("module::handler");
            let source = std::fs::read_to_string(Path::new(PAGES).join(format!("{module}.rs")))
                .expect("the handler's module");
            let signature = source
                .split(&format!("pub async fn {name}("))
                .nth(1)
                .and_then(|rest| rest.split(") ->").next())
                .expect("the handler's signature");
            assert!(
                signature.contains("CsrfForm<"),
                "POST {handler} must take its form as CsrfForm"
            );
        }
    }

    #[test]
    fn no_page_reads_a_body_any_other_way() {
        for entry in std::fs::read_dir(PAGES).expect("the page modules") {
            let path = entry.expect("a page module").path();
            let source = std::fs::read_to_string(&path).expect("a page module");
            for forbidden in [
                "web::Payload",
                "web::Form",
                "web::Bytes",
                "ApiForm::read",
                "csrf::verify",
            ] {
                assert!(
                    !source.contains(forbidden),
                    "{} uses {forbidden}: page forms come only through CsrfForm",
                    path.display()
                );
            }
        }
    }
}
