//! The messages Latchkey sends, as askama templates in `templates/email/`: a plain-text part and
//! an HTML part (auto-escaped, sharing `layout.html`) for each.

use std::time::Duration;

use askama::Template;
use chrono::NaiveDateTime;

/// A rendered message, ready to be stored in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// `Subject:` (catalogue text in the mail's language with the configured product name,
    /// which has no line breaks: nothing user-supplied reaches a header).
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
}

/// What the reset mail says.
#[derive(Debug)]
pub struct PasswordResetMail<'a> {
    /// The product's name (`LATCHKEY_PRODUCT_NAME`), in the subject, body and footer.
    pub product: &'a str,
    /// Greeting name.
    pub username: &'a str,
    /// `LATCHKEY_PUBLIC_URL/reset-password/{token}`, or `LATCHKEY_RESET_URL` with the token.
    pub link: &'a str,
    /// When the link stops working.
    pub expires_at: NaiveDateTime,
    /// How long it works.
    pub lifetime: Duration,
    /// "I did not ask for this": `LATCHKEY_PUBLIC_URL/reset-password/{token}/cancel`.
    pub cancel_link: &'a str,
}

/// What the password-changed notice says: when, from where, and the single-use "This wasn't
/// me" link that locks the account down if the owner did not make the change.
#[derive(Debug)]
pub struct PasswordChangedMail<'a> {
    /// The product's name.
    pub product: &'a str,
    /// Greeting name.
    pub username: &'a str,
    /// When the password changed.
    pub changed_at: NaiveDateTime,
    /// The client address that changed it, if known.
    pub ip_address: Option<&'a str>,
    /// The client's user agent, if known.
    pub user_agent: Option<&'a str>,
    /// `LATCHKEY_PUBLIC_URL/wasnt-me/{token}`.
    pub wasnt_me_link: &'a str,
    /// When that link stops working.
    pub wasnt_me_expires_at: NaiveDateTime,
    /// How long it works.
    pub wasnt_me_lifetime: Duration,
}

/// Template context: the mail's fields, formatted for people.
struct ResetView<'a> {
    product: &'a str,
    username: &'a str,
    link: &'a str,
    expires_at: String,
    lifetime: String,
    cancel_link: &'a str,
}

struct ChangedView<'a> {
    product: &'a str,
    username: &'a str,
    changed_at: String,
    ip_address: &'a str,
    user_agent: &'a str,
    wasnt_me_link: &'a str,
    wasnt_me_expires_at: String,
    wasnt_me_lifetime: String,
}

/// Shown for a client address or user agent that was not known.
const UNKNOWN: &str = "unknown";

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct ResetText<'a> {
    mail: &'a ResetView<'a>,
}

#[derive(Template)]
#[template(path = "email/password_reset.html")]
struct ResetHtml<'a> {
    mail: &'a ResetView<'a>,
}

#[derive(Template)]
#[template(path = "email/password_changed.txt")]
struct ChangedText<'a> {
    mail: &'a ChangedView<'a>,
}

#[derive(Template)]
#[template(path = "email/password_changed.html")]
struct ChangedHtml<'a> {
    mail: &'a ChangedView<'a>,
}

impl PasswordResetMail<'_> {
    /// Renders both parts.
    pub fn render(&self) -> Result<RenderedEmail, askama::Error> {
        let view = ResetView {
            product: self.product,
            username: self.username,
            link: self.link,
            expires_at: format_time(self.expires_at),
            lifetime: crate::i18n::format_lifetime(self.lifetime),
            cancel_link: self.cancel_link,
        };
        Ok(RenderedEmail {
            subject: crate::i18n::t1("mail-reset-subject", "product", self.product),
            text: ResetText { mail: &view }.render()?,
            html: ResetHtml { mail: &view }.render()?,
        })
    }
}

impl PasswordChangedMail<'_> {
    /// Renders both parts.
    pub fn render(&self) -> Result<RenderedEmail, askama::Error> {
        let view = ChangedView {
            product: self.product,
            username: self.username,
            changed_at: format_time(self.changed_at),
            ip_address: self.ip_address.unwrap_or(UNKNOWN),
            user_agent: self.user_agent.unwrap_or(UNKNOWN),
            wasnt_me_link: self.wasnt_me_link,
            wasnt_me_expires_at: format_time(self.wasnt_me_expires_at),
            wasnt_me_lifetime: crate::i18n::format_lifetime(self.wasnt_me_lifetime),
        };
        Ok(RenderedEmail {
            subject: crate::i18n::t1("mail-changed-subject", "product", self.product),
            text: ChangedText { mail: &view }.render()?,
            html: ChangedHtml { mail: &view }.render()?,
        })
    }
}

