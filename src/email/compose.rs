//! Stored outbox rows become MIME messages here: multipart/alternative (text + HTML), a stable
//! `Message-ID`, the configured sender, and headers that cannot carry injected lines.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

/// A value meant for a mail header contained a line break or another control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a mail header value may not contain line breaks or control characters")]
pub struct HeaderInjection;

/// Refuses CR, LF and every other control character in a header value.
pub fn check_header_value(value: &str) -> Result<(), HeaderInjection> {
    if value.chars().any(char::is_control) {
        Err(HeaderInjection)
    } else {
        Ok(())
    }
}

/// Why a stored message cannot be turned into MIME (permanent: retrying cannot help).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The recipient is not an address lettre accepts.
    #[error("invalid recipient address")]
    Recipient,
    /// A header value was refused.
    #[error(transparent)]
    Header(#[from] HeaderInjection),
    /// lettre refused the message.
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
}

/// Builds messages from the configured `From:` mailbox.
#[derive(Debug, Clone)]
pub struct Composer {
    from: Mailbox,
}

/// The parts of a stored message that go on the wire.
#[derive(Debug)]
pub struct Parts<'a> {
    /// `Message-ID:` (with angle brackets).
    pub message_id: &'a str,
    /// Envelope and `To:` address.
    pub recipient: &'a str,
    /// `Subject:`.
    pub subject: &'a str,
    /// Plain-text part.
    pub text: &'a str,
    /// HTML part.
    pub html: &'a str,
}

impl Composer {
    /// Parses `LATCHKEY_EMAIL_FROM` (`Name <address>` or a bare address).
    pub fn new(from: &str) -> Result<Self, lettre::address::AddressError> {
        Ok(Self {
            from: from.parse()?,
        })
    }

    /// A new `Message-ID` under the sender's domain; stored with the message so every retry
    /// carries the same one.
    pub fn new_message_id(&self) -> String {
        let unique = hex::encode(crate::domain::random_bytes::<16>());
        format!("<{unique}@{}>", self.from.email.domain())
    }

    /// The MIME message for a stored row.
    pub fn compose(&self, parts: &Parts<'_>) -> Result<Message, ComposeError> {
        check_header_value(parts.subject)?;
        check_header_value(parts.message_id)?;
        check_header_value(parts.recipient)?;
        let to: Address = parts
            .recipient
            .parse()
            .map_err(|_| ComposeError::Recipient)?;
        Ok(Message::builder()
            .message_id(Some(parts.message_id.to_owned()))
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(parts.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(whole_lines_body(parts.text)),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(whole_lines_body(parts.html)),
                    ),
            )?)
    }
}

/// The longest line a 7bit body may have (RFC 5322 §2.1.1, without the CRLF).
const MAX_LINE_OCTETS: usize = 998;

/// A body part sent as `7bit` when it is plain ASCII with lines of legal length, so the reset
/// link stays on one line for anyone who reads the raw message (an `.eml` of the `file` backend,
/// a mail log, a test harness). lettre would pick quoted-printable for any line over 76
/// characters and break the link with `=` soft breaks; other text still gets lettre's choice.
fn whole_lines_body(text: &str) -> Body {
    let unix = text.replace("\r\n", "\n");
    let seven_bit = unix.is_ascii()
        && !unix.contains(['\r', '\0'])
        && unix.lines().all(|line| line.len() <= MAX_LINE_OCTETS);
    if seven_bit {
        let crlf = unix.replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_multipart_with_a_stable_id() {
        let composer = Composer::new("Latchkey <no-reply@example.com>").unwrap();
        let id = composer.new_message_id();
        assert!(id.ends_with("@example.com>"));
        let message = composer
            .compose(&Parts {
                message_id: &id,
                recipient: "alice@example.com",
                subject: "Reset your password",
                text: "plain",
                html: "<p>html</p>",
            })
            .unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        assert!(raw.contains(&format!("Message-ID: {id}")));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }

    #[test]
    fn line_breaks_never_reach_a_header() {
        let composer = Composer::new("no-reply@example.com").unwrap();
        let result = composer.compose(&Parts {
            message_id: "<a@example.com>",
            recipient: "alice@example.com\r\nBcc: evil@attacker.test",
            subject: "x",
            text: "",
            html: "",
        });
        assert!(matches!(result, Err(ComposeError::Header(HeaderInjection))));
    }

    fn raw(text: &str) -> String {
        let composer = Composer::new("no-reply@example.com").unwrap();
        let message = composer
            .compose(&Parts {
                message_id: "<a@example.com>",
                recipient: "alice@example.com",
                subject: "x",
                text,
                html: "<p>html</p>",
            })
            .unwrap();
        String::from_utf8(message.formatted()).unwrap()
    }

    #[test]
    fn a_long_link_stays_on_one_line() {
        let link = format!("https://latchkey.test/reset-password/{}", "ab".repeat(32));
        let raw = raw(&format!("Reset it here:\n{link}\n"));
        assert!(raw.contains(&format!("\r\n{link}\r\n")), "{raw}");
        assert!(raw.contains("Content-Transfer-Encoding: 7bit"), "{raw}");
    }

    #[test]
    fn text_that_is_not_ascii_is_still_encoded_by_lettre() {
        let raw = raw("Zoë’s link\n");
        assert!(!raw.contains("Zoë"), "{raw}");
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable")
                || raw.contains("Content-Transfer-Encoding: base64"),
            "{raw}"
        );
    }
}
