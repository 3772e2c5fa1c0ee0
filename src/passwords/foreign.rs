//! Password hashes made by other systems, so accounts can move to Latchkey without a reset.
//!
//! Accepted (the same list at import and at login):
//!
//! | stored as | made by |
//! |---|---|
//! | `pbkdf2_sha256$ITER$SALT$B64` / `pbkdf2_sha1$…` | Django's PBKDF2 hashers |
//! | `argon2$argon2id$v=19$m=…,t=…,p=…$SALT$HASH` (or `argon2i`) | Django's Argon2 hasher |
//! | `bcrypt_sha256$$2b$NN$…` / `bcrypt$$2b$NN$…` | Django's BCrypt hashers |
//! | `scrypt$N$SALT$R$P$B64` | Django's scrypt hasher |
//! | `$2a$`, `$2b$`, `$2y$` | bcrypt (Rails, Laravel, Devise, PHP) |
//! | `$argon2id$…`, `$argon2i$…` PHC strings | other argon2 users |
//!
//! Why parse strictly: a hash that is not well formed for its scheme can never match, so an
//! imported account holding one could never log in, and nobody would notice until its owner
//! tried. [`check`] refuses it at import instead, naming what is wrong (never echoing the hash).
//!
//! Why bound the costs: the work of verifying a stored hash is chosen by whoever made it, and
//! runs on a login request. Costs above the `MAX_*` bounds here (far above every framework's
//! default) are refused at import, so one record cannot tie up a core for minutes or allocate
//! gigabytes per login attempt.
//!
//! Every comparison of a computed hash with the stored one is constant-time (`subtle`, or the
//! `bcrypt` crate's own `ct_eq`). A verified foreign hash always reports `needs_rehash`, so the
//! login path stores the password as Latchkey's argon2id and the foreign hash is gone.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use sha2::Digest;
use subtle::ConstantTimeEq;

/// Highest PBKDF2 iteration count accepted (Django 6 uses 1,200,000).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Highest bcrypt cost accepted (frameworks use 10–13; each step doubles the work).
pub const MAX_BCRYPT_COST: u32 = 16;
/// Most argon2 memory accepted, KiB (Django uses 102,400). Each concurrent verification of
/// such a hash holds that much until its account has logged in once (and is re-hashed at
/// Latchkey's 19 MiB), so the bound stays near what a small box can lend: 256 MiB.
pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
/// Most argon2 passes accepted.
pub const MAX_ARGON2_ITERATIONS: u32 = 32;
/// Most scrypt memory accepted, bytes (128 · N · r; Django uses 16 MiB).
pub const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// Highest scrypt parallelism accepted (Django uses 5).
pub const MAX_SCRYPT_PARALLELISM: u32 = 16;

