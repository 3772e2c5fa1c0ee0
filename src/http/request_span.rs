//! The root span of every request: a request id, the route *pattern* (never the path, which may
//! hold a token), the client address as [`client_info`] resolves it, the method and, at the end,
//! the status. Every log line of the request, the access log included, carries it.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder, TracingLogger};

use super::client::client_info;
use super::{access_log, AppState};

/// What the span and the access log show as the route of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Builds [`tracing_actix_web`]'s root span our way (its default records the raw path).
#[derive(Debug, Clone, Copy)]
pub struct RequestSpan;

/// When the request arrived, for the access log's duration.
#[derive(Debug, Clone, Copy)]
struct Started(Instant);

/// The outermost middleware: opens the root span, writes the access log line when the request
/// is answered.
pub fn middleware() -> TracingLogger<RequestSpan> {
    TracingLogger::new()
}

/// The request id `TracingLogger` gave `req`, as text (empty outside the middleware).
pub fn request_id(req: &actix_web::HttpRequest) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// The route pattern of `req` (under the public URL's prefix), or [`UNMATCHED`].
pub fn route(req: &actix_web::HttpRequest) -> String {
    req.match_pattern().unwrap_or_else(|| UNMATCHED.to_owned())
}

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(req: &ServiceRequest) -> Span {
        let span = tracing::info_span!(
            "request",
            request_id = tracing::field::Empty,
            method = %req.method(),
            route = tracing::field::Empty,
            client_ip = tracing::field::Empty,
            status = tracing::field::Empty,
        );
        // With the request log off (`LATCHKEY_LOG=warn`) the span is disabled and nothing
        // below runs, so a span per request costs the hot endpoints next to nothing.
        if !span.is_disabled() || access_log::enabled() {
            req.extensions_mut().insert(Started(Instant::now()));
        }
        if !span.is_disabled() {
            span.record("request_id", request_id(req.request()).as_str());
            span.record("route", route(req.request()).as_str());
            if let Some(ip) = req
                .app_data::<web::Data<AppState>>()
                .and_then(|state| client_info(req.request(), &state.config).ip_text())
            {
                span.record("client_ip", ip);
            }
        }
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if !span.is_disabled() {
            let status = match outcome {
                Ok(response) => response.status(),
                Err(err) => err.as_response_error().status_code(),
            };
            span.record("status", status.as_u16());
        }
        if let (Ok(response), true) = (outcome, access_log::enabled()) {
            let req = response.request();
            let started = req.extensions().get::<Started>().map(|started| started.0);
            access_log::record(response, &route(req), &request_id(req), started);
        }
    }
}
