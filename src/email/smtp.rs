//! SMTP delivery with pooled connections, where one send attempt as a whole has a deadline.
//!
//! lettre supplies the protocol: its commands (EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT),
//! reply parsing, EHLO capabilities and AUTH mechanisms. The socket under them is ours, for two
//! reasons:
//!
//! * A deadline per attempt. lettre's blocking `SmtpConnection` only has per-read timeouts, and
//!   it owns its socket: a server that answers one byte a second resets that clock on every
//!   byte and held a worker (and its lease) for as long as it liked. Here every `read` and
//!   `write` on the TCP socket first sets the socket timeout to what is left until the
//!   attempt's deadline and fails once nothing is left, so connect, greeting, EHLO, STARTTLS and
//!   the TLS handshake (which reads through the same socket), AUTH, MAIL, RCPT, DATA, the body
//!   and the final reply all end by that deadline however the server dribbles. A connection
//!   that ran out of time is dropped, never pooled again.
//! * No Nagle stall. lettre 0.11.23 keeps Nagle's algorithm on and writes the end-of-data
//!   marker as a second small write, so the server's delayed ACK held every message ~40 ms.
//!   Here the socket has `TCP_NODELAY` and the dot-stuffed body leaves in one write.

use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::commands::{Auth, Data, Ehlo, Mail, Quit, Rcpt, Starttls};
use lettre::transport::smtp::extension::{
    ClientId, Extension, MailBodyParameter, MailParameter, ServerInfo,
};
use lettre::transport::smtp::response::{Response, Severity};

use super::SendError;

/// Connections idle longer than this are closed instead of reused (servers drop idle clients).
const MAX_IDLE: Duration = Duration::from_secs(30);
/// Longest reply line accepted (RFC 5321 allows 512 bytes; lettre accepts 1000).
const MAX_LINE: usize = 1000;
/// Longest multi-line reply accepted.
const MAX_REPLY: usize = 100_000;
/// How long a goodbye to an idle or failed connection may take, within the attempt's deadline.
const QUIT_BUDGET: Duration = Duration::from_secs(1);
/// AUTH challenges answered before giving up (as lettre).
const MAX_CHALLENGES: usize = 10;

/// How the connection is secured, from `LATCHKEY_SMTP_URL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Security {
    /// `smtp://host` with no `tls` parameter.
    Plain,
    /// `smtp://host?tls=required`: STARTTLS or fail.
    StartTls,
    /// `smtp://host?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
    /// `smtps://host`: TLS from the first byte.
    Implicit,
}

/// Why the URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum SmtpUrlError {
    /// Not a URL lettre's syntax accepts.
    #[error("expected smtp://[user:pass@]host[:port][?tls=required|opportunistic] or smtps://…")]
    Syntax,
    /// TLS could not be set up.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] native_tls::Error),
}

/// Sends messages over pooled SMTP connections; shared by every worker thread.
pub struct SmtpSender {
    host: String,
    port: u16,
    security: Security,
    tls: Option<native_tls::TlsConnector>,
    credentials: Option<Credentials>,
    hello: ClientId,
    timeout: Duration,
    pool_size: usize,
    idle: Mutex<Vec<(Connection, Instant)>>,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpSender({}:{})", self.host, self.port)
    }
}

