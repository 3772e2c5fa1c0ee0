//! The owner's ways out, linked from mails and usable without being logged in:
//! `/wasnt-me/{token}` ("This wasn't me", from the password-changed notice) and
//! `/reset-password/{token}/cancel` ("I did not ask for this", from the reset mail).
//!
//! GET and HEAD only show a confirmation page (mail scanners fetch links); the POST, with its
//! CSRF token, acts. An unknown, used or expired link gets the same "does not work" page
//! whatever the account, so the pages reveal nothing about other accounts. Both count against
//! the per-IP token-check limit like the reset link.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::login::expired_form;
use super::reset::link_account;
use super::site::Site;
use super::{render, PageError};
use crate::http::client::{client_info, limit_key};
use crate::http::csrf::{self, CsrfForm, CsrfRejection};
use crate::http::{blocking, AppState};
use crate::services::reset::token::TokenError;
use crate::services::reset::wasnt_me::WasntMeError;
use crate::services::reset::PresentedToken;

#[derive(Template)]
#[template(path = "pages/wasnt_me.html")]
struct WasntMePage {
    site: Site,
    csrf_token: String,
    action: String,
    error: Option<String>,
}

impl WasntMePage {
    /// The confirmation form posting back to the link's own address.
    fn new(state: &AppState, session: &Session, req: &HttpRequest, error: Option<String>) -> Self {
        Self {
            site: Site::of(&state.config),
            csrf_token: csrf::token(session),
            action: action_of(req),
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/wasnt_me_done.html")]
struct WasntMeDonePage {
    site: Site,
}

#[derive(Template)]
#[template(path = "pages/notice_link_invalid.html")]
struct NoticeLinkInvalidPage {
    site: Site,
}

#[derive(Template)]
#[template(path = "pages/reset_cancel.html")]
struct CancelPage {
    site: Site,
    csrf_token: String,
    action: String,
    error: Option<String>,
}

impl CancelPage {
    /// The confirmation form posting back to the link's own address.
    fn new(state: &AppState, session: &Session, req: &HttpRequest, error: Option<String>) -> Self {
        Self {
            site: Site::of(&state.config),
            csrf_token: csrf::token(session),
            action: action_of(req),
            error,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/reset_cancelled.html")]
struct CancelledPage {
    site: Site,
}

fn invalid(state: &AppState) -> HttpResponse {
    render(
        StatusCode::NOT_FOUND,
        &NoticeLinkInvalidPage {
            site: Site::of(&state.config),
        },
    )
}

/// The form's own address: the path as routed (the token is already in the mail's link), with
/// the query string of a number code's link.
fn action_of(req: &HttpRequest) -> String {
    match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    }
}

/// `GET`/`HEAD /wasnt-me/{token}`: the confirmation page; nothing changes.
pub async fn wasnt_me_form(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let client = client_info(&req, &state.config);
    state.limits.token_check(limit_key(&client), true).await?;
    let (reset, token) = (state.reset.clone(), token.into_inner());
    if !blocking::run(move || reset.wasnt_me_link_works(&token)).await?? {
        return Ok(invalid(&state));
    }
    let page = WasntMePage::new(&state, &session, &req, None);
    Ok(render(StatusCode::OK, &page))
}

/// `POST /wasnt-me/{token}`: revokes everything, removes the password, mails a reset link.
pub async fn wasnt_me(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    token: web::Path<String>,
    form: Result<CsrfForm<()>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    if let Err(rejection) = form {
        rejection.refused_form()?;
        let page = WasntMePage::new(&state, &session, &req, Some(expired_form()));
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    let client = client_info(&req, &state.config);
    state.limits.token_check(limit_key(&client), true).await?;
    let (reset, token) = (state.reset.clone(), token.into_inner());
    match blocking::run(move || reset.wasnt_me(&token, &client)).await? {
        Ok(()) => {
            // Whoever is logged in to this browser was signed out with everyone else.
            session.purge();
            Ok(render(
                StatusCode::OK,
                &WasntMeDonePage {
                    site: Site::of(&state.config),
                },
            ))
        }
        Err(WasntMeError::Invalid) => Ok(invalid(&state)),
        Err(WasntMeError::Failed(err)) => Err(err.into()),
    }
}

/// The reset token of a cancel link, with the account its link names (number codes).
async fn presented(
    state: &AppState,
    req: &HttpRequest,
    token: String,
) -> Result<Option<PresentedToken>, PageError> {
    let Ok(account) = link_account(state, req) else {
        return Ok(None);
    };
    let client = client_info(req, &state.config);
    state
        .limits
        .token_check(limit_key(&client), account.is_some())
        .await?;
    Ok(Some(PresentedToken {
        token,
        account: account.map(|(_, identifier)| identifier),
    }))
}

/// `GET`/`HEAD /reset-password/{token}/cancel`: the confirmation page; nothing changes.
pub async fn cancel_form(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    token: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(presented) = presented(&state, &req, token.into_inner()).await? else {
        return Ok(invalid(&state));
    };
    let reset = state.reset.clone();
    if !blocking::run(move || reset.cancel_link_works(&presented)).await?? {
        return Ok(invalid(&state));
    }
    let page = CancelPage::new(&state, &session, &req, None);
    Ok(render(StatusCode::OK, &page))
}

/// `POST /reset-password/{token}/cancel`: the token stops working.
pub async fn cancel(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    token: web::Path<String>,
    form: Result<CsrfForm<()>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    if let Err(rejection) = form {
        rejection.refused_form()?;
        let page = CancelPage::new(&state, &session, &req, Some(expired_form()));
        return Ok(render(StatusCode::FORBIDDEN, &page));
    }
    let Some(presented) = presented(&state, &req, token.into_inner()).await? else {
        return Ok(invalid(&state));
    };
    let (reset, client) = (state.reset.clone(), client_info(&req, &state.config));
    match blocking::run(move || reset.cancel(&presented, &client)).await? {
        Ok(()) => Ok(render(
            StatusCode::OK,
            &CancelledPage {
                site: Site::of(&state.config),
            },
        )),
        Err(TokenError::Invalid) => Ok(invalid(&state)),
        Err(TokenError::Failed(err)) => Err(err.into()),
    }
}
