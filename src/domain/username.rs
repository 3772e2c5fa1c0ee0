//! Usernames: free text for people, but never anything that could break a header or a log line.

use std::fmt;

/// Longest username accepted (Django's limit).
pub const MAX_USERNAME_LENGTH: usize = 150;

/// A username: 1–150 characters, no control characters, no surrounding whitespace.
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
}

impl Username {
    /// Validates a username after trimming surrounding whitespace (as login does too).
    pub fn parse(raw: &str) -> Result<Self, InvalidUsername> {
        if raw.chars().any(char::is_control) {
            return Err(InvalidUsername::ControlCharacter);
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
}
