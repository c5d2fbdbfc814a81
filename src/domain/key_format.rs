//! The API key format: `<prefix>_<env>_<body>`.
//!
//! * `prefix` names the product (configurable, `prt` by default), so secret
//!   scanners can tell whose key they found;
//! * `env` is `test` for sandbox keys and `live` for production keys;
//! * `body` is 38 base62 characters: a 10-character public key id, 22
//!   characters of secret (131 bits from the OS CSPRNG), and a 6-character
//!   CRC32 checksum of everything before it, as GitHub's tokens carry.
//!
//! The checksum lets the verifier and secret scanners reject typos and random
//! strings without touching the database. It is not a security measure; the
//! secret is.
//!
//! This module owns the format. Nothing else builds or takes apart keys.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Characters of the public key id.
pub const KEY_ID_LEN: usize = 10;
/// Characters of the secret part (22 × log2(62) ≈ 131 bits).
pub const SECRET_LEN: usize = 22;
/// Characters of the checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;
/// Characters after `<prefix>_<env>_`.
pub const BODY_LEN: usize = KEY_ID_LEN + SECRET_LEN + CHECKSUM_LEN;
/// The prefix used unless the operator sets another.
pub const DEFAULT_PREFIX: &str = "prt";

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Which side of the platform a key works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Test data only; safe to experiment with.
    Sandbox,
    /// Real data and real money.
    Production,
}

impl Environment {
    /// Both environments, sandbox first.
    pub const ALL: [Environment; 2] = [Environment::Sandbox, Environment::Production];

    /// The stored and submitted form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }

    /// The form shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sandbox => "Sandbox",
            Self::Production => "Production",
        }
    }

    /// The tag inside the key: `test` or `live`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Sandbox => "test",
            Self::Production => "live",
        }
    }

    /// Parses the stored or submitted form.
    pub fn parse(input: &str) -> Result<Self, String> {
        match input {
            "sandbox" => Ok(Self::Sandbox),
            "production" => Ok(Self::Production),
            _ => Err("Choose an environment: sandbox or production.".to_owned()),
        }
    }

    fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "test" => Some(Self::Sandbox),
            "live" => Some(Self::Production),
            _ => None,
        }
    }
}

/// The product prefix: 2 to 16 characters, a lower-case letter then lower-case
/// letters or digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPrefix(String);

impl KeyPrefix {
    /// Checks an operator-chosen prefix.
    pub fn parse(input: &str) -> Result<Self, String> {
        let ok_len = (2..=16).contains(&input.len());
        let mut chars = input.chars();
        let ok_first = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        let ok_rest = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if ok_len && ok_first && ok_rest {
            Ok(Self(input.to_owned()))
        } else {
            Err("expected 2 to 16 characters: a lower-case letter, then lower-case letters or digits".to_owned())
        }
    }

    /// The prefix.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The regular expression that matches this product's keys, for secret
    /// scanners.
    pub fn regex(&self) -> String {
        format!(r"\b{}_(?:test|live)_[0-9A-Za-z]{{{BODY_LEN}}}\b", self.0)
    }
}

impl Default for KeyPrefix {
    fn default() -> Self {
        Self(DEFAULT_PREFIX.to_owned())
    }
}

/// A whole API key, secret included. `Debug` prints only the public part; it
/// is neither `Serialize` nor `Display`, so it reaches a response only where
/// code hands it out on purpose (once, at creation).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    full: String,
    environment: Environment,
    key_id_start: usize,
}

/// Why a string is not one of our keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFormatError {
    /// Not `<prefix>_<env>_<38 base62 characters>`.
    Shape,
    /// Another product's prefix.
    Prefix,
    /// Neither `test` nor `live`.
    Environment,
    /// The checksum does not match: a typo or a made-up string.
    Checksum,
}

impl fmt::Display for KeyFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Shape => "not shaped like an API key",
            Self::Prefix => "not one of this platform's API keys",
            Self::Environment => "the environment must be test or live",
            Self::Checksum => "the checksum does not match (a typo, or not a real key)",
        })
    }
}

