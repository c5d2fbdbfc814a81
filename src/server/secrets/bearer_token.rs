//! A shared bearer token set by the operator (`PORTICO_METRICS_TOKEN`):
//! checked in constant time, never printed.

use sha2::{Digest, Sha256};
use std::fmt;

/// Fewest characters a token may have.
pub const MIN_CHARS: usize = 32;

/// An operator's bearer token. `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// Parses a token: at least [`MIN_CHARS`] printable ASCII characters
    /// without spaces (e.g. `openssl rand -hex 32`).
    ///
    /// # Errors
    /// A sentence saying what the token must look like (without echoing it).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() < MIN_CHARS || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "expected at least {MIN_CHARS} printable characters without spaces, e.g. from `openssl rand -hex 32`"
            ));
        }
        Ok(Self(text.to_owned()))
    }

    /// Whether `given` is this token, compared in constant time (both are
    /// hashed first, so not even the length leaks).
    pub fn matches(&self, given: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(given.as_bytes());
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_spaced_tokens_are_refused_and_nothing_is_printed() {
        assert!(BearerToken::parse("short").is_err());
        assert!(BearerToken::parse(&format!("{} x", "a".repeat(40))).is_err());
        let t = BearerToken::parse(&"ab".repeat(20)).unwrap();
        assert!(t.matches(&"ab".repeat(20)));
        assert!(!t.matches(&"ab".repeat(19)));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains("abab"));
    }
}
