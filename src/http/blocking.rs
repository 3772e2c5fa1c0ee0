//! The one way handlers run blocking work (diesel, argon2): on actix's blocking pool, inside the
//! caller's tracing span, so async workers never stall and log lines keep their request context.

use super::ApiError;

/// Runs `work` on a blocking thread and awaits its result.
pub async fn run<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    actix_web::web::block(move || span.in_scope(work))
        .await
        .map_err(|err| ApiError::internal(&err))
}
