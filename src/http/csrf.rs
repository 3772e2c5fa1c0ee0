//! CSRF protection for every HTML form (login and logout included): a synchronizer token kept
//! in the session and echoed by a hidden field, plus Fetch Metadata as defence in depth (a POST
//! the browser labels `Sec-Fetch-Site: cross-site` is refused whatever it carries).
//!
//! Page handlers get a posted form only through [`CsrfForm`], which runs the check before it
//! hands over the fields: a page cannot read a form and forget the check (a unit test in
//! `http::pages` fails if a page reads a body any other way or a POST route skips it).

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use subtle::ConstantTimeEq;

use super::form::ApiForm;
use super::pages::PageError;
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

/// The fields a page reads from its posted form (a missing field reads as empty).
pub trait PageForm: Sized {
    /// The typed fields of `form`.
    fn from_form(form: &ApiForm) -> Self;
}

/// A form without fields of its own (a confirmation button).
impl PageForm for () {
    fn from_form(_: &ApiForm) -> Self {}
}

/// A posted page form that passed the CSRF check ([`verify`]); the only way a page gets a body.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

/// Why [`CsrfForm`] handed nothing over. Taken as `Result<CsrfForm<T>, CsrfRejection>`, it lets
/// the page show its form again; taken plainly, it answers the error page.
pub enum CsrfRejection {
    /// The body could not be read (size, media type, encoding): the 400 page.
    Unreadable,
    /// The check failed; the fields as typed, only to show the form again.
    Refused(ApiForm),
}

/// Never the fields: the refused form may hold passwords.
impl std::fmt::Debug for CsrfRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Unreadable => "Unreadable",
            Self::Refused(_) => "Refused",
        })
    }
}

impl CsrfRejection {
    /// What the refused form held, to show it again (never to act on); an unreadable body is
    /// the 400 page.
    pub fn refused_form(self) -> Result<ApiForm, PageError> {
        match self {
            Self::Unreadable => Err(PageError::BadRequest),
            Self::Refused(form) => Ok(form),
        }
    }
}

impl From<CsrfRejection> for PageError {
    fn from(rejection: CsrfRejection) -> Self {
        match rejection {
            CsrfRejection::Unreadable => Self::BadRequest,
            CsrfRejection::Refused(_) => Self::Forbidden,
        }
    }
}

impl From<CsrfRejection> for actix_web::Error {
    fn from(rejection: CsrfRejection) -> Self {
        PageError::from(rejection).into()
    }
}

impl<T: PageForm + 'static> FromRequest for CsrfForm<T> {
    type Error = CsrfRejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, CsrfRejection>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let (req, payload) = (req.clone(), web::Payload::from_request(req, payload));
        Box::pin(async move {
            let payload = payload.await.map_err(|_| CsrfRejection::Unreadable)?;
            // The same limits and decoding rules as the API.
            let form = ApiForm::read(&req, payload)
                .await
                .map_err(|_| CsrfRejection::Unreadable)?;
            match verify(&req.get_session(), &req, &form.text(FIELD)) {
                Ok(()) => Ok(Self(T::from_form(&form))),
                Err(CsrfFailure) => Err(CsrfRejection::Refused(form)),
            }
        })
    }
}