impl SmtpSender {
    /// Parses lettre's URL form: `smtp://host:port`, `smtp://host:587?tls=required`,
    /// `smtps://host:465`, credentials as `user:pass@` (percent-encoded), and an optional
    /// path naming the EHLO domain. One send attempt, whatever it has to do, ends within
    /// `timeout` (see [`SmtpSender::budget`]).
    pub fn from_url(raw: &str, timeout: Duration, pool_size: usize) -> Result<Self, SmtpUrlError> {
        let url = url::Url::parse(raw).map_err(|_| SmtpUrlError::Syntax)?;
        let host = url
            .host_str()
            .ok_or(SmtpUrlError::Syntax)?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let (security, default_port) = match (url.scheme(), tls.as_deref()) {
            ("smtp", None) => (Security::Plain, 25),
            ("smtp", Some("required")) => (Security::StartTls, 587),
            ("smtp", Some("opportunistic")) => (Security::Opportunistic, 587),
            ("smtps", _) => (Security::Implicit, 465),
            _ => return Err(SmtpUrlError::Syntax),
        };
        let tls = match security {
            Security::Plain => None,
            // lettre's defaults: the system's roots, TLS 1.2 or later, the host name checked.
            _ => Some(
                native_tls::TlsConnector::builder()
                    .min_protocol_version(Some(native_tls::Protocol::Tlsv12))
                    .build()?,
            ),
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
            tls,
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

    /// The longest one attempt may take (`LATCHKEY_SMTP_TIMEOUT`): callers give [`Self::send`]
    /// a deadline this far from the claim, and size the claim's lease after it.
    pub fn budget(&self) -> Duration {
        self.timeout
    }

    /// Sends one message, over a pooled connection if a fresh one is idle, else a new one; a
    /// reused connection that turns out closed is replaced once. Everything, the replacement
    /// included, ends by `deadline`.
    pub fn send(
        &self,
        envelope: &Envelope,
        raw: &[u8],
        deadline: Instant,
    ) -> Result<(), SendError> {
        let body = DataBody::new(raw);
        if let Some(mut conn) = self.checkout(deadline) {
            match transact(&mut conn, envelope, &body) {
                Ok(()) => {
                    self.checkin(conn);
                    return Ok(());
                }
                Err(Failure::Stale) => drop(conn),
                Err(failure) => {
                    conn.close(&failure);
                    return Err(classify(failure, deadline));
                }
            }
        }
        let mut conn = self
            .open(deadline)
            .map_err(|failure| classify(failure, deadline))?;
        match transact(&mut conn, envelope, &body) {
            Ok(()) => {
                self.checkin(conn);
                Ok(())
            }
            Err(failure) => {
                conn.close(&failure);
                Err(classify(failure, deadline))
            }
        }
    }

    /// TCP (and TLS for `smtps`), greeting, EHLO, STARTTLS and EHLO again, AUTH.
    fn open(&self, deadline: Instant) -> Result<Connection, Failure> {
        let tcp = connect(&self.host, self.port, deadline)?;
        let _ = tcp.set_nodelay(true);
        let socket = Socket { tcp, deadline };
        let stream = match self.security {
            Security::Implicit => Stream::Tls(Box::new(self.handshake(socket)?)),
            _ => Stream::Plain(socket),
        };
        let mut conn = Connection::new(stream);
        conn.read_reply("greeting")?;
        conn.ehlo(&self.hello)?;
        let starttls = match self.security {
            Security::StartTls => true,
            Security::Opportunistic => conn.info.supports_feature(Extension::StartTls),
            Security::Plain | Security::Implicit => false,
        };
        if starttls {
            if !conn.info.supports_feature(Extension::StartTls) {
                return Err(Failure::Protocol(
                    "the server does not offer STARTTLS".to_owned(),
                ));
            }
            conn.command(Starttls, "STARTTLS")?;
            conn = conn.upgrade(|socket| self.handshake(socket))?;
            conn.ehlo(&self.hello)?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(credentials)?;
        }
        Ok(conn)
    }

    fn handshake(&self, socket: Socket) -> Result<native_tls::TlsStream<Socket>, Failure> {
        let connector = self
            .tls
            .as_ref()
            .ok_or_else(|| Failure::Protocol("TLS is not configured".to_owned()))?;
        connector
            .connect(&self.host, socket)
            .map_err(|err| match err {
                native_tls::HandshakeError::Failure(err) => Failure::Tls(err.to_string()),
                // The socket reports a timeout as `WouldBlock`, which leaves a handshake half done.
                native_tls::HandshakeError::WouldBlock(_) => Failure::Io {
                    during: "TLS handshake",
                    error: io::ErrorKind::TimedOut.into(),
                },
            })
    }

    /// An idle connection, now bound to `deadline`; those idle too long are closed.
    fn checkout(&self, deadline: Instant) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((mut conn, since)) = idle.pop() {
            if since.elapsed() < MAX_IDLE {
                conn.set_deadline(deadline);
                return Some(conn);
            }
            conn.set_deadline(deadline.min(Instant::now() + QUIT_BUDGET));
            let _ = conn.command(Quit, "QUIT");
        }
        None
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.pool_size {
            idle.push((conn, Instant::now()));
        }
    }
}

/// A failed step.
#[derive(Debug)]
enum Failure {
    /// A pooled connection the server had already closed: nothing was sent, so a fresh
    /// connection may try again.
    Stale,
    /// The socket failed, or ran out of time (`TimedOut`).
    Io {
        during: &'static str,
        error: io::Error,
    },
    /// The server closed the connection.
    Closed { during: &'static str },
    /// The server refused (4xx, 5xx).
    Reply {
        during: &'static str,
        reply: Response,
    },
    /// The server does not speak SMTP as it should.
    Protocol(String),
    /// TLS failed.
    Tls(String),
    /// The server lacks an extension the message needs.
    Unsupported(&'static str),
}

fn classify(failure: Failure, deadline: Instant) -> SendError {
    let out_of_time = Instant::now() >= deadline;
    match failure {
        Failure::Stale => SendError::Transient("the SMTP connection was closed".to_owned()),
        Failure::Unsupported(reason) => SendError::Permanent(reason.to_owned()),
        Failure::Reply { during, reply } => {
            let text = reply.message().collect::<Vec<_>>().join(" ");
            let code = reply.code();
            let reason = crate::db::one_line(&format!("{during}: {code} {text}"));
            // Only a refusal of this message (its sender, a recipient, its data) is final for
            // it. A 5xx at the greeting, EHLO, STARTTLS or AUTH says the server (or our
            // account there) is refusing service: retried with backoff, so a misconfigured or
            // hostile server cannot dead-letter every message on its first attempt.
            let about_the_message = matches!(
                during,
                "MAIL FROM" | "RCPT TO" | "DATA" | "the message body"
            );
            if about_the_message && code.severity == Severity::PermanentNegativeCompletion {
                SendError::Permanent(format!("permanent error ({code}): {reason}"))
            } else {
                SendError::Transient(format!("transient error ({code}): {reason}"))
            }
        }
        Failure::Io { during, error }
            if out_of_time
                || matches!(
                    error.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
        {
            SendError::Transient(format!(
                "timed out waiting for the SMTP server ({during} not done within the SMTP timeout)"
            ))
        }
        Failure::Closed { during } | Failure::Io { during, .. } if out_of_time => {
            SendError::Transient(format!(
                "timed out waiting for the SMTP server ({during} not done within the SMTP timeout)"
            ))
        }
        Failure::Io { during, error } => SendError::Transient(crate::db::one_line(&format!(
            "network error during {during}: {error}"
        ))),
        Failure::Closed { during } => SendError::Transient(format!(
            "the SMTP server closed the connection during {during}"
        )),
        Failure::Tls(reason) if out_of_time => SendError::Transient(crate::db::one_line(&format!(
            "timed out waiting for the SMTP server (TLS: {reason})"
        ))),
        Failure::Tls(reason) => {
            SendError::Transient(crate::db::one_line(&format!("TLS error: {reason}")))
        }
        Failure::Protocol(reason) => SendError::Transient(crate::db::one_line(&reason)),
    }
}

/// One mail transaction on an open connection: MAIL, RCPT…, DATA, body.
fn transact(conn: &mut Connection, envelope: &Envelope, body: &DataBody) -> Result<(), Failure> {
    let mut parameters = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|address| !AsRef::<str>::as_ref(address).is_ascii());
    if non_ascii {
        if !conn.info.supports_feature(Extension::SmtpUtfEight) {
            return Err(Failure::Unsupported(
                "the server does not accept non-ASCII addresses (SMTPUTF8)",
            ));
        }
        parameters.push(MailParameter::SmtpUtfEight);
    }
    if !body.0.is_ascii() {
        if !conn.info.supports_feature(Extension::EightBitMime) {
            return Err(Failure::Unsupported(
                "the server does not accept 8-bit messages (8BITMIME)",
            ));
        }
        parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    conn.command(Mail::new(envelope.from().cloned(), parameters), "MAIL FROM")
        .map_err(|failure| match failure {
            // A connection closed while idle fails its first command at once; one that ran out
            // of time did not, and a fresh connection would have no time left either.
            Failure::Closed { .. } => Failure::Stale,
            Failure::Io { error, .. }
                if !matches!(
                    error.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Failure::Stale
            }
            other => other,
        })?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()), "RCPT TO")?;
    }
    conn.command(Data, "DATA")?;
    conn.command(body, "the message body")?;
    Ok(())
}

/// One SMTP connection: a buffered stream and what the server's EHLO offered.
struct Connection {
    reader: BufReader<Stream>,
    info: ServerInfo,
}

impl Connection {
    fn new(stream: Stream) -> Self {
        Self {
            reader: BufReader::new(stream),
            info: ServerInfo::default(),
        }
    }

