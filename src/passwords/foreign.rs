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

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
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

fn invalid(scheme: &'static str, reason: &'static str) -> MalformedHash {
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
            return parse_pbkdf2(rest, Digest2::Sha256);
        }
        if let Some(rest) = stored.strip_prefix("pbkdf2_sha1$") {
            return parse_pbkdf2(rest, Digest2::Sha1);
        }
        if let Some(rest) = stored.strip_prefix("argon2$") {
            // Django: "argon2" followed by argon2-cffi's PHC string.
            return parse_argon2(&format!("${rest}"), "Django argon2");
        }
        if let Some(rest) = stored.strip_prefix("bcrypt_sha256$") {
            return parse_bcrypt(rest, "Django bcrypt_sha256", true);
        }
        if let Some(rest) = stored.strip_prefix("bcrypt$") {
            return parse_bcrypt(rest, "Django bcrypt", false);
        }
        if let Some(rest) = stored.strip_prefix("scrypt$") {
            return parse_scrypt(rest);
        }
        if ["$2a$", "$2b$", "$2y$"]
            .iter()
            .any(|prefix| stored.starts_with(prefix))
        {
            return parse_bcrypt(stored, "bcrypt", false);
        }
        if stored.starts_with("$argon2id$") || stored.starts_with("$argon2i$") {
            return parse_argon2(stored, "argon2 PHC");
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

fn parse_pbkdf2(rest: &str, digest: Digest2) -> Result<Foreign, MalformedHash> {
    let scheme = match digest {
        Digest2::Sha256 => "pbkdf2_sha256",
        Digest2::Sha1 => "pbkdf2_sha1",
    };
    let parts: Vec<&str> = rest.split('$').collect();
    let [iterations, salt, hash] = parts[..] else {
        return Err(invalid(scheme, "expected ITERATIONS$SALT$HASH"));
    };
    let iterations = parse_number(iterations)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
        .ok_or(invalid(
            scheme,
            "the iteration count is not a number from 1 to 10000000",
        ))?;
    if salt.is_empty() {
        return Err(invalid(scheme, "the salt is empty"));
    }
    let expected = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .map_err(|_| invalid(scheme, "the hash is not base64"))?;
    let length = match digest {
        Digest2::Sha256 => 32,
        Digest2::Sha1 => 20,
    };
    if expected.len() != length {
        return Err(invalid(scheme, "the hash has the wrong length"));
    }
    Ok(Foreign::Pbkdf2 {
        digest,
        iterations,
        salt: salt.as_bytes().to_vec(),
        expected,
    })
}

fn parse_argon2(phc: &str, scheme: &'static str) -> Result<Foreign, MalformedHash> {
    let hash = PasswordHash::new(phc).map_err(|_| invalid(scheme, "not a PHC string"))?;
    let algorithm = match hash.algorithm.as_str() {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        _ => return Err(invalid(scheme, "only argon2id and argon2i are accepted")),
    };
    let version = match hash.version {
        None | Some(0x10) => Version::V0x10,
        Some(0x13) => Version::V0x13,
        Some(_) => return Err(invalid(scheme, "unknown argon2 version")),
    };
    let expected = hash
        .hash
        .ok_or(invalid(scheme, "the hash is missing"))?
        .as_bytes()
        .to_vec();
    let stored = Params::try_from(&hash).map_err(|_| invalid(scheme, "bad m, t or p"))?;
    if stored.m_cost() > MAX_ARGON2_MEMORY_KIB || stored.t_cost() > MAX_ARGON2_ITERATIONS {
        return Err(invalid(
            scheme,
            "the cost is above what Latchkey verifies (m <= 262144, t <= 32)",
        ));
    }
    let params = Params::new(
        stored.m_cost(),
        stored.t_cost(),
        stored.p_cost(),
        Some(expected.len()),
    )
    .map_err(|_| invalid(scheme, "bad m, t, p or hash length"))?;
    let mut salt = [0u8; 64];
    let salt = hash
        .salt
        .ok_or(invalid(scheme, "the salt is missing"))?
        .decode_b64(&mut salt)
        .map_err(|_| invalid(scheme, "the salt is not base64"))?
        .to_vec();
    if salt.len() < 8 {
        return Err(invalid(scheme, "the salt is shorter than 8 bytes"));
    }
    Ok(Foreign::Argon2 {
        scheme,
        algorithm,
        version,
        params,
        salt,
        expected,
    })
}

fn parse_bcrypt(
    modular: &str,
    scheme: &'static str,
    sha256_first: bool,
) -> Result<Foreign, MalformedHash> {
    let shape = "expected $2a$, $2b$ or $2y$, a two-digit cost, $ and 53 characters";
    let rest = ["$2a$", "$2b$", "$2y$"]
        .iter()
        .find_map(|prefix| modular.strip_prefix(prefix))
        .ok_or(invalid(scheme, shape))?;
    let (cost, body) = rest.split_once('$').ok_or(invalid(scheme, shape))?;
    if cost.len() != 2 || body.len() != 53 || !body.is_ascii() {
        return Err(invalid(scheme, shape));
    }
    let cost = parse_number(cost)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (4..=MAX_BCRYPT_COST).contains(n))
        .ok_or(invalid(scheme, "the cost is not from 04 to 16"))?;
    let (salt, hash) = body.split_at(22);
    let salt_ok = bcrypt::BASE_64.decode(salt).is_ok_and(|s| s.len() == 16);
    let hash_ok = bcrypt::BASE_64.decode(hash).is_ok_and(|h| h.len() == 23);
    if !salt_ok || !hash_ok {
        return Err(invalid(scheme, "the salt or hash is not bcrypt base64"));
    }
    Ok(Foreign::Bcrypt {
        scheme,
        sha256_first,
        cost,
        modular: modular.to_owned(),
    })
}

