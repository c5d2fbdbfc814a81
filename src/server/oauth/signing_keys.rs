//! The keys access tokens are signed with: ES256 (ECDSA on P-256 with
//! SHA-256, RFC 7518 §3.4), made by Portico, the private key sealed under the
//! server secret, the public key published as a JWK Set (RFC 7517 §5).
//!
//! Keys follow one another on a schedule. A key signs from its `signs_from`
//! until the next key's; the next key is made and published
//! [`PUBLISH_AHEAD`] before it signs, so that services caching the JWKS know
//! it first; a key that stopped signing stays published for
//! [`ACCESS_TOKEN_LIFETIME_CEILING_SECS`], until every token it signed has
//! expired. `portico signing-key rotate` makes a key that signs at once (and,
//! with `--withdraw-previous`, takes every other key out of the JWKS: their
//! tokens stop verifying).
//!
//! Every instance keeps the live keys in memory ([`SigningKeys`]) and reads
//! them again when the database announces a change (`signing:KID`) or after
//! [`REFRESH`].

use crate::{
    domain::policy::ACCESS_TOKEN_LIFETIME_CEILING_SECS,
    error::AppError,
    server::{
        db::signing_keys::{self, SigningKeyRow},
        secrets::{
            sealed::{self, Purpose},
            tokens::random_bytes,
            ServerSecret,
        },
        state::AppState,
    },
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{
    jwk::{
        AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
        EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    },
    DecodingKey, EncodingKey,
};
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc, RwLock,
};

/// The JWS algorithm (RFC 7518 §3.4).
pub const ALGORITHM: &str = "ES256";

/// How long a key signs before the next one takes over (30 days).
pub const ROTATE_EVERY: Duration = Duration::days(30);

/// How long before it signs a scheduled key is published (1 day).
pub const PUBLISH_AHEAD: Duration = Duration::days(1);

/// How often an instance reads the keys again without an announcement.
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(300);

/// A signing key in memory.
pub struct SigningKey {
    /// The `kid`.
    pub kid: String,
    /// When it was published.
    pub created_at: DateTime<Utc>,
    /// When it starts signing.
    pub signs_from: DateTime<Utc>,
    /// The private key; `None` when its sealed copy did not open (another
    /// server secret): such a key verifies but never signs.
    encoding: Option<EncodingKey>,
    /// The public key, for checking signatures.
    pub decoding: DecodingKey,
    /// The public key as a JWK.
    pub jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("signs_from", &self.signs_from)
            .finish_non_exhaustive()
    }
}

/// The live (not withdrawn) keys, in the order they sign.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    /// The key that signs at `now`, with its private key.
    pub fn signer(&self, now: DateTime<Utc>) -> Option<(&SigningKey, &EncodingKey)> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.signs_from <= now)
            .and_then(|k| k.encoding.as_ref().map(|e| (k, e)))
    }

    /// Whether a successor should be scheduled at `now`: there is a signer,
    /// none after it, and its time is nearly up.
    pub fn needs_successor(&self, now: DateTime<Utc>) -> bool {
        match self.keys.last() {
            None => true,
            Some(last) => {
                last.signs_from <= now && last.signs_from + ROTATE_EVERY - PUBLISH_AHEAD <= now
            }
        }
    }

    /// The keys published at `now`: each scheduled or signing key, and each
    /// that stopped signing less than the longest token lifetime ago.
    pub fn published(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SigningKey> {
        let keep = Duration::seconds(ACCESS_TOKEN_LIFETIME_CEILING_SECS);
        self.keys.iter().enumerate().filter_map(move |(i, key)| {
            let stopped = self
                .keys
                .get(i + 1)
                .map(|next| next.signs_from)
                .filter(|&t| t <= now);
            match stopped {
                Some(t) if t + keep <= now => None,
                _ => Some(key),
            }
        })
    }

    /// The published key called `kid`, to check a signature with.
    pub fn verifier(&self, kid: &str, now: DateTime<Utc>) -> Option<&SigningKey> {
        self.published(now).find(|k| k.kid == kid)
    }

    /// The JWK Set (RFC 7517 §5) published at `now`.
    pub fn jwks(&self, now: DateTime<Utc>) -> JwkSet {
        JwkSet {
            keys: self.published(now).map(|k| k.jwk.clone()).collect(),
        }
    }
}

/// The instance's copy of the keys.
#[derive(Debug)]
pub struct SigningKeys {
    ring: RwLock<(Arc<KeyRing>, Option<std::time::Instant>)>,
    stale: AtomicBool,
}

impl Default for SigningKeys {
    fn default() -> Self {
        Self {
            ring: RwLock::new((Arc::new(KeyRing::default()), None)),
            stale: AtomicBool::new(true),
        }
    }
}

