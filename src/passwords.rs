//! argon2id hashing and verification, bounded so that a login flood queues instead of eating
//! the machine.
//!
//! * At most one hash runs per CPU core. Each permit owns its argon2 working memory, allocated on
//!   first use and reused afterwards, so resident memory is bounded by cores × `m_cost` and never
//!   fragments the heap. A bounded number of callers may wait for a permit; beyond that, or after
//!   waiting too long, [`HashError::Busy`] is answered at once (the HTTP layer turns it into 503).
//! * Unknown, inactive and password-less accounts are verified against a dummy hash with the
//!   configured parameters, so a failed login costs the same whether or not the account exists.
//!   The dummy is a random PHC string: verifying it does all the work and can never succeed.
//! * Hashes made with lower cost settings report `needs_rehash` so callers upgrade them at the
//!   next successful login.
//!
//! Everything here blocks: call it from a blocking thread, never from an async worker, and never
//! while holding a database connection.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::config::Argon2Cost;
use crate::domain::{random_bytes, NewPassword, MAX_PASSWORD_BYTES};

const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;
/// Callers allowed to queue per permit before new ones are turned away.
const WAITERS_PER_PERMIT: usize = 32;
/// Longest a caller waits for a permit.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// Why a hash could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every permit is taken and the queue is full: try again shortly.
    #[error("password hashing is saturated")]
    Busy,
    /// argon2 refused the input (cannot happen with validated parameters).
    #[error("argon2 failed: {0}")]
    Argon2(argon2::Error),
    /// The PHC string could not be built.
    #[error("cannot encode the password hash: {0}")]
    Encoding(argon2::password_hash::Error),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    /// The password matches; `needs_rehash` when the stored cost is below the configured one.
    Valid {
        /// Re-hash with the current cost and store the result.
        needs_rehash: bool,
    },
    /// It does not (or there was no usable hash to check against).
    Invalid,
}

/// argon2id with the configured cost, behind per-core permits.
pub struct PasswordHasher {
    params: Params,
    dummy: ParsedHash,
    permits: Permits,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish()
    }
}

impl PasswordHasher {
    /// A hasher with one permit per available core.
    pub fn new(cost: Argon2Cost) -> Result<Self, HashError> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::with_permits(cost, cores)
    }

    /// A hasher with an explicit number of concurrent hashes.
    pub fn with_permits(cost: Argon2Cost, permits: usize) -> Result<Self, HashError> {
        let params = Params::new(
            cost.memory_kib,
            cost.iterations,
            cost.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(HashError::Argon2)?;
        let dummy = ParsedHash {
            params: params.clone(),
            salt: random_bytes::<SALT_BYTES>().to_vec(),
            expected: random_bytes::<OUTPUT_BYTES>().to_vec(),
        };
        Ok(Self {
            permits: Permits::new(permits.max(1), params.block_count()),
            params,
            dummy,
        })
    }

    /// Hashes an accepted password into a PHC string with a fresh random salt.
    pub fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let salt = random_bytes::<SALT_BYTES>();
        let mut output = [0u8; OUTPUT_BYTES];
        let mut permit = self.permits.acquire()?;
        argon2id(&self.params)
            .hash_password_into_with_memory(
                password.secret().expose_secret().as_bytes(),
                &salt,
                &mut output,
                permit.memory(self.params.block_count()),
            )
            .map_err(HashError::Argon2)?;
        drop(permit);
        encode(&self.params, &salt, &output)
    }

    /// Checks `candidate` against `stored`; with no stored hash (unknown user, no usable
    /// password) the dummy hash is checked instead, so the cost is the same.
    pub fn verify(
        &self,
        candidate: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let candidate = candidate.expose_secret().as_bytes();
        if candidate.len() > MAX_PASSWORD_BYTES {
            return Ok(Verification::Invalid);
        }
        let parsed = stored.and_then(ParsedHash::parse);
        let real = parsed.is_some();
        let target = parsed.as_ref().unwrap_or(&self.dummy);
        let mut output = vec![0u8; target.expected.len()];
        let mut permit = self.permits.acquire()?;
        let result = argon2id(&target.params).hash_password_into_with_memory(
            candidate,
            &target.salt,
            &mut output,
            permit.memory(target.params.block_count()),
        );
        drop(permit);
        result.map_err(HashError::Argon2)?;
        let matches: bool = output.ct_eq(&target.expected).into();
        Ok(if matches && real {
            Verification::Valid {
                needs_rehash: self.is_below_configured(&target.params),
            }
        } else {
            Verification::Invalid
        })
    }

    fn is_below_configured(&self, stored: &Params) -> bool {
        stored.m_cost() < self.params.m_cost()
            || stored.t_cost() < self.params.t_cost()
            || stored.p_cost() < self.params.p_cost()
    }
}

