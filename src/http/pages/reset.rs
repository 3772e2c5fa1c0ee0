//! The emailed link `/reset-password/{token}`, and `/reset-password` (the form it leads to).
//!
//! The link keeps its token in the session and redirects to `/reset-password`, so the token
//! leaves the address bar (and any `Referer`); neither GET nor HEAD consumes it, because mail
//! scanners fetch links before people do. Setting the password goes through the same service as
//! the API and never logs anyone in.
//!
//! The session keeps the token sealed (see `keep_token`), never in clear: session state is a
//! database row, and a dump of it must not yield a working reset link. It is kept for as long
//! as the token lives, however long the person pauses on the form.
//!
//! A second submission of the form that already set the password (a double click, a reload)
//! shows "password changed" again rather than "this link does not work": the session remembers
//! which account the form was for and its password stamp, and a stamp exactly one further on,
//! set moments ago, is that first submission's (see `ResetService::just_reset`).

use actix_session::Session;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::login::expired_form;
use super::site::Site;
use super::{redirect, render, PageError};
use crate::config::AccountBinding;
use crate::db::users::User;
use crate::http::client::{client_info, limit_key};
use crate::http::csrf::{self, CsrfForm, CsrfRejection, PageForm};
use crate::http::form::ApiForm;
use crate::http::session_store::{HOLD_UNTIL, STAMP, USER_ID};
use crate::http::{blocking, AppState};
use crate::i18n;
use crate::services::account::change_password::PASSWORD_MISMATCH;
use crate::services::reset::confirm::ConfirmError;
use crate::services::reset::token::TokenError;
use crate::services::reset::{PresentedToken, ResetIdentifier};

/// The session key of a reset token in progress (its value is sealed).
const RESET_TOKEN: &str = "reset_token";
/// The session key of the account a number code was mailed for (the link's `email`).
const RESET_ACCOUNT: &str = "reset_account";
/// The session keys of the account the form is for and its password stamp when the link was
/// opened.
const RESET_USER: &str = "reset_user";
const RESET_STAMP: &str = "reset_stamp";
/// The session key of the username the form names (shown again after a failed submission).
const RESET_USERNAME: &str = "reset_username";

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
pub(super) fn link_account(
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
#[template(path = "pages/reset_password.html")]
struct ResetPage {
    site: Site,
    csrf_token: String,
    username: String,
    min_length: usize,
    password_errors: Vec<String>,
    confirm_errors: Vec<String>,
    error: Option<String>,
    focus: &'static str,
}

#[derive(Template)]
#[template(path = "pages/link_invalid.html")]
struct LinkInvalidPage {
    site: Site,
}

impl LinkInvalidPage {
    fn of(state: &AppState) -> Self {
        Self {
            site: Site::of(&state.config),
        }
    }
}

#[derive(Template)]
#[template(path = "pages/password_reset_done.html")]
struct ResetDonePage {
    site: Site,
}

/// The fields of `POST /reset-password`.
pub struct ResetForm {
    password: String,
    confirm_password: String,
}

impl PageForm for ResetForm {
    fn from_form(form: &ApiForm) -> Self {
        Self {
            password: form.text("password"),
            confirm_password: form.text("confirm_password"),
        }
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
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage::of(&state)));
    };
    let client = client_info(&req, &state.config);
    state
        .limits
        .token_check(limit_key(&client), account.is_some())
        .await?;
    let token = token.into_inner();
    if !state.reset.could_be_token(&token) {
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage::of(&state)));
    }
    let (typed, identifier) = account.unzip();
    let presented = PresentedToken {
        token: token.clone(),
        account: identifier,
    };
    let reset = state.reset.clone();
    match blocking::run(move || reset.check_link(&presented)).await? {
        Ok(user) => {
            if req.method() != Method::HEAD {
                keep_token(&state, &session, &token)?;
                remember_account(&state, &session, &user)?;
                match typed {
                    Some(typed) => session
                        .insert(RESET_ACCOUNT, typed)
                        .map_err(|err| PageError::internal(&err))?,
                    None => drop(session.remove(RESET_ACCOUNT)),
                }
            }
            Ok(redirect(&Site::of(&state.config).link("/reset-password")))
        }
        Err(TokenError::Invalid) => Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage::of(&state))),
        Err(TokenError::Failed(err)) => Err(err.into()),
    }
}

/// Remembers the account the link is for (the form names it, and a repeated submission is
/// recognised by its stamp) and keeps the session for as long as the token can live.
fn remember_account(state: &AppState, session: &Session, user: &User) -> Result<(), PageError> {
    let token_ttl =
        chrono::Duration::from_std(state.config.reset.token_ttl).unwrap_or(chrono::Duration::MAX);
    let hold = crate::db::now()
        .checked_add_signed(token_ttl)
        .map_or(i64::MAX, |at| at.and_utc().timestamp());
    session
        .insert(RESET_USER, user.id)
        .and_then(|()| session.insert(RESET_USERNAME, &user.username))
        .and_then(|()| session.insert(RESET_STAMP, user.password_stamp))
        .and_then(|()| session.insert(HOLD_UNTIL, hold))
        .map_err(|err| PageError::internal(&err))
}