/// What the "your email address was changed" notice says; it goes to the old address, so the
/// owner hears of a change they did not make. It names neither address.
#[derive(Debug)]
pub struct EmailChangedMail<'a> {
    /// The product's name.
    pub product: &'a str,
    /// Greeting name.
    pub username: &'a str,
    /// When the address changed.
    pub changed_at: NaiveDateTime,
}

struct EmailChangedView<'a> {
    product: &'a str,
    username: &'a str,
    changed_at: String,
}

#[derive(Template)]
#[template(path = "email/email_changed.txt")]
struct EmailChangedText<'a> {
    mail: &'a EmailChangedView<'a>,
}

#[derive(Template)]
#[template(path = "email/email_changed.html")]
struct EmailChangedHtml<'a> {
    mail: &'a EmailChangedView<'a>,
}

impl EmailChangedMail<'_> {
    /// Renders both parts.
    pub fn render(&self) -> Result<RenderedEmail, askama::Error> {
        let view = EmailChangedView {
            product: self.product,
            username: self.username,
            changed_at: format_time(self.changed_at),
        };
        Ok(RenderedEmail {
            subject: crate::i18n::t1("mail-email-subject", "product", self.product),
            text: EmailChangedText { mail: &view }.render()?,
            html: EmailChangedHtml { mail: &view }.render()?,
        })
    }
}

/// In the language the mail is rendered in (see [`crate::i18n::with`]).
fn format_time(at: NaiveDateTime) -> String {
    crate::i18n::format_datetime(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn reset_mail_escapes_the_name_in_html_and_carries_link_and_expiry() {
        let mail = PasswordResetMail {
            product: "Acme <Cloud>",
            username: "<script>alert(1)</script>",
            link: "http://latchkey.test/reset-password/abc",
            expires_at: at(),
            lifetime: Duration::from_secs(3600),
            cancel_link: "http://latchkey.test/reset-password/abc/cancel",
        }
        .render()
        .unwrap();
        assert!(mail.html.contains("&lt;script&gt;"), "{}", mail.html);
        assert!(!mail.html.contains("<script>"));
        assert!(mail.text.contains("<script>alert(1)</script>"));
        assert_eq!(mail.subject, "Reset your Acme <Cloud> password");
        assert!(mail.html.contains("Acme &lt;Cloud&gt;"), "{}", mail.html);
        assert!(mail.text.contains("sent automatically by Acme <Cloud>"));
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("http://latchkey.test/reset-password/abc"));
            assert!(part.contains("15 January 2027, 08:00 UTC"), "{part}");
            assert!(part.contains("60 minutes"));
            assert!(part.contains("http://latchkey.test/reset-password/abc/cancel"));
        }
    }

    #[test]
    fn changed_notice_tells_when_where_and_how_to_lock_the_account() {
        let mail = PasswordChangedMail {
            product: "Latchkey",
            username: "alice",
            changed_at: at(),
            ip_address: Some("192.0.2.7"),
            user_agent: Some("<b>Evil</b> browser"),
            wasnt_me_link: "http://latchkey.test/wasnt-me/abc",
            wasnt_me_expires_at: at(),
            wasnt_me_lifetime: Duration::from_secs(7 * 86_400),
        }
        .render()
        .unwrap();
        assert!(!mail.html.contains("<b>Evil</b>"), "{}", mail.html);
        for part in [&mail.text, &mail.html] {
            for expected in [
                "15 January 2027, 08:00 UTC",
                "192.0.2.7",
                "Evil",
                "http://latchkey.test/wasnt-me/abc",
                "7 days",
            ] {
                assert!(part.contains(expected), "{expected}: {part}");
            }
        }
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(
            crate::i18n::format_lifetime(Duration::from_secs(900)),
            "15 minutes"
        );
        assert_eq!(
            crate::i18n::format_lifetime(Duration::from_secs(86_400)),
            "24 hours"
        );
        assert_eq!(
            crate::i18n::format_lifetime(Duration::from_secs(7 * 86_400)),
            "7 days"
        );
        assert_eq!(
            crate::i18n::format_lifetime(Duration::from_secs(7_200)),
            "2 hours"
        );
        assert_eq!(
            crate::i18n::format_lifetime(Duration::from_secs(2)),
            "2 seconds"
        );
    }
}
