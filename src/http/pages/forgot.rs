//! `/forgot-password`: the form asking for a reset link, and the "check your inbox" page that
//! answers it, the same for every address.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::login::expired_form;
use super::site::Site;
use super::{render, PageError};
use crate::config::LookupField;
use crate::http::client::{client_info, limit_key};
use crate::http::csrf::{self, CsrfForm, CsrfRejection, PageForm};
use crate::http::form::{ApiForm, BLANK};
use crate::http::AppState;
use crate::i18n;
use crate::services::reset::request::RequestError;
use crate::services::reset::ResetIdentifier;

#[derive(Template)]
#[template(path = "pages/forgot_password.html")]
struct ForgotPage {
    site: Site,
    csrf_token: String,
    by_username: bool,
    email: String,
    email_errors: Vec<String>,
    error: Option<String>,
    focus: &'static str,
}

#[derive(Template)]
#[template(path = "pages/check_inbox.html")]
struct CheckInboxPage {
    by_username: bool,
    site: Site,
    lifetime: String,
}

/// The field of `POST /forgot-password`: the address (or username) typed.
pub struct ForgotForm {
    email: String,
}

impl PageForm for ForgotForm {
    fn from_form(form: &ApiForm) -> Self {
        Self {
            email: form.text("email").trim().to_owned(),
        }
    }
}

/// `GET /forgot-password`.
pub async fn forgot_form(state: web::Data<AppState>, session: Session) -> HttpResponse {
    render(
        StatusCode::OK,
        &forgot_page(&state, &session, String::new(), Vec::new(), None),
    )
}

/// The form asks for what the deployment looks accounts up by (`LATCHKEY_LOOKUP_FIELD`): asked
/// for an email address where only usernames are looked up, people type one, are told to
/// check their inbox, and no mail ever comes.
fn forgot_page(
    state: &AppState,
    session: &Session,
    email: String,
    email_errors: Vec<String>,
    error: Option<String>,
) -> ForgotPage {
    let focus = if email_errors.is_empty() { "" } else { "email" };
    ForgotPage {
        site: Site::of(&state.config),
        csrf_token: csrf::token(session),
        by_username: state.config.reset.lookup_field == LookupField::Username,
        email,
        email_errors,
        error,
        focus,
    }
}

/// `POST /forgot-password`: always the same "check your inbox" page for a valid address.
pub async fn forgot(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    form: Result<CsrfForm<ForgotForm>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    let typed = match form {
        Ok(CsrfForm(form)) => form.email,
        Err(rejection) => {
            let typed = ForgotForm::from_form(&rejection.refused_form()?).email;
            return Ok(render(
                StatusCode::FORBIDDEN,
                &forgot_page(&state, &session, typed, Vec::new(), Some(expired_form())),
            ));
        }
    };
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
            let message = i18n::translate_api_message(&message);
            let page = forgot_page(&state, &session, typed, vec![message], None);
            return Ok(render(StatusCode::BAD_REQUEST, &page));
        }
    };
    match state.reset.accept(&identifier, &client).await {
        Ok(()) => {
            state.metrics.reset("requested");
            Ok(render(
                StatusCode::OK,
                &CheckInboxPage {
                    by_username: state.config.reset.lookup_field == LookupField::Username,
                    lifetime: i18n::format_lifetime(state.config.reset.token_ttl),
                    site: Site::of(&state.config),
                },
            ))
        }
        Err(RequestError::Failed(err)) => Err(err.into()),
        Err(RequestError::NoAccount) => Err(PageError::Internal),
    }
}