/// Why a stored hash was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedHash {
    /// The prefix names no scheme Latchkey can verify.
    #[error("the password hash has an unknown scheme (accepted: pbkdf2_sha256, pbkdf2_sha1, argon2, bcrypt_sha256, bcrypt, scrypt, $2a$/$2b$/$2y$ bcrypt, $argon2id$/$argon2i$)")]
    UnknownScheme,
    /// The scheme is known but the hash is not well formed for it.
    #[error("the password hash is not a valid {scheme} hash: {reason}")]
    Invalid {
        /// The scheme the prefix names.
        scheme: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Checks that `stored` is a hash Latchkey can verify (its own argon2id or a foreign one, within
/// the cost bounds). Why: run at import on every record, so a hash that could never match is
/// refused with its record number instead of silently locking its account out.
pub fn check(stored: &str) -> Result<(), MalformedHash> {
    Foreign::parse(stored).map(|_| ())
}

pub(super) fn invalid(scheme: &'static str, reason: &'static str) -> MalformedHash {
    MalformedHash::Invalid { scheme, reason }
}

/// The PBKDF2 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest2 {
    Sha256,
    Sha1,
}

/// A parsed foreign hash: everything needed to recompute it.
#[derive(Clone)]
pub(crate) enum Foreign {
    Pbkdf2 {
        digest: Digest2,
        iterations: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Argon2 {
        scheme: &'static str,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Bcrypt {
        scheme: &'static str,
        /// Django's `bcrypt_sha256`: the password is first replaced by its SHA-256, in hex.
        sha256_first: bool,
        cost: u32,
        /// The `$2?$NN$…` string itself, as the `bcrypt` crate reads it.
        modular: String,
    },
    Scrypt {
        params: scrypt::Params,
        n: u64,
        r: u32,
        p: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
}

impl std::fmt::Debug for Foreign {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the salt or the hash.
        f.write_str(&self.signature())
    }
}

impl Foreign {
    /// Parses a stored hash that is not Latchkey's own argon2id.
    pub(crate) fn parse(stored: &str) -> Result<Self, MalformedHash> {
        if let Some(rest) = stored.strip_prefix("pbkdf2_sha256$") {
            return parse::pbkdf2(rest, Digest2::Sha256);
        }
        if let Some(rest) = stored.strip_prefix("pbkdf2_sha1$") {
            return parse::pbkdf2(rest, Digest2::Sha1);
        }
        if let Some(rest) = stored.strip_prefix("argon2$") {
            // Django: "argon2" followed by argon2-cffi's PHC string.
            return parse::argon2(&format!("${rest}"), "Django argon2");
        }
        if let Some(rest) = stored.strip_prefix("bcrypt_sha256$") {
            return parse::bcrypt(rest, "Django bcrypt_sha256", true);
        }
        if let Some(rest) = stored.strip_prefix("bcrypt$") {
            return parse::bcrypt(rest, "Django bcrypt", false);
        }
        if let Some(rest) = stored.strip_prefix("scrypt$") {
            return parse::scrypt(rest);
        }
        if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
        {
            return parse::bcrypt(stored, "bcrypt", false);
        }
        if stored.starts_with("$argon2id$") || stored.starts_with("$argon2i$") {
            return parse::argon2(stored, "argon2 PHC");
        }
        Err(MalformedHash::UnknownScheme)
    }

    /// The scheme and its cost parameters (no salt, no hash): hashes with one signature cost
    /// the same to verify.
    pub(crate) fn signature(&self) -> String {
        match self {
            Self::Pbkdf2 {
                digest, iterations, ..
            } => format!("pbkdf2_{digest:?} i={iterations}").to_lowercase(),
            Self::Argon2 {
                scheme,
                algorithm,
                version,
                params,
                ..
            } => format!(
                "{scheme} {algorithm} v={} m={} t={} p={}",
                u32::from(*version),
                params.m_cost(),
                params.t_cost(),
                params.p_cost()
            ),
            Self::Bcrypt { scheme, cost, .. } => format!("{scheme} cost={cost}"),
            Self::Scrypt { n, r, p, .. } => format!("scrypt n={n} r={r} p={p}"),
        }
    }

    /// A rough cost, in units of about one SHA-256 PBKDF2 iteration, to rank signatures.
    pub(crate) fn work_estimate(&self) -> u64 {
        match self {
            Self::Pbkdf2 {
                digest, iterations, ..
            } => match digest {
                Digest2::Sha256 => u64::from(*iterations),
                Digest2::Sha1 => u64::from(*iterations) * 3 / 5,
            },
            Self::Argon2 { params, .. } => {
                u64::from(params.m_cost()) * u64::from(params.t_cost()) * 13 / 10
            }
            Self::Bcrypt { cost, .. } => 150u64 << cost,
            Self::Scrypt { n, r, p, .. } => n * u64::from(*r) * u64::from(*p),
        }
    }

    /// Argon2 working memory this hash needs, in blocks (0 for the other schemes).
    pub(crate) fn argon2_blocks(&self) -> usize {
        match self {
            Self::Argon2 { params, .. } => params.block_count(),
            _ => 0,
        }
    }

    /// Recomputes the hash of `candidate` and compares it in constant time. `memory` holds at
    /// least [`Foreign::argon2_blocks`] blocks. `false` also when the computation itself fails
    /// (it cannot for a hash that parsed).
    pub(crate) fn matches(&self, candidate: &[u8], memory: &mut [Block]) -> bool {
        match self {
            Self::Pbkdf2 {
                digest,
                iterations,
                salt,
                expected,
            } => {
                let mut output = vec![0u8; expected.len()];
                match digest {
                    Digest2::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                        candidate,
                        salt,
                        *iterations,
                        &mut output,
                    ),
                    Digest2::Sha1 => {
                        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(candidate, salt, *iterations, &mut output)
                    }
                }
                output.ct_eq(expected).into()
            }
            Self::Argon2 {
                algorithm,
                version,
                params,
                salt,
                expected,
                ..
            } => {
                let mut output = vec![0u8; expected.len()];
                let Some(memory) = memory.get_mut(..params.block_count()) else {
                    return false;
                };
                Argon2::new(*algorithm, *version, params.clone())
                    .hash_password_into_with_memory(candidate, salt, &mut output, memory)
                    .is_ok_and(|()| output.ct_eq(expected).into())
            }
            Self::Bcrypt {
                sha256_first,
                modular,
                ..
            } => {
                let verified = if *sha256_first {
                    let digest = hex::encode(sha2::Sha256::digest(candidate));
                    bcrypt::verify(digest.as_bytes(), modular)
                } else {
                    // Truncated at 72 bytes, as the system that made the hash did.
                    bcrypt::verify(candidate, modular)
                };
                verified.unwrap_or(false)
            }
            Self::Scrypt {
                params,
                salt,
                expected,
                ..
            } => {
                let mut output = vec![0u8; expected.len()];
                scrypt::scrypt(candidate, salt, params, &mut output)
                    .is_ok_and(|()| output.ct_eq(expected).into())
            }
        }
    }
}

mod parse;
#[cfg(test)]
mod tests;
