//! `/account` and `/account/password`.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use secrecy::SecretString;

use super::login::{expired_form, too_many};
use super::session::{log_in, CurrentUser};
use super::site::Site;
use super::{redirect, render, retry_after, PageError};
use crate::db::users::User;
use crate::http::client::client_info;
use crate::http::csrf::{self, CsrfForm, CsrfRejection, PageForm};
use crate::http::form::ApiForm;
use crate::http::{blocking, AppState};
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

/// The fields of `POST /account/password`.
pub struct ChangePasswordForm {
    old_password: SecretString,
    password: SecretString,
    confirm_password: SecretString,
}

impl PageForm for ChangePasswordForm {
    fn from_form(form: &ApiForm) -> Self {
        let secret = |name: &str| SecretString::from(form.text(name));
        Self {
            old_password: secret("old_password"),
            password: secret("password"),
            confirm_password: secret("confirm_password"),
        }
    }
}

/// `GET /account`: who is logged in, with links to change the password and log out.
pub async fn account(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<AccountQuery>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, PageError> {
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
    CurrentUser(user): CurrentUser,
) -> HttpResponse {
    render(
        StatusCode::OK,
        &ChangePasswordPage::blank(&state, &session, &user, None),
    )
}

/// `POST /account/password`: the same service as the API. Every other session and token of the
/// account is revoked; this browser continues in a renewed session.
pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: Result<CsrfForm<ChangePasswordForm>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(rejection) => {
            rejection.refused_form()?;
            return Ok(render(
                StatusCode::FORBIDDEN,
                &ChangePasswordPage::blank(&state, &session, &user, Some(expired_form())),
            ));
        }
    };
    let client = client_info(&req, &state.config);
    let who = client.clone();
    let (old, new, confirm) = (form.old_password, form.password, form.confirm_password);
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
        Ok(stamp) => {
            let changed = User {
                password_stamp: stamp,
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
