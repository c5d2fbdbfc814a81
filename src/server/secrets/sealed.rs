//! Secrets the server must read back (a TOTP authenticator's shared secret,
//! the private keys access tokens are signed with), sealed before they are
//! stored.
//!
//! Sealing is XChaCha20-Poly1305 (RFC 8439 with the extended 192-bit nonce
//! of draft-irtf-cfrg-xchacha), keyed with HMAC-SHA256(server secret,
//! purpose), a fresh random nonce each time, and the owner's id as
//! associated data: a copy of the database alone reveals nothing, and a
//! sealed value moved to another account or purpose does not open.

use super::{tokens::random_bytes, ServerSecret};
use chacha20poly1305::{
    aead::{Aead, KeyInit, Payload},
    XChaCha20Poly1305, XNonce,
};
use hmac::Mac;

const NONCE_LEN: usize = 24;

/// What a sealed value is for; each purpose has its own key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A TOTP authenticator's shared secret (RFC 6238).
    TotpSecret,
    /// An access-token signing key's private key (PKCS #8), bound to its `kid`.
    SigningKey,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::TotpSecret => b"portico sealed v1: totp secret",
            Purpose::SigningKey => b"portico sealed v1: signing key",
        }
    }
}

fn cipher(secret: &ServerSecret, purpose: Purpose) -> XChaCha20Poly1305 {
    let mut mac = secret.hmac();
    mac.update(purpose.label());
    let key = mac.finalize().into_bytes();
    XChaCha20Poly1305::new(&key)
}

/// Seals `plaintext` for `owner` (a user id): hex of nonce then ciphertext
/// and tag, `2 × (24 + len + 16)` characters.
pub fn seal(secret: &ServerSecret, purpose: Purpose, owner: i64, plaintext: &[u8]) -> String {
    seal_bound(secret, purpose, &owner.to_be_bytes(), plaintext)
}

/// Seals `plaintext` bound to `aad` (e.g. a signing key's `kid`) instead of
/// a user id: it opens only with the same bytes.
pub fn seal_bound(secret: &ServerSecret, purpose: Purpose, aad: &[u8], plaintext: &[u8]) -> String {
    let nonce = random_bytes::<NONCE_LEN>();
    let sealed = cipher(secret, purpose)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 seals any message under 256 GiB");
    let mut out = hex::encode(nonce);
    out.push_str(&hex::encode(sealed));
    out
}

/// Opens what [`seal`] made for the same purpose and owner; `None` if it was
/// altered, sealed with another server secret, or for someone else.
pub fn open(secret: &ServerSecret, purpose: Purpose, owner: i64, sealed: &str) -> Option<Vec<u8>> {
    open_bound(secret, purpose, &owner.to_be_bytes(), sealed)
}

/// Opens what [`seal_bound`] made for the same purpose and `aad`.
pub fn open_bound(
    secret: &ServerSecret,
    purpose: Purpose,
    aad: &[u8],
    sealed: &str,
) -> Option<Vec<u8>> {
    let bytes = hex::decode(sealed).ok()?;
    if bytes.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = bytes.split_at(NONCE_LEN);
    cipher(secret, purpose)
        .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: &str) -> ServerSecret {
        ServerSecret::from_hex(&byte.repeat(32)).unwrap()
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_owner_and_secret() {
        let s = secret("ab");
        let sealed = seal(&s, Purpose::TotpSecret, 7, b"twenty bytes secret!");
        assert!(!sealed.contains(&hex::encode(b"twenty bytes secret!")));
        assert_eq!(
            open(&s, Purpose::TotpSecret, 7, &sealed).as_deref(),
            Some(&b"twenty bytes secret!"[..])
        );
        assert_eq!(open(&s, Purpose::TotpSecret, 8, &sealed), None);
        assert_eq!(open(&secret("cd"), Purpose::TotpSecret, 7, &sealed), None);
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            open(
                &s,
                Purpose::TotpSecret,
                7,
                std::str::from_utf8(&altered).unwrap()
            ),
            None
        );
        assert_eq!(open(&s, Purpose::TotpSecret, 7, "zz"), None);
    }

    #[test]
    fn each_seal_uses_a_new_nonce() {
        let s = secret("ab");
        assert_ne!(
            seal(&s, Purpose::TotpSecret, 1, b"x"),
            seal(&s, Purpose::TotpSecret, 1, b"x")
        );
    }
}
