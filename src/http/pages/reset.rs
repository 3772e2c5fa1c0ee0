//! `/forgot-password`, the emailed link `/reset-password/{token}`, and `/reset-password`.
//!
//! The link keeps its token in the session and redirects to `/reset-password`, so the token
//! leaves the address bar (and any `Referer`); neither GET nor HEAD consumes it, because mail
//! scanners fetch links before people do. Setting the password goes through the same service as
//! the API and never logs anyone in.
//!
//! The session keeps the token sealed (see `keep_token`), never in clear: session state is a
//! database row, and a dump of it must not yield a working reset link.

use actix_session::Session;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::login::EXPIRED_FORM;
use super::{read_form, redirect, render, PageError};
use crate::config::AccountBinding;
use crate::http::client::{client_info, limit_key};
use crate::http::form::BLANK;
use crate::http::{blocking, csrf, AppState};
use crate::passwords::HashError;
use crate::services::accounts::PASSWORD_MISMATCH;
use crate::services::password_reset::{
    ConfirmError, PresentedToken, RequestError, ResetIdentifier, TokenError,
};

/// The session key of a reset token in progress (its value is sealed).
const RESET_TOKEN: &str = "reset_token";
/// The session key of the account a number code was mailed for (the link's `email`).
const RESET_ACCOUNT: &str = "reset_account";

/// The token the session holds, with the account its link named; `None` when there is none.
fn kept_presented(state: &AppState, session: &Session) -> Option<PresentedToken> {
    let token = kept_token(state, session)?;
    let account = match session.get::<String>(RESET_ACCOUNT).ok()? {
        Some(typed) => Some(ResetIdentifier::parse(state.config.reset.lookup_field, &typed).ok()?),
        None => None,
    };
    Some(PresentedToken { token, account })
}

/// The `email` query parameter of an emailed link for a number code (see
/// `ResetService::link_for`); `Err` when the deployment needs one and it is missing or invalid.
fn link_account(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<(String, ResetIdentifier)>, ()> {
    let binding = state.reset.account_binding();
    if binding == AccountBinding::Ignored {
        return Ok(None);
    }
    let typed = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "email")
        .map(|(_, value)| value.trim().to_owned());
    match typed {
        Some(typed) => ResetIdentifier::parse(state.config.reset.lookup_field, &typed)
            .map(|identifier| Some((typed, identifier)))
            .map_err(|_| ()),
        None if binding == AccountBinding::Required => Err(()),
        None => Ok(None),
    }
}

/// Stores `token` in the session sealed with the session-token key: session state is a row of the
/// `sessions` table, and a database dump, a backup or a leftover WAL page must never yield a
/// working reset link (SEC-11).
fn keep_token(state: &AppState, session: &Session, token: &str) -> Result<(), PageError> {
    let sealed = state.keys.session_reset_tokens.seal(token);
    session
        .insert(RESET_TOKEN, sealed)
        .map_err(|err| PageError::internal(&err))
}

/// The token the session holds, if any; one that cannot be opened (the secret key changed, or
/// the value is not ours) counts as none, so the browser sees the "link invalid" page.
fn kept_token(state: &AppState, session: &Session) -> Option<String> {
    let sealed = session.get::<String>(RESET_TOKEN).ok()??;
    state.keys.session_reset_tokens.open(&sealed).ok()
}

#[derive(Template)]
#[template(path = "pages/forgot_password.html")]
struct ForgotPage {
    csrf_token: String,
    email: String,
    email_errors: Vec<String>,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "pages/check_inbox.html")]
struct CheckInboxPage {
    lifetime: String,
}

#[derive(Template)]
#[template(path = "pages/reset_password.html")]
struct ResetPage {
    csrf_token: String,
    min_length: usize,
    password_errors: Vec<String>,
    confirm_errors: Vec<String>,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "pages/link_invalid.html")]
struct LinkInvalidPage;

#[derive(Template)]
#[template(path = "pages/password_reset_done.html")]
struct ResetDonePage;

/// `GET /forgot-password`.
pub async fn forgot_form(session: Session) -> HttpResponse {
    render(
        StatusCode::OK,
        &forgot_page(&session, String::new(), Vec::new(), None),
    )
}

fn forgot_page(
    session: &Session,
    email: String,
    email_errors: Vec<String>,
    error: Option<&'static str>,
) -> ForgotPage {
    ForgotPage {
        csrf_token: csrf::token(session),
        email,
        email_errors,
        error,
    }
}

