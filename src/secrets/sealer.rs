//! Authenticated encryption for secrets that must be stored for a while and read back.
//!
//! A reset token is stored only as a keyed hash (SEC-11), but two places must keep the token
//! itself until it is used: the reset mail waiting in the outbox, and the browser session between
//! the emailed link and the new-password form. Stored as plaintext, a database dump, a backup or
//! a leftover SQLite free page or WAL frame would yield a working reset link. They are sealed
//! instead: XChaCha20-Poly1305 under a key derived from the secret key for that one purpose, with
//! a fresh random 192-bit nonce per value (random nonces of that size never collide in practice,
//! so no counter has to be kept across instances). Without the secret key the stored text is
//! useless; with a different one, [`Sealer::open`] fails rather than returning garbage.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};

use super::SecretKey;

/// Prefix of every sealed value: names the format, so a later one can be told apart.
const VERSION: &str = "v1.";
/// XChaCha20's nonce length.
const NONCE_BYTES: usize = 24;

/// A sealed value that cannot be opened: tampered with, truncated, not sealed at all, sealed for
/// another purpose, or sealed under another secret key (e.g. after `LATCHKEY_SECRET_KEY` changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed value cannot be opened with this secret key (it was changed, or the value was altered)")]
pub struct UnsealError;

/// Seals and opens values of one purpose; `Debug` never shows the key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
    /// The same purpose under `LATCHKEY_SECRET_KEY_FALLBACKS`: tried by [`Sealer::open`] only.
    fallbacks: Vec<XChaCha20Poly1305>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    /// The sealer for values of kind `purpose` (e.g. `"outbox-body-seal"`): a value sealed for one
    /// purpose cannot be opened as another.
    pub fn new(secret: &SecretKey, purpose: &str) -> Self {
        let key = secret.derive(purpose);
        Self {
            cipher: XChaCha20Poly1305::new(Key::from_slice(&key)),
            fallbacks: Vec::new(),
        }
    }

    /// Like [`Sealer::new`], also opening what older keys sealed (everything new is sealed with
    /// `secret`).
    pub fn with_fallbacks(secret: &SecretKey, fallbacks: &[SecretKey], purpose: &str) -> Self {
        Self {
            fallbacks: fallbacks
                .iter()
                .map(|old| XChaCha20Poly1305::new(Key::from_slice(&old.derive(purpose))))
                .collect(),
            ..Self::new(secret, purpose)
        }
    }

    /// `v1.` + URL-safe base64 of nonce ‖ ciphertext ‖ tag; a new nonce every call, so sealing
    /// the same text twice gives different results.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = super::random_bytes::<NONCE_BYTES>();
        // Encryption fails only past XChaCha20's 256 GiB message limit.
        let sealed = self
            .cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext.as_bytes())
            .unwrap_or_else(|_| unreachable!("a stored value is far below the AEAD length limit"));
        let mut bytes = Vec::with_capacity(NONCE_BYTES + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The text [`Sealer::seal`] was given, if `sealed` is intact and was sealed with this key.
    pub fn open(&self, sealed: &str) -> Result<String, UnsealError> {
        let encoded = sealed.strip_prefix(VERSION).ok_or(UnsealError)?;
        let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| UnsealError)?;
        if bytes.len() < NONCE_BYTES {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plaintext = std::iter::once(&self.cipher)
            .chain(&self.fallbacks)
            .find_map(|cipher| cipher.decrypt(XNonce::from_slice(nonce), ciphertext).ok())
            .ok_or(UnsealError)?;
        String::from_utf8(plaintext).map_err(|_| UnsealError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(purpose: &str) -> Sealer {
        Sealer::new(&SecretKey(vec![42u8; 64]), purpose)
    }

    #[test]
    fn a_sealed_value_opens_to_the_original_and_hides_it() {
        let link = "https://example.com/reset-password/abcdefghijklmnop";
        let sealed = sealer("a").seal(link);
        assert!(sealed.starts_with(VERSION));
        assert!(!sealed.contains("abcdefghijklmnop"));
        assert_eq!(sealer("a").open(&sealed).as_deref(), Ok(link));
        assert_eq!(sealer("a").open(&sealer("a").seal("")).as_deref(), Ok(""));
    }

    #[test]
    fn every_seal_uses_a_fresh_nonce() {
        let sealer = sealer("a");
        assert_ne!(sealer.seal("same"), sealer.seal("same"));
    }

    #[test]
    fn another_purpose_or_key_cannot_open_it() {
        let sealed = sealer("a").seal("secret");
        assert_eq!(sealer("b").open(&sealed), Err(UnsealError));
        let other_key = Sealer::new(&SecretKey(vec![7u8; 64]), "a");
        assert_eq!(other_key.open(&sealed), Err(UnsealError));
    }

    #[test]
    fn altered_truncated_or_plain_values_are_refused() {
        let sealer = sealer("a");
        let sealed = sealer.seal("secret");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        for bad in [
            altered.as_str(),
            &sealed[..sealed.len() - 4],
            "v1.",
            "v1.!!!",
            "secret",
            "",
        ] {
            assert_eq!(sealer.open(bad), Err(UnsealError), "{bad:?}");
        }
    }
}
