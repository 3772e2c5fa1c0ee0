//! `/api/auth/…`: log in for a bearer token, log out, who am I, change password.

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::SecondsFormat;
use secrecy::SecretString;
use serde_json::json;

use super::endpoint;
use crate::http::bearer::Bearer;
use crate::http::client::{client_info, limit_key};
use crate::http::errors::FieldErrors;
use crate::http::form::{read_fields, Trim};
use crate::http::{blocking, ApiError, AppState};
use crate::passwords::HashError;
use crate::services::accounts::{ChangeError, LoginError, INVALID_LOGIN};
use crate::services::credentials::Keep;

/// Mounts the account endpoints under `prefix` (e.g. `/api/auth`).
pub fn routes(prefix: &str) -> impl FnOnce(&mut web::ServiceConfig) + '_ {
    move |cfg| {
        let prefix = prefix.trim_end_matches('/');
        cfg.service(endpoint(&format!("{prefix}/login/"), Method::POST, login))
            .service(endpoint(&format!("{prefix}/logout/"), Method::POST, logout))
            .service(endpoint(
                &format!("{prefix}/logout_all/"),
                Method::POST,
                logout_all,
            ))
            .service(endpoint(&format!("{prefix}/me/"), Method::GET, me))
            .service(endpoint(
                &format!("{prefix}/change_password/"),
                Method::POST,
                change_password,
            ));
    }
}

/// `POST /api/auth/login` with `username` (or an email address) and `password`.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let client = client_info(&req, &state.config);
    let ip = limit_key(&client);
    let attempt = match state.limits.login_attempt(ip).await {
        Err(err @ crate::services::throttle::LimitError::Throttled(_)) => {
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
        let user = accounts.verify_credentials(&username, &password, ip)?;
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
        Err(LoginError::Throttled(wait)) => Err(throttled(wait)),
        Err(LoginError::Hash(err)) => Err(hash_error(err)),
        Err(LoginError::Database(err)) => Err(err.into()),
    }
}

/// `POST /api/auth/logout`: revokes the calling token.
pub async fn logout(
    state: web::Data<AppState>,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let accounts = state.accounts.clone();
    blocking::run(move || accounts.logout(&auth)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/auth/logout_all`: revokes every token and browser session of the account.
pub async fn logout_all(
    state: web::Data<AppState>,
    Bearer(auth): Bearer,
) -> Result<HttpResponse, ApiError> {
    let accounts = state.accounts.clone();
    blocking::run(move || accounts.logout_everywhere(auth.user.id)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/auth/me`.
pub async fn me(Bearer(auth): Bearer) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(
            json!({ "id": auth.user.id, "username": auth.user.username, "email": auth.user.email }),
        )
}

/// `POST /api/auth/change_password` with `old_password`, `password`, `confirm_password`.
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
        Ok(()) => Ok(super::status_ok()),
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
        ChangeError::Throttled(wait) => throttled(wait),
        ChangeError::Hash(err) => hash_error(err),
        ChangeError::Database(err) => err.into(),
    }
}

fn throttled(wait: std::time::Duration) -> ApiError {
    ApiError::Throttled {
        retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

fn hash_error(err: HashError) -> ApiError {
    match err {
        HashError::Busy => ApiError::detail(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many logins at once. Please try again shortly.",
        ),
        err => ApiError::internal(&err),
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
