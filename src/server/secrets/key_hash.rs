//! How key secrets are stored: HMAC-SHA256 under the server secret.
//!
//! A key is 131 random bits, so a fast keyed hash is right: nothing can be
//! guessed, and verification must take microseconds (argon2 is for passwords,
//! which people choose and attackers guess). The server secret keeps a stolen
//! database from being checked against candidate keys offline.

use super::ServerSecret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &ServerSecret, key: &str) -> HmacSha256 {
    let mut mac = secret.hmac();
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
    fn the_stored_form_is_standard_hmac_sha256() {
        // RFC 4231, test case 6: keys stored before stay valid.
        let secret = ServerSecret::from_hex(&"aa".repeat(131)).unwrap();
        let data = "Test Using Larger Than Block-Size Key - Hash Key First";
        let expected = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
        assert_eq!(hash_key(&secret, data), expected);
        // The keyed state is reused, not consumed: a second use is the same.
        assert_eq!(hash_key(&secret, data), expected);
        assert!(key_matches(&secret, data, expected));
    }

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
