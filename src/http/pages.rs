//! The HTML face: server-rendered pages over the same services as the API, with server-side
//! sessions, CSRF tokens on every form, and no JavaScript.

pub mod account;
pub mod assets;
pub mod login;
pub mod reset;
pub mod session;

use actix_session::config::{CookieContentSecurity, PersistentSession, TtlExtensionPolicy};
use actix_session::SessionMiddleware;
use actix_web::cookie::{time, Key, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{guard, web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use super::form::ApiForm;
use super::session_store::DbSessionStore;
use super::AppState;

/// Mounts every page, inside the session middleware (the API never gets a session).
pub fn routes(state: &AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    let sessions = session_middleware(state);
    move |cfg| {
        cfg.service(
            web::scope("")
                .wrap(sessions)
                .service(web::resource("/").route(readable().to(login::home)))
                .service(
                    web::resource("/login")
                        .route(readable().to(login::login_form))
                        .post(login::login),
                )
                .service(web::resource("/logout").post(login::logout))
                .service(
                    web::resource("/forgot-password")
                        .route(readable().to(reset::forgot_form))
                        .post(reset::forgot),
                )
                .service(
                    web::resource("/reset-password/{token}")
                        .route(readable().to(reset::reset_link)),
                )
                .service(
                    web::resource("/reset-password")
                        .route(readable().to(reset::reset_form))
                        .post(reset::reset),
                )
                .service(web::resource("/account").route(readable().to(account::account)))
                .service(
                    web::resource("/account/password")
                        .route(readable().to(account::password_form))
                        .post(account::change_password),
                )
                .default_service(web::to(super::api::not_found)),
        );
    }
}

/// A GET route that answers HEAD too (actix leaves the body out): link checkers and mail
/// scanners probe pages with HEAD.
pub fn readable() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

fn session_middleware(state: &AppState) -> SessionMiddleware<DbSessionStore> {
    let https = state.config.public_url.is_https();
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
        .cookie_name(
            if https {
                "__Host-latchkey"
            } else {
                "latchkey_session"
            }
            .to_owned(),
        )
        .cookie_secure(https)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_owned())
        .cookie_domain(None)
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
            .body(html),
        Err(err) => PageError::internal(&err).error_response(),
    }
}

/// `303 See Other` to a local path.
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

/// Reads a posted HTML form (the same limits and decoding rules as the API).
pub async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<ApiForm, PageError> {
    ApiForm::read(req, payload)
        .await
        .map_err(|_| PageError::BadRequest)
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A failure that ends in an error page rather than a form.
#[derive(Debug)]
pub enum PageError {
    /// The form could not be read.
    BadRequest,
    /// A form arrived without a valid CSRF token (and cannot be shown again).
    Forbidden,
    /// Too many attempts; retry after this many seconds.
    TooManyRequests(u64),
    /// The database or the hasher is down or saturated (cause logged).
    Unavailable,
    /// A bug (cause logged).
    Internal,
}

impl PageError {
    /// A 500 whose cause is logged here.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %crate::error::chain(cause), "page failed");
        Self::Internal
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self)
    }
}

impl From<super::ApiError> for PageError {
    fn from(err: super::ApiError) -> Self {
        match err {
            super::ApiError::Throttled { retry_after } => Self::TooManyRequests(retry_after),
            super::ApiError::Unavailable => Self::Unavailable,
            super::ApiError::Fields(_) => Self::BadRequest,
            _ => Self::Internal,
        }
    }
}

impl From<crate::services::throttle::Throttled> for PageError {
    fn from(throttled: crate::services::throttle::Throttled) -> Self {
        Self::TooManyRequests(throttled.retry_after_secs())
    }
}

impl From<crate::db::DbError> for PageError {
    fn from(err: crate::db::DbError) -> Self {
        tracing::warn!(error = %crate::error::chain(&err), "page unavailable");
        Self::Unavailable
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (title, message) = match self {
            Self::BadRequest => ("Something was wrong with the form", "Please go back and try again."),
            Self::Forbidden => (
                "This form has expired",
                "The form was too old or came from another site. Please go back, reload the page and try again.",
            ),
            Self::TooManyRequests(_) => ("Too many attempts", "Please wait a little, then try again."),
            Self::Unavailable => ("Temporarily unavailable", "Please try again in a moment."),
            Self::Internal => ("Something went wrong", "We could not complete this. Please try again later."),
        };
        let html = ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| message.to_owned());
        let mut response = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(html)
    }
}
