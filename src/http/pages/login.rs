//! `/`, `/login` and `/logout`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::session::{current_user, log_in, safe_next};
use super::{read_form, redirect, render, retry_after, PageError};
use crate::http::client::{client_info, limit_key};
use crate::http::{blocking, csrf, AppState};
use crate::passwords::HashError;
use crate::services::accounts::{LoginError, INVALID_LOGIN};
use crate::services::throttle::LimitError;

/// The login form.
#[derive(Template)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    csrf_token: String,
    next: String,
    username: String,
    error: Option<&'static str>,
    no_errors: Vec<String>,
}

impl LoginPage {
    fn new(session: &Session, next: String, username: String, error: Option<&'static str>) -> Self {
        Self {
            csrf_token: csrf::token(session),
            next,
            username,
            error,
            no_errors: Vec::new(),
        }
    }
}

/// Query of `GET /login`.
#[derive(serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /`: the account when logged in, else the login form.
pub async fn home(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, PageError> {
    Ok(match current_user(&state, &session).await? {
        Some(_) => redirect("/account"),
        None => redirect("/login"),
    })
}

/// `GET /login`.
pub async fn login_form(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(query.next.as_deref().unwrap_or(""));
    if current_user(&state, &session).await?.is_some() {
        return Ok(redirect(&next));
    }
    Ok(render(
        StatusCode::OK,
        &LoginPage::new(&session, next, String::new(), None),
    ))
}

/// `POST /login`: on success a new session and a redirect to `next` (local paths only).
pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = read_form(&req, payload).await?;
    let (username, next) = (
        form.text("username").trim().to_owned(),
        safe_next(&form.text("next")),
    );
    let again = |status, error| {
        render(
            status,
            &LoginPage::new(&session, next.clone(), username.clone(), Some(error)),
        )
    };
    if csrf::verify(&session, &req, &form.text(csrf::FIELD)).is_err() {
        return Ok(again(StatusCode::FORBIDDEN, EXPIRED_FORM));
    }
    let client = client_info(&req, &state.config);
    let ip = limit_key(&client);
    let attempt = match state.limits.login_attempt(ip).await {
        Ok(attempt) => attempt,
        Err(LimitError::Throttled(throttled)) => {
            state.metrics.login("throttled");
            let page = again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY);
            return Ok(retry_after(page, throttled.retry_after_secs()));
        }
        Err(LimitError::Database(err)) => return Err(err.into()),
    };
    let (accounts, login_name) = (state.accounts.clone(), username.clone());
    let password = SecretString::from(form.text("password"));
    let outcome =
        blocking::run(move || accounts.verify_credentials(&login_name, &password, ip)).await?;
    crate::http::api::auth::count_login(&state.metrics, &outcome);
    match outcome {
        Ok(user) => {
            log_in(&session, &user)?;
            tracing::info!(user_id = user.id, "logged in to a browser session");
            Ok(redirect(&next))
        }
        Err(LoginError::Invalid) => {
            attempt.failed();
            Ok(again(StatusCode::UNAUTHORIZED, INVALID_LOGIN))
        }
        Err(LoginError::Throttled(wait)) => {
            let page = again(StatusCode::TOO_MANY_REQUESTS, TOO_MANY);
            Ok(retry_after(page, wait.as_secs().max(1)))
        }
        Err(LoginError::Hash(HashError::Busy)) => Err(PageError::Unavailable),
        Err(LoginError::Hash(err)) => Err(PageError::internal(&err)),
        Err(LoginError::Database(err)) => Err(err.into()),
    }
}

/// `POST /logout`: the session row is deleted and the cookie expired.
pub async fn logout(
    session: Session,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let form = read_form(&req, payload).await?;
    csrf::verify(&session, &req, &form.text(csrf::FIELD)).map_err(|_| PageError::Forbidden)?;
    session.purge();
    Ok(redirect("/login"))
}

/// Shown when a form's CSRF check fails; the form comes back with a fresh token.
pub const EXPIRED_FORM: &str = "This form expired or came from another site. Please try again.";
/// Shown while an address or account is over its failure limit.
pub const TOO_MANY: &str =
    "Too many failed attempts. Please wait a few minutes, or reset your password.";
