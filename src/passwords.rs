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
//! * Hashes imported from other systems (Django's pbkdf2, argon2, bcrypt and scrypt, bcrypt,
//!   argon2i: see [`foreign`]) are verified too, and always report `needs_rehash`: the first
//!   successful login replaces them with argon2id.
//! * **Timing with imported hashes.** A foreign hash can cost far more than the dummy: Django's
//!   pbkdf2_sha256 runs 10^6 SHA-256 rounds (~0.4 s) where argon2id takes ~20 ms, so a wrong
//!   password for a not-yet-migrated account would answer visibly slower than one for an unknown
//!   name. Doing that much work for every unknown name would hand attackers a cheap way to burn
//!   CPU, and could never match every foreign cost anyway. Instead every verification (dummy,
//!   argon2id or foreign) lasts at least a *floor*: the time the costliest foreign hash takes
//!   here, measured at start-up on the hashes actually stored ([`PasswordHasher::calibrate`]) and
//!   kept up to date by every foreign verification (the floor is the slowest signature's
//!   *fastest* observed time, so one stalled run does not stick). The wait is a sleep after the
//!   permit is released, so it costs latency, not CPU. With no foreign hash stored at start-up
//!   and none checked since, the floor is zero and nothing changes; it is not lowered while the
//!   process runs (a restart after the last imported account migrated resets it).
//!
//! Everything here blocks: call it from a blocking thread, never from an async worker, and never
//! while holding a database connection.

pub mod foreign;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use crate::config::Argon2Cost;
use crate::domain::{random_bytes, NewPassword, MAX_PASSWORD_BYTES};
use foreign::Foreign;

