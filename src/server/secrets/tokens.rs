//! Random bytes and single-use bearer tokens (invitation and setup links).
//!
//! Tokens carry 256 bits from the operating system's CSPRNG. Only their
//! SHA-256 is stored, so a copy of the database cannot be turned back into a
//! working link.

use sha2::{Digest, Sha256};
use std::fmt;

/// `N` bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
}

/// A freshly made bearer token. `Debug` hides it; `reveal` hands it out once.
pub struct NewToken {
    plaintext: String,
    hash: String,
}

impl NewToken {
    /// Makes a token: 32 random bytes as 64 hex characters.
    pub fn generate() -> Self {
        let plaintext = hex::encode(random_bytes::<32>());
        let hash = hash_token(&plaintext);
        Self { plaintext, hash }
    }

    /// The token itself, to put in a link shown once.
    pub fn reveal(&self) -> &str {
        &self.plaintext
    }

    /// What is stored.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewToken(redacted)")
    }
}

/// The stored form of a token: SHA-256 as hex. A fast hash is right here:
/// the token is 256 random bits, not something a person chose.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_hash_to_what_is_stored() {
        let a = NewToken::generate();
        let b = NewToken::generate();
        assert_ne!(a.reveal(), b.reveal());
        assert_eq!(a.reveal().len(), 64);
        assert_eq!(hash_token(a.reveal()), a.hash());
        assert_ne!(a.hash(), a.reveal());
        assert!(!format!("{a:?}").contains(a.reveal()));
    }
}
