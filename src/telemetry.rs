//! Logging: tracing to standard error, as text or JSON lines, filtered by `LATCHKEY_LOG`.
//!
//! Standard output stays free for CLI results. Every line an HTTP request logs sits inside its
//! root span (request id, route pattern, client address; see `http::request_span`): text lines
//! show it as a `request{…}:` prefix, JSON lines as `span`/`spans` beside the event's `fields`.
//! Log lines never carry passwords or tokens: spans skip secret arguments, the request span
//! holds the route pattern rather than the path, and the access log redacts token paths (see
//! `http::access_log`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber; a second call (several apps in one test process) is a no-op.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_new(&config.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
