//! The rules a new password must meet, with Django's messages (API clients already show them).
//!
//! The same rules apply on every path that sets a password: reset confirm, change password, the
//! pages and `latchkey users set-password`. Passwords are taken exactly as received: never
//! trimmed, never case-folded or normalised, never truncated.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;
use secrecy::{ExposeSecret, SecretString};

/// Longest password accepted, in bytes; longer input is refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Django's default `UserAttributeSimilarityValidator` threshold.
const MAX_SIMILARITY: f64 = 0.7;

/// zxcvbn only looks at this many characters: its matching is super-linear, and a password whose
/// first 64 characters are not guessable is not a common one.
const COMMON_CHECK_CHARS: usize = 64;

/// Below this many guesses (10^6, zxcvbn score 0–1) a password is one attackers try first.
const MIN_GUESSES_LOG10: f64 = 6.0;

#[allow(clippy::expect_used)] // constant pattern
static NON_WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\W+").expect("valid regex"));

/// The configurable part of the rules.
#[derive(Debug, Clone, Copy)]
pub struct PasswordRules {
    /// Minimum length in characters.
    pub min_length: usize,
}

/// One broken rule; `Display` is the message clients show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Resembles the username or email address.
    TooSimilar {
        /// `"username"` or `"email address"`.
        attribute: &'static str,
    },
    /// Fewer characters than the minimum.
    TooShort {
        /// The minimum.
        min_length: usize,
    },
    /// More than [`MAX_PASSWORD_BYTES`].
    TooLong,
    /// Easily guessed (found in common-password lists or patterns).
    TooCommon,
    /// Only digits.
    EntirelyNumeric,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooSimilar { attribute } => {
                write!(f, "The password is too similar to the {attribute}.")
            }
            Self::TooShort { min_length: 1 } => {
                f.write_str("This password is too short. It must contain at least 1 character.")
            }
            Self::TooShort { min_length } => write!(
                f,
                "This password is too short. It must contain at least {min_length} characters."
            ),
            Self::TooLong => f.write_str("This password is too long."),
            Self::TooCommon => f.write_str("This password is too common."),
            Self::EntirelyNumeric => f.write_str("This password is entirely numeric."),
        }
    }
}

/// A password that met every rule; only it can be hashed into an account.
pub struct NewPassword(SecretString);

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

impl NewPassword {
    /// Checks `raw` against the rules for the account `(username, email)`; returns every broken
    /// rule, in Django's order, so a form can list them all at once.
    pub fn parse(
        raw: SecretString,
        rules: PasswordRules,
        username: &str,
        email: &str,
    ) -> Result<Self, Vec<Violation>> {
        let password = raw.expose_secret();
        if password.len() > MAX_PASSWORD_BYTES {
            return Err(vec![Violation::TooLong]);
        }
        let mut violations = Vec::new();
        if let Some(attribute) = too_similar(password, username, email) {
            violations.push(Violation::TooSimilar { attribute });
        }
        if password.chars().count() < rules.min_length {
            violations.push(Violation::TooShort {
                min_length: rules.min_length,
            });
        }
        if is_common(password) {
            violations.push(Violation::TooCommon);
        }
        if !password.is_empty() && password.chars().all(char::is_numeric) {
            violations.push(Violation::EntirelyNumeric);
        }
        if violations.is_empty() {
            Ok(Self(raw))
        } else {
            Err(violations)
        }
    }

    /// A password that just verified against its account's hash, to be hashed again at a
    /// higher cost: it was accepted once, so today's rules are not applied again.
    pub fn verified(secret: SecretString) -> Self {
        Self(secret)
    }

    /// The accepted password.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

fn is_common(password: &str) -> bool {
    let head: String = password.chars().take(COMMON_CHECK_CHARS).collect();
    if head.is_empty() {
        return true;
    }
    zxcvbn::zxcvbn(&head, &[]).guesses_log10() < MIN_GUESSES_LOG10
}

/// Django's `UserAttributeSimilarityValidator`: the first attribute (username, then email)
/// whose value, or any word of it, shares ≥ 70 % of its characters with the password.
fn too_similar(password: &str, username: &str, email: &str) -> Option<&'static str> {
    let password = password.to_lowercase();
    [("username", username), ("email address", email)]
        .into_iter()
        .find(|(_, value)| {
            let value = value.to_lowercase();
            NON_WORD
                .split(&value)
                .chain(std::iter::once(value.as_str()))
                .filter(|part| !exceeds_length_ratio(&password, part))
                .any(|part| quick_ratio(&password, part) >= MAX_SIMILARITY)
        })
        .map(|(attribute, _)| attribute)
}

/// Django skips parts much shorter than the password: they cannot make it guessable.
fn exceeds_length_ratio(password: &str, part: &str) -> bool {
    let password_len = password.chars().count() as f64;
    let part_len = part.chars().count() as f64;
    password_len >= 10.0 * part_len && part_len < MAX_SIMILARITY / 2.0 * password_len
}

/// Python's `SequenceMatcher.quick_ratio`: 2·|a ∩ b| / (|a| + |b|) over character multisets.
fn quick_ratio(a: &str, b: &str) -> f64 {
    let mut available: std::collections::HashMap<char, i64> = std::collections::HashMap::new();
    for c in b.chars() {
        *available.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(count) = available.get_mut(&c) {
            if *count > 0 {
                matches += 1;
            }
            *count -= 1;
        }
    }
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        1.0
    } else {
        2.0 * matches as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: PasswordRules = PasswordRules { min_length: 12 };

    fn violations(password: &str) -> Vec<String> {
        match NewPassword::parse(password.into(), RULES, "user12", "user12@example.com") {
            Ok(_) => Vec::new(),
            Err(list) => list.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn strong_passphrases_pass() {
        for ok in [
            "correct horse battery staple",
            "Tr0ub4dor&3-xyzzy",
            "🦊🌵🎻🚲🍋🧲🪁🐙🌋🎲🧊🪐",
        ] {
            assert_eq!(violations(ok), Vec::<String>::new(), "{ok}");
        }
    }

    #[test]
    fn common_patterns_are_refused() {
        for common in [
            "password123456",
            "qwertyuiopasdf",
            "123456789012345",
            "aaaaaaaaaaaaaaaa",
        ] {
            assert!(
                violations(common).contains(&"This password is too common.".to_owned()),
                "{common}"
            );
        }
    }

    #[test]
    fn every_failing_rule_is_listed_in_djangos_order() {
        assert_eq!(
            violations("1"),
            vec![
                "This password is too short. It must contain at least 12 characters.",
                "This password is too common.",
                "This password is entirely numeric.",
            ]
        );
    }

    #[test]
    fn similarity_to_the_account_is_caught() {
        assert_eq!(
            violations("user12@example"),
            vec!["The password is too similar to the email address."]
        );
        assert!(violations("user12-user")
            .contains(&"The password is too similar to the username.".to_owned()));
    }

    #[test]
    fn over_long_passwords_get_one_message() {
        assert_eq!(
            violations(&"x".repeat(1025)),
            vec!["This password is too long."]
        );
        assert!(violations(&"Zq9!".repeat(256))
            .iter()
            .all(|m| m != "This password is too long."));
    }

    #[test]
    fn quick_ratio_matches_python() {
        assert!((quick_ratio("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((quick_ratio("", "") - 1.0).abs() < 1e-9);
    }
}
