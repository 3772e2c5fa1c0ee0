//! Parsed input: values that, once constructed, are known to be valid.
//!
//! Edges (HTTP, CLI) turn raw strings into these types; deeper code cannot receive an
//! unchecked email address, username or password.

mod email_address;
mod password_rules;
pub mod reset_token;
mod username;

pub use email_address::{canonical_key, EmailAddress, InvalidEmail};
pub use password_rules::{NewPassword, PasswordRules, Violation, MAX_PASSWORD_BYTES};
pub use username::{email_form_key, username_key, InvalidUsername, Username};

use rand::TryRngCore;

/// `N` bytes from the operating system's CSPRNG (used for every token, salt and key).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    // The OS generator only fails when the kernel cannot supply entropy at all; continuing
    // with predictable tokens would be worse than stopping.
    if let Err(err) = rand::rngs::OsRng.try_fill_bytes(&mut bytes) {
        panic!("the operating system's random number generator failed: {err}");
    }
    bytes
}
