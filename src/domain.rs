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

/// Random bytes for tokens and salts (the secrets module owns the generator).
pub use crate::secrets::random_bytes;
