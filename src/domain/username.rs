//! Usernames: free text for people, but never anything that could break a header or a log line,
//! hide a character, or pass for another account's email address.
//!
//! Uniqueness is decided on [`username_key`]: NFKC, full Unicode case folding, NFKC again (so
//! `BOB`, `Bob` and fullwidth `ＢＯＢ` are one name). Invisible format characters are refused
//! outright, because no normalisation removes them: `bob` followed by U+200B would otherwise be
//! a second account that looks exactly like `bob`.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use super::email_address::{canonical_key, EmailAddress};

/// Longest username accepted (Django's limit).
pub const MAX_USERNAME_LENGTH: usize = 150;

/// Characters that render as nothing: every Unicode format character (general category `Cf`:
/// zero-width space/joiners U+200B..U+200D, word joiner U+2060, BOM U+FEFF, bidi controls,
/// soft hyphen, tags, …) plus the other default-ignorable code points (combining grapheme
/// joiner, Hangul fillers, variation selectors). Inclusive ranges, sorted.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
];

/// A username: 1–150 characters, no control or invisible characters, no surrounding whitespace.
///
/// Markup characters are allowed on purpose (`<script>` is a valid, if odd, name): every page and
/// email escapes it. Control characters are not, so a name can never inject a mail header
/// (`\r\nBcc:`) or forge a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Username(String);

/// Why a username was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUsername {
    /// Empty after trimming.
    #[error("a username cannot be empty")]
    Empty,
    /// More than 150 characters.
    #[error("a username has at most {MAX_USERNAME_LENGTH} characters")]
    TooLong,
    /// Contains a control character such as CR or LF.
    #[error("a username cannot contain control characters (such as line breaks)")]
    ControlCharacter,
    /// Contains a character that renders as nothing (zero-width space, joiner, BOM, …).
    #[error("a username cannot contain invisible characters (found U+{:04X})", u32::from(*.0))]
    InvisibleCharacter(char),
}

impl Username {
    /// Validates a username after trimming surrounding whitespace (as login does too).
    pub fn parse(raw: &str) -> Result<Self, InvalidUsername> {
        if raw.chars().any(char::is_control) {
            return Err(InvalidUsername::ControlCharacter);
        }
        if let Some(hidden) = raw.chars().find(|c| is_invisible(*c)) {
            return Err(InvalidUsername::InvisibleCharacter(hidden));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidUsername::Empty);
        }
        if trimmed.chars().count() > MAX_USERNAME_LENGTH {
            return Err(InvalidUsername::TooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The uniqueness key of this name (see [`username_key`]).
    pub fn key(&self) -> String {
        username_key(&self.0)
    }

    /// The canonical email key this name would be read as when typed into a login form, if it
    /// has the form of an email address (see [`email_form_key`]).
    pub fn email_form_key(&self) -> Option<String> {
        email_form_key(&self.0)
    }
}

/// NFKC, full case folding, NFKC: two usernames are the same name iff their keys are equal.
/// The last NFKC makes the key stable (folding can produce text NFKC would change again), so
/// computing the key of a key gives the key.
pub fn username_key(value: &str) -> String {
    let normalized: String = value.trim().nfkc().collect();
    caseless::default_case_fold_str(&normalized)
        .nfkc()
        .collect()
}

/// When `value`, after NFKC, is a valid email address: its canonical email key. Such a name
/// typed into a login form is looked up as an email first, so it may only be the account's own
/// address.
pub fn email_form_key(value: &str) -> Option<String> {
    let normalized: String = value.trim().nfkc().collect();
    EmailAddress::parse(&normalized)
        .ok()
        .map(|_| canonical_key(&normalized))
}

/// Whether `c` renders as nothing (see [`INVISIBLE`]).
fn is_invisible(c: char) -> bool {
    let code = u32::from(c);
    INVISIBLE
        .binary_search_by(|&(low, high)| {
            if high < code {
                std::cmp::Ordering::Less
            } else if low > code {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({:?})", self.0)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_allowed_but_control_characters_are_not() {
        assert!(Username::parse("<script>alert(1)</script>").is_ok());
        assert_eq!(
            Username::parse("x\r\nBcc: evil@attacker.test"),
            Err(InvalidUsername::ControlCharacter)
        );
        assert_eq!(Username::parse("   "), Err(InvalidUsername::Empty));
        assert_eq!(
            Username::parse(&"a".repeat(151)),
            Err(InvalidUsername::TooLong)
        );
    }

    #[test]
    fn invisible_characters_are_refused() {
        for hidden in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{202E}',
            '\u{2066}',
            '\u{180E}',
            '\u{034F}',
            '\u{3164}',
            '\u{FE0F}',
            '\u{E0041}',
        ] {
            let name = format!("bob{hidden}");
            assert_eq!(
                Username::parse(&name),
                Err(InvalidUsername::InvisibleCharacter(hidden)),
                "U+{:04X}",
                u32::from(hidden)
            );
        }
        assert!(Username::parse("Zoë d'Arc").is_ok());
        assert!(Username::parse("李小龍").is_ok());
    }

    #[test]
    fn keys_fold_case_and_compatibility_forms() {
        assert_eq!(username_key("BOB"), "bob");
        assert_eq!(username_key("Bob"), username_key("bob"));
        assert_eq!(username_key("\u{ff22}\u{ff2f}\u{ff22}"), "bob");
        assert_eq!(username_key("Stra\u{df}e"), "strasse");
        assert_eq!(username_key("\u{212a}im"), "kim");
        assert_eq!(username_key("jane\u{a0}doe"), "jane doe");
        assert_ne!(username_key("al\u{131}ce"), "alice");
        for sample in ["BOB", "Stra\u{df}e", "\u{1e9e}", "\u{fb03}", "\u{212b}"] {
            let key = username_key(sample);
            assert_eq!(username_key(&key), key, "{sample}");
        }
    }

    #[test]
    fn email_shaped_names_are_recognised_by_their_email_key() {
        assert_eq!(
            email_form_key("Carol@Example.COM").as_deref(),
            Some("carol@example.com")
        );
        assert_eq!(
            email_form_key("\u{ff43}arol@example.com").as_deref(),
            Some("carol@example.com")
        );
        assert_eq!(
            email_form_key("carol@b\u{fc}cher.example").as_deref(),
            Some("carol@xn--bcher-kva.example")
        );
        assert_eq!(email_form_key("carol"), None);
        assert_eq!(email_form_key("carol@home"), None);
    }
}
