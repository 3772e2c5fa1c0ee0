//! The deployment's secret key: where it comes from, and the purpose-bound keys derived from it.
//!
//! One `LATCHKEY_SECRET_KEY` (64+ bytes, base64) is shared by every instance of a deployment.
//! On SQLite it may be left unset: a key is then generated once into `latchkey.secret` (mode
//! 0600) beside the database file, so a fresh checkout works and restarts keep their tokens
//! valid. On PostgreSQL, where several instances must agree, it is required.
//!
//! Each use gets its own key derived with HKDF-SHA256, so a token hash of one kind can never be
//! replayed as another kind. Values that must be read back (a reset link waiting in the outbox,
//! a reset token held by a browser session) are sealed with a [`Sealer`] instead of hashed.

mod sealer;

pub use sealer::{Sealer, UnsealError};

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// `N` bytes from the operating system's CSPRNG (used for every token, salt and key).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    use rand::TryRngCore;
    let mut bytes = [0u8; N];
    // The OS generator only fails when the kernel cannot supply entropy at all; continuing
    // with predictable tokens would be worse than stopping.
    if let Err(err) = rand::rngs::OsRng.try_fill_bytes(&mut bytes) {
        panic!("the operating system's random number generator failed: {err}");
    }
    bytes
}

/// Minimum decoded length of the secret key.
pub const MIN_SECRET_BYTES: usize = 64;

/// Name of the generated key file beside a SQLite database.
pub const SECRET_FILE_NAME: &str = "latchkey.secret";

/// The raw key material; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Vec<u8>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    /// Decodes standard or URL-safe base64, padded or not.
    pub fn from_base64(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(raw).ok())
            .ok_or_else(|| format!("{MIN_SECRET_BYTES}+ bytes encoded as base64"))?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "{MIN_SECRET_BYTES}+ bytes encoded as base64 (got {} bytes)",
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }

    /// A fresh 64-byte key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(random_bytes::<64>().to_vec())
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(&self.0)
    }

    /// The derived key for one purpose (`info` names it).
    fn derive(&self, info: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        let hkdf = hkdf::Hkdf::<Sha256>::new(Some(b"latchkey"), &self.0);
        // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
        let _ = hkdf.expand(info.as_bytes(), &mut out);
        out
    }
}

/// Why no key could be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    /// PostgreSQL deployments must configure the key explicitly.
    #[error("LATCHKEY_SECRET_KEY is required with PostgreSQL: set it to {MIN_SECRET_BYTES}+ random bytes in base64 (e.g. `openssl rand -base64 64`), the same on every instance")]
    Required,
    /// The key file could not be read or written.
    #[error("cannot use the secret key file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// The configured key, or (SQLite only) the one stored beside the database, created on first use.
pub fn resolve(
    configured: Option<&SecretKey>,
    sqlite_dir: Option<&Path>,
) -> Result<SecretKey, SecretKeyError> {
    if let Some(key) = configured {
        return Ok(key.clone());
    }
    let dir = sqlite_dir.ok_or(SecretKeyError::Required)?;
    load_or_create(&dir.join(SECRET_FILE_NAME))
}

fn load_or_create(path: &Path) -> Result<SecretKey, SecretKeyError> {
    let file_error = |reason: String| SecretKeyError::File {
        path: path.display().to_string(),
        reason,
    };
    match fs::read_to_string(path) {
        Ok(text) => SecretKey::from_base64(&text)
            .map_err(|expected| file_error(format!("expected {expected}"))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = SecretKey::generate();
            write_private(path, &key.to_base64()).map_err(|err| file_error(err.to_string()))?;
            tracing::info!(path = %path.display(), "generated a new secret key");
            Ok(key)
        }
        Err(err) => Err(file_error(err.to_string())),
    }
}

/// Writes `text` to a new file readable only by its owner; never overwrites an existing key.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// HMAC-SHA256 under one derived key: how tokens of one kind are stored and looked up.
#[derive(Clone)]
pub struct TokenHasher {
    key: [u8; 32],
    /// The same purpose under `LATCHKEY_SECRET_KEY_FALLBACKS`, for finding what older keys
    /// stored ([`TokenHasher::fallback_hashes`]).
    fallbacks: Vec<[u8; 32]>,
}

impl fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHasher(…)")
    }
}

impl TokenHasher {
    /// The hasher for tokens of kind `purpose` (e.g. `"reset-token"`).
    pub fn new(secret: &SecretKey, purpose: &str) -> Self {
        Self {
            key: secret.derive(purpose),
            fallbacks: Vec::new(),
        }
    }