    fn set_deadline(&mut self, deadline: Instant) {
        self.reader.get_mut().socket().deadline = deadline;
    }

    /// Says goodbye after a refusal (the server is in a sane state); a connection that failed
    /// or ran out of time is just dropped.
    fn close(mut self, failure: &Failure) {
        if matches!(failure, Failure::Reply { .. } | Failure::Unsupported(_)) {
            let deadline = self.reader.get_mut().socket().deadline;
            self.set_deadline(deadline.min(Instant::now() + QUIT_BUDGET));
            let _ = self.command(Quit, "QUIT");
        }
    }

    fn ehlo(&mut self, hello: &ClientId) -> Result<(), Failure> {
        let reply = self.command(Ehlo::new(hello.clone()), "EHLO")?;
        self.info = ServerInfo::from_response(&reply)
            .map_err(|err| Failure::Protocol(format!("unusable EHLO reply: {err}")))?;
        Ok(())
    }

    fn auth(&mut self, credentials: &Credentials) -> Result<(), Failure> {
        let mechanism = self
            .info
            .get_auth_mechanism(&[Mechanism::Plain, Mechanism::Login])
            .ok_or_else(|| {
                Failure::Protocol("the server offers no AUTH mechanism Latchkey speaks".to_owned())
            })?;
        let first = Auth::new(mechanism, credentials.clone(), None)
            .map_err(|err| Failure::Protocol(format!("AUTH: {err}")))?;
        let mut reply = self.command(first, "AUTH")?;
        for _ in 0..MAX_CHALLENGES {
            if !reply.has_code(334) {
                return Ok(());
            }
            let answer = Auth::new_from_response(mechanism, credentials.clone(), &reply)
                .map_err(|err| Failure::Protocol(format!("AUTH: {err}")))?;
            reply = self.command(answer, "AUTH")?;
        }
        Err(Failure::Protocol(
            "AUTH: too many challenges from the server".to_owned(),
        ))
    }

