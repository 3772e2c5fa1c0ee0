//! The access log: method, route, path, status, size and time of every request, with secrets
//! removed, as structured fields (JSON mode prints them as fields) inside the request's span
//! (see `http::request_span`, which calls [`record`] and adds the client address).
//!
//! The query string is never logged, and the token segment of `/reset-password/{token}` (and
//! its `/cancel` page) and of `/wasnt-me/{token}` is replaced by `[redacted]`: mail links carry
//! live tokens, and logs outlive them.

use std::time::Instant;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::ServiceResponse;

/// The segments after which a path carries a secret, in decoded, lower-case form.
const TOKEN_SEGMENTS: [&str; 2] = ["reset-password/", "wasnt-me/"];

/// Whether access lines are logged at all (`LATCHKEY_LOG` may turn them off), so the request
/// span can skip preparing one.
pub fn enabled() -> bool {
    tracing::enabled!(tracing::Level::INFO)
}

/// Logs one answered request; called inside its span, which knows its `route` pattern, its
/// `request_id` and when it `started`.
pub fn record<B: MessageBody>(
    response: &ServiceResponse<B>,
    route: &str,
    request_id: &str,
    started: Option<Instant>,
) {
    let req = response.request();
    let bytes = match response.response().body().size() {
        BodySize::Sized(bytes) => Some(bytes),
        BodySize::None => Some(0),
        BodySize::Stream => None,
    };
    let duration_ms = started.map(|started| (started.elapsed().as_secs_f64() * 1e6).round() / 1e3);
    tracing::info!(
        method = %req.method(),
        route,
        path = %redact(req.path()),
        status = response.status().as_u16(),
        bytes,
        duration_ms,
        request_id,
        "request answered"
    );
}

/// `path` with any reset token replaced. The check runs on the percent-decoded, lower-cased path,
/// because the router decodes too: `/%72eset-password/{token}` reaches the same page and must not
/// print its token either. Anything after a `reset-password/` segment is dropped, wherever it is.
pub fn redact(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let lower = decoded.to_ascii_lowercase();
    let secret_from = TOKEN_SEGMENTS
        .iter()
        .filter_map(|segment| lower.find(segment).map(|at| at + segment.len()))
        .min();
    match secret_from {
        Some(end) if end < decoded.len() => {
            // Decoded text may hold line breaks: keep the log line one line.
            let shown: String = decoded[..end]
                .chars()
                .map(|c| if c.is_ascii_graphic() { c } else { '?' })
                .collect();
            format!("{shown}[redacted]")
        }
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn reset_tokens_never_reach_the_log() {
        assert_eq!(
            redact("/reset-password/abc123"),
            "/reset-password/[redacted]"
        );
        assert_eq!(
            redact("/reset-password/abc/extra"),
            "/reset-password/[redacted]"
        );
        assert_eq!(redact("/reset-password"), "/reset-password");
        assert_eq!(redact("/reset-password/"), "/reset-password/");
        assert_eq!(redact("/api/password_reset/"), "/api/password_reset/");
        assert_eq!(
            redact("/reset-password/abc123/cancel"),
            "/reset-password/[redacted]"
        );
        assert_eq!(redact("/wasnt-me/abc123"), "/wasnt-me/[redacted]");
        assert_eq!(redact("/%57ASNT-me/abc123"), "/WASNT-me/[redacted]");
    }

    #[test]
    fn encoded_and_odd_spellings_of_the_path_are_redacted_too() {
        for path in [
            "/%72eset-password/abc123",
            "/reset%2Dpassword/abc123",
            "/RESET-PASSWORD/abc123",
            "//reset-password/abc123",
            "/./reset-password/abc123",
            "/reset-password%2Fabc123",
            "/%0Aforged/reset-password/abc123",
        ] {
            let line = redact(path);
            assert!(!line.contains("abc123"), "{path} -> {line}");
            assert!(line.ends_with("[redacted]"), "{path} -> {line}");
            assert!(!line.contains('\n'), "{path} -> {line}");
        }
    }
}