    /// Like [`TokenHasher::new`], also knowing the hashes older keys stored.
    pub fn with_fallbacks(secret: &SecretKey, fallbacks: &[SecretKey], purpose: &str) -> Self {
        Self {
            fallbacks: fallbacks.iter().map(|old| old.derive(purpose)).collect(),
            ..Self::new(secret, purpose)
        }
    }

    /// Lowercase hex of HMAC-SHA256(key, token): the only form a token is stored in.
    pub fn hash(&self, token: &str) -> String {
        keyed(&self.key, token)
    }

    /// The hashes `token` had under each fallback key (empty without fallbacks). A look-up that
    /// misses under [`TokenHasher::hash`] tries these, then re-keys the row it found, so a
    /// rotation logs nobody out and breaks no link.
    pub fn fallback_hashes(&self, token: &str) -> Vec<String> {
        self.fallbacks.iter().map(|key| keyed(key, token)).collect()
    }
}

fn keyed(key: &[u8; 32], token: &str) -> String {
    // HMAC accepts keys of any length, so new_from_slice cannot fail for a 32-byte key.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The keys Latchkey derives from the secret key, one per purpose.
#[derive(Debug, Clone)]
pub struct DerivedKeys {
    /// Password-reset tokens.
    pub reset_tokens: TokenHasher,
    /// Login bearer tokens.
    pub api_tokens: TokenHasher,
    /// Browser session ids.
    pub sessions: TokenHasher,
    /// "This wasn't me" links of password-changed notices.
    pub wasnt_me_tokens: TokenHasher,
    /// Signing key material for cookies (64 bytes, as actix's `Key` wants).
    pub cookie_key: [u8; 64],
    /// The same under each fallback key: cookies they made are still accepted.
    pub fallback_cookie_keys: Vec<[u8; 64]>,
    /// Outbox message bodies: a queued reset mail carries a live link, which a database dump or
    /// a leftover WAL page must never reveal.
    pub outbox_bodies: Sealer,
    /// The reset token a browser session holds between the emailed link and the new-password
    /// form, for the same reason.
    pub session_reset_tokens: Sealer,
}

impl DerivedKeys {
    /// Derives every purpose key from `secret`.
    pub fn new(secret: &SecretKey) -> Self {
        Self::with_fallbacks(secret, &[])
    }

    /// Derives every purpose key from `secret` for everything new, and from each of
    /// `fallbacks` (`LATCHKEY_SECRET_KEY_FALLBACKS`) for reading what older keys made.
    pub fn with_fallbacks(secret: &SecretKey, fallbacks: &[SecretKey]) -> Self {
        Self {
            reset_tokens: TokenHasher::with_fallbacks(secret, fallbacks, "reset-token"),
            api_tokens: TokenHasher::with_fallbacks(secret, fallbacks, "api-token"),
            sessions: TokenHasher::with_fallbacks(secret, fallbacks, "session-id"),
            wasnt_me_tokens: TokenHasher::with_fallbacks(secret, fallbacks, "wasnt-me-token"),
            cookie_key: cookie_key(secret),
            fallback_cookie_keys: fallbacks.iter().map(cookie_key).collect(),
            outbox_bodies: Sealer::with_fallbacks(secret, fallbacks, "outbox-body-seal"),
            session_reset_tokens: Sealer::with_fallbacks(
                secret,
                fallbacks,
                "session-reset-token-seal",
            ),
        }
    }
}

fn cookie_key(secret: &SecretKey) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&secret.derive("cookie-signing-1"));
    key[32..].copy_from_slice(&secret.derive("cookie-signing-2"));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        assert!(SecretKey::from_base64(&STANDARD.encode([7u8; 32])).is_err());
        assert!(SecretKey::from_base64("not base64 !!").is_err());
        assert!(SecretKey::from_base64(&STANDARD.encode([7u8; 64])).is_ok());
    }

    #[test]
    fn purposes_get_different_hashes_for_the_same_token() {
        let keys = DerivedKeys::new(&SecretKey::generate());
        assert_ne!(keys.reset_tokens.hash("abc"), keys.api_tokens.hash("abc"));
        assert_eq!(keys.reset_tokens.hash("abc"), keys.reset_tokens.hash("abc"));
        assert_eq!(keys.reset_tokens.hash("abc").len(), 64);
    }

    #[test]
    fn the_generated_file_is_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = resolve(None, Some(dir.path())).unwrap();
        let second = resolve(None, Some(dir.path())).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(SECRET_FILE_NAME))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn postgres_requires_a_configured_key() {
        assert!(matches!(resolve(None, None), Err(SecretKeyError::Required)));
    }
}