impl SigningKeys {
    /// Marks the copy out of date (a key was made, scheduled or withdrawn).
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Release);
    }

    /// The keys, read again first if the copy is out of date.
    pub async fn ring(&self, state: &AppState) -> Result<Arc<KeyRing>, AppError> {
        {
            let guard = self.ring.read().unwrap_or_else(|e| e.into_inner());
            let fresh = guard.1.is_some_and(|at| at.elapsed() < REFRESH);
            if fresh && !self.stale.load(Ordering::Acquire) {
                return Ok(guard.0.clone());
            }
        }
        // Cleared before reading, so that an announcement arriving during
        // the read marks the new copy stale again.
        self.stale.store(false, Ordering::Release);
        let ring = match load(state).await {
            Ok(ring) => Arc::new(ring),
            Err(e) => {
                self.stale.store(true, Ordering::Release);
                return Err(e);
            }
        };
        let mut guard = self.ring.write().unwrap_or_else(|e| e.into_inner());
        *guard = (ring.clone(), Some(std::time::Instant::now()));
        Ok(ring)
    }

    /// The keys, with a key that signs at `now` made or scheduled first when
    /// the schedule calls for one.
    pub async fn ring_for_signing(
        &self,
        state: &AppState,
        now: DateTime<Utc>,
    ) -> Result<Arc<KeyRing>, AppError> {
        let ring = self.ring(state).await?;
        if ring.signer(now).is_some() && !ring.needs_successor(now) {
            return Ok(ring);
        }
        schedule(state, now).await?;
        self.invalidate();
        self.ring(state).await
    }
}

/// Reads and opens the live keys.
async fn load(state: &AppState) -> Result<KeyRing, AppError> {
    let mut conn = state.db.acquire().await?;
    let rows = signing_keys::live(conn.conn()).await?;
    Ok(KeyRing::of_rows(&state.secret, &rows))
}

impl KeyRing {
    /// The ring of stored keys (in signing order); a key that cannot be read
    /// is left out and logged.
    fn of_rows(secret: &ServerSecret, rows: &[SigningKeyRow]) -> Self {
        let keys = rows
            .iter()
            .filter_map(|row| match open(secret, row) {
                Ok(key) => Some(key),
                Err(why) => {
                    tracing::error!(kid = %row.kid, why, "signing key skipped");
                    None
                }
            })
            .collect();
        KeyRing { keys }
    }
}

/// Turns a stored key into one that checks (and, if its private key opens,
/// signs).
fn open(secret: &ServerSecret, row: &SigningKeyRow) -> Result<SigningKey, &'static str> {
    if row.algorithm != ALGORITHM {
        return Err("unknown algorithm");
    }
    let jwk = public_jwk(&row.kid, &row.public_x, &row.public_y);
    let decoding = DecodingKey::from_jwk(&jwk).map_err(|_| "public key unreadable")?;
    let encoding = sealed::open_bound(
        secret,
        Purpose::SigningKey,
        row.kid.as_bytes(),
        &row.private_key_sealed,
    )
    .map(|pkcs8| EncodingKey::from_ec_der(&pkcs8));
    if encoding.is_none() {
        tracing::warn!(kid = %row.kid, "signing key's private key does not open with this server secret; it only verifies");
    }
    Ok(SigningKey {
        kid: row.kid.clone(),
        created_at: row.created_at,
        signs_from: row.signs_from,
        encoding,
        decoding,
        jwk,
    })
}

/// The public key as a JWK (RFC 7518 §6.2.1).
fn public_jwk(kid: &str, x: &str, y: &str) -> Jwk {
    Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_algorithm: Some(KeyAlgorithm::ES256),
            key_id: Some(kid.to_owned()),
            ..Default::default()
        },
        algorithm: AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
            key_type: EllipticCurveKeyType::EC,
            curve: EllipticCurve::P256,
            x: x.to_owned(),
            y: y.to_owned(),
        }),
    }
}

/// Makes a new P-256 key that signs from `signs_from`, sealed for storage.
fn generate(secret: &ServerSecret, now: DateTime<Utc>, signs_from: DateTime<Utc>) -> SigningKeyRow {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .expect("the operating system's random source failed");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("a key ring just made is well-formed");
    // An uncompressed point (SEC 1 §2.3.3): 0x04, then x and y, 32 bytes each.
    let point = pair.public_key().as_ref();
    debug_assert_eq!(point.len(), 65);
    let kid = format!(
        "{}-{}",
        signs_from.format("%Y%m%d"),
        hex::encode(random_bytes::<4>())
    );
    SigningKeyRow {
        private_key_sealed: sealed::seal_bound(
            secret,
            Purpose::SigningKey,
            kid.as_bytes(),
            pkcs8.as_ref(),
        ),
        kid,
        algorithm: ALGORITHM.to_owned(),
        public_x: URL_SAFE_NO_PAD.encode(&point[1..33]),
        public_y: URL_SAFE_NO_PAD.encode(&point[33..65]),
        created_at: now,
        signs_from,
        withdrawn_at: None,
    }
}