    /// Replaces the plain stream by TLS after STARTTLS was accepted. Bytes the server sent
    /// after its 220 would otherwise be read as if they came over TLS: refused.
    fn upgrade(
        self,
        handshake: impl FnOnce(Socket) -> Result<native_tls::TlsStream<Socket>, Failure>,
    ) -> Result<Self, Failure> {
        if !self.reader.buffer().is_empty() {
            return Err(Failure::Protocol(
                "the server sent data after accepting STARTTLS".to_owned(),
            ));
        }
        match self.reader.into_inner() {
            Stream::Plain(socket) => Ok(Self::new(Stream::Tls(Box::new(handshake(socket)?)))),
            Stream::Tls(_) => Err(Failure::Protocol("STARTTLS on a TLS connection".to_owned())),
        }
    }

    fn command(
        &mut self,
        command: impl fmt::Display,
        during: &'static str,
    ) -> Result<Response, Failure> {
        let stream = self.reader.get_mut();
        stream
            .write_all(command.to_string().as_bytes())
            .and_then(|()| stream.flush())
            .map_err(|error| Failure::Io { during, error })?;
        self.read_reply(during)
    }

    /// Reads one (possibly multi-line) reply: bounded in line length, size and time.
    fn read_reply(&mut self, during: &'static str) -> Result<Response, Failure> {
        let mut text = String::new();
        loop {
            let mut line = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|error| Failure::Io { during, error })?;
            if !line.ends_with(b"\n") {
                return Err(if read > MAX_LINE {
                    Failure::Protocol(format!("{during}: reply line too long"))
                } else {
                    Failure::Closed { during }
                });
            }
            let line = std::str::from_utf8(&line)
                .map_err(|_| Failure::Protocol(format!("{during}: reply is not UTF-8")))?
                .trim_end_matches(['\r', '\n']);
            let code = line
                .get(..3)
                .filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
            if code.is_none() {
                return Err(Failure::Protocol(format!("{during}: malformed reply")));
            }
            text.push_str(line);
            if line.len() == 3 {
                text.push(' ');
            }
            text.push_str("\r\n");
            if text.len() > MAX_REPLY {
                return Err(Failure::Protocol(format!("{during}: reply too long")));
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
        let reply: Response = text
            .parse()
            .map_err(|_| Failure::Protocol(format!("{during}: malformed reply")))?;
        if reply.is_positive() {
            Ok(reply)
        } else {
            Err(Failure::Reply { during, reply })
        }
    }
}

/// Resolves and connects, trying each address in turn, all by `deadline`.
fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, Failure> {
    let addresses = resolve(host, port, deadline)?;
    let mut last = None;
    for address in addresses {
        let left = remaining(deadline).map_err(|error| Failure::Io {
            during: "connect",
            error,
        })?;
        match TcpStream::connect_timeout(&address, left) {
            Ok(tcp) => return Ok(tcp),
            Err(error) => last = Some(error),
        }
    }
    Err(Failure::Io {
        during: "connect",
        error: last.unwrap_or_else(|| io::Error::other("the host name has no address")),
    })
}

/// The system resolver has no timeout of its own: a name is looked up on a helper thread,
/// waited for until `deadline` (the thread finishes on its own if abandoned).
fn resolve(host: &str, port: u16, deadline: Instant) -> Result<Vec<SocketAddr>, Failure> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let lookup_failed = |error| Failure::Io {
        during: "DNS lookup",
        error,
    };
    let (found, answer) = mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("latchkey-smtp-dns".to_owned())
        .spawn(move || {
            let addresses = (name.as_str(), port)
                .to_socket_addrs()
                .map(|addresses| addresses.collect::<Vec<_>>());
            let _ = found.send(addresses);
        })
        .map_err(lookup_failed)?;
    let left = remaining(deadline).map_err(lookup_failed)?;
    match answer.recv_timeout(left) {
        Ok(result) => result.map_err(lookup_failed),
        Err(_) => Err(lookup_failed(io::ErrorKind::TimedOut.into())),
    }
}

/// Time left until `deadline`, or `TimedOut` when there is none.
fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the SMTP deadline passed",
        ))
    } else {
        Ok(left)
    }
}

