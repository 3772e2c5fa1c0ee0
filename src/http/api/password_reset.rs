//! django-rest-passwordreset's endpoints: request a token, validate it, confirm it with a new
//! password. Paths, fields, status codes and bodies match the package; see the README for the
//! deliberate differences.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::schemas;
use super::{status_ok, Endpoint};
use crate::config::AccountBinding;
use crate::http::client::{client_info, limit_key};
use crate::http::errors::FieldErrors;
use crate::http::form::{check, read_fields, ApiForm, Trim};
use crate::http::{blocking, ApiError, AppState};
use crate::services::reset::confirm::ConfirmError;
use crate::services::reset::request::RequestError;
use crate::services::reset::token::TokenError;
use crate::services::reset::{PresentedToken, ResetIdentifier};

/// The package's answer to an unknown, used or expired token.
pub const INVALID_TOKEN: &str =
    "The OTP password entered is not valid. Please check and try again.";

/// The package's answer to an unknown address when information leakage is allowed.
const NO_ACCOUNT: &str =
    "We couldn't find an account associated with that email. Please try a different e-mail address.";

/// The three endpoints, mounted at `/api/password_reset` (see [`super::catalog`]), as the
/// package's `include(...)`: `{prefix}/`, `{prefix}/validate_token/`, `{prefix}/confirm/`, each
/// also without the trailing slash.
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(__path_request_reset, request_reset),
        Endpoint::new(__path_validate_token, validate_token),
        Endpoint::new(__path_confirm_reset, confirm_reset),
    ]
}

/// `POST {prefix}/` with `email`: always `200 {"status": "OK"}` for a valid address.
///
/// Mails a reset link to the account, if there is an eligible one; the answer is the same
/// either way unless `LATCHKEY_NO_INFORMATION_LEAKAGE=false`.
///
/// Checks run in SPEC §4.1's order: the field, the address, the account (only when leakage is
/// allowed), then the per-IP limit, so a malformed request is told what is wrong and never
/// uses up the client's allowance. Validate and confirm likewise count only requests that
/// carry their fields.
#[utoipa::path(
    post,
    path = "/",
    tag = "password_reset",
    operation_id = "password_reset_request",
    summary = "Request a password-reset mail",
    description = "Mails a reset link to the account named by `email`, if there is an eligible one \
        (active, and with a usable password unless \
        `LATCHKEY_REQUIRE_USABLE_PASSWORD=false`). The answer is the same whether or not \
        there is one, unless `LATCHKEY_NO_INFORMATION_LEAKAGE=false`. A repeated request \
        issues a new token and the previous one stops working.",
    request_body(content(
        (schemas::ResetRequest = "application/json"),
        (schemas::ResetRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Accepted: a mail is on its way if the account is eligible.",
            body = schemas::StatusOk),
        (status = 400, response = schemas::BadRequest),
        (status = 413, response = schemas::PayloadTooLarge),
        (status = 415, response = schemas::UnsupportedMediaType),
        (status = 429, response = schemas::Throttled),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn request_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let [email] = read_fields(&req, payload, [("email", Trim::Yes)]).await?;
    let identifier = ResetIdentifier::parse(state.config.reset.lookup_field, &email)
        .map_err(|invalid| ApiError::field("email", invalid.to_string()))?;
    if !state.config.reset.no_information_leakage {
        let (reset, identifier) = (state.reset.clone(), identifier.clone());
        blocking::run(move || reset.check_eligible(&identifier))
            .await?
            .map_err(request_error)?;
    }
    let client = client_info(&req, &state.config);
    state.limits.reset_request(limit_key(&client)).await?;
    state
        .reset
        .accept(&identifier, &client)
        .await
        .map_err(request_error)?;
    state.metrics.reset("requested");
    Ok(status_ok())
}

fn request_error(err: RequestError) -> ApiError {
    match err {
        RequestError::NoAccount => ApiError::field("email", NO_ACCOUNT),
        RequestError::Failed(err) => err.into(),
    }
}

/// `POST {prefix}/validate_token/` with `token` (and, for number codes, `email`): 200 while
/// the token can be used, never consuming it.
#[utoipa::path(
    post,
    path = "/validate_token/",
    tag = "password_reset",
    operation_id = "password_reset_validate_token",
    summary = "Check that a reset token can be used",
    description = "200 while the token can be used; it is not consumed. Number codes also take the \
        account's `email`.",
    request_body(content(
        (schemas::TokenCheck = "application/json"),
        (schemas::TokenCheck = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The token can be used.", body = schemas::TokenValid),
        (status = 400, response = schemas::BadRequest),
        (status = 404, response = schemas::InvalidToken),
        (status = 413, response = schemas::PayloadTooLarge),
        (status = 415, response = schemas::UnsupportedMediaType),
        (status = 429, response = schemas::Throttled),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn validate_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let form = ApiForm::read(&req, payload).await?;
    let mut errors = FieldErrors::new();
    let presented = presented_token(&state, &form, &mut errors);
    check(errors)?;
    let presented = presented.ok_or_else(invalid_token)?;
    admit(&state, &req, &presented).await?;
    let reset = state.reset.clone();
    match blocking::run(move || reset.validate(&presented)).await? {
        Ok(user) if state.config.reset.user_details_on_validation => Ok(HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "status": "OK", "username": user.username, "email": user.email }))),
        Ok(_) => Ok(status_ok()),
        Err(TokenError::Invalid) => Err(invalid_token()),
        Err(TokenError::Failed(err)) => Err(err.into()),
    }
}

