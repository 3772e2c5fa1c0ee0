//! SMTP delivery on lettre's blocking client (`SmtpConnection`), with pooled connections.
//!
//! Why not lettre's `SmtpTransport`: in lettre 0.11.23 its sockets keep Nagle's algorithm on
//! and it writes the end-of-data marker as a second small write after the body, so the
//! server's delayed ACK holds every message for ~40 ms: at most ~22 messages/s per connection.
//! (lettre PR #1159 fixes this upstream; it is not released yet.) Here the dot-stuffed body
//! and its terminator leave in one write. Everything else (TCP and TLS, EHLO, STARTTLS, AUTH,
//! commands and replies) is lettre's. Once a lettre release carries the fix, this module can
//! go back to `SmtpTransport`.

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::Error;

use super::SendError;

/// Connections idle longer than this are closed instead of reused (servers drop idle clients).
const MAX_IDLE: Duration = Duration::from_secs(30);

/// How the connection is secured, from `LATCHKEY_SMTP_URL`.
#[derive(Clone)]
enum Security {
    /// `smtp://host` with no `tls` parameter.
    Plain,
    /// `smtp://host?tls=required`: STARTTLS or fail.
    StartTls(TlsParameters),
    /// `smtp://host?tls=opportunistic`: STARTTLS when offered.
    Opportunistic(TlsParameters),
    /// `smtps://host`: TLS from the first byte.
    Implicit(TlsParameters),
}

/// Why the URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum SmtpUrlError {
    /// Not a URL lettre's syntax accepts.
    #[error("expected smtp://[user:pass@]host[:port][?tls=required|opportunistic] or smtps://…")]
    Syntax,
    /// TLS parameters could not be built.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] Error),
}

/// Sends messages over pooled SMTP connections; shared by every worker thread.
pub struct SmtpSender {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    pool_size: usize,
    idle: Mutex<Vec<(SmtpConnection, Instant)>>,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpSender({}:{})", self.host, self.port)
    }
}

impl SmtpSender {
    /// Parses lettre's URL form: `smtp://host:port`, `smtp://host:587?tls=required`,
    /// `smtps://host:465`, credentials as `user:pass@` (percent-encoded), and an optional
    /// path naming the EHLO domain. Every network operation times out after `timeout`.
    pub fn from_url(raw: &str, timeout: Duration, pool_size: usize) -> Result<Self, SmtpUrlError> {
        let url = url::Url::parse(raw).map_err(|_| SmtpUrlError::Syntax)?;
        let host = url.host_str().ok_or(SmtpUrlError::Syntax)?.to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("required")) => {
                (Security::StartTls(TlsParameters::new(host.clone())?), 587)
            }
            ("smtp", Some("opportunistic")) => (
                Security::Opportunistic(TlsParameters::new(host.clone())?),
                587,
            ),
            ("smtps", _) => (Security::Implicit(TlsParameters::new(host.clone())?), 465),
            _ => return Err(SmtpUrlError::Syntax),
        };
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| SmtpUrlError::Syntax)
        };
        let credentials = match url.password() {
            Some(password) => Some(Credentials::new(decode(url.username())?, decode(password)?)),
            None => None,
        };
        let path = url.path().trim_matches('/');
        Ok(Self {
            port: url.port().unwrap_or(default_port),
            host,
            security,
            credentials,
            hello: if path.is_empty() {
                ClientId::default()
            } else {
                ClientId::Domain(path.to_owned())
            },
            timeout,
            pool_size: pool_size.max(1),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Sends one message: a pooled connection if a fresh one is idle, else a new connection.
    /// A reused connection that turns out dead is replaced once before the attempt fails.
    pub fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<(), SendError> {
        let body = DataBody::new(raw);
        if let Some(mut conn) = self.checkout() {
            match transact(&mut conn, envelope, &body) {
                Ok(()) => {
                    self.checkin(conn);
                    return Ok(());
                }
                Err(Failure::Stale) => conn.abort(),
                Err(failure) => {
                    conn.abort();
                    return Err(classify(failure));
                }
            }
        }
        let mut conn = self.connect().map_err(|err| classify(Failure::Smtp(err)))?;
        match transact(&mut conn, envelope, &body) {
            Ok(()) => {
                self.checkin(conn);
                Ok(())
            }
            Err(failure) => {
                conn.abort();
                Err(classify(failure))
            }
        }
    }

    fn connect(&self) -> Result<SmtpConnection, Error> {
        let wrapper = match &self.security {
            Security::Implicit(tls) => Some(tls),
            _ => None,
        };
        let server = (self.host.as_str(), self.port);
        let mut conn =
            SmtpConnection::connect(server, Some(self.timeout), &self.hello, wrapper, None)?;
        match &self.security {
            Security::StartTls(tls) => conn.starttls(tls, &self.hello)?,
            Security::Opportunistic(tls) if conn.can_starttls() => {
                conn.starttls(tls, &self.hello)?
            }
            _ => {}
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)?;
        }
        Ok(conn)
    }

    fn checkout(&self) -> Option<SmtpConnection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((mut conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE && !conn.has_broken() {
                return Some(conn);
            }
            let _ = conn.quit();
        }
        None
    }

    fn checkin(&self, conn: SmtpConnection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.pool_size {
            idle.push((conn, Instant::now()));
        }
    }
}

