//! `/`, `/login` and `/logout`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::session::{current_user, log_in, safe_next, safe_return};
use super::site::Site;
use super::{redirect, render, retry_after, PageError};
use crate::http::client::{client_info, limit_key};
use crate::http::csrf::{self, CsrfForm, CsrfRejection, PageForm};
use crate::http::form::ApiForm;
use crate::http::{blocking, AppState};
use crate::i18n;
use crate::services::account::login::LoginError;
use crate::services::ip_limits::LimitError;

/// The login form.
#[derive(Template)]
#[template(path = "pages/login.html")]
pub struct LoginPage {
    site: Site,
    csrf_token: String,
    next: String,
    username: String,
    error: Option<String>,
    no_errors: Vec<String>,
    focus: &'static str,
}

impl LoginPage {
    fn new(
        site: Site,
        session: &Session,
        next: String,
        username: String,
        error: Option<String>,
    ) -> Self {
        Self {
            site,
            csrf_token: csrf::token(session),
            next,
            username,
            error,
            no_errors: Vec::new(),
            focus: "",
        }
    }
}

/// The fields of `POST /login`.
pub struct LoginForm {
    username: String,
    password: SecretString,
    next: String,
}

impl PageForm for LoginForm {
    fn from_form(form: &ApiForm) -> Self {
        Self {
            username: form.text("username").trim().to_owned(),
            password: SecretString::from(form.text("password")),
            next: form.text("next"),
        }
    }
}

/// The field of `POST /logout`.
pub struct LogoutForm {
    next: String,
}

impl PageForm for LogoutForm {
    fn from_form(form: &ApiForm) -> Self {
        Self {
            next: form.text("next"),
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
    let site = Site::of(&state.config);
    Ok(match current_user(&state, &session).await? {
        Some(_) => redirect(&site.link("/account")),
        None => redirect(&site.link("/login")),
    })
}

/// `GET /login`.
pub async fn login_form(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(&state.config, query.next.as_deref().unwrap_or(""));
    if current_user(&state, &session).await?.is_some() {
        return Ok(redirect(&next));
    }
    Ok(render(
        StatusCode::OK,
        &LoginPage::new(Site::of(&state.config), &session, next, String::new(), None),
    ))
}

/// `POST /login`: on success a new session and a redirect to `next` (local paths only).
pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: Result<CsrfForm<LoginForm>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(rejection) => {
            let typed = LoginForm::from_form(&rejection.refused_form()?);
            let next = safe_next(&state.config, &typed.next);
            let site = Site::of(&state.config);
            let page = LoginPage::new(site, &session, next, typed.username, Some(expired_form()));
            return Ok(render(StatusCode::FORBIDDEN, &page));
        }
    };
    let (username, next) = (form.username, safe_next(&state.config, &form.next));
    let again = |status, error: String, focus| {
        let page = LoginPage {
            focus,
            ..LoginPage::new(
                Site::of(&state.config),
                &session,
                next.clone(),
                username.clone(),
                Some(error),
            )
        };
        render(status, &page)
    };
    let throttled = |seconds: u64| {
        let page = again(StatusCode::TOO_MANY_REQUESTS, too_many(seconds), "");
        retry_after(page, seconds)
    };
    let client = client_info(&req, &state.config);
    let ip = limit_key(&client);
    let attempt = match state.limits.login_attempt(ip).await {
        Ok(attempt) => attempt,
        Err(LimitError::Throttled(limit)) => {
            state.metrics.login("throttled");
            return Ok(throttled(limit.retry_after_secs()));
        }
        Err(LimitError::Database(err)) => return Err(err.into()),
    };
    let (accounts, login_name, who) = (state.accounts.clone(), username.clone(), client.clone());
    let password = form.password;
    let outcome =
        blocking::run(move || accounts.verify_credentials(&login_name, &password, ip, &who))
            .await?;
    crate::http::api::auth::count_login(&state.metrics, &outcome);
    match outcome {
        Ok(user) => {
            log_in(&session, &user, &client)?;
            tracing::info!(user_id = user.id, "logged in to a browser session");
            Ok(redirect(&next))
        }
        Err(LoginError::Invalid) => {
            attempt.failed();
            Ok(again(
                StatusCode::UNAUTHORIZED,
                wrong_credentials(),
                "password",
            ))
        }
        Err(LoginError::Throttled(wait)) => Ok(throttled(wait.retry_after_secs())),
        Err(LoginError::Failed(err)) => Err(err.into()),
    }
}

/// `POST /logout`: the session row is deleted and the cookie expired (recorded as `logout`), then
/// the login form, or the form's `next` when it is a local path or an allowed origin.
///
/// A session that is already over (it expired, or was ended elsewhere) arrives as a new, empty
/// one, with no CSRF token to check against: there is nothing left to log out, so the browser
/// simply goes to the login page instead of a "form expired" error. A live session, logged in or
/// not, still needs its token (a cross-site form must not end it), and a cross-site request is
/// refused in every case.
pub async fn logout(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: Result<CsrfForm<LogoutForm>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    let already_over = session.entries().is_empty();
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(CsrfRejection::Refused(_)) if already_over && !csrf::cross_site(&req) => {
            session.purge();
            return Ok(redirect(&Site::of(&state.config).link("/login")));
        }
        Err(rejection) => return Err(rejection.into()),
    };
    if let Some(user_id) = super::session::user_id_of(&session) {
        let (accounts, client) = (state.accounts.clone(), client_info(&req, &state.config));
        blocking::run(move || accounts.browser_logout(user_id, &client)).await?;
    }
    session.purge();
    let to_login = Site::of(&state.config).link("/login");
    Ok(redirect(&safe_return(&state.config, &form.next, &to_login)))
}

/// Shown when a form's CSRF check fails; the form comes back with a fresh token.
pub fn expired_form() -> String {
    i18n::t("expired-form")
}

/// Shown when the username or password is wrong (the page's words; the API keeps the
/// package's `Invalid username/password`).
pub fn wrong_credentials() -> String {
    i18n::t("login-wrong")
}

/// Shown while an address or account is over its failure limit, with the wait that
/// `Retry-After` gives.
pub fn too_many(retry_after_secs: u64) -> String {
    i18n::t1("too-many", "wait", i18n::human_wait(retry_after_secs))
}