/// `POST {prefix}/confirm/` with `token` and `password` (and, for number codes, `email`).
#[utoipa::path(
    post,
    path = "/confirm/",
    tag = "password_reset",
    operation_id = "password_reset_confirm",
    summary = "Set a new password with a reset token",
    description = "The token is checked before the password; when the password breaks a rule, every \
        failing rule is listed and the token stays usable.",
    request_body(content(
        (schemas::ResetConfirm = "application/json"),
        (schemas::ResetConfirm = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "The password is set; the token is used up and every \
            session and API token of the account is revoked.", body = schemas::StatusOk),
        (status = 400, response = schemas::BadRequest),
        (status = 404, response = schemas::InvalidToken),
        (status = 413, response = schemas::PayloadTooLarge),
        (status = 415, response = schemas::UnsupportedMediaType),
        (status = 429, response = schemas::Throttled),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let form = ApiForm::read(&req, payload).await?;
    let mut errors = FieldErrors::new();
    let password = form.string("password", Trim::No, &mut errors);
    let presented = presented_token(&state, &form, &mut errors);
    check(errors)?;
    let presented = presented.ok_or_else(invalid_token)?;
    let client = admit(&state, &req, &presented).await?;
    let reset = state.reset.clone();
    let password = password.unwrap_or_default().into();
    match blocking::run(move || reset.confirm(&presented, password, &client)).await? {
        Ok(()) => {
            state.metrics.reset("completed");
            Ok(status_ok())
        }
        Err(err) => Err(confirm_error(err)),
    }
}

/// The `email` a number code is presented with: `Some(None)` when none was given and none is
/// needed; `None` when the field is wrong (the error is in `errors`). Ignored for string
/// tokens, as the package ignores fields it does not know.
fn presented_account(
    state: &AppState,
    form: &ApiForm,
    errors: &mut FieldErrors,
) -> Option<Option<ResetIdentifier>> {
    match state.reset.account_binding() {
        AccountBinding::Ignored => Some(None),
        AccountBinding::Accepted if !form.has("email") => Some(None),
        AccountBinding::Accepted | AccountBinding::Required => {
            let typed = form.string("email", Trim::Yes, errors)?;
            match ResetIdentifier::parse(state.config.reset.lookup_field, &typed) {
                Ok(identifier) => Some(Some(identifier)),
                Err(invalid) => {
                    errors.insert("email".to_owned(), vec![invalid.to_string()]);
                    None
                }
            }
        }
    }
}

/// The `token` (and a number code's `email`) of a validate or confirm body; `None` when a
/// field is wrong, with its error in `errors` (both fields are read, so all errors are listed).
fn presented_token(
    state: &AppState,
    form: &ApiForm,
    errors: &mut FieldErrors,
) -> Option<PresentedToken> {
    let token = form.string("token", Trim::Yes, errors);
    let account = presented_account(state, form, errors);
    Some(PresentedToken {
        token: token?,
        account: account?,
    })
}

/// Counts a token check against the client's limits (a code bound to its account is exempt
/// from the global limit), then refuses a token of an impossible shape without a look-up.
async fn admit(
    state: &AppState,
    req: &HttpRequest,
    presented: &PresentedToken,
) -> Result<crate::services::ClientInfo, ApiError> {
    let client = client_info(req, &state.config);
    state
        .limits
        .token_check(limit_key(&client), presented.account.is_some())
        .await?;
    if state.reset.could_be_token(&presented.token) {
        Ok(client)
    } else {
        Err(invalid_token())
    }
}

fn invalid_token() -> ApiError {
    ApiError::detail(StatusCode::NOT_FOUND, INVALID_TOKEN)
}

/// How a failed confirm answers.
pub fn confirm_error(err: ConfirmError) -> ApiError {
    match err {
        ConfirmError::InvalidToken => invalid_token(),
        ConfirmError::WeakPassword(violations) => ApiError::Fields(
            [(
                "password".to_owned(),
                violations.iter().map(ToString::to_string).collect(),
            )]
            .into(),
        ),
        ConfirmError::Failed(err) => err.into(),
    }
}
