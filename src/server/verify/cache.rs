//! The in-process caches of keys and gateway tokens, by public id.
//!
//! Entries are reloaded after a minute, which bounds how stale an instance
//! can be if it misses an invalidation; while one request reloads a key, the
//! others are served the old entry rather than all querying the database. Changes to a key invalidate it at once here
//! and, on Postgres, on every other instance (see `invalidation`). A
//! generation counter keeps a lookup that raced with an invalidation from
//! putting the old state back.

use crate::domain::{
    key_format::Environment,
    keys::{IpAllowlist, KeyState},
};
use chrono::{DateTime, Utc};
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, RwLock,
    },
    time::{Duration, Instant},
};

/// Most keys kept; past this the cache starts over.
const MAX_ENTRIES: usize = 100_000;

/// What verification needs of a key, ready to use.
#[derive(Debug, Clone)]
pub struct VerifyKey {
    /// Row id.
    pub id: i64,
    /// Public key id.
    pub key_id: String,
    /// The key's organisation (`organisations.id`), told to callers.
    pub org_id: i64,
    /// The key's environment; a caller serving the other one gets `env_mismatch`.
    pub environment: Environment,
    /// Scopes, sorted.
    pub scopes: Vec<String>,
    /// Allowed client addresses.
    pub allowlist: IpAllowlist,
    /// HMAC of the secret.
    pub secret_hash: Vec<u8>,
    /// What its standing is worked out from (expiry, rotation, revocation,
    /// suspension, approval), as the pages read it.
    pub standing: KeyState,
    /// Requests per minute.
    pub rate_limit_per_minute: u32,
    /// Accepted verifications allowed a calendar month (UTC); `None`: no quota.
    pub monthly_quota: Option<i64>,
    /// [`VerifyKey::answered_expiry`] as the RFC 3339 text of answers,
    /// rendered once per load instead of once per verification.
    pub answered_expiry_text: String,
}

impl VerifyKey {
    /// The expiry told to callers: the end of the rotation overlap while the
    /// key is being rotated out (if sooner), else its expiry.
    pub fn answered_expiry(&self) -> DateTime<Utc> {
        self.standing.ends_at()
    }
}

/// A time as answers carry it: the text `chrono`'s serde form gives.
pub fn answer_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

struct Entry<V> {
    value: V,
    loaded: Instant,
    /// Set by the one caller that reloads the value once it is past its time
    /// (see [`TtlCache::get_or_claim`]).
    reloading: AtomicBool,
}

/// Values by public id, shared by every request of this instance, each kept
/// at most `ttl`. Used for keys ([`KeyCache`]) and gateway tokens.
pub struct TtlCache<V> {
    entries: Arc<RwLock<HashMap<String, Entry<V>>>>,
    generation: Arc<AtomicU64>,
    ttl: Duration,
}

/// Keys cached for verification, by public key id.
pub type KeyCache = TtlCache<Arc<VerifyKey>>;

/// Public key ids that no key has, remembered for [`UNKNOWN_TTL`]: a flood
/// of forged keys costs no database lookups, and, kept apart from
/// [`KeyCache`], cannot push real keys out of it. A key created meanwhile is
/// announced like any change and forgotten here at once.
pub type UnknownKeys = TtlCache<()>;

/// How long an unknown key id is remembered.
pub const UNKNOWN_TTL: Duration = Duration::from_secs(10);

impl<V> Clone for TtlCache<V> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            generation: self.generation.clone(),
            ttl: self.ttl,
        }
    }
}

impl<V> std::fmt::Debug for TtlCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtlCache").field("ttl", &self.ttl).finish()
    }
}

