//! `/account/sessions`: the account's browsers and apps, each with a button (a CSRF-checked
//! form, no JavaScript) that ends it. Ending this browser's own session logs it out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::login::expired_form;
use super::session::{device_of, CurrentUser};
use super::site::Site;
use super::{redirect, render, PageError};
use crate::db::users::User;
use crate::http::client::client_info;
use crate::http::csrf::{self, CsrfForm, CsrfRejection, PageForm};
use crate::http::form::ApiForm;
use crate::http::{blocking, AppState};
use crate::services::account::devices::{Current, DeviceEntry, DeviceKind};

/// One entry, formatted for people.
struct DeviceView {
    id: String,
    label: String,
    created_at: String,
    last_used_at: String,
    ip_address: String,
    user_agent: String,
    current: bool,
}

impl From<DeviceEntry> for DeviceView {
    fn from(device: DeviceEntry) -> Self {
        let time = crate::i18n::format_datetime;
        Self {
            label: match device.kind {
                DeviceKind::Browser => crate::i18n::t("sessions-browser"),
                DeviceKind::ApiToken => crate::i18n::t("sessions-app"),
            },
            created_at: time(device.created_at),
            last_used_at: device
                .last_used_at
                .map_or_else(|| crate::i18n::t("sessions-not-since"), time),
            ip_address: device
                .ip_address
                .unwrap_or_else(|| crate::i18n::t("sessions-unknown")),
            user_agent: device
                .user_agent
                .unwrap_or_else(|| crate::i18n::t("sessions-unknown")),
            current: device.current,
            id: device.id,
        }
    }
}

#[derive(Template)]
#[template(path = "pages/sessions.html")]
struct SessionsPage {
    site: Site,
    csrf_token: String,
    devices: Vec<DeviceView>,
    notice: Option<String>,
    error: Option<String>,
}

/// The field of `POST /account/sessions`: which entry to end.
pub struct RevokeForm {
    id: String,
}

impl PageForm for RevokeForm {
    fn from_form(form: &ApiForm) -> Self {
        Self {
            id: form.text("id"),
        }
    }
}

/// Query of `GET /account/sessions`.
#[derive(serde::Deserialize)]
pub struct SessionsQuery {
    revoked: Option<String>,
}

async fn page(
    state: &web::Data<AppState>,
    session: &Session,
    user: User,
    notice: Option<String>,
    error: Option<String>,
) -> Result<SessionsPage, PageError> {
    let (accounts, ttl, device) = (
        state.accounts.clone(),
        state.config.session_ttl,
        device_of(session).unwrap_or_default(),
    );
    let devices = blocking::run(move || {
        accounts.devices(user.id, user.password_stamp, Current::Browser(&device), ttl)
    })
    .await??;
    Ok(SessionsPage {
        site: Site::of(&state.config),
        csrf_token: csrf::token(session),
        devices: devices.into_iter().map(DeviceView::from).collect(),
        notice,
        error,
    })
}

/// `GET /account/sessions`.
pub async fn sessions(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<SessionsQuery>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, PageError> {
    let notice = query
        .revoked
        .is_some()
        .then(|| crate::i18n::t("sessions-ended"));
    let page = page(&state, &session, user, notice, None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /account/sessions` with `id`: ends that entry (this browser's own: logs out).
pub async fn revoke(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    form: Result<CsrfForm<RevokeForm>, CsrfRejection>,
) -> Result<HttpResponse, PageError> {
    let form = match form {
        Ok(CsrfForm(form)) => form,
        Err(rejection) => {
            rejection.refused_form()?;
            let page = page(&state, &session, user, None, Some(expired_form())).await?;
            return Ok(render(StatusCode::FORBIDDEN, &page));
        }
    };
    let (accounts, ttl) = (state.accounts.clone(), state.config.session_ttl);
    let (client, id) = (client_info(&req, &state.config), form.id);
    let (user_id, stamp) = (user.id, user.password_stamp);
    let device = device_of(&session).unwrap_or_default();
    let revoked = blocking::run(move || {
        let current = Current::Browser(&device);
        accounts.revoke_device(user_id, stamp, id.trim(), current, ttl, &client)
    })
    .await??;
    match revoked {
        Some(device) if device.current => {
            session.purge();
            Ok(redirect(&Site::of(&state.config).link("/login")))
        }
        Some(_) => Ok(redirect(
            &Site::of(&state.config).link("/account/sessions?revoked=1"),
        )),
        None => {
            let page = page(
                &state,
                &session,
                user,
                None,
                Some(crate::i18n::t("sessions-already-ended")),
            )
            .await?;
            Ok(render(StatusCode::NOT_FOUND, &page))
        }
    }
}
