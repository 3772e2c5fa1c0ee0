//! Where messages go: SMTP (lettre's protocol over pooled, deadline-bound connections), one
//! `.eml` file per message, or the log. All three are driven by the same outbox workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::{FileTransport, Message, Transport as _};

use super::smtp::{SmtpSender, SmtpUrlError};
use crate::config::{EmailBackend, EmailConfig};

/// Why a send failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The server refused for good (5xx) or the message is unusable: do not retry.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// Connection trouble, a timeout or a 4xx: retry later.
    #[error("temporary failure: {0}")]
    Transient(String),
}

/// A configured backend.
#[derive(Clone)]
pub enum Transport {
    /// SMTP with pooled connections.
    Smtp(Arc<SmtpSender>),
    /// `.eml` files in a directory.
    File(FileTransport),
    /// The log (development only: it prints live links).
    Log,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Smtp(_) => "Transport::Smtp",
            Self::File(_) => "Transport::File",
            Self::Log => "Transport::Log",
        })
    }
}

/// The backend could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `LATCHKEY_SMTP_URL` was refused.
    #[error("invalid LATCHKEY_SMTP_URL: {0}")]
    SmtpUrl(#[from] SmtpUrlError),
    /// The mail directory could not be created.
    #[error("cannot create LATCHKEY_MAIL_DIR {0}: {1}")]
    MailDir(String, std::io::Error),
}

impl Transport {
    /// Builds the configured backend. SMTP connections are pooled (one per worker) and one send
    /// attempt as a whole ends within `smtp_timeout`, which is shorter than a claim's lease.
    pub fn from_config(config: &EmailConfig) -> Result<Self, TransportError> {
        match config.backend {
            EmailBackend::Smtp => Ok(Self::Smtp(Arc::new(SmtpSender::from_url(
                &config.smtp_url,
                config.smtp_timeout,
                config.workers as usize,
            )?))),
            EmailBackend::File => {
                std::fs::create_dir_all(&config.mail_dir).map_err(|err| {
                    TransportError::MailDir(config.mail_dir.display().to_string(), err)
                })?;
                Ok(Self::File(FileTransport::new(&config.mail_dir)))
            }
            EmailBackend::Log => Ok(Self::Log),
        }
    }

    /// How many messages a worker claims at once: one over SMTP, where a slow or hung server
    /// must not hold other messages back; a batch for local backends, which never stall.
    pub fn batch_size(&self) -> i64 {
        match self {
            Self::Smtp(_) => 1,
            Self::File(_) | Self::Log => 8,
        }
    }

    /// The longest one send may take, for SMTP (`LATCHKEY_SMTP_TIMEOUT`): a claim's lease is
    /// never extended past it. `None` for local backends, which wait on no network.
    pub fn budget(&self) -> Option<Duration> {
        match self {
            Self::Smtp(smtp) => Some(smtp.budget()),
            Self::File(_) | Self::Log => None,
        }
    }

    /// Sends one message synchronously (called from a worker thread, never an async task). Over
    /// SMTP the whole attempt ends by `deadline`; local backends do not wait on a network.
    pub fn send(&self, message: &Message, deadline: Instant) -> Result<(), SendError> {
        match self {
            Self::Smtp(smtp) => smtp.send(message.envelope(), &message.formatted(), deadline),
            Self::File(file) => file
                .send(message)
                .map(|_| ())
                .map_err(|err| SendError::Transient(err.to_string())),
            Self::Log => {
                let raw = String::from_utf8_lossy(&message.formatted()).into_owned();
                tracing::info!(target: "latchkey::email", message = %raw, "email (log backend)");
                Ok(())
            }
        }
    }
}