impl ApiKey {
    /// Makes a new key. `random_byte` must come from a CSPRNG; bytes are drawn
    /// by rejection sampling, so every character is uniform over base62.
    pub fn generate(
        prefix: &KeyPrefix,
        environment: Environment,
        mut random_byte: impl FnMut() -> u8,
    ) -> Self {
        let mut body = String::with_capacity(BODY_LEN);
        while body.len() < KEY_ID_LEN + SECRET_LEN {
            let byte = random_byte();
            // 248 = 4 × 62: larger bytes would bias the first characters.
            if byte < 248 {
                body.push(ALPHABET[(byte % 62) as usize] as char);
            }
        }
        let head = format!("{}_{}_{}", prefix.as_str(), environment.tag(), body);
        let full = format!("{head}{}", checksum(&head));
        let key_id_start = prefix.as_str().len() + 1 + environment.tag().len() + 1;
        Self {
            full,
            environment,
            key_id_start,
        }
    }

    /// Builds a key from its parts, computing the checksum. For tools and
    /// tests; new keys come from [`ApiKey::generate`].
    pub fn assemble(
        prefix: &KeyPrefix,
        environment: Environment,
        key_id: &str,
        secret: &str,
    ) -> Result<Self, KeyFormatError> {
        let ok =
            |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !ok(key_id, KEY_ID_LEN) || !ok(secret, SECRET_LEN) {
            return Err(KeyFormatError::Shape);
        }
        let head = format!("{}_{}_{key_id}{secret}", prefix.as_str(), environment.tag());
        Self::parse(&format!("{head}{}", checksum(&head)), prefix)
    }

    /// Parses a presented key: shape, prefix, environment and checksum, with
    /// no I/O.
    pub fn parse(input: &str, prefix: &KeyPrefix) -> Result<Self, KeyFormatError> {
        let mut parts = input.splitn(3, '_');
        let (Some(p), Some(tag), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyFormatError::Shape);
        };
        if body.len() != BODY_LEN || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(KeyFormatError::Shape);
        }
        if p != prefix.as_str() {
            return Err(KeyFormatError::Prefix);
        }
        let environment = Environment::from_tag(tag).ok_or(KeyFormatError::Environment)?;
        let split = input.len() - CHECKSUM_LEN;
        if checksum(&input[..split]) != input[split..] {
            return Err(KeyFormatError::Checksum);
        }
        Ok(Self {
            full: input.to_owned(),
            environment,
            key_id_start: p.len() + 1 + tag.len() + 1,
        })
    }

    /// The public key id: safe to log, show and put in URLs.
    pub fn key_id(&self) -> &str {
        &self.full[self.key_id_start..self.key_id_start + KEY_ID_LEN]
    }

    /// The environment named in the key.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The whole key, secret included: for hashing, and for showing once.
    pub fn expose(&self) -> &str {
        &self.full
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_id())
    }
}

impl ApiKey {
    /// `prt_live_AbCdEfGhIj`: how a key is referred to in lists and logs.
    pub fn display_id(&self) -> &str {
        &self.full[..self.key_id_start + KEY_ID_LEN]
    }
}

/// How a key is referred to on pages: prefix, environment and key id.
pub fn display_id(prefix: &str, environment: Environment, key_id: &str) -> String {
    format!("{prefix}_{}_{key_id}", environment.tag())
}

