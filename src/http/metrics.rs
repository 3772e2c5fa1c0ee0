//! The HTTP side of metrics: a middleware that counts and times every request by its route
//! *pattern* (`/reset-password/{token}`, never the path, which may hold a token), and the
//! `GET /metrics` handler of the separate metrics listener.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use super::blocking;
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::passwords::PasswordHasher;
use crate::{db, services};

/// Counts `latchkey_http_requests_total{route,status}` and observes
/// `latchkey_http_request_duration_seconds{route}` for every request.
pub async fn track(
    metrics: Arc<Metrics>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let response = next.call(req).await;
    {
        let (route, status) = match &response {
            Ok(response) => (
                response.request().match_pattern(),
                response.status().as_u16(),
            ),
            Err(err) => (None, err.as_response_error().status_code().as_u16()),
        };
        let route = route.unwrap_or_else(|| "unmatched".to_owned());
        metrics
            .http_requests
            .with_label_values(&[route.as_str(), &status.to_string()])
            .inc();
        metrics
            .http_duration
            .with_label_values(&[route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    response
}

/// What the metrics listener needs.
#[derive(Clone, Debug)]
pub struct Scrape {
    /// The series.
    pub metrics: Arc<Metrics>,
    /// For the outbox gauges.
    pub db: db::Db,
    /// For the hash queue gauge.
    pub hasher: Arc<PasswordHasher>,
}

/// `GET /metrics`: refreshes the gauges (the outbox from the database, so every instance
/// reports the whole deployment), then renders every series.
pub async fn scrape(scrape: web::Data<Scrape>) -> HttpResponse {
    let (metrics, db) = (scrape.metrics.clone(), scrape.db.clone());
    metrics
        .hash_queue
        .set(i64::try_from(scrape.hasher.queue_len()).unwrap_or(i64::MAX));
    let refreshed = blocking::run(move || services::outbox_admin::status(&db)).await;
    match refreshed {
        Ok(Ok(status)) => {
            for (state, count) in &status.counts {
                metrics
                    .outbox_messages
                    .with_label_values(&[state])
                    .set(*count);
            }
            let age = status.oldest_pending.map_or(0.0, |at| {
                (db::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.outbox_oldest_pending.set(age);
        }
        // The last values stay; the failure is in the log and in the instance's readiness.
        Ok(Err(err)) => tracing::warn!(error = %err, "metrics: cannot read the outbox"),
        Err(_) => tracing::warn!("metrics: cannot read the outbox"),
    }
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .insert_header(("Cache-Control", "no-store"))
        .body(scrape.metrics.render())
}
