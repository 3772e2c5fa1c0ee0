//! CSRF protection for every HTML form (login and logout included): a synchronizer token kept
//! in the session and echoed by a hidden field, plus Fetch Metadata as defence in depth (a POST
//! the browser labels `Sec-Fetch-Site: cross-site` is refused whatever it carries).

use actix_session::Session;
use actix_web::HttpRequest;
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::domain::random_bytes;

/// The session key of the token.
const SESSION_KEY: &str = "csrf";
/// The form field carrying it.
pub const FIELD: &str = "csrf_token";

/// Why a form was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the form's CSRF check failed")]
pub struct CsrfFailure;

/// This session's token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(existing)) = session.get::<String>(SESSION_KEY) {
        return existing;
    }
    let fresh = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>());
    // A session that cannot store the token only makes the next form fail the check.
    let _ = session.insert(SESSION_KEY, &fresh);
    fresh
}

/// Checks a submitted form: same-site request and the session's token, compared in constant time.
pub fn verify(session: &Session, req: &HttpRequest, submitted: &str) -> Result<(), CsrfFailure> {
    let cross_site = cross_site(req);
    let expected = session.get::<String>(SESSION_KEY).ok().flatten();
    match expected {
        Some(expected) if !cross_site && !submitted.is_empty() => {
            if bool::from(expected.as_bytes().ct_eq(submitted.as_bytes())) {
                Ok(())
            } else {
                Err(CsrfFailure)
            }
        }
        _ => Err(CsrfFailure),
    }
}

/// Whether the browser labels the request as coming from another site (Fetch Metadata).
pub fn cross_site(req: &HttpRequest) -> bool {
    req.headers()
        .get("sec-fetch-site")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cross-site"))
}

/// Forgets the token (at login the session is renewed and gets a new one).
pub fn forget(session: &Session) {
    session.remove(SESSION_KEY);
}
