//! Hashes made by real Django and real bcrypt (tests/django/sample_dumpdata.json, see the
//! README beside it), and malformed ones.

use super::*;
use crate::config::Argon2Cost;
use crate::passwords::{PasswordHasher, Verification};
use base64::Engine;

const SAMPLE: &str = include_str!("../../../tests/django/sample_dumpdata.json");

fn password_for(username: &str) -> String {
    format!("Imported {username} pässwörd 42")
}

/// `(username, stored password)` of every record of the committed sample.
fn sample() -> Vec<(String, String)> {
    let records: Vec<serde_json::Value> = serde_json::from_str(SAMPLE).unwrap();
    records
        .iter()
        .map(|record| {
            let fields = &record["fields"];
            (
                fields["username"].as_str().unwrap().to_owned(),
                fields["password"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn verifies(stored: &str, password: &str) -> bool {
    let foreign = Foreign::parse(stored).unwrap();
    let mut memory = vec![Block::new(); foreign.argon2_blocks()];
    foreign.matches(password.as_bytes(), &mut memory)
}

#[test]
fn every_django_and_bcrypt_hash_of_the_sample_verifies_with_its_password_only() {
    let mut schemes = Vec::new();
    for (username, stored) in sample() {
        if stored.starts_with('!') {
            assert_eq!(
                Foreign::parse(&stored).unwrap_err(),
                MalformedHash::UnknownScheme
            );
            continue;
        }
        check(&stored).unwrap_or_else(|err| panic!("{username}: {err}"));
        assert!(verifies(&stored, &password_for(&username)), "{username}");
        assert!(
            !verifies(&stored, &password_for("someone else")),
            "{username}"
        );
        assert!(!verifies(&stored, ""), "{username}");
        schemes.push(Foreign::parse(&stored).unwrap().signature());
    }
    for expected in [
        "pbkdf2_sha256",
        "pbkdf2_sha1",
        "Django argon2 argon2id",
        "Django argon2 argon2i",
        "Django bcrypt_sha256",
        "Django bcrypt cost",
        "scrypt",
        "bcrypt cost",
    ] {
        assert!(
            schemes.iter().any(|s| s.starts_with(expected)),
            "{expected} missing from {schemes:?}"
        );
    }
}

#[test]
fn bcrypt_spelled_2a_2b_or_2y_is_the_same_hash() {
    let (username, stored) = sample()
        .into_iter()
        .find(|(name, _)| name == "bcrypt_2b")
        .unwrap();
    for prefix in ["$2a$", "$2y$"] {
        let respelled = format!("{prefix}{}", &stored[4..]);
        assert!(verifies(&respelled, &password_for(&username)));
    }
}

#[test]
fn malformed_hashes_are_refused_with_their_scheme_and_reason() {
    let cases = [
        ("$argon2id$garbage", "argon2 PHC"),
        ("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$", "argon2 PHC"),
        ("$argon2d$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "unknown"),
        ("argon2$argon2d$v=19$m=512,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "Django argon2"),
        ("pbkdf2_sha256$abc$salt$KcVV8e6JSNJtFzhfgyhn/ctdb+s4c40CsIoY1m8HSoI=", "pbkdf2_sha256"),
        ("pbkdf2_sha256$0$salt$KcVV8e6JSNJtFzhfgyhn/ctdb+s4c40CsIoY1m8HSoI=", "pbkdf2_sha256"),
        ("pbkdf2_sha256$1000$salt$KcVV8e6JSNJtFzhfgyhn", "pbkdf2_sha256"),
        ("pbkdf2_sha256$1000$salt$not base64!", "pbkdf2_sha256"),
        ("pbkdf2_sha256$1000$$KcVV8e6JSNJtFzhfgyhn/ctdb+s4c40CsIoY1m8HSoI=", "pbkdf2_sha256"),
        ("pbkdf2_sha256$99999999$s$KcVV8e6JSNJtFzhfgyhn/ctdb+s4c40CsIoY1m8HSoI=", "pbkdf2_sha256"),
        ("pbkdf2_sha1$1000$salt$KcVV8e6JSNJtFzhfgyhn/ctdb+s4c40CsIoY1m8HSoI=", "pbkdf2_sha1"),
        ("pbkdf2_sha256$1000$salt", "pbkdf2_sha256"),
        ("bcrypt_sha256$$2b$04$Ok75PPGiE0fjbvsul3OZNOaQNHS0x2/nuCuS1eFxnCZ9BWTx2", "bcrypt_sha256"),
        ("$2b$04$short", "bcrypt"),
        ("$argon2id$v=19$m=524288,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "argon2 PHC"),
        ("$2b$31$uW0vVMjMuxYRE6UP9wT6yuw2vV7.9S8XupsE/OdO5kDTgWZpX7t/G", "bcrypt"),
        ("$2b$4$uW0vVMjMuxYRE6UP9wT6yuw2vV7.9S8XupsE/OdO5kDTgWZpX7t/Gx", "bcrypt"),
        ("scrypt$1000$salt$8$1$NNmQNaug3dyzqg8/ko54+TXwXqJiY894q1DjfEqUNwzcBiF8TjdXS/mwvLIBQ7xVK5aUrs8Y8xyVLId8iuLZpA==", "scrypt"),
        ("scrypt$1048576$salt$8$1$NNmQNaug3dyzqg8/ko54+TXwXqJiY894q1DjfEqUNwzcBiF8TjdXS/mwvLIBQ7xVK5aUrs8Y8xyVLId8iuLZpA==", "scrypt"),
        ("scrypt$1024$salt$8$1", "scrypt"),
        ("md5$salt$0123456789abcdef", "unknown"),
        ("sha1$salt$0123456789abcdef", "unknown"),
        ("", "unknown"),
    ];
    for (stored, scheme) in cases {
        let err = check(stored).expect_err(stored);
        let message = err.to_string();
        if scheme == "unknown" {
            assert_eq!(err, MalformedHash::UnknownScheme, "{stored}");
        } else {
            assert!(message.contains(scheme), "{stored}: {message}");
        }
        let tail = stored.rsplit('$').next().unwrap_or("");
        if tail.len() > 8 {
            assert!(
                !message.contains(tail),
                "the hash is never echoed: {message}"
            );
        }
    }
}

const CHEAP: Argon2Cost = Argon2Cost {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

#[test]
fn a_matching_foreign_hash_asks_to_be_rehashed_and_a_wrong_password_is_invalid() {
    let hasher = PasswordHasher::with_permits(CHEAP, 1).unwrap();
    for (username, stored) in sample().into_iter().filter(|(_, s)| !s.starts_with('!')) {
        let right = hasher
            .verify(&password_for(&username).into(), Some(&stored))
            .unwrap();
        assert_eq!(
            right,
            Verification::Valid { needs_rehash: true },
            "{username}"
        );
        let wrong = hasher.verify(&"wrong".into(), Some(&stored)).unwrap();
        assert_eq!(wrong, Verification::Invalid, "{username}");
    }
    assert_eq!(
        hasher
            .verify(&"anything".into(), Some("$argon2id$garbage"))
            .unwrap(),
        Verification::Invalid
    );
}

/// The dummy path (unknown account) lasts as long as the costliest foreign hash stored.
#[test]
fn after_calibration_an_unknown_account_costs_as_much_as_a_foreign_hash() {
    let hasher = PasswordHasher::with_permits(CHEAP, 1).unwrap();
    assert_eq!(hasher.timing_floor(), Duration::ZERO);
    // Made here, not by Django: only its cost matters (about 40 ms optimised).
    let mut hash = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(b"password", b"saltsalt", 100_000, &mut hash);
    let stored = format!(
        "pbkdf2_sha256$100000$saltsalt${}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    );
    let started = Instant::now();
    assert!(verifies(&stored, "password"));
    let foreign_cost = started.elapsed();

    let floor = hasher
        .calibrate([
            stored.as_str(),
            "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ])
        .unwrap();
    assert!(floor >= foreign_cost / 2, "{floor:?} vs {foreign_cost:?}");
    for stored in [
        None,
        Some("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
    ] {
        let started = Instant::now();
        assert_eq!(
            hasher.verify(&"wrong".into(), stored).unwrap(),
            Verification::Invalid
        );
        assert!(
            started.elapsed() >= floor,
            "{stored:?}: {:?} < {floor:?}",
            started.elapsed()
        );
    }
}

use std::time::{Duration, Instant};
