//! A real SMTP server on 127.0.0.1 for the tests: it speaks enough ESMTP for lettre over TCP,
//! records every accepted message, and can be scripted to refuse, stall or stay silent.
//! Shared by the integration tests and `benches/outbox_drain.rs`; each uses part of it.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The first header of that name (unfolded), if any.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        unfolded.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    pub fn message_id(&self) -> String {
        self.header("Message-ID").unwrap_or_default()
    }
}

/// How the server misbehaves.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// Replies to successive RCPT commands (code, text); 250 once exhausted.
    pub rcpt_replies: VecDeque<(u16, &'static str)>,
    /// Replies to successive end-of-data dots; 250 once exhausted.
    pub data_replies: VecDeque<(u16, &'static str)>,
    /// RCPT for this address is never answered.
    pub hang_on_rcpt: Option<String>,
    /// The end-of-data reply is withheld while this is set (or until the client leaves).
    pub hold_data: bool,
    /// Accept connections but never send a byte.
    pub silent: bool,
}

struct Shared {
    messages: Mutex<Vec<Received>>,
    script: Mutex<Script>,
    data_started: AtomicUsize,
    stopped: AtomicBool,
}

/// A running sink; stops when dropped.
#[derive(Clone)]
pub struct SmtpSink {
    pub port: u16,
    shared: Arc<Shared>,
    /// The server stops when the last clone goes (an app may hold one until its teardown).
    _running: Arc<Running>,
}

/// Stops the server when dropped.
struct Running {
    port: u16,
    shared: Arc<Shared>,
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_with(Script::default())
    }

    pub fn start_with(script: Script) -> Self {
        Self::start_on(0, script)
    }

    /// Starts on a given port (0 = any), e.g. a port chosen before the server was "up".
    pub fn start_on(port: u16, script: Script) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            script: Mutex::new(script),
            data_started: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let session = Arc::clone(&accepting);
                thread::spawn(move || {
                    let _ = serve(stream, &session);
                });
            }
        });
        Self {
            port,
            shared: shared.clone(),
            _running: Arc::new(Running { port, shared }),
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    pub fn messages(&self) -> Vec<Received> {
        self.shared.messages.lock().unwrap().clone()
    }

    /// How many messages were accepted.
    pub fn count(&self) -> usize {
        self.shared.messages.lock().unwrap().len()
    }

    pub fn set_script(&self, script: Script) {
        *self.shared.script.lock().unwrap() = script;
    }

    /// How many message bodies have started arriving (accepted or not).
    pub fn data_started(&self) -> usize {
        self.shared.data_started.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} messages, got {} after {timeout:?}",
                messages.len()
            );
            // The poll of a deadline-bounded wait (this file is shared with a bench, so it
            // cannot use `helpers::poll_until`).
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn reply(stream: &mut TcpStream, code: u16, text: &str) -> std::io::Result<()> {
    stream.write_all(format!("{code} {text}\r\n").as_bytes())
}

fn address(argument: &str) -> String {
    let start = argument.find('<').map_or(0, |i| i + 1);
    let end = argument[start..]
        .find('>')
        .map_or(argument.len(), |i| start + i);
    argument[start..end].to_owned()
}

fn serve(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    if shared.script.lock().unwrap().silent {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut sink);
        return Ok(());
    }
    let mut reader = BufReader::new(stream.try_clone()?);
    reply(&mut stream, 220, "sink.test ESMTP ready")?;
    let (mut mail_from, mut rcpt_to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || shared.stopped.load(Ordering::SeqCst) {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => stream.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?,
            "HELO" | "NOOP" => reply(&mut stream, 250, "OK")?,
            "RSET" => {
                mail_from.clear();
                rcpt_to.clear();
                reply(&mut stream, 250, "OK")?;
            }
            "MAIL" => {
                mail_from = address(&command);
                rcpt_to.clear();
                reply(&mut stream, 250, "OK")?;
            }
            "RCPT" => {
                let to = address(&command);
                let (hang, scripted) = {
                    let mut script = shared.script.lock().unwrap();
                    (
                        script.hang_on_rcpt.as_deref() == Some(to.as_str()),
                        script.rcpt_replies.pop_front(),
                    )
                };
                if hang {
                    let mut rest = Vec::new();
                    let _ = std::io::Read::read_to_end(&mut reader, &mut rest);
                    return Ok(());
                }
                match scripted {
                    Some((code, text)) => reply(&mut stream, code, text)?,
                    None => {
                        rcpt_to.push(to);
                        reply(&mut stream, 250, "OK")?;
                    }
                }
            }
            "DATA" => {
                reply(&mut stream, 354, "go ahead")?;
                let data = read_data(&mut reader)?;
                shared.data_started.fetch_add(1, Ordering::SeqCst);
                if !hold_while_scripted(&stream, shared) {
                    return Ok(());
                }
                let scripted = shared.script.lock().unwrap().data_replies.pop_front();
                match scripted {
                    Some((code, text)) => reply(&mut stream, code, text)?,
                    None => {
                        shared.messages.lock().unwrap().push(Received {
                            mail_from: mail_from.clone(),
                            rcpt_to: rcpt_to.clone(),
                            data,
                        });
                        reply(&mut stream, 250, "queued")?;
                    }
                }
            }
            "QUIT" => {
                reply(&mut stream, 221, "bye")?;
                let _ = stream.shutdown(Shutdown::Both);
                return Ok(());
            }
            _ => reply(&mut stream, 502, "not implemented")?,
        }
    }
}

/// Reads a DATA body up to the lone dot, undoing dot-stuffing.
fn read_data(reader: &mut BufReader<TcpStream>) -> std::io::Result<String> {
    let mut data = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(data);
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(data);
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

/// Withholds the end-of-data reply while the script says so; `false` if the client left
/// (a client that died mid-transaction has not delivered anything).
fn hold_while_scripted(stream: &TcpStream, shared: &Shared) -> bool {
    loop {
        if client_gone(stream) || shared.stopped.load(Ordering::SeqCst) {
            return false;
        }
        if !shared.script.lock().unwrap().hold_data {
            return true;
        }
        // The server side polls the test's script (and its client) while it withholds a reply.
        thread::sleep(Duration::from_millis(20));
    }
}

fn client_gone(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    let mut probe = [0u8; 1];
    let gone = match stream.peek(&mut probe) {
        Ok(0) => true,
        Ok(_) => false,
        Err(err) => err.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).unwrap();
    gone
}