fn argon2id(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn encode(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(salt).map_err(HashError::Encoding)?;
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(HashError::Encoding)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(output).map_err(HashError::Encoding)?),
    };
    Ok(hash.to_string())
}

/// The parts of a stored argon2id PHC string needed to recompute it.
struct ParsedHash {
    params: Params,
    salt: Vec<u8>,
    expected: Vec<u8>,
}

impl ParsedHash {
    /// `None` for anything that is not a well-formed argon2id v19 hash.
    fn parse(phc: &str) -> Option<Self> {
        let hash = PasswordHash::new(phc).ok()?;
        if hash.algorithm != argon2::ARGON2ID_IDENT || hash.version != Some(0x13) {
            return None;
        }
        let expected = hash.hash?.as_bytes().to_vec();
        let stored = Params::try_from(&hash).ok()?;
        let params = Params::new(
            stored.m_cost(),
            stored.t_cost(),
            stored.p_cost(),
            Some(expected.len()),
        )
        .ok()?;
        let mut salt = [0u8; 64];
        let salt = hash.salt?.decode_b64(&mut salt).ok()?.to_vec();
        Some(Self {
            params,
            salt,
            expected,
        })
    }
}

/// A counting semaphore whose permits own argon2 working memory.
struct Permits {
    state: Mutex<PermitState>,
    freed: Condvar,
    capacity: usize,
    blocks: usize,
}

struct PermitState {
    idle: Vec<Vec<Block>>,
    lent: usize,
    waiting: usize,
}

impl Permits {
    fn new(capacity: usize, blocks: usize) -> Self {
        Self {
            state: Mutex::new(PermitState {
                idle: Vec::new(),
                lent: 0,
                waiting: 0,
            }),
            freed: Condvar::new(),
            capacity,
            blocks,
        }
    }

    fn lock(&self) -> MutexGuard<'_, PermitState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn acquire(&self) -> Result<Permit<'_>, HashError> {
        let mut state = self.lock();
        if state.lent >= self.capacity {
            if state.waiting >= self.capacity * WAITERS_PER_PERMIT {
                return Err(HashError::Busy);
            }
            state.waiting += 1;
            let deadline = Instant::now() + MAX_WAIT;
            while state.lent >= self.capacity {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    state.waiting -= 1;
                    return Err(HashError::Busy);
                }
                state = self
                    .freed
                    .wait_timeout(state, left)
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .0;
            }
            state.waiting -= 1;
        }
        state.lent += 1;
        let memory = state.idle.pop();
        drop(state);
        Ok(Permit {
            permits: self,
            memory: Some(memory.unwrap_or_else(|| vec![Block::new(); self.blocks])),
        })
    }
}

/// One running hash; returns its memory to the pool when dropped.
struct Permit<'a> {
    permits: &'a Permits,
    memory: Option<Vec<Block>>,
}

impl Permit<'_> {
    /// Working memory for `blocks` blocks: the permit's own buffer, grown for the rare stored
    /// hash made with more memory than is configured now.
    fn memory(&mut self, blocks: usize) -> &mut [Block] {
        let memory = self.memory.get_or_insert_with(Vec::new);
        if memory.len() < blocks {
            memory.resize(blocks, Block::new());
        }
        &mut memory[..blocks]
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.permits.lock();
        state.lent -= 1;
        if let Some(memory) = self
            .memory
            .take()
            .filter(|m| m.len() == self.permits.blocks)
        {
            state.idle.push(memory);
        }
        drop(state);
        self.permits.freed.notify_one();
    }
}

#[cfg(test)]
mod tests;