fn parse_scrypt(rest: &str) -> Result<Foreign, MalformedHash> {
    let scheme = "scrypt";
    let parts: Vec<&str> = rest.split('$').collect();
    let [n, salt, r, p, hash] = parts[..] else {
        return Err(invalid(scheme, "expected N$SALT$R$P$HASH"));
    };
    let n = parse_number(n)
        .filter(|n| n.is_power_of_two() && *n >= 2)
        .ok_or(invalid(scheme, "N is not a power of two"))?;
    let r = parse_number(r)
        .and_then(|r| u32::try_from(r).ok())
        .filter(|r| *r >= 1)
        .ok_or(invalid(scheme, "r is not a positive number"))?;
    let p = parse_number(p)
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| (1..=MAX_SCRYPT_PARALLELISM).contains(p))
        .ok_or(invalid(scheme, "p is not a number from 1 to 16"))?;
    if 128u64
        .checked_mul(n)
        .and_then(|m| m.checked_mul(u64::from(r)))
        .is_none_or(|bytes| bytes > MAX_SCRYPT_MEMORY)
    {
        return Err(invalid(
            scheme,
            "the memory cost 128·N·r is above what Latchkey verifies (256 MiB)",
        ));
    }
    if salt.is_empty() {
        return Err(invalid(scheme, "the salt is empty"));
    }
    let expected = base64::engine::general_purpose::STANDARD
        .decode(hash)
        .map_err(|_| invalid(scheme, "the hash is not base64"))?;
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| invalid(scheme, "N is too large"))?;
    let params = scrypt::Params::new(log_n, r, p, expected.len())
        .map_err(|_| invalid(scheme, "N, r, p or the hash length is out of range"))?;
    Ok(Foreign::Scrypt {
        params,
        n,
        r,
        p,
        salt: salt.as_bytes().to_vec(),
        expected,
    })
}

/// A decimal number without sign, spaces or leading `+`.
fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests;