/// The checksum characters for `head`: its CRC32 in base62, zero-padded.
fn checksum(head: &str) -> String {
    let mut n = crc32fast::hash(head.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("base62 is ASCII")
}

/// Whether `id` looks like a public key id (10 base62 characters).
pub fn is_key_id(id: &str) -> bool {
    id.len() == KEY_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bytes_from(seed: Vec<u8>) -> impl FnMut() -> u8 {
        let mut i = 0usize;
        move || {
            let b = seed[i % seed.len()].wrapping_add((i / seed.len()) as u8);
            i += 1;
            b
        }
    }

    fn os_random() -> impl FnMut() -> u8 {
        || {
            let mut b = [0u8; 1];
            getrandom::fill(&mut b).unwrap();
            b[0]
        }
    }

    #[test]
    fn keys_have_the_published_shape() {
        let prefix = KeyPrefix::default();
        let key = ApiKey::generate(&prefix, Environment::Production, os_random());
        let s = key.expose();
        assert!(s.starts_with("prt_live_"));
        assert_eq!(s.len(), "prt_live_".len() + BODY_LEN);
        assert_eq!(key.key_id(), &s[9..19]);
        assert_eq!(key.display_id(), &s[..19]);
        let sandbox = ApiKey::generate(&prefix, Environment::Sandbox, os_random());
        assert!(sandbox.expose().starts_with("prt_test_"));
    }

    #[test]
    fn debug_output_shows_only_the_public_part() {
        let key = ApiKey::generate(&KeyPrefix::default(), Environment::Sandbox, os_random());
        let debug = format!("{key:?}");
        assert!(debug.contains(key.key_id()));
        assert!(!debug.contains(&key.expose()[19..]));
    }

    #[test]
    fn garbage_is_rejected_by_shape_prefix_environment_or_checksum() {
        let prefix = KeyPrefix::default();
        let good = ApiKey::generate(&prefix, Environment::Sandbox, os_random());
        let body = &good.expose()[9..];
        assert_eq!(ApiKey::parse("", &prefix), Err(KeyFormatError::Shape));
        assert_eq!(ApiKey::parse("hello", &prefix), Err(KeyFormatError::Shape));
        assert_eq!(
            ApiKey::parse(&format!("prt_test_{}", &body[1..]), &prefix),
            Err(KeyFormatError::Shape)
        );
        assert_eq!(
            ApiKey::parse(&format!("prt_test_{body}!"), &prefix),
            Err(KeyFormatError::Shape)
        );
        assert_eq!(
            ApiKey::parse(&format!("ghp_test_{body}"), &prefix),
            Err(KeyFormatError::Prefix)
        );
        assert_eq!(
            ApiKey::parse(&format!("prt_prod_{body}"), &prefix),
            Err(KeyFormatError::Environment)
        );
        // The same body under the other environment fails the checksum.
        assert_eq!(
            ApiKey::parse(&format!("prt_live_{body}"), &prefix),
            Err(KeyFormatError::Checksum)
        );
        assert_eq!(
            ApiKey::parse(&format!("prt_test_{}", "A".repeat(BODY_LEN)), &prefix),
            Err(KeyFormatError::Checksum)
        );
    }

    #[test]
    fn keys_can_be_assembled_from_their_parts() {
        let prefix = KeyPrefix::default();
        let key = ApiKey::assemble(
            &prefix,
            Environment::Sandbox,
            "AAAAAAAAAA",
            &"b".repeat(SECRET_LEN),
        )
        .unwrap();
        assert_eq!(key.key_id(), "AAAAAAAAAA");
        assert!(ApiKey::assemble(
            &prefix,
            Environment::Sandbox,
            "short",
            &"b".repeat(SECRET_LEN)
        )
        .is_err());
    }

    #[test]
    fn the_published_regex_describes_generated_keys() {
        let prefix = KeyPrefix::parse("acme").unwrap();
        assert_eq!(prefix.regex(), r"\bacme_(?:test|live)_[0-9A-Za-z]{38}\b");
        assert!(KeyPrefix::parse("A1").is_err());
        assert!(KeyPrefix::parse("9lives").is_err());
        assert!(KeyPrefix::parse("x").is_err());
        assert!(KeyPrefix::parse("has_underscore").is_err());
    }

    #[test]
    fn generation_is_uniform_over_the_alphabet() {
        // Bytes 248..=255 are skipped rather than folded onto the first characters.
        let mut n = 247u8;
        let key = ApiKey::generate(&KeyPrefix::default(), Environment::Sandbox, move || {
            n = n.wrapping_add(1);
            n
        });
        // 248..=255 rejected, then 0, 1, 2, … map to '0', '1', '2', …
        assert!(key.expose()[9..].starts_with("0123456789ABCDEFGHIJKLMNOPQRSTUV"));
    }

    proptest! {
        #[test]
        fn generated_keys_parse_back_to_themselves(seed in proptest::collection::vec(any::<u8>(), 1..64), live in any::<bool>()) {
            let env = if live { Environment::Production } else { Environment::Sandbox };
            let prefix = KeyPrefix::default();
            let key = ApiKey::generate(&prefix, env, bytes_from(seed));
            let parsed = ApiKey::parse(key.expose(), &prefix).unwrap();
            prop_assert_eq!(parsed.key_id(), key.key_id());
            prop_assert_eq!(parsed.environment(), env);
            prop_assert_eq!(parsed.expose(), key.expose());
        }

        #[test]
        fn any_single_changed_character_fails(seed in proptest::collection::vec(any::<u8>(), 1..64), pos in 0usize..47, replacement in 0usize..62) {
            let prefix = KeyPrefix::default();
            let key = ApiKey::generate(&prefix, Environment::Production, bytes_from(seed));
            let mut bytes = key.expose().as_bytes().to_vec();
            let pos = pos % bytes.len();
            let new = ALPHABET[replacement];
            prop_assume!(bytes[pos] != new && bytes[pos] != b'_');
            bytes[pos] = new;
            let tampered = String::from_utf8(bytes).unwrap();
            prop_assert!(ApiKey::parse(&tampered, &prefix).is_err(), "{} was accepted", tampered);
        }
    }
}
