//! Per-key rate limits: a token bucket per key, refilled continuously.
//!
//! Each key has its own limit (requests per minute, chosen when it is
//! created), so the buckets are kept here rather than in a one-quota limiter.
//! Limits are per instance: behind a load balancer each instance allows the
//! full rate.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A wait as the whole seconds a client is told (`Retry-After`,
/// `retry_after`), rounded up and at least 1: a client that waits exactly
/// that long finds a request available (RFC 9110 §10.2.3).
pub fn whole_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets by key row id.
#[derive(Clone, Debug, Default)]
pub struct RateLimiter {
    buckets: Arc<Mutex<HashMap<i64, Bucket>>>,
}

impl RateLimiter {
    /// Takes one request from the key's bucket; a full bucket holds a
    /// minute's allowance. Returns how long to wait when it is empty.
    pub fn check(&self, key: i64, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let per_minute = f64::from(per_minute.max(1));
        let per_second = per_minute / 60.0;
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: per_minute,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(per_minute);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Forgets buckets untouched for `idle` (they would be full anyway).
    pub fn prune(&self, idle: Duration, now: Instant) {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        buckets.retain(|_, b| now.saturating_duration_since(b.updated) < idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minutes_allowance_then_refusal_then_refill() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(1, 3, t0).is_ok());
        }
        let wait = limiter.check(1, 3, t0).unwrap_err();
        assert!(
            wait > Duration::from_secs(19) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        // Another key has its own bucket.
        assert!(limiter.check(2, 3, t0).is_ok());
        // One request comes back every 20 seconds at 3 per minute.
        assert!(limiter.check(1, 3, t0 + Duration::from_secs(20)).is_ok());
        assert!(limiter.check(1, 3, t0 + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn waits_are_told_in_whole_seconds_rounded_up() {
        assert_eq!(whole_seconds(Duration::from_millis(19_001)), 20);
        assert_eq!(whole_seconds(Duration::from_secs(20)), 20);
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
        // A client that waits the told time is allowed again.
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for _ in 0..7 {
            let _ = limiter.check(9, 7, t0);
        }
        let told = whole_seconds(limiter.check(9, 7, t0).unwrap_err());
        assert!(limiter.check(9, 7, t0 + Duration::from_secs(told)).is_ok());
    }

    #[test]
    fn idle_buckets_are_pruned() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        limiter.check(1, 10, t0).unwrap();
        limiter.prune(Duration::from_secs(60), t0 + Duration::from_secs(61));
        assert!(limiter.buckets.lock().unwrap().is_empty());
    }
}