/// The TCP socket with the attempt's deadline: before every read and write its timeout is set
/// to the time left, so no sequence of reads or writes (plain or under TLS) outlasts it.
struct Socket {
    tcp: TcpStream,
    deadline: Instant,
}

/// A blocking socket that timed out reports `WouldBlock` on Linux: call it what it is.
fn timed_out(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::WouldBlock {
        io::ErrorKind::TimedOut.into()
    } else {
        error
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(remaining(self.deadline)?))?;
        self.tcp.read(buf).map_err(timed_out)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp
            .set_write_timeout(Some(remaining(self.deadline)?))?;
        self.tcp.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// Plain or TLS, over a [`Socket`].
enum Stream {
    Plain(Socket),
    Tls(Box<native_tls::TlsStream<Socket>>),
}

impl Stream {
    fn socket(&mut self) -> &mut Socket {
        match self {
            Self::Plain(socket) => socket,
            Self::Tls(tls) => tls.get_mut(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.read(buf),
            Self::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(socket) => socket.write(buf),
            Self::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(socket) => socket.flush(),
            Self::Tls(tls) => tls.flush(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connection to a local server that writes `script` (each chunk after `pause`).
    fn connection_to(script: Vec<&'static [u8]>, pause: Duration, deadline: Instant) -> Connection {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut server, _) = listener.accept().unwrap();
            for chunk in script {
                std::thread::sleep(pause);
                if server.write_all(chunk).is_err() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_secs(2));
        });
        let tcp = TcpStream::connect(address).unwrap();
        Connection::new(Stream::Plain(Socket { tcp, deadline }))
    }

    #[test]
    fn replies_are_read_whole_multi_line_and_bare() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut conn = connection_to(
            vec![b"250-first\r\n250-SMTPUTF8\r\n", b"250 last\r\n354\r\n"],
            Duration::ZERO,
            deadline,
        );
        let reply = conn.read_reply("EHLO").unwrap();
        assert_eq!(
            reply.message().collect::<Vec<_>>(),
            ["first", "SMTPUTF8", "last"]
        );
        assert!(conn.read_reply("DATA").unwrap().has_code(354));
    }

    #[test]
    fn a_refusal_and_a_garbled_reply_are_failures() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut conn = connection_to(vec![b"550 5.1.1 no\r\nhello\r\n"], Duration::ZERO, deadline);
        let refused = conn.read_reply("RCPT TO").unwrap_err();
        assert!(
            matches!(classify(refused, deadline), SendError::Permanent(reason) if reason.contains("550"))
        );
        assert!(matches!(conn.read_reply("DATA"), Err(Failure::Protocol(_))));
    }

    #[test]
    fn a_5xx_refusing_service_is_retried_and_one_refusing_the_message_is_final() {
        let deadline = Instant::now() + Duration::from_secs(5);
        for during in ["greeting", "EHLO", "STARTTLS", "AUTH"] {
            let mut conn = connection_to(vec![b"554 5.7.1 go away\r\n"], Duration::ZERO, deadline);
            let refused = conn.read_reply(during).unwrap_err();
            assert!(
                matches!(classify(refused, deadline), SendError::Transient(reason) if reason.contains("554")),
                "{during}"
            );
        }
        for during in ["MAIL FROM", "RCPT TO", "DATA", "the message body"] {
            let mut conn = connection_to(vec![b"554 5.7.1 no\r\n"], Duration::ZERO, deadline);
            let refused = conn.read_reply(during).unwrap_err();
            assert!(
                matches!(classify(refused, deadline), SendError::Permanent(_)),
                "{during}"
            );
        }
    }

    #[test]
    fn a_reply_dribbled_byte_by_byte_ends_at_the_deadline() {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(600);
        let bytes: Vec<&'static [u8]> = b"220 slowly".iter().map(std::slice::from_ref).collect();
        let mut conn = connection_to(bytes, Duration::from_millis(100), deadline);
        let failure = conn.read_reply("greeting").unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(900), "{took:?}");
        let error = classify(failure, deadline);
        assert!(
            matches!(&error, SendError::Transient(reason) if reason.contains("timed out")),
            "{error:?}"
        );
    }

    #[test]
    fn a_tls_handshake_dribbled_after_starttls_ends_at_the_deadline() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut server, _) = listener.accept().unwrap();
            let mut script: Vec<&[u8]> =
                vec![b"220 hi\r\n", b"250-hi\r\n250 STARTTLS\r\n", b"220 go\r\n"];
            // A TLS record header announcing 4 KiB, then its body a byte at a time.
            let record: &[u8] = b"\x16\x03\x03\x10\x00";
            script.extend(record.chunks(1));
            script.extend(std::iter::repeat_n(&b"x"[..], 50));
            for chunk in script {
                std::thread::sleep(Duration::from_millis(100));
                if server.write_all(chunk).is_err() {
                    return;
                }
            }
        });
        let sender = SmtpSender::from_url(
            &format!("smtp://127.0.0.1:{port}?tls=required"),
            Duration::from_millis(900),
            1,
        )
        .unwrap();
        let address: lettre::Address = "a@example.com".parse().unwrap();
        let envelope = Envelope::new(Some(address.clone()), vec![address]).unwrap();
        let started = Instant::now();
        let error = sender
            .send(
                &envelope,
                b"Subject: x\r\n\r\nbody",
                started + sender.budget(),
            )
            .unwrap_err();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(1300), "{took:?}");
        assert!(
            matches!(&error, SendError::Transient(reason) if reason.contains("timed out")),
            "{error:?}"
        );
    }

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
        assert!(matches!(tls.security, Security::StartTls));
        assert!(tls.credentials.is_some());
        let implicit =
            SmtpSender::from_url("smtps://mail.example.com", Duration::from_secs(1), 1).unwrap();
        assert_eq!(implicit.port, 465);
        assert!(
            SmtpSender::from_url("http://mail.example.com", Duration::from_secs(1), 1).is_err()
        );
    }
}
