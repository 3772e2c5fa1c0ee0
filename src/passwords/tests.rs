use super::*;
use crate::domain::PasswordRules;

const COST: Argon2Cost = Argon2Cost {
    memory_kib: 19_456,
    iterations: 2,
    parallelism: 1,
};

fn accepted(raw: &str) -> NewPassword {
    NewPassword::parse(
        raw.into(),
        PasswordRules { min_length: 12 },
        "alice",
        "alice@example.com",
    )
    .unwrap()
}

#[test]
fn a_hash_is_an_argon2id_phc_string_that_verifies() {
    let hasher = PasswordHasher::with_permits(COST, 1).unwrap();
    let hash = hasher
        .hash(&accepted("correct horse battery staple"))
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let right = hasher
        .verify(&"correct horse battery staple".into(), Some(&hash))
        .unwrap();
    assert_eq!(
        right,
        Verification::Valid {
            needs_rehash: false
        }
    );
    let wrong = hasher
        .verify(&"correct horse battery stapler".into(), Some(&hash))
        .unwrap();
    assert_eq!(wrong, Verification::Invalid);
}

#[test]
fn the_same_password_gets_different_salts() {
    let hasher = PasswordHasher::with_permits(COST, 1).unwrap();
    let password = accepted("correct horse battery staple");
    assert_ne!(
        hasher.hash(&password).unwrap(),
        hasher.hash(&password).unwrap()
    );
}

#[test]
fn a_missing_hash_is_checked_against_the_dummy_and_never_matches() {
    let hasher = PasswordHasher::with_permits(COST, 1).unwrap();
    assert_eq!(
        hasher.verify(&"anything at all".into(), None).unwrap(),
        Verification::Invalid
    );
    assert_eq!(
        hasher
            .verify(&"anything at all".into(), Some("not a phc string"))
            .unwrap(),
        Verification::Invalid
    );
}

#[test]
fn hashes_below_the_configured_cost_ask_to_be_upgraded() {
    let old = PasswordHasher::with_permits(COST, 1).unwrap();
    let hash = old.hash(&accepted("correct horse battery staple")).unwrap();
    let stronger = PasswordHasher::with_permits(
        Argon2Cost {
            iterations: 3,
            ..COST
        },
        1,
    )
    .unwrap();
    assert_eq!(
        stronger
            .verify(&"correct horse battery staple".into(), Some(&hash))
            .unwrap(),
        Verification::Valid { needs_rehash: true }
    );
}

#[test]
fn over_long_candidates_are_refused_without_hashing() {
    let hasher = PasswordHasher::with_permits(COST, 1).unwrap();
    let huge: SecretString = "x".repeat(1_000_000).into();
    assert_eq!(hasher.verify(&huge, None).unwrap(), Verification::Invalid);
    // No permit was ever taken, so no argon2 memory was ever allocated.
    assert!(hasher.permits.lock().idle.is_empty());
}

#[test]
fn a_full_queue_answers_busy_instead_of_waiting() {
    let permits = Permits::new(1, 8);
    let held = permits.acquire().unwrap();
    permits.lock().waiting = WAITERS_PER_PERMIT;
    assert!(matches!(permits.acquire(), Err(HashError::Busy)));
    permits.lock().waiting = 0;
    drop(held);
    assert!(permits.acquire().is_ok());
}
