//! How pages fail: every failure of a page is an HTML page of the base layout, never a bare
//! status or framework text.
//!
//! * Handlers return [`PageError`]; database failures are `503` ("temporarily unavailable"),
//!   bugs `500`, each with its cause logged once.
//! * The session store runs in actix-session's middleware, outside any handler: when it cannot
//!   load or save a session, the middleware answers an empty `500`. [`storage_failures_as_pages`]
//!   sits around it and answers the `503` page instead, since the only thing that store touches
//!   is the database. The service recovers by itself: the next request tries the database again.
//! * A query string the page's extractor cannot read (a parameter given twice, bad
//!   percent-encoding) is the `400` page ([`query_config`]), as is an unreadable path parameter.
//! * [`ResponseError`] has no configuration at hand, so it renders with Latchkey's defaults;
//!   [`storage_failures_as_pages`], around every page, renders the page again for this
//!   deployment (its path prefix and product name), so every link on it still works.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse, ResponseError};
use askama::Template;

use super::site::Site;
use crate::http::AppState;
use crate::i18n::t;

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    site: &'a Site,
    title: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "pages/unavailable.html")]
struct UnavailablePage<'a> {
    site: &'a Site,
}

/// A failure that ends in an error page rather than a form.
#[derive(Debug)]
pub enum PageError {
    /// The form could not be read.
    BadRequest,
    /// The address (query string or path) could not be read.
    BadAddress,
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

impl From<crate::http::ApiError> for PageError {
    fn from(err: crate::http::ApiError) -> Self {
        use crate::http::ApiError;
        match err {
            ApiError::Throttled { retry_after } => Self::TooManyRequests(retry_after),
            ApiError::Unavailable => Self::Unavailable,
            ApiError::Fields(_) => Self::BadRequest,
            _ => Self::Internal,
        }
    }
}

impl From<crate::services::ip_limits::RetryAfter> for PageError {
    fn from(throttled: crate::services::ip_limits::RetryAfter) -> Self {
        Self::TooManyRequests(throttled.retry_after_secs())
    }
}

impl From<crate::services::ip_limits::LimitError> for PageError {
    fn from(err: crate::services::ip_limits::LimitError) -> Self {
        use crate::services::ip_limits::LimitError;
        match err {
            LimitError::Throttled(throttled) => throttled.into(),
            LimitError::Database(err) => err.into(),
        }
    }
}

/// The one mapping of a use case's catch-all: the 503 page for the database or a saturated
/// service, the 500 page for anything unexpected, each with its cause logged.
impl From<crate::error::Failure> for PageError {
    fn from(err: crate::error::Failure) -> Self {
        use crate::error::Failure;
        match err {
            Failure::Unavailable(err) => {
                tracing::warn!(error = %crate::error::chain(&err), "page unavailable");
                Self::Unavailable
            }
            Failure::Busy => Self::Unavailable,
            Failure::Unexpected(err) => Self::internal(err.as_ref()),
        }
    }
}

impl From<crate::db::DbError> for PageError {
    fn from(err: crate::db::DbError) -> Self {
        crate::error::Failure::from(err).into()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest | Self::BadAddress => StatusCode::BAD_REQUEST,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.page(&Site::fallback())
    }
}

impl PageError {
    /// The error page for `site`.
    pub fn page(&self, site: &Site) -> HttpResponse {
        let (title, message) = match self {
            Self::BadRequest => (t("error-form-title"), t("error-form-text")),
            Self::BadAddress => (t("error-address-title"), t("error-address-text")),
            Self::Forbidden => (t("error-expired-title"), t("error-expired-text")),
            Self::TooManyRequests(seconds) => (
                t("error-throttled-title"),
                crate::i18n::t1(
                    "error-throttled-text",
                    "wait",
                    crate::i18n::human_wait(*seconds),
                ),
            ),
            Self::Unavailable => (t("error-unavailable-title"), t("error-unavailable-title")),
            Self::Internal => (t("error-internal-title"), t("error-internal-text")),
        };
        let rendered = match self {
            Self::Unavailable => UnavailablePage { site }.render(),
            _ => ErrorPage {
                site,
                title: &title,
                message: &message,
            }
            .render(),
        };
        let html = rendered.unwrap_or(message);
        let mut response = HttpResponse::build(self.status_code());
        if let Self::TooManyRequests(seconds) = self {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::CONTENT_LANGUAGE, crate::i18n::tag()))
            .body(html)
    }
}

/// Query strings of pages: one that cannot be read is the `400` page, not actix's plain text.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, req| {
        tracing::debug!(error = %err, "unreadable query string");
        InternalError::from_response(err, PageError::BadAddress.page(&site_of(req))).into()
    })
}

/// Path parameters of pages: one that cannot be read is the `400` page.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        InternalError::from_response(err, PageError::BadAddress.page(&site_of(req))).into()
    })
}

/// Wraps the session middleware of a page resource: a failure it raises (the session store could
/// not reach the database) becomes the `503` page, logged once, and then passes through the
/// outer middleware (security headers, access log) like any response; every other response is
/// unchanged. Mount it on a resource, not a scope: it holds a second handle on the request,
/// which a scope's router must not meet.
pub async fn storage_failures_as_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request = req.request().clone();
    let site = site_of(&request);
    match next.call(req).await {
        Ok(response) => {
            let failed = response
                .response()
                .error()
                .and_then(|err| err.as_error::<PageError>())
                .map(|err| err.page(&site));
            Ok(match failed {
                Some(mut page) => {
                    // The session's cookie (a renewed or ended session) still goes out.
                    for cookie in response.headers().get_all(header::SET_COOKIE) {
                        page.headers_mut()
                            .append(header::SET_COOKIE, cookie.clone());
                    }
                    ServiceResponse::new(request, page)
                }
                None => response.map_into_boxed_body(),
            })
        }
        Err(err) if err.as_response_error().status_code().is_server_error() => {
            tracing::warn!(error = %err, "session storage failed; answering the 503 page");
            Ok(ServiceResponse::new(
                request,
                PageError::Unavailable.page(&site),
            ))
        }
        Err(err) => Err(err),
    }
}

#[derive(Template)]
#[template(path = "pages/not_found.html")]
struct NotFoundPage {
    site: Site,
}

/// Unknown paths: a page for a browser (it asks for `text/html`), the API's JSON `404` for
/// everything else and always under `/api/`, so API clients see exactly what they saw before.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !req.path().contains("/api/") {
        super::render(
            StatusCode::NOT_FOUND,
            &NotFoundPage {
                site: site_of(&req),
            },
        )
    } else {
        crate::http::api::not_found()
            .await
            .unwrap_or_else(|err| err.error_response())
    }
}

/// The site of the application serving `req`.
fn site_of(req: &actix_web::HttpRequest) -> Site {
    req.app_data::<web::Data<AppState>>()
        .map_or_else(Site::fallback, |state| Site::of(&state.config))
}