/// A failed transaction.
enum Failure {
    /// The connection failed before the server answered the first command: a pooled connection
    /// the server had already closed. Nothing was sent, so a fresh connection may try again.
    Stale,
    /// lettre reported it (network, TLS, or a negative reply).
    Smtp(Error),
    /// The server lacks an extension the message needs.
    Unsupported(&'static str),
}

fn classify(failure: Failure) -> SendError {
    match failure {
        Failure::Stale => SendError::Transient("the SMTP connection was closed".to_owned()),
        Failure::Unsupported(reason) => SendError::Permanent(reason.to_owned()),
        Failure::Smtp(err) => {
            let reason = crate::db::one_line(&err.to_string());
            if err.is_permanent() {
                SendError::Permanent(reason)
            } else if timed_out(&err) {
                SendError::Transient(format!("timed out waiting for the SMTP server ({reason})"))
            } else {
                SendError::Transient(reason)
            }
        }
    }
}

/// One mail transaction on an open connection: MAIL, RCPT…, DATA, body.
fn transact(
    conn: &mut SmtpConnection,
    envelope: &Envelope,
    body: &DataBody,
) -> Result<(), Failure> {
    let mut parameters = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|address| !AsRef::<str>::as_ref(address).is_ascii());
    if non_ascii {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Unsupported(
                "the server does not accept non-ASCII addresses (SMTPUTF8)",
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !body.0.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(Failure::Unsupported(
                "the server does not accept 8-bit messages (8BITMIME)",
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), parameters))
        .map_err(|err| {
            if err.is_transient() || err.is_permanent() {
                Failure::Smtp(err)
            } else {
                Failure::Stale
            }
        })?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .map_err(Failure::Smtp)?;
    }
    conn.command(Data).map_err(Failure::Smtp)?;
    conn.command(body).map_err(Failure::Smtp)?;
    Ok(())
}

/// The message, dot-stuffed and followed by `CRLF . CRLF`, written in one piece.
struct DataBody(String);

impl DataBody {
    fn new(raw: &[u8]) -> Self {
        let text = String::from_utf8_lossy(raw);
        let mut out = String::with_capacity(text.len() + 16);
        let mut line_start = true;
        for c in text.chars() {
            if line_start && c == '.' {
                out.push('.');
            }
            out.push(c);
            line_start = c == '\n';
        }
        if !out.ends_with("\r\n") {
            out.push_str("\r\n");
        }
        out.push_str(".\r\n");
        Self(out)
    }
}

impl fmt::Display for DataBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A socket timeout shows up as `TimedOut` or, for reads on Linux, `WouldBlock`.
fn timed_out(err: &Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            );
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_dot_stuffed_and_terminated_once() {
        assert_eq!(DataBody::new(b"a\r\n.b\r\n").0, "a\r\n..b\r\n.\r\n");
        assert_eq!(DataBody::new(b".start").0, "..start\r\n.\r\n");
    }

    #[test]
    fn urls_follow_lettres_forms() {
        let sender =
            SmtpSender::from_url("smtp://127.0.0.1:2525", Duration::from_secs(1), 1).unwrap();
        assert_eq!((sender.host.as_str(), sender.port), ("127.0.0.1", 2525));
        assert!(matches!(sender.security, Security::Plain));
        let tls = SmtpSender::from_url(
            "smtp://u%40x:p%3Aw@mail.example.com?tls=required",
            Duration::from_secs(1),
            1,
        )
        .unwrap();
        assert_eq!(tls.port, 587);
        assert!(matches!(tls.security, Security::StartTls(_)));
        assert!(tls.credentials.is_some());
        let implicit =
            SmtpSender::from_url("smtps://mail.example.com", Duration::from_secs(1), 1).unwrap();
        assert_eq!(implicit.port, 465);
        assert!(
            SmtpSender::from_url("http://mail.example.com", Duration::from_secs(1), 1).is_err()
        );
    }
}