/// `POST /forgot-password`: always the same "check your inbox" page for a valid address.
pub async fn forgot(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = read_form(&req, payload).await?;
    let typed = form.text("email").trim().to_owned();
    if csrf::verify(&session, &req, &form.text(csrf::FIELD)).is_err() {
        return Ok(render(
            StatusCode::FORBIDDEN,
            &forgot_page(&session, typed, Vec::new(), Some(EXPIRED_FORM)),
        ));
    }
    let client = client_info(&req, &state.config);
    state.limits.reset_request(limit_key(&client)).await?;
    let parsed = match typed.as_str() {
        "" => Err(BLANK.to_owned()),
        _ => ResetIdentifier::parse(state.config.reset.lookup_field, &typed)
            .map_err(|invalid| invalid.to_string()),
    };
    let identifier = match parsed {
        Ok(identifier) => identifier,
        Err(message) => {
            let page = forgot_page(&session, typed, vec![message], None);
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    match state.reset.accept(&identifier, &client).await {
        Ok(()) => {
            state.metrics.reset("requested");
            Ok(render(
                StatusCode::OK,
                &CheckInboxPage {
                    lifetime: crate::email::templates::format_lifetime(
                        state.config.reset.token_ttl,
                    ),
                },
            ))
        }
        Err(RequestError::Database(err)) => Err(err.into()),
        Err(RequestError::NoAccount) => Err(PageError::Internal),
    }
}

/// `GET`/`HEAD /reset-password/{token}`: a valid token goes into the session (GET only) and the
/// browser to `/reset-password`; nothing is consumed either way.
pub async fn reset_link(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Ok(account) = link_account(&state, &req) else {
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage));
    };
    let client = client_info(&req, &state.config);
    state
        .limits
        .token_check(limit_key(&client), account.is_some())
        .await?;
    let token = token.into_inner();
    if !state.reset.could_be_token(&token) {
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage));
    }
    let (typed, identifier) = account.unzip();
    let presented = PresentedToken {
        token: token.clone(),
        account: identifier,
    };
    let reset = state.reset.clone();
    match blocking::run(move || reset.check_link(&presented)).await? {
        Ok(_) => {
            if req.method() != Method::HEAD {
                keep_token(&state, &session, &token)?;
                match typed {
                    Some(typed) => session
                        .insert(RESET_ACCOUNT, typed)
                        .map_err(|err| PageError::internal(&err))?,
                    None => drop(session.remove(RESET_ACCOUNT)),
                }
            }
            Ok(redirect("/reset-password"))
        }
        Err(TokenError::Invalid) => Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage)),
        Err(TokenError::Database(err)) => Err(err.into()),
    }
}

/// `GET /reset-password`: the new-password form while the session holds a valid token.
pub async fn reset_form(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    let Some(presented) = kept_presented(&state, &session) else {
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage));
    };
    let reset = state.reset.clone();
    match blocking::run(move || reset.check_link(&presented)).await? {
        Ok(_) => Ok(render(
            StatusCode::OK,
            &reset_page(&state, &session, Vec::new(), Vec::new(), None),
        )),
        Err(TokenError::Invalid) => {
            session.remove(RESET_TOKEN);
            Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage))
        }
        Err(TokenError::Database(err)) => Err(err.into()),
    }
}

fn reset_page(
    state: &AppState,
    session: &Session,
    password_errors: Vec<String>,
    confirm_errors: Vec<String>,
    error: Option<&'static str>,
) -> ResetPage {
    ResetPage {
        csrf_token: csrf::token(session),
        min_length: state.config.passwords.min_length,
        password_errors,
        confirm_errors,
        error,
    }
}

/// `POST /reset-password`: sets the password through the reset service, then "password changed"
/// with a link to log in. The session is ended: a reset never logs anyone in.
pub async fn reset(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = read_form(&req, payload).await?;
    if csrf::verify(&session, &req, &form.text(csrf::FIELD)).is_err() {
        let page = reset_page(&state, &session, Vec::new(), Vec::new(), Some(EXPIRED_FORM));
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    let Some(presented) = kept_presented(&state, &session) else {
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage));
    };
    let client = client_info(&req, &state.config);
    state
        .limits
        .token_check(limit_key(&client), presented.account.is_some())
        .await?;
    let (password, confirm) = (form.text("password"), form.text("confirm_password"));
    if password != confirm {
        let page = reset_page(
            &state,
            &session,
            Vec::new(),
            vec![PASSWORD_MISMATCH.to_owned()],
            None,
        );
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    let reset = state.reset.clone();
    let password = SecretString::from(password);
    match blocking::run(move || reset.confirm(&presented, password, &client)).await? {
        Ok(()) => {
            state.metrics.reset("completed");
            session.purge();
            Ok(render(StatusCode::OK, &ResetDonePage))
        }
        Err(ConfirmError::InvalidToken) => {
            session.remove(RESET_TOKEN);
            Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage))
        }
        Err(ConfirmError::WeakPassword(violations)) => {
            let messages = violations.iter().map(ToString::to_string).collect();
            Ok(render(
                StatusCode::BAD_REQUEST,
                &reset_page(&state, &session, messages, Vec::new(), None),
            ))
        }
        Err(ConfirmError::Hash(HashError::Busy)) => Err(PageError::Unavailable),
        Err(ConfirmError::Hash(err)) => Err(PageError::internal(&err)),
        Err(ConfirmError::Hook(err)) => Err(PageError::internal(err.as_ref())),
        Err(ConfirmError::Database(err)) => Err(err.into()),
    }
}
