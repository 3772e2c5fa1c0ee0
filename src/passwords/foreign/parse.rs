//! The parsers of [`super::Foreign`]: one per scheme, strict, bounded, never echoing the hash.

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Params, Version};
use base64::Engine;

use super::{
    invalid, Digest2, Foreign, MalformedHash, MAX_ARGON2_ITERATIONS, MAX_ARGON2_MEMORY_KIB,
    MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS, MAX_SCRYPT_MEMORY, MAX_SCRYPT_PARALLELISM,
};

pub(super) fn pbkdf2(rest: &str, digest: Digest2) -> Result<Foreign, MalformedHash> {
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

pub(super) fn argon2(phc: &str, scheme: &'static str) -> Result<Foreign, MalformedHash> {
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

pub(super) fn bcrypt(
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

pub(super) fn scrypt(rest: &str) -> Result<Foreign, MalformedHash> {
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
