//! Email addresses valid by Django's `EmailValidator`, and their canonical comparison key.
//!
//! Validity follows Django exactly (ASCII local part; the domain may be internationalised and
//! is checked in its IDNA form), because API clients of django-rest-passwordreset expect the same
//! 400s. Comparison uses one app-side canonical form, NFKC followed by full Unicode case folding
//! (Django's post-CVE-2019-19844 rule), stored in its own unique column: SQLite's `NOCASE` and
//! PostgreSQL's `lower()` disagree outside ASCII, so the database collation is never relied on.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// Longest address accepted (RFC 5321's forward-path limit).
pub const MAX_EMAIL_LENGTH: usize = 254;

#[allow(clippy::expect_used)] // constant patterns, checked by the unit tests below
static DOT_ATOM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+(\.[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+)*$")
        .expect("valid regex")
});
#[allow(clippy::expect_used)]
static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^"([\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*"$"#)
        .expect("valid regex")
});
#[allow(clippy::expect_used)]
static DOMAIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$")
        .expect("valid regex")
});

/// A syntactically valid email address, trimmed, as the user typed it.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

/// The address is not valid by Django's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Enter a valid email address.")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Trims surrounding whitespace and validates.
    pub fn parse(raw: &str) -> Result<Self, InvalidEmail> {
        let value = raw.trim();
        if value.len() > MAX_EMAIL_LENGTH || !is_valid(value) {
            return Err(InvalidEmail);
        }
        Ok(Self(value.to_owned()))
    }

    /// The address as stored and as mail is sent to.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The comparison key of this address.
    pub fn canonical(&self) -> String {
        canonical_key(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({:?})", self.0)
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// NFKC, then full case folding: two addresses are the same account iff their keys are equal.
pub fn canonical_key(value: &str) -> String {
    let normalized: String = value.trim().nfkc().collect();
    caseless::default_case_fold_str(&normalized)
}

fn is_valid(value: &str) -> bool {
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    if !(DOT_ATOM.is_match(user) || QUOTED.is_match(user)) {
        return false;
    }
    if domain == "localhost" || is_valid_domain(domain) {
        return true;
    }
    // An internationalised domain is valid when its IDNA (punycode) form is.
    match idna::domain_to_ascii(domain) {
        Ok(ascii) => is_valid_domain(&ascii),
        Err(_) => false,
    }
}

fn is_valid_domain(domain: &str) -> bool {
    if DOMAIN.is_match(domain) && !domain.ends_with('-') {
        return true;
    }
    match domain
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        Some(literal) => {
            literal.parse::<Ipv4Addr>().is_ok()
                || literal
                    .strip_prefix("IPv6:")
                    .or(Some(literal))
                    .is_some_and(|v6| v6.parse::<Ipv6Addr>().is_ok())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_valid() {
        for ok in [
            "alice@example.com",
            "  alice@example.com ",
            "a.b+tag@sub.example.co.uk",
            "\"quoted@local\"@example.com",
            "user@bücher.example",
            "x@[127.0.0.1]",
            "root@localhost",
        ] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn djangos_rejections_are_kept() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "u\u{0455}er5@mail.com",
            "alice@example",
            "alice@-example.com",
            "alice@example.com-",
            "al ice@example.com",
            "alice@example.com\r\nBcc: evil@attacker.test",
            "a..b@example.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be invalid"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn canonical_keys_fold_case_and_compatibility_forms() {
        assert_eq!(canonical_key("ALICE@Example.COM"), "alice@example.com");
        assert_eq!(
            canonical_key("\u{ff41}lice@example.com"),
            "alice@example.com"
        );
        assert_eq!(
            canonical_key("stra\u{df}e@example.com"),
            "strasse@example.com"
        );
        assert_eq!(canonical_key("\u{212a}im@example.com"), "kim@example.com");
        // dotless i has no case mapping to "i": a different account (the GitHub bug).
        assert_ne!(
            canonical_key("al\u{131}ce@example.com"),
            "alice@example.com"
        );
    }
}
