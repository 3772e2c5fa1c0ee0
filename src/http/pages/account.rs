//! `/account` and `/account/password`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::login::{expired_form, too_many};
use super::session::{current_user, log_in};
use super::site::Site;
use super::{read_form, redirect, render, retry_after, PageError};
use crate::db::users::User;
use crate::http::client::client_info;
use crate::http::{blocking, csrf, AppState};
use crate::i18n;
use crate::services::account::change_password::ChangeError;
use crate::services::account::sessions::Keep;

#[derive(Template)]
#[template(path = "pages/account.html")]
struct AccountPage {
    site: Site,
    csrf_token: String,
    username: String,
    email: String,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "pages/change_password.html")]
struct ChangePasswordPage {
    site: Site,
    csrf_token: String,
    username: String,
    min_length: usize,
    old_errors: Vec<String>,
    password_errors: Vec<String>,
    confirm_errors: Vec<String>,
    error: Option<String>,
    focus: &'static str,
}

impl ChangePasswordPage {
    fn blank(state: &AppState, session: &Session, user: &User, error: Option<String>) -> Self {
        Self {
            site: Site::of(&state.config),
            csrf_token: csrf::token(session),
            username: user.username.clone(),
            min_length: state.config.passwords.min_length,
            old_errors: Vec::new(),
            password_errors: Vec::new(),
            confirm_errors: Vec::new(),
            error,
            focus: "",
        }
    }

    /// Puts the cursor in the first field with an error.
    fn focus_first_error(mut self) -> Self {
        self.focus = [
            ("old_password", &self.old_errors),
            ("password", &self.password_errors),
            ("confirm_password", &self.confirm_errors),
        ]
        .into_iter()
        .find(|(_, errors)| !errors.is_empty())
        .map_or("", |(name, _)| name);
        self
    }
}

/// Query of `GET /account`.
#[derive(serde::Deserialize)]
pub struct AccountQuery {
    changed: Option<String>,
}

/// The logged-in account, or a redirect to the login form that comes back to `path`.
pub(super) async fn require_user(
    state: &web::Data<AppState>,
    session: &Session,
    path: &str,
) -> Result<Result<User, HttpResponse>, PageError> {
    Ok(match current_user(state, session).await? {
        Some(user) => Ok(user),
        None => {
            let site = Site::of(&state.config);
            let login = site.link("/login");
            Err(redirect(&format!("{login}?next={}", site.link(path))))
        }
    })
}

/// `GET /account`: who is logged in, with links to change the password and log out.
pub async fn account(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<AccountQuery>,
) -> Result<HttpResponse, PageError> {
    let user = match require_user(&state, &session, "/account").await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let page = AccountPage {
        site: Site::of(&state.config),
        csrf_token: csrf::token(&session),
        username: user.username,
        email: user.email,
        notice: query.changed.is_some().then(|| i18n::t("account-changed")),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /account/password`.
pub async fn password_form(
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, PageError> {
    Ok(
        match require_user(&state, &session, "/account/password").await? {
            Ok(user) => render(
                StatusCode::OK,
                &ChangePasswordPage::blank(&state, &session, &user, None),
            ),
            Err(to_login) => to_login,
        },
    )
}

/// `POST /account/password`: the same service as the API. Every other session and token of the
/// account is revoked; this browser continues in a renewed session.
pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let user = match require_user(&state, &session, "/account/password").await? {
        Ok(user) => user,
        Err(to_login) => return Ok(to_login),
    };
    let form = read_form(&req, payload).await?;
    if csrf::verify(&session, &req, &form.text(csrf::FIELD)).is_err() {
        return Ok(render(
            StatusCode::FORBIDDEN,
            &ChangePasswordPage::blank(&state, &session, &user, Some(expired_form())),
        ));
    }
    let client = client_info(&req, &state.config);
    let who = client.clone();
    let secret = |name: &str| SecretString::from(form.text(name));
    let (old, new, confirm) = (
        secret("old_password"),
        secret("password"),
        secret("confirm_password"),
    );
    let blank = ChangePasswordPage::blank(&state, &session, &user, None);
    let (accounts, changing) = (state.accounts.clone(), user.clone());
    let outcome = blocking::run(move || {
        accounts.change_password(&changing, &old, new, &confirm, Keep::NOTHING, &client)
    })
    .await?;
    if let Err(ChangeError::Throttled(_)) = &outcome {
        state.metrics.limited("password_changes_per_account");
    }
    match outcome {
        Ok(()) => {
            let changed = User {
                password_stamp: user.password_stamp + 1,
                ..user
            };
            log_in(&session, &changed, &who)?;
            Ok(redirect(
                &Site::of(&state.config).link("/account?changed=1"),
            ))
        }
        Err(ChangeError::Invalid(problems)) => {
            let mut page = blank;
            page.old_errors
                .extend(problems.old_password.map(i18n::translate_api_message));
            page.confirm_errors
                .extend(problems.confirm_password.map(i18n::translate_api_message));
            page.password_errors = problems
                .password
                .iter()
                .map(|violation| i18n::translate_api_message(&violation.to_string()))
                .collect();
            Ok(render(StatusCode::BAD_REQUEST, &page.focus_first_error()))
        }
        Err(ChangeError::Throttled(wait)) => {
            let seconds = wait.retry_after_secs();
            let page = ChangePasswordPage {
                error: Some(too_many(seconds)),
                ..blank
            };
            Ok(retry_after(
                render(StatusCode::TOO_MANY_REQUESTS, &page),
                seconds,
            ))
        }
        Err(ChangeError::Failed(err)) => Err(err.into()),
    }
}
