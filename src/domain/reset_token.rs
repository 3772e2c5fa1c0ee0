//! Reset tokens: the [`TokenGenerator`] trait and its two built-ins (django-rest-passwordreset's
//! `RandomStringTokenGenerator` and `RandomNumberTokenGenerator`, with the OS CSPRNG for every
//! random choice).

use rand::rngs::OsRng;
use rand::{Rng, TryRngCore};

/// Longest token accepted anywhere; longer input is refused before any look-up.
pub const MAX_TOKEN_LENGTH: usize = 128;

/// Makes reset tokens. Implement it to change their shape (the package's `BaseTokenGenerator`).
pub trait TokenGenerator: Send + Sync + std::fmt::Debug {
    /// A new random token.
    fn generate_token(&self) -> String;

    /// Whether `token` has a shape this generator can produce. A token that cannot be valid is
    /// rejected without a database look-up; the default only bounds the length.
    fn could_generate(&self, token: &str) -> bool {
        !token.is_empty() && token.len() <= MAX_TOKEN_LENGTH
    }
}

/// Lowercase hex from the OS CSPRNG, its length drawn from `min_length..=max_length`
/// (default 64 characters: 256 bits).
#[derive(Debug, Clone, Copy)]
pub struct RandomStringTokenGenerator {
    min_length: usize,
    max_length: usize,
}

impl RandomStringTokenGenerator {
    /// A generator of `min_length..=max_length` hex characters (clamped to 1..=128).
    pub fn new(min_length: usize, max_length: usize) -> Self {
        let max_length = max_length.clamp(1, MAX_TOKEN_LENGTH);
        Self {
            min_length: min_length.clamp(1, max_length),
            max_length,
        }
    }
}

impl TokenGenerator for RandomStringTokenGenerator {
    fn generate_token(&self) -> String {
        let mut rng = OsRng.unwrap_err();
        let length = rng.random_range(self.min_length..=self.max_length);
        let mut bytes = vec![0u8; length.div_ceil(2)];
        rng.fill(bytes.as_mut_slice());
        let mut token = hex::encode(bytes);
        token.truncate(length);
        token
    }

    fn could_generate(&self, token: &str) -> bool {
        (self.min_length..=self.max_length).contains(&token.len())
            && token
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

/// A decimal number from `min..=max` (a short code someone can type; needs the brute-force
/// limits, which Latchkey applies globally in this mode).
#[derive(Debug, Clone, Copy)]
pub struct RandomNumberTokenGenerator {
    min: u64,
    max: u64,
}

impl RandomNumberTokenGenerator {
    /// A generator of numbers in `min..=max`.
    pub fn new(min: u64, max: u64) -> Self {
        Self {
            min: min.min(max),
            max,
        }
    }
}

impl TokenGenerator for RandomNumberTokenGenerator {
    fn generate_token(&self) -> String {
        OsRng
            .unwrap_err()
            .random_range(self.min..=self.max)
            .to_string()
    }

    fn could_generate(&self, token: &str) -> bool {
        let canonical = token == "0" || !token.starts_with('0');
        canonical
            && token.len() <= 20
            && token.bytes().all(|b| b.is_ascii_digit())
            && token
                .parse::<u64>()
                .is_ok_and(|n| (self.min..=self.max).contains(&n))
    }
}

/// Which built-in token generator to use, and its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenGeneratorConfig {
    /// Lowercase hex, length drawn from `min_length..=max_length`.
    String {
        /// Shortest token.
        min_length: usize,
        /// Longest token.
        max_length: usize,
    },
    /// A decimal number from `min..=max`.
    Number {
        /// Smallest value.
        min: u64,
        /// Largest value.
        max: u64,
    },
}

/// The built-in generator the configuration names.
pub fn from_config(config: TokenGeneratorConfig) -> Box<dyn TokenGenerator> {
    match config {
        TokenGeneratorConfig::String {
            min_length,
            max_length,
        } => Box::new(RandomStringTokenGenerator::new(min_length, max_length)),
        TokenGeneratorConfig::Number { min, max } => {
            Box::new(RandomNumberTokenGenerator::new(min, max))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn string_tokens_are_unique_hex_within_bounds() {
        let generator = RandomStringTokenGenerator::new(10, 15);
        let tokens: HashSet<String> = (0..100).map(|_| generator.generate_token()).collect();
        assert_eq!(tokens.len(), 100);
        assert!(tokens
            .iter()
            .all(|t| (10..=15).contains(&t.len()) && generator.could_generate(t)));
    }

    #[test]
    fn the_default_string_token_carries_256_bits() {
        let generator = RandomStringTokenGenerator::new(64, 64);
        let token = generator.generate_token();
        assert_eq!(token.len(), 64);
        assert!(!generator.could_generate(&token.to_uppercase()));
        assert!(!generator.could_generate(&token[..32]));
    }

    #[test]
    fn number_tokens_stay_in_range() {
        let generator = RandomNumberTokenGenerator::new(1_000_000_000, 9_999_999_999);
        let tokens: HashSet<String> = (0..100).map(|_| generator.generate_token()).collect();
        assert_eq!(tokens.len(), 100);
        for token in &tokens {
            let n: u64 = token.parse().unwrap();
            assert!((1_000_000_000..=9_999_999_999).contains(&n));
            assert!(generator.could_generate(token));
        }
        assert!(!generator.could_generate("0001000000000"));
        assert!(!generator.could_generate("12"));
        assert!(!generator.could_generate("abc"));
    }
}
