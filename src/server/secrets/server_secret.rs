//! The server secret: the key of every API key's and gateway token's HMAC.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

/// The server secret: 32 or more random bytes. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct ServerSecret {
    bytes: Vec<u8>,
    /// HMAC-SHA256 keyed with the secret, its key blocks already hashed:
    /// each key check clones it instead of hashing them again.
    keyed: Hmac<Sha256>,
}

impl PartialEq for ServerSecret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for ServerSecret {}

impl ServerSecret {
    /// Bytes of a newly generated secret.
    pub const LEN: usize = 32;

    /// Parses the hex form used in `PORTICO_SECRET` and the secret file.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| "expected hexadecimal characters (0-9, a-f)".to_owned())?;
        if bytes.len() < Self::LEN {
            return Err(format!(
                "expected at least {} hex characters ({} bytes), found {}",
                Self::LEN * 2,
                Self::LEN,
                text.trim().len()
            ));
        }
        Ok(Self::from_bytes(bytes))
    }

    /// A fresh secret from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::from_bytes(super::tokens::random_bytes::<{ Self::LEN }>().to_vec())
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        let keyed = Hmac::new_from_slice(&bytes).expect("HMAC takes keys of any length");
        Self { bytes, keyed }
    }

    /// The hex form, for writing the secret file.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.bytes)
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// A fresh HMAC-SHA256 computation keyed with the secret.
    pub fn hmac(&self) -> Hmac<Sha256> {
        self.keyed.clone()
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(redacted)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_secret() {
        let secret = ServerSecret::from_hex(&"ab".repeat(32)).unwrap();
        assert!(!format!("{secret:?}").contains("abab"));
    }
}