impl<V> TtlCache<V> {
    /// An empty cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: Arc::default(),
            generation: Arc::default(),
            ttl,
        }
    }

    /// Applies `f` to the cached value, if fresh, under the read lock.
    pub fn read<R>(&self, id: &str, f: impl FnOnce(&V) -> R) -> Option<R> {
        let entries = self.entries.read().expect("cache lock");
        entries
            .get(id)
            .filter(|e| e.loaded.elapsed() < self.ttl)
            .map(|e| f(&e.value))
    }

    /// The generation to pass to [`TtlCache::insert`], read before loading.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches a value loaded when the cache was at `generation`; ignored if
    /// anything was invalidated since.
    pub fn insert(&self, generation: u64, id: String, value: V) {
        let mut entries = self.entries.write().expect("cache lock");
        if self.generation.load(Ordering::Acquire) != generation {
            // Something changed meanwhile: drop what is cached for this id
            // too, so that nobody keeps serving it while waiting for a reload.
            entries.remove(&id);
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            id,
            Entry {
                value,
                loaded: Instant::now(),
                reloading: AtomicBool::new(false),
            },
        );
    }

    /// Forgets one value.
    pub fn invalidate(&self, id: &str) {
        let mut entries = self.entries.write().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(id);
    }

    /// Forgets one value without touching the generation: for a reload that
    /// failed or found nothing.
    pub fn forget(&self, id: &str) {
        // Unknown ids are the common case here: no write lock for them.
        if self.entries.read().expect("cache lock").contains_key(id) {
            self.entries.write().expect("cache lock").remove(id);
        }
    }

    /// Forgets everything (after missing invalidations).
    pub fn clear(&self) {
        let mut entries = self.entries.write().expect("cache lock");
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

impl<V: Clone> TtlCache<V> {
    /// The cached value, if fresh.
    pub fn get(&self, id: &str) -> Option<V> {
        self.read(id, V::clone)
    }

    /// The cached value, if fresh; `None` tells the caller to load it and
    /// [`insert`](TtlCache::insert) it (or [`forget`](TtlCache::forget) it
    /// when the load fails or finds nothing).
    ///
    /// A value past its time is reloaded by one caller only: the first one
    /// gets `None`, and the others are served the old value until the reload
    /// lands, instead of all going to the database at once. Never for more
    /// than one extra time-to-live, and never after an invalidation, which
    /// removes the entry.
    pub fn get_or_claim(&self, id: &str) -> Option<V> {
        let entries = self.entries.read().expect("cache lock");
        let entry = entries.get(id)?;
        let age = entry.loaded.elapsed();
        if age < self.ttl
            || (age < self.ttl.saturating_mul(2) && entry.reloading.swap(true, Ordering::AcqRel))
        {
            Some(entry.value.clone())
        } else {
            None
        }
    }
}

/// A working key's standing that expires at `expires_at`, rotating out at
/// `rotating_until` (for tests).
#[cfg(test)]
pub(crate) fn standing(
    expires_at: DateTime<Utc>,
    rotating_until: Option<DateTime<Utc>>,
) -> KeyState {
    KeyState {
        expires_at,
        rotating_until,
        revoked_at: None,
        suspended_at: None,
        suspended_until: None,
        approval: crate::domain::keys::Approval::NotRequired,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Arc<VerifyKey> {
        Arc::new(VerifyKey {
            id: 1,
            key_id: id.into(),
            org_id: 1,
            environment: Environment::Sandbox,
            scopes: vec![],
            allowlist: IpAllowlist::default(),
            secret_hash: vec![],
            standing: standing(Utc::now(), None),
            rate_limit_per_minute: 60,
            monthly_quota: None,
            answered_expiry_text: String::new(),
        })
    }

    #[test]
    fn answer_times_read_as_serde_writes_them() {
        let times = [
            "2027-02-26T09:22:00Z",
            "2027-02-26T09:22:00.5Z",
            "2027-02-26T09:22:00.123456789Z",
        ];
        for text in times {
            let at: DateTime<Utc> = text.parse().unwrap();
            assert_eq!(
                format!("\"{}\"", answer_time(at)),
                serde_json::to_string(&at).unwrap()
            );
        }
    }

    #[test]
    fn entries_are_served_until_invalidated() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let g = cache.generation();
        cache.insert(g, "AAAAAAAAAA".into(), key("AAAAAAAAAA"));
        assert!(cache.get("AAAAAAAAAA").is_some());
        cache.invalidate("AAAAAAAAAA");
        assert!(cache.get("AAAAAAAAAA").is_none());
    }

    #[test]
    fn a_load_that_raced_an_invalidation_is_not_cached() {
        let cache = KeyCache::new(Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate("BBBBBBBBBB");
        cache.insert(before, "BBBBBBBBBB".into(), key("BBBBBBBBBB"));
        assert!(cache.get("BBBBBBBBBB").is_none());
    }

    /// Makes an entry look `by` older.
    fn age(cache: &KeyCache, id: &str, by: Duration) {
        let mut entries = cache.entries.write().unwrap();
        let entry = entries.get_mut(id).unwrap();
        entry.loaded = entry.loaded.checked_sub(by).unwrap();
    }

    #[test]
    fn one_caller_reloads_an_old_entry_while_the_others_are_served_it() {
        let cache = KeyCache::new(Duration::from_secs(60));
        cache.insert(cache.generation(), "DDDDDDDDDD".into(), key("DDDDDDDDDD"));
        assert!(cache.get_or_claim("DDDDDDDDDD").is_some());
        age(&cache, "DDDDDDDDDD", Duration::from_secs(61));
        let generation = cache.generation();
        assert!(
            cache.get_or_claim("DDDDDDDDDD").is_none(),
            "the first reloads"
        );
        assert!(
            cache.get_or_claim("DDDDDDDDDD").is_some(),
            "the others are served the old entry"
        );
        assert!(
            cache.get("DDDDDDDDDD").is_none(),
            "get serves only fresh entries"
        );
        // The reload lands: fresh again, and the next expiry has a reloader.
        cache.insert(generation, "DDDDDDDDDD".into(), key("DDDDDDDDDD"));
        assert!(cache.get("DDDDDDDDDD").is_some());
        age(&cache, "DDDDDDDDDD", Duration::from_secs(61));
        assert!(cache.get_or_claim("DDDDDDDDDD").is_none());
    }

    #[test]
    fn an_old_entry_is_not_served_once_its_reload_failed_or_went_stale() {
        let cache = KeyCache::new(Duration::from_secs(60));
        // A reload that failed forgets the entry: the next caller loads.
        cache.insert(cache.generation(), "EEEEEEEEEE".into(), key("EEEEEEEEEE"));
        age(&cache, "EEEEEEEEEE", Duration::from_secs(61));
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        cache.forget("EEEEEEEEEE");
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        // A reload that raced an invalidation drops the old entry too.
        cache.insert(cache.generation(), "EEEEEEEEEE".into(), key("EEEEEEEEEE"));
        age(&cache, "EEEEEEEEEE", Duration::from_secs(61));
        let before = cache.generation();
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        cache.invalidate("FFFFFFFFFF");
        cache.insert(before, "EEEEEEEEEE".into(), key("EEEEEEEEEE"));
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        // Past two lifetimes nobody is served the old entry.
        cache.insert(cache.generation(), "EEEEEEEEEE".into(), key("EEEEEEEEEE"));
        age(&cache, "EEEEEEEEEE", Duration::from_secs(121));
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        // An invalidation removes an entry that is being reloaded.
        cache.insert(cache.generation(), "EEEEEEEEEE".into(), key("EEEEEEEEEE"));
        age(&cache, "EEEEEEEEEE", Duration::from_secs(61));
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
        cache.invalidate("EEEEEEEEEE");
        assert!(cache.get_or_claim("EEEEEEEEEE").is_none());
    }

    #[test]
    fn entries_expire() {
        let cache = KeyCache::new(Duration::from_millis(0));
        cache.insert(cache.generation(), "CCCCCCCCCC".into(), key("CCCCCCCCCC"));
        assert!(cache.get("CCCCCCCCCC").is_none());
    }
}
