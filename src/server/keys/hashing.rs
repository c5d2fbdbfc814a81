//! How key secrets are stored: HMAC-SHA256 under the server secret.
//!
//! A key is 131 random bits, so a fast keyed hash is right: nothing can be
//! guessed, and verification must take microseconds (argon2 is for passwords,
//! which people choose and attackers guess). The server secret keeps a stolen
//! database from being checked against candidate keys offline.

use crate::server::config::ServerSecret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &ServerSecret, key: &str) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.expose()).expect("HMAC takes keys of any length");
    mac.update(key.as_bytes());
    mac
}

/// The stored form of a key: its HMAC, as hex.
pub fn hash_key(secret: &ServerSecret, key: &str) -> String {
    hex::encode(mac(secret, key).finalize().into_bytes())
}

/// Whether `key` hashes to `stored` (hex), compared in constant time.
pub fn key_matches(secret: &ServerSecret, key: &str, stored: &str) -> bool {
    match hex::decode(stored) {
        Ok(expected) => key_matches_bytes(secret, key, &expected),
        Err(_) => false,
    }
}

/// Whether `key` hashes to `expected` (raw bytes), compared in constant time.
pub fn key_matches_bytes(secret: &ServerSecret, key: &str, expected: &[u8]) -> bool {
    mac(secret, key).verify_slice(expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_depends_on_the_key_and_the_server_secret() {
        let a = ServerSecret::from_hex(&"11".repeat(32)).unwrap();
        let b = ServerSecret::from_hex(&"22".repeat(32)).unwrap();
        let stored = hash_key(&a, "prt_test_key");
        assert_eq!(stored.len(), 64);
        assert!(key_matches(&a, "prt_test_key", &stored));
        assert!(!key_matches(&a, "prt_test_kez", &stored));
        assert!(!key_matches(&b, "prt_test_key", &stored));
        assert_ne!(hash_key(&b, "prt_test_key"), stored);
        assert!(!stored.contains("prt_test_key"));
        assert!(!key_matches(&a, "prt_test_key", "not hex"));
    }
}