const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;
/// Callers allowed to queue per permit before new ones are turned away.
const WAITERS_PER_PERMIT: usize = 32;
/// Longest a caller waits for a permit.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// Distinct foreign cost signatures remembered for the timing floor.
const MAX_SIGNATURES: usize = 64;
/// Distinct signatures measured by [`PasswordHasher::calibrate`] (the costliest first).
const CALIBRATED_SIGNATURES: usize = 4;

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
    floor: TimingFloor,
    hash_seconds: Option<prometheus::Histogram>,
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
            floor: TimingFloor::default(),
            hash_seconds: None,
        })
    }

    /// Records the time of every hash computation in `histogram` (for metrics).
    pub fn with_hash_histogram(mut self, histogram: prometheus::Histogram) -> Self {
        self.hash_seconds = Some(histogram);
        self
    }

    /// Callers waiting for a permit right now.
    pub fn queue_len(&self) -> usize {
        self.permits.lock().waiting
    }

    fn observe(&self, computed: Duration) {
        if let Some(histogram) = &self.hash_seconds {
            histogram.observe(computed.as_secs_f64());
        }
    }

    /// Hashes an accepted password into a PHC string with a fresh random salt.
    pub fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let salt = random_bytes::<SALT_BYTES>();
        let mut output = [0u8; OUTPUT_BYTES];
        let mut permit = self.permits.acquire()?;
        let started = Instant::now();
        argon2id(&self.params)
            .hash_password_into_with_memory(
                password.secret().expose_secret().as_bytes(),
                &salt,
                &mut output,
                permit.memory(self.params.block_count()),
            )
            .map_err(HashError::Argon2)?;
        self.observe(started.elapsed());
        drop(permit);
        encode(&self.params, &salt, &output)
    }

    /// Checks `candidate` against `stored`; with no stored hash (unknown user, no usable
    /// password) the dummy hash is checked instead, so the cost is the same. A foreign hash
    /// (see [`foreign`]) that matches reports `needs_rehash`. Every call lasts at least the
    /// timing floor (module docs).
    pub fn verify(
        &self,
        candidate: &SecretString,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let candidate = candidate.expose_secret().as_bytes();
        if candidate.len() > MAX_PASSWORD_BYTES {
            return Ok(Verification::Invalid);
        }
        let native = stored.and_then(ParsedHash::parse);
        let foreign = match (&native, stored) {
            (None, Some(stored)) => Foreign::parse(stored).ok(),
            _ => None,
        };
        let (verdict, computed) = match (&native, &foreign) {
            (Some(parsed), _) => {
                let (matches, computed) = self.compute_argon2id(candidate, parsed)?;
                let verdict = if matches {
                    Verification::Valid {
                        needs_rehash: self.is_below_configured(&parsed.params),
                    }
                } else {
                    Verification::Invalid
                };
                (verdict, computed)
            }
            (None, Some(foreign)) => {
                let (matches, computed) = self.compute_foreign(candidate, foreign)?;
                self.floor.observe(foreign.signature(), computed);
                let verdict = if matches {
                    Verification::Valid { needs_rehash: true }
                } else {
                    Verification::Invalid
                };
                (verdict, computed)
            }
            (None, None) => {
                let (_, computed) = self.compute_argon2id(candidate, &self.dummy)?;
                (Verification::Invalid, computed)
            }
        };
        self.floor.wait_out(computed);
        Ok(verdict)
    }

    /// The current timing floor (zero when no foreign hash was seen).
    pub fn timing_floor(&self) -> Duration {
        self.floor.get()
    }

    /// Measures the costliest of these stored hashes (a few distinct cost signatures, the
    /// costliest by estimate first) and raises the timing floor to match; hashes that are not
    /// foreign are ignored. Why: so a not-yet-migrated imported account answers a wrong password
    /// no slower than an unknown name from the first request on (module docs). Returns the floor.
    pub fn calibrate<'a>(
        &self,
        stored: impl IntoIterator<Item = &'a str>,
    ) -> Result<Duration, HashError> {
        let mut distinct: HashMap<String, Foreign> = HashMap::new();
        for hash in stored {
            if ParsedHash::parse(hash).is_some() {
                continue;
            }
            if let Ok(foreign) = Foreign::parse(hash) {
                distinct.entry(foreign.signature()).or_insert(foreign);
            }
        }
        let mut costliest: Vec<Foreign> = distinct.into_values().collect();
        costliest.sort_by_key(|foreign| std::cmp::Reverse(foreign.work_estimate()));
        let probe = random_bytes::<16>();
        for foreign in costliest.iter().take(CALIBRATED_SIGNATURES) {
            let (_, computed) = self.compute_foreign(hex::encode(probe).as_bytes(), foreign)?;
            self.floor.observe(foreign.signature(), computed);
        }
        Ok(self.floor.get())
    }

    /// One argon2id computation under a permit: whether it matched, and how long the work
    /// itself took (not the wait for the permit).
    fn compute_argon2id(
        &self,
        candidate: &[u8],
        target: &ParsedHash,
    ) -> Result<(bool, Duration), HashError> {
        let mut output = vec![0u8; target.expected.len()];
        let mut permit = self.permits.acquire()?;
        let started = Instant::now();
        let result = argon2id(&target.params).hash_password_into_with_memory(
            candidate,
            &target.salt,
            &mut output,
            permit.memory(target.params.block_count()),
        );
        let computed = started.elapsed();
        drop(permit);
        self.observe(computed);
        result.map_err(HashError::Argon2)?;
        Ok((output.ct_eq(&target.expected).into(), computed))
    }

    /// One foreign verification under a permit, like [`Self::compute_argon2id`].
    fn compute_foreign(
        &self,
        candidate: &[u8],
        foreign: &Foreign,
    ) -> Result<(bool, Duration), HashError> {
        let mut permit = self.permits.acquire()?;
        let started = Instant::now();
        let matches = foreign.matches(candidate, permit.memory(foreign.argon2_blocks()));
        let computed = started.elapsed();
        drop(permit);
        self.observe(computed);
        Ok((matches, computed))
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

/// The least time a verification lasts: for every foreign cost signature seen, the fastest
/// observed verification; the floor is the slowest of those.
#[derive(Default)]
struct TimingFloor {
    nanos: AtomicU64,
    signatures: Mutex<HashMap<String, Duration>>,
}

impl TimingFloor {
    fn get(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }

    fn observe(&self, signature: String, took: Duration) {
        let mut signatures = self
            .signatures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let known = signatures.len();
        match signatures.get_mut(&signature) {
            Some(fastest) => *fastest = (*fastest).min(took),
            None if known < MAX_SIGNATURES => {
                signatures.insert(signature, took);
            }
            None => {}
        }
        let floor = signatures.values().max().copied().unwrap_or_default();
        drop(signatures);
        let floor = u64::try_from(floor.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.store(floor, Ordering::Relaxed);
    }

    /// Sleeps for whatever the floor is above `computed`.
    fn wait_out(&self, computed: Duration) {
        let left = self.get().saturating_sub(computed);
        if !left.is_zero() {
            std::thread::sleep(left);
        }
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
