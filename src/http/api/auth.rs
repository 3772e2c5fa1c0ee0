//! `/api/auth/…`: log in for a bearer token, log out, who am I, change password.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::SecondsFormat;
use secrecy::SecretString;
use serde_json::json;

use super::{schemas, Endpoint};
use crate::error::Failure;
use crate::http::bearer::Bearer;
use crate::http::client::{client_info, limit_key};
use crate::http::errors::FieldErrors;
use crate::http::form::{read_fields, Trim};
use crate::http::{blocking, ApiError, AppState};
use crate::services::account::change_password::ChangeError;
use crate::services::account::devices::{Current, DeviceEntry};
use crate::services::account::login::{LoginError, INVALID_LOGIN};
use crate::services::account::sessions::Keep;

/// The account endpoints, mounted at `/api/auth` (see [`super::catalog`]).
pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(__path_login, login),
        Endpoint::new(__path_logout, logout),
        Endpoint::new(__path_logout_all, logout_all),
        Endpoint::new(__path_me, me),
        Endpoint::new(__path_change_password, change_password),
        Endpoint::new(__path_list_sessions, list_sessions),
        Endpoint::new(__path_revoke_session, revoke_session),
    ]
}

/// `POST /api/auth/login` with `username` (or an email address) and `password`.
#[utoipa::path(
    post,
    path = "/login",
    tag = "accounts",
    operation_id = "login",
    summary = "Log in for a bearer token",
    description = "`username` may also be the account's email address. Failures answer the same, in \
        comparable time, whether the account exists or not.",
    request_body(content(
        (schemas::LoginRequest = "application/json"),
        (schemas::LoginRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Logged in: a new bearer token.", body = schemas::LoginToken),
        (status = 400, response = schemas::BadRequest),
        (status = 401, description = "Wrong username or password (the same answer whether the \
            account exists or not).", body = schemas::Detail,
            headers(("WWW-Authenticate" = String, description = "`Bearer`.")),
            example = json!({"detail": "Invalid username/password"})),
        (status = 413, response = schemas::PayloadTooLarge),
        (status = 415, response = schemas::UnsupportedMediaType),
        (status = 429, response = schemas::Throttled),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req, &state.config);
    let ip = limit_key(&client);
    let attempt = match state.limits.login_attempt(ip).await {
        Err(err @ crate::services::ip_limits::LimitError::Throttled(_)) => {
            state.metrics.login("throttled");
            return Err(err.into());
        }
        other => other?,
    };
    let [username, password] = read_fields(
        &req,
        payload,
        [("username", Trim::Yes), ("password", Trim::No)],
    )
    .await?;
    let password = SecretString::from(password);
    let accounts = state.accounts.clone();
    let outcome = blocking::run(move || {
        let user = accounts.verify_credentials(&username, &password, ip, &client)?;
        Ok::<_, LoginError>(accounts.issue_token(&user, &client)?)
    })
    .await?;
    count_login(&state.metrics, &outcome);
    match outcome {
        Ok(issued) => Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(json!({
            "token": issued.token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true),
        }))),
        Err(LoginError::Invalid) => {
            attempt.failed();
            Err(ApiError::Unauthorized(INVALID_LOGIN.to_owned()))
        }
        Err(LoginError::Throttled(wait)) => Err(wait.into()),
        Err(LoginError::Failed(err)) => Err(failed(err)),
    }
}

