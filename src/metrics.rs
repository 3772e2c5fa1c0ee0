//! Prometheus metrics: every series Latchkey exports, in one registry per application.
//!
//! A registry per [`Metrics`] (not the process-global default) so that several applications in
//! one process (tests, an embedding program) each report their own. The series are made with
//! the `prometheus` crate and rendered by its text encoder, never by string formatting. They
//! are served by `startup` on `LATCHKEY_METRICS_BIND`, a listener of their own, never on the
//! public port. Gauges that describe the deployment (the outbox) are read from the database
//! at each scrape by the HTTP layer, so every instance reports the same, whole picture.

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Request latencies in seconds: from a cached validate (well under a millisecond) to a
/// login queued behind argon2 permits.
const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// One argon2id hash at the OWASP cost takes 10-20 ms on a server core.
const HASH_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
];

/// Every series, registered in its own registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// `latchkey_http_requests_total{route,status}`: route is the pattern, never the path.
    pub http_requests: IntCounterVec,
    /// `latchkey_http_request_duration_seconds{route}`.
    pub http_duration: HistogramVec,
    /// `latchkey_logins_total{outcome}`: `success`, `invalid`, `throttled`.
    pub logins: IntCounterVec,
    /// `latchkey_password_resets_total{stage}`: `requested`, `sent`, `completed`.
    pub password_resets: IntCounterVec,
    /// `latchkey_rate_limited_total{limit}`: requests refused by each limit.
    pub rate_limited: IntCounterVec,
    /// `latchkey_password_hash_seconds`: time of one argon2id (or imported-scheme) computation.
    pub hash_seconds: Histogram,
    /// `latchkey_password_hash_queue`: callers waiting for a hashing permit.
    pub hash_queue: IntGauge,
    /// `latchkey_outbox_messages{state}`, read from the database.
    pub outbox_messages: IntGaugeVec,
    /// `latchkey_outbox_oldest_pending_seconds`, read from the database (0 when none waits).
    pub outbox_oldest_pending: Gauge,
}

impl Metrics {
    /// Creates and registers every series.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let vec = IntCounterVec::new(Opts::new(name, help), labels)
                .unwrap_or_else(|err| unreachable!("static metric {name}: {err}"));
            register(&registry, vec.clone());
            vec
        };
        let http_requests = counter(
            "latchkey_http_requests_total",
            "HTTP requests answered, by route pattern and status code.",
            &["route", "status"],
        );
        let logins = counter(
            "latchkey_logins_total",
            "Login attempts (API and pages), by outcome.",
            &["outcome"],
        );
        let password_resets = counter(
            "latchkey_password_resets_total",
            "Password resets by stage: requested (accepted request), sent (reset mail accepted by the mail server), completed (new password set).",
            &["stage"],
        );
        let rate_limited = counter(
            "latchkey_rate_limited_total",
            "Requests refused by a rate limit, by limit.",
            &["limit"],
        );
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "latchkey_http_request_duration_seconds",
                "Time to answer an HTTP request, by route pattern.",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["route"],
        )
        .unwrap_or_else(|err| unreachable!("static metric: {err}"));
        register(&registry, http_duration.clone());
        let hash_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "latchkey_password_hash_seconds",
                "Time of one password hash computation.",
            )
            .buckets(HASH_BUCKETS.to_vec()),
        )
        .unwrap_or_else(|err| unreachable!("static metric: {err}"));
        register(&registry, hash_seconds.clone());
        let hash_queue = IntGauge::new(
            "latchkey_password_hash_queue",
            "Callers waiting for a password-hashing permit.",
        )
        .unwrap_or_else(|err| unreachable!("static metric: {err}"));
        register(&registry, hash_queue.clone());
        let outbox_messages = IntGaugeVec::new(
            Opts::new(
                "latchkey_outbox_messages",
                "Messages in the outbox of the whole deployment, by state (read from the database).",
            ),
            &["state"],
        )
        .unwrap_or_else(|err| unreachable!("static metric: {err}"));
        register(&registry, outbox_messages.clone());
        let outbox_oldest_pending = Gauge::new(
            "latchkey_outbox_oldest_pending_seconds",
            "Age of the oldest pending message of the deployment (0 when none).",
        )
        .unwrap_or_else(|err| unreachable!("static metric: {err}"));
        register(&registry, outbox_oldest_pending.clone());
        // Known label values start at zero, so a rate() sees the first event.
        for outcome in ["success", "invalid", "throttled"] {
            logins.with_label_values(&[outcome]);
        }
        for stage in ["requested", "sent", "completed"] {
            password_resets.with_label_values(&[stage]);
        }
        Self {
            registry,
            http_requests,
            http_duration,
            logins,
            password_resets,
            rate_limited,
            hash_seconds,
            hash_queue,
            outbox_messages,
            outbox_oldest_pending,
        }
    }

    /// Counts one refusal by `limit`.
    pub fn limited(&self, limit: &str) {
        self.rate_limited.with_label_values(&[limit]).inc();
    }

    /// Counts one login by `outcome`.
    pub fn login(&self, outcome: &str) {
        self.logins.with_label_values(&[outcome]).inc();
    }

    /// Counts one password reset reaching `stage`.
    pub fn reset(&self, stage: &str) {
        self.password_resets.with_label_values(&[stage]).inc();
    }

    /// The counter of reset mails sent (for the delivery workers).
    pub fn resets_sent(&self) -> IntCounter {
        self.password_resets.with_label_values(&["sent"])
    }

    /// Every series in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn register<C: prometheus::core::Collector + 'static>(registry: &Registry, collector: C) {
    // Names are static and distinct, so registration cannot collide.
    let _ = registry.register(Box::new(collector));
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
