//! The one way handlers run blocking work (diesel, argon2): on actix's blocking pool, inside the
//! caller's tracing span and language, so async workers never stall, log lines keep their
//! request context, and a mail rendered there speaks the request's language.

use super::ApiError;

/// Runs `work` on a blocking thread and awaits its result.
pub async fn run<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let language = crate::i18n::current();
    actix_web::web::block(move || span.in_scope(|| crate::i18n::with(&language, work)))
        .await
        .map_err(|err| ApiError::internal(&err))
}
