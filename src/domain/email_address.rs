//! Email addresses valid by Django's `EmailValidator`, and their canonical comparison key.
//!
//! Validity follows Django exactly (ASCII local part; the domain may be internationalised and
//! is checked in its IDNA form), because API clients of django-rest-passwordreset expect the same
//! 400s. Comparison uses one app-side canonical form, stored in its own unique column (SQLite's
//! `NOCASE` and PostgreSQL's `lower()` disagree outside ASCII, so the database collation is never
//! relied on): the local part NFKC-normalised and fully case-folded (Django's post-CVE-2019-19844
//! rule), the domain in its IDNA ASCII form, because `bücher.example` and `xn--bcher-kva.example`
//! are one mailbox domain and must not be two accounts.

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

/// Two addresses are the same account iff their keys are equal: NFKC over the whole text, then
/// the local part case-folded and the domain (after the last `@`) mapped to its IDNA ASCII form
/// (UTS 46: case, width and compatibility mapping, then punycode). Also used on login names that
/// may or may not be addresses; text without `@`, or a domain IDNA refuses, is just case-folded.
pub fn canonical_key(value: &str) -> String {
    let normalized: String = value.trim().nfkc().collect();
    match normalized.rsplit_once('@') {
        Some((local, domain)) => format!(
            "{}@{}",
            caseless::default_case_fold_str(local),
            domain_key(domain)
        ),
        None => caseless::default_case_fold_str(&normalized),
    }
}

/// The IDNA ASCII form of a domain, lower case; the folded text when IDNA refuses it (an
/// address literal such as `[127.0.0.1]`, or something that is not a domain at all).
fn domain_key(domain: &str) -> String {
    match idna::domain_to_ascii(domain) {
        Ok(ascii) if !ascii.is_empty() => ascii.to_ascii_lowercase(),
        _ => caseless::default_case_fold_str(domain),
    }
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

    #[test]
    fn canonical_keys_use_the_idna_form_of_the_domain() {
        let ascii = "user@xn--bcher-kva.example";
        assert_eq!(canonical_key("user@b\u{fc}cher.example"), ascii);
        assert_eq!(canonical_key("user@B\u{dc}CHER.example"), ascii);
        assert_eq!(canonical_key("user@XN--BCHER-KVA.example"), ascii);
        assert_eq!(canonical_key("USER@xn--bcher-kva.example"), ascii);
        // A decomposed ü (u + combining diaeresis) is the same domain after NFKC.
        assert_eq!(canonical_key("user@bu\u{308}cher.example"), ascii);
        // Address literals and non-addresses keep the folded form.
        assert_eq!(canonical_key("x@[127.0.0.1]"), "x@[127.0.0.1]");
        assert_eq!(canonical_key("BOB"), "bob");
        for typed in [
            "user@b\u{fc}cher.example",
            "root@localhost",
            "A@Example.com",
        ] {
            let key = canonical_key(typed);
            assert_eq!(canonical_key(&key), key, "{typed}");
        }
    }
}
