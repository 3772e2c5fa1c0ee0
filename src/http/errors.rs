//! Every error the HTTP layer answers, and its JSON body. This is the only place that turns
//! failures into status codes.
//!
//! Bodies follow Django REST framework's shapes, which API clients of django-rest-passwordreset
//! already parse: `{"field": ["message", …]}` for input errors and `{"detail": "…"}` otherwise.

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::db::DbError;
use crate::error::Failure;

/// Per-field error messages, in a stable order.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// A failed request.
#[derive(Debug)]
pub enum ApiError {
    /// 400 with messages per field.
    Fields(FieldErrors),
    /// Any status with a `detail` message.
    Detail(StatusCode, String),
    /// 401 with `WWW-Authenticate: Bearer`.
    Unauthorized(String),
    /// 429 with `Retry-After` (seconds).
    Throttled {
        /// Seconds until a retry can succeed.
        retry_after: u64,
    },
    /// 503: the database or the hasher is saturated or down. The cause was logged.
    Unavailable,
    /// 500: a bug. The cause was logged.
    Internal,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.status_code())
    }
}

impl ApiError {
    /// A 400 for one field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Fields(BTreeMap::from([(name.to_owned(), vec![message.into()])]))
    }

    /// A `detail` answer.
    pub fn detail(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Detail(status, message.into())
    }

    /// A 500 whose cause is logged here and never shown.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %crate::error::chain(cause), "request failed");
        Self::Internal
    }

    /// A 503 whose cause is logged here and never shown.
    pub fn unavailable(cause: &dyn std::error::Error) -> Self {
        tracing::warn!(error = %crate::error::chain(cause), "service unavailable");
        Self::Unavailable
    }
}

impl From<crate::services::ip_limits::RetryAfter> for ApiError {
    fn from(throttled: crate::services::ip_limits::RetryAfter) -> Self {
        Self::Throttled {
            retry_after: throttled.retry_after_secs(),
        }
    }
}

impl From<crate::services::ip_limits::LimitError> for ApiError {
    fn from(err: crate::services::ip_limits::LimitError) -> Self {
        use crate::services::ip_limits::LimitError;
        match err {
            LimitError::Throttled(throttled) => throttled.into(),
            LimitError::Database(err) => err.into(),
        }
    }
}

/// The one mapping of a use case's catch-all: 503 for the database or a saturated service,
/// 500 for anything unexpected, each with its cause logged.
impl From<Failure> for ApiError {
    fn from(err: Failure) -> Self {
        match err {
            Failure::Unavailable(err) => Self::unavailable(&err),
            Failure::Busy => Self::unavailable(&Failure::Busy),
            Failure::Unexpected(err) => Self::internal(err.as_ref()),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        Failure::from(err).into()
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Fields(_) => StatusCode::BAD_REQUEST,
            Self::Detail(status, _) => *status,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The package's English messages, or under `LATCHKEY_API_LANGUAGE=negotiate` their
    /// translation into the request's language (see [`crate::i18n::translate_api_message`]).
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        let translating = crate::i18n::api_language().is_some();
        let say = |english: &str| {
            if translating {
                crate::i18n::translate_api_message(english)
            } else {
                english.to_owned()
            }
        };
        match self {
            Self::Fields(fields) if translating => {
                let translated: FieldErrors = fields
                    .iter()
                    .map(|(field, messages)| {
                        (field.clone(), messages.iter().map(|m| say(m)).collect())
                    })
                    .collect();
                response.json(translated)
            }
            Self::Fields(fields) => response.json(fields),
            Self::Detail(_, detail) => response.json(json!({ "detail": say(detail) })),
            Self::Unauthorized(detail) => response
                .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
                .json(json!({ "detail": say(detail) })),
            Self::Throttled { retry_after } => response
                .insert_header((header::RETRY_AFTER, retry_after.to_string()))
                .json(json!({
                    "detail": say(&format!("Request was throttled. Expected available in {retry_after} seconds."))
                })),
            Self::Unavailable => response.json(json!({
                "detail": "The service is temporarily unavailable. Please try again shortly."
            })),
            Self::Internal => response.json(json!({ "detail": "Internal server error." })),
        }
    }
}