/// Makes the key the schedule calls for at `now`, if any: the first key
/// (signing at once), or the successor of a key whose time is nearly up
/// (signing when that time is up). Instances racing here may both schedule
/// one; the later in signing order wins and the other is merely published.
async fn schedule(state: &AppState, now: DateTime<Utc>) -> Result<(), AppError> {
    let mut tx = state.db.begin().await?;
    let live = signing_keys::live(tx.conn()).await?;
    let ring = KeyRing::of_rows(&state.secret, &live);
    let signs_from = match (ring.signer(now), live.last()) {
        // None signs now (none yet, or none whose private key opens).
        (None, _) | (_, None) => now,
        (Some(_), Some(last)) if ring.needs_successor(now) => {
            (last.signs_from + ROTATE_EVERY).max(now + PUBLISH_AHEAD)
        }
        (Some(_), Some(_)) => return Ok(()),
    };
    let row = generate(&state.secret, now, signs_from);
    signing_keys::insert(tx.conn(), &row).await?;
    tx.commit().await?;
    tracing::info!(kid = %row.kid, signs_from = %row.signs_from, "signing key made");
    Ok(())
}

/// What an emergency rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// The new key, signing at once.
    pub kid: String,
    /// How many published keys were taken out of the JWKS.
    pub withdrawn: u64,
}

/// Makes a key that signs at once; with `withdraw_previous`, takes every
/// other key out of the JWKS, so that the tokens they signed stop verifying.
pub async fn rotate(state: &AppState, withdraw_previous: bool) -> Result<Rotated, AppError> {
    let now = state.clock.now();
    let row = generate(&state.secret, now, now);
    let mut tx = state.db.begin().await?;
    // A key scheduled for later would otherwise take over from this one.
    let live = signing_keys::live(tx.conn()).await?;
    let after = live.iter().filter(|k| k.signs_from > now).count();
    let published = KeyRing::of_rows(&state.secret, &live)
        .published(now)
        .count() as u64;
    signing_keys::insert(tx.conn(), &row).await?;
    // Keys no longer published are marked too, so that none comes back.
    let withdrawn = if withdraw_previous {
        signing_keys::withdraw_all_but(tx.conn(), &row.kid, now).await?;
        published
    } else {
        0
    };
    tx.commit().await?;
    state.signing_keys.invalidate();
    tracing::warn!(kid = %row.kid, withdrawn, scheduled_later = after, "signing key rotated by hand");
    Ok(Rotated {
        kid: row.kid,
        withdrawn,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &ServerSecret, signs_from: DateTime<Utc>) -> SigningKey {
        open(secret, &generate(secret, signs_from, signs_from)).unwrap()
    }

    #[test]
    fn keys_sign_in_turn_and_stay_published_until_their_tokens_expire() {
        let secret = ServerSecret::from_hex(&"ab".repeat(32)).unwrap();
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next_at = t0 + ROTATE_EVERY;
        let ring = KeyRing {
            keys: vec![key(&secret, t0), key(&secret, next_at)],
        };
        let (first, second) = (&ring.keys[0].kid, &ring.keys[1].kid);
        let kids = |now| {
            ring.published(now)
                .map(|k| k.kid.clone())
                .collect::<Vec<_>>()
        };

        assert_eq!(
            ring.signer(t0 - Duration::seconds(1)).map(|s| &s.0.kid),
            None
        );
        assert_eq!(ring.signer(t0).map(|s| &s.0.kid), Some(first));
        assert_eq!(
            ring.signer(next_at - Duration::seconds(1))
                .map(|s| &s.0.kid),
            Some(first)
        );
        assert_eq!(ring.signer(next_at).map(|s| &s.0.kid), Some(second));
        // Both published before the switch and for an hour after it.
        assert_eq!(
            kids(next_at - PUBLISH_AHEAD),
            vec![first.clone(), second.clone()]
        );
        let hour = Duration::seconds(ACCESS_TOKEN_LIFETIME_CEILING_SECS);
        assert_eq!(kids(next_at + hour - Duration::seconds(1)).len(), 2);
        assert_eq!(kids(next_at + hour), vec![second.clone()]);
        assert!(ring.verifier(first, next_at + hour).is_none());
        assert!(ring.verifier(second, next_at + hour).is_some());

        assert!(!ring.needs_successor(next_at));
        assert!(ring.needs_successor(next_at + ROTATE_EVERY - PUBLISH_AHEAD));
        assert!(KeyRing::default().needs_successor(t0));
    }

    #[test]
    fn a_key_sealed_under_another_secret_verifies_but_never_signs() {
        let secret = ServerSecret::from_hex(&"ab".repeat(32)).unwrap();
        let other = ServerSecret::from_hex(&"cd".repeat(32)).unwrap();
        let now = Utc::now();
        let row = generate(&secret, now, now);
        let key = open(&other, &row).unwrap();
        assert!(key.encoding.is_none());
        let ring = KeyRing { keys: vec![key] };
        assert!(ring.signer(now).is_none());
        assert!(ring.verifier(&row.kid, now).is_some());
    }

    #[test]
    fn the_published_key_is_a_p256_jwk_without_private_parts() {
        let secret = ServerSecret::from_hex(&"ab".repeat(32)).unwrap();
        let now = Utc::now();
        let ring = KeyRing {
            keys: vec![key(&secret, now)],
        };
        let json = serde_json::to_value(ring.jwks(now)).unwrap();
        let jwk = &json["keys"][0];
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["alg"], "ES256");
        assert_eq!(jwk["use"], "sig");
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(jwk["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        assert!(jwk.get("d").is_none());
    }
}
