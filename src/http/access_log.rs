//! The access log: method, path, status, size and time of every request, with secrets removed.
//!
//! The query string is never logged, and the token segment of `/reset-password/{token}` is
//! replaced by `[redacted]`: mail links carry live tokens, and logs outlive them.

use actix_web::dev::ServiceRequest;
use actix_web::middleware::Logger;

/// The path prefix whose next segment is a secret.
const TOKEN_PATH: &str = "/reset-password/";

/// actix's `Logger` with a redacted request line.
pub fn logger() -> Logger {
    Logger::new("%a \"%{request}xi\" %s %b %Dms").custom_request_replace("request", request_line)
}

fn request_line(req: &ServiceRequest) -> String {
    format!("{} {}", req.method(), redact(req.path()))
}

/// `path` with any reset token replaced.
pub fn redact(path: &str) -> String {
    match path.strip_prefix(TOKEN_PATH) {
        Some(rest) if !rest.is_empty() => format!("{TOKEN_PATH}[redacted]"),
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
        assert_eq!(redact("/api/password_reset/"), "/api/password_reset/");
    }
}