/// `POST /api/auth/logout`: revokes the calling token.
#[utoipa::path(
    post,
    path = "/logout",
    tag = "accounts",
    operation_id = "logout",
    summary = "Revoke the calling bearer token",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The token is revoked."),
        (status = 401, response = schemas::Unauthorized),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let (accounts, client) = (state.accounts.clone(), client_info(&req, &state.config));
    blocking::run(move || accounts.logout(&auth, &client)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/auth/logout_all`: revokes every token and browser session of the account.
#[utoipa::path(
    post,
    path = "/logout_all",
    tag = "accounts",
    operation_id = "logout_all",
    summary = "Revoke every token and browser session of the account",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Every token and browser session of the account is revoked."),
        (status = 401, response = schemas::Unauthorized),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn logout_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let (accounts, client) = (state.accounts.clone(), client_info(&req, &state.config));
    blocking::run(move || accounts.logout_everywhere(auth.user.id, &client)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// A device-list entry as JSON.
pub fn device_json(device: &DeviceEntry) -> serde_json::Value {
    let time = |at: chrono::NaiveDateTime| at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({
        "id": device.id,
        "kind": device.kind.as_str(),
        "created_at": time(device.created_at),
        "last_used_at": device.last_used_at.map(time),
        "ip_address": device.ip_address,
        "user_agent": device.user_agent,
        "current": device.current,
    })
}

/// `GET /api/auth/sessions`: the account's live bearer tokens and browser sessions.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "accounts",
    operation_id = "list_sessions",
    summary = "The account's live API tokens and browser sessions",
    description = "Every live sign-in of the account behind the bearer token, the calling token marked `current`.",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account's live sign-ins.", body = Vec<schemas::Device>),
        (status = 401, response = schemas::Unauthorized),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn list_sessions(
    state: web::Data<AppState>,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let (accounts, ttl) = (state.accounts.clone(), state.config.session_ttl);
    let devices = blocking::run(move || {
        accounts.devices(
            auth.user.id,
            auth.user.password_stamp,
            Current::ApiToken(auth.token_id),
            ttl,
        )
    })
    .await??;
    let list: Vec<serde_json::Value> = devices.iter().map(device_json).collect();
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(list))
}

/// `DELETE /api/auth/sessions/{id}`: revokes one of the account's own entries; `404` for an
/// unknown id or another account's.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "accounts",
    operation_id = "revoke_session",
    summary = "End one of the account's API tokens or browser sessions",
    description = "Revokes exactly the sign-in with that id (from `GET /api/auth/sessions`).",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The opaque id from the list")),
    responses(
        (status = 204, description = "That sign-in is revoked."),
        (status = 401, response = schemas::Unauthorized),
        (status = 404, response = schemas::DeviceNotFound),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn revoke_session(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let (accounts, ttl) = (state.accounts.clone(), state.config.session_ttl);
    let client = client_info(&req, &state.config);
    let id = id.into_inner();
    let revoked = blocking::run(move || {
        let current = Current::ApiToken(auth.token_id);
        accounts.revoke_device(
            auth.user.id,
            auth.user.password_stamp,
            &id,
            current,
            ttl,
            &client,
        )
    })
    .await??;
    match revoked {
        Some(_) => Ok(HttpResponse::NoContent().finish()),
        None => Err(ApiError::detail(StatusCode::NOT_FOUND, "Not found.")),
    }
}

/// `GET /api/auth/me`.
#[utoipa::path(
    get,
    path = "/me",
    tag = "accounts",
    operation_id = "me",
    summary = "The account behind the bearer token",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The account behind the token.", body = schemas::Me),
        (status = 401, response = schemas::Unauthorized),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn me(Bearer(auth): Bearer) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(
            json!({ "id": auth.user.id, "username": auth.user.username, "email": auth.user.email }),
        )
}

/// `POST /api/auth/change_password` with `old_password`, `password`, `confirm_password`.
#[utoipa::path(
    post,
    path = "/change_password",
    tag = "accounts",
    operation_id = "change_password",
    summary = "Change the password",
    description = "Every other token and browser session of the account is revoked; the calling \
        token keeps working.",
    security(("bearer" = [])),
    request_body(content(
        (schemas::ChangePasswordRequest = "application/json"),
        (schemas::ChangePasswordRequest = "application/x-www-form-urlencoded"),
    )),
    responses(
        (status = 200, description = "Changed; every other token and session of the account is \
            revoked.", body = schemas::StatusOk),
        (status = 400, response = schemas::BadRequest),
        (status = 401, response = schemas::Unauthorized),
        (status = 413, response = schemas::PayloadTooLarge),
        (status = 415, response = schemas::UnsupportedMediaType),
        (status = 429, response = schemas::Throttled),
        (status = 503, response = schemas::Unavailable),
    )
)]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req, &state.config);
    let fields = [
        ("old_password", Trim::No),
        ("password", Trim::No),
        ("confirm_password", Trim::No),
    ];
    let [old, new, confirm] = read_fields(&req, payload, fields)
        .await?
        .map(SecretString::from);
    let accounts = state.accounts.clone();
    let keep = Keep {
        api_token: Some(auth.token_id),
    };
    let outcome = blocking::run(move || {
        accounts.change_password(&auth.user, &old, new, &confirm, keep, &client)
    })
    .await?;
    if let Err(ChangeError::Throttled(_)) = &outcome {
        state.metrics.limited("password_changes_per_account");
    }
    match outcome {
        Ok(_) => Ok(super::status_ok()),
        Err(err) => Err(change_error(err)),
    }
}

/// How a refused password change answers (shared with the change-password page's wording).
pub fn change_error(err: ChangeError) -> ApiError {
    match err {
        ChangeError::Invalid(problems) => {
            let mut fields = FieldErrors::new();
            if let Some(message) = problems.old_password {
                fields.insert("old_password".to_owned(), vec![message.to_owned()]);
            }
            if let Some(message) = problems.confirm_password {
                fields.insert("confirm_password".to_owned(), vec![message.to_owned()]);
            }
            if !problems.password.is_empty() {
                fields.insert(
                    "password".to_owned(),
                    problems.password.iter().map(ToString::to_string).collect(),
                );
            }
            ApiError::Fields(fields)
        }
        ChangeError::Throttled(wait) => wait.into(),
        ChangeError::Failed(err) => failed(err),
    }
}

/// A saturated hasher says so on the endpoints that verify a password; anything else is the
/// common answer.
fn failed(err: Failure) -> ApiError {
    match err {
        Failure::Busy => ApiError::detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many logins at once. Please try again shortly.",
        ),
        err => err.into(),
    }
}

/// Counts a verified (or refused) login in `latchkey_logins_total{outcome}`, and a per-account
/// refusal as its limit too. Failures that are not the caller's (hasher busy, database down)
/// are no login outcome.
pub fn count_login<T>(metrics: &crate::metrics::Metrics, outcome: &Result<T, LoginError>) {
    match outcome {
        Ok(_) => metrics.login("success"),
        Err(LoginError::Invalid) => metrics.login("invalid"),
        Err(LoginError::Throttled(_)) => {
            metrics.login("throttled");
            metrics.limited("login_failures_per_account_ip");
        }
        Err(_) => {}
    }
}
