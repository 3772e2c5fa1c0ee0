//! Each request's language, negotiated from `Accept-Language` among the deployment's
//! languages and kept for the request (see [`crate::i18n`]). API requests keep the package's
//! English unless `LATCHKEY_API_LANGUAGE=negotiate`; the mails an API request causes follow
//! its language either way.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;

use super::AppState;
use crate::i18n;

/// The middleware: negotiates, then runs the rest of the request in that language.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let config = &state.config.languages;
    // The API's paths, under any public-URL prefix (no page path has an `api` segment): their
    // mails follow the language, their messages only when the deployment asks for it.
    let api_messages = !req.path().contains("/api/") || config.api_negotiates;
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok());
    let language = i18n::negotiate(accept, &config.offered, &config.default);
    i18n::scope(language, api_messages, next.call(req)).await
}
