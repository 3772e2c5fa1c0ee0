//! The time of one argon2id hash at the configured cost (the `LATCHKEY_ARGON2_*` variables,
//! default m=19456 KiB, t=2, p=1): the unit login throughput is measured against
//! (limit = cores ÷ this time, SPEC §9).
//!
//!     cargo bench --bench argon2_hash
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use latchkey::config::Config;
use latchkey::domain::{NewPassword, PasswordRules};
use latchkey::passwords::PasswordHasher;

const WARM_UP: usize = 5;
const SAMPLES: usize = 50;

fn main() {
    let config = Config::from_env().unwrap();
    let cost = config.passwords.argon2;
    let hasher = PasswordHasher::with_permits(cost, 1).unwrap();
    let password = sample_password();
    for _ in 0..WARM_UP {
        hasher.hash(&password).unwrap();
    }
    let mut samples: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            hasher.hash(&password).unwrap();
            started.elapsed()
        })
        .collect();
    samples.sort();
    let median = samples[SAMPLES / 2];
    let mean = samples.iter().sum::<Duration>() / SAMPLES as u32;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let parallel = hashes_per_second_on_every_core(cost, cores);
    println!(
        "argon2id m={} t={} p={} samples={SAMPLES} median_ms={:.2} mean_ms={:.2} min_ms={:.2} max_ms={:.2} cores={cores} limit_logins_per_s={:.1} all_cores_hashes_per_s={parallel:.1}",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        median.as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3,
        samples[SAMPLES - 1].as_secs_f64() * 1e3,
        cores as f64 / median.as_secs_f64(),
    );
}

/// Hashes per second with one hashing thread per core, all at once: what the machine really
/// sustains when every core hashes (memory bandwidth is shared).
fn hashes_per_second_on_every_core(cost: latchkey::config::Argon2Cost, cores: usize) -> f64 {
    let per_thread = SAMPLES / 2;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..cores {
            scope.spawn(|| {
                let hasher = PasswordHasher::with_permits(cost, 1).unwrap();
                let password = sample_password();
                for _ in 0..per_thread {
                    hasher.hash(&password).unwrap();
                }
            });
        }
    });
    (cores * per_thread) as f64 / started.elapsed().as_secs_f64()
}

fn sample_password() -> NewPassword {
    let rules = PasswordRules { min_length: 12 };
    NewPassword::parse(
        "correct horse battery staple".into(),
        rules,
        "bench",
        "bench@example.com",
    )
    .unwrap()
}