/// The page for a form whose token is gone: "password changed" when this session's form set
/// the password moments ago (a repeated submission), else "this link does not work".
async fn after_token_gone(state: &AppState, session: &Session) -> Result<HttpResponse, PageError> {
    let (Ok(Some(user_id)), Ok(Some(stamp))) = (
        session.get::<i64>(RESET_USER),
        session.get::<i64>(RESET_STAMP),
    ) else {
        return Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage::of(state)));
    };
    let reset = state.reset.clone();
    if blocking::run(move || reset.just_reset(user_id, stamp)).await?? {
        let site = Site::of(&state.config);
        Ok(render(StatusCode::OK, &ResetDonePage { site }))
    } else {
        Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage::of(state)))
    }
}

/// `GET /reset-password`: the new-password form while the session holds a valid token.
pub async fn reset_form(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    let Some(presented) = kept_presented(&state, &session) else {
        return after_token_gone(&state, &session).await;
    };
    let reset = state.reset.clone();
    match blocking::run(move || reset.check_link(&presented)).await? {
        Ok(user) => Ok(render(
            StatusCode::OK,
            &reset_page(
                &state,
                &session,
                user.username,
                Vec::new(),
                Vec::new(),
                None,
            ),
        )),
        Err(TokenError::Invalid) => {
            session.remove(RESET_TOKEN);
            Ok(render(StatusCode::NOT_FOUND, &LinkInvalidPage::of(&state)))
        }
        Err(TokenError::Failed(err)) => Err(err.into()),
    }
}

fn reset_page(
    state: &AppState,
    session: &Session,
    username: String,
    password_errors: Vec<String>,
    confirm_errors: Vec<String>,
    error: Option<String>,
) -> ResetPage {
    let focus = match (password_errors.is_empty(), confirm_errors.is_empty()) {
        (false, _) => "password",
        (true, false) => "confirm_password",
        (true, true) => "",
    };
    ResetPage {
        site: Site::of(&state.config),
        csrf_token: csrf::token(session),
        username,
        min_length: state.config.passwords.min_length,
        password_errors,
        confirm_errors,
        error,
        focus,
    }
}

/// The username the session's form is for (kept when the link was opened), for a form shown
/// again after a failed submission.
fn form_username(session: &Session) -> String {
    session
        .get::<String>(RESET_USERNAME)
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// `POST /reset-password`: sets the password through the reset service, then "password changed"
/// with a link to log in. The session is ended: a reset never logs anyone in.
pub async fn reset(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: Result<CsrfForm<ResetForm>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(rejection) => {
            rejection.refused_form()?;
            let username = form_username(&session);
            let page = reset_page(
                &state,
                &session,
                username,
                Vec::new(),
                Vec::new(),
                Some(expired_form()),
            );
            return Ok(render(StatusCode::FORBIDDEN, &page));
        }
    };
    let Some(presented) = kept_presented(&state, &session) else {
        return after_token_gone(&state, &session).await;
    };
    let client = client_info(&req, &state.config);
    state
        .limits
        .token_check(limit_key(&client), presented.account.is_some())
        .await?;
    let (password, confirm) = (form.password, form.confirm_password);
    if password != confirm {
        let username = form_username(&session);
        let page = reset_page(
            &state,
            &session,
            username,
            Vec::new(),
            vec![i18n::translate_api_message(PASSWORD_MISMATCH)],
            None,
        );
        return Ok(render(StatusCode::BAD_REQUEST, &page));
    }
    let reset = state.reset.clone();
    let password = SecretString::from(password);
    match blocking::run(move || reset.confirm(&presented, password, &client)).await? {
        Ok(()) => {
            state.metrics.reset("completed");
            end_reset(&session);
            Ok(render(
                StatusCode::OK,
                &ResetDonePage {
                    site: Site::of(&state.config),
                },
            ))
        }
        Err(ConfirmError::InvalidToken) => {
            session.remove(RESET_TOKEN);
            after_token_gone(&state, &session).await
        }
        Err(ConfirmError::WeakPassword(violations)) => {
            let messages = violations
                .iter()
                .map(|violation| i18n::translate_api_message(&violation.to_string()))
                .collect();
            let username = form_username(&session);
            Ok(render(
                StatusCode::BAD_REQUEST,
                &reset_page(&state, &session, username, messages, Vec::new(), None),
            ))
        }
        Err(ConfirmError::Failed(err)) => Err(err.into()),
    }
}

/// After a successful reset the session keeps only what recognises a repeated submission (and
/// its CSRF token, so that submission is not "form expired"): the token is gone, and a reset
/// never logs anyone in, so any login the session held is dropped too. The row is not deleted:
/// a double click sends the second submission with this same cookie.
fn end_reset(session: &Session) {
    for key in [
        RESET_TOKEN,
        RESET_ACCOUNT,
        RESET_USERNAME,
        HOLD_UNTIL,
        USER_ID,
        STAMP,
    ] {
        session.remove(key);
    }
}
