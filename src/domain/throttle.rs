//! How repeated failed sign-ins slow down and then lock out.
//!
//! Failures are counted separately per account and per client address over a
//! sliding window. The first few are free; after that each further attempt
//! must wait twice as long as the previous one; at the limit, attempts are
//! refused until enough failures have left the window.

use chrono::{DateTime, Duration, Utc};

/// The throttling rule for one kind of subject (an account or an address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// How far back failures count.
    pub window: Duration,
    /// Failures allowed before any waiting starts.
    pub free_failures: usize,
    /// Failures at which attempts are refused until the window moves on.
    pub lockout_failures: usize,
}

impl ThrottlePolicy {
    /// Per account: 10 failures in 15 minutes lock the account's sign-in.
    pub const ACCOUNT: ThrottlePolicy = ThrottlePolicy {
        window: Duration::minutes(15),
        free_failures: 4,
        lockout_failures: 10,
    };

    /// Per client address: looser, because many people can share one address.
    pub const ADDRESS: ThrottlePolicy = ThrottlePolicy {
        window: Duration::minutes(15),
        free_failures: 20,
        lockout_failures: 50,
    };

    /// Sign-ups per client address: every sign-up counts (it sends an email
    /// whatever the address), so that one address cannot mass-create
    /// accounts or flood inboxes. `free` sign-ups in 15 minutes go straight
    /// through (at least 1; 30 by default, `PORTICO_SIGN_UPS_PER_ADDRESS`),
    /// each further one waits (1 s, doubling), and twice as many lock the
    /// address out for the rest of the window.
    pub const fn sign_up(free: u32) -> ThrottlePolicy {
        let free = if free == 0 { 1 } else { free as usize };
        ThrottlePolicy {
            window: Duration::minutes(15),
            free_failures: free - 1,
            lockout_failures: 2 * free,
        }
    }

    /// Decides whether an attempt may go ahead now, given the times of recent
    /// failures (any order; failures older than the window are ignored).
    pub fn decide(&self, failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Decision {
        let since = now - self.window;
        let mut recent: Vec<DateTime<Utc>> =
            failures.iter().copied().filter(|t| *t > since).collect();
        recent.sort_unstable();
        let n = recent.len();
        if n >= self.lockout_failures {
            // Locked until so many failures have aged out that one fewer than
            // the limit remain.
            let unlock_index = n - self.lockout_failures;
            return Decision::WaitUntil(recent[unlock_index] + self.window);
        }
        if n > self.free_failures {
            let doublings = (n - self.free_failures - 1).min(10) as u32;
            let backoff = Duration::seconds(1i64 << doublings);
            let next = recent[n - 1] + backoff;
            if next > now {
                return Decision::WaitUntil(next);
            }
        }
        Decision::Allow
    }
}

/// Whether an attempt may proceed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse; the next attempt may succeed at this time.
    WaitUntil(DateTime<Utc>),
}

/// Whole seconds from `now` until `until`, rounded up and at least 1: what
/// `Retry-After` says, so that a client waiting exactly that long is not
/// refused again (RFC 9110 §10.2.3).
pub fn seconds_until(now: DateTime<Utc>, until: DateTime<Utc>) -> i64 {
    let wait = until - now;
    let whole = wait.num_seconds();
    let rest = wait - Duration::seconds(whole);
    (whole + i64::from(rest > Duration::zero())).max(1)
}

/// "3 minutes", "1 minute", "40 seconds": how long until `until`, rounded up.
pub fn describe_wait(now: DateTime<Utc>, until: DateTime<Utc>) -> String {
    let secs = seconds_until(now, until);
    if secs < 60 {
        let unit = if secs == 1 { "second" } else { "seconds" };
        format!("{secs} {unit}")
    } else {
        let mins = (secs + 59) / 60;
        let unit = if mins == 1 { "minute" } else { "minutes" };
        format!("{mins} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_round_up_to_whole_seconds() {
        let at = |ms: i64| t0() + Duration::milliseconds(ms);
        assert_eq!(seconds_until(t0(), at(1_500)), 2);
        assert_eq!(seconds_until(t0(), at(2_000)), 2);
        assert_eq!(seconds_until(t0(), at(1)), 1);
        assert_eq!(seconds_until(t0(), at(-5)), 1);
        assert_eq!(describe_wait(t0(), at(59_001)), "1 minute");
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn failures_every(secs: i64, count: usize) -> Vec<DateTime<Utc>> {
        (0..count)
            .map(|i| t0() + Duration::seconds(secs * i as i64))
            .collect()
    }

    #[test]
    fn the_first_failures_cost_nothing() {
        let p = ThrottlePolicy::ACCOUNT;
        let f = failures_every(0, p.free_failures);
        assert_eq!(p.decide(&f, t0()), Decision::Allow);
    }

    #[test]
    fn further_failures_double_the_wait() {
        let p = ThrottlePolicy::ACCOUNT;
        let f = failures_every(0, p.free_failures + 1);
        assert_eq!(
            p.decide(&f, t0()),
            Decision::WaitUntil(t0() + Duration::seconds(1))
        );
        let f = failures_every(0, p.free_failures + 3);
        assert_eq!(
            p.decide(&f, t0()),
            Decision::WaitUntil(t0() + Duration::seconds(4))
        );
        assert_eq!(p.decide(&f, t0() + Duration::seconds(4)), Decision::Allow);
    }

    #[test]
    fn ten_failures_in_fifteen_minutes_lock_until_the_oldest_ages_out() {
        let p = ThrottlePolicy::ACCOUNT;
        let f = failures_every(60, 10); // 12:00 .. 12:09
        let now = t0() + Duration::minutes(10);
        assert_eq!(
            p.decide(&f, now),
            Decision::WaitUntil(t0() + Duration::minutes(15))
        );
        // Once the 12:00 failure leaves the window, nine remain: the lock lifts
        // (the back-off since the last failure has long passed).
        assert_eq!(p.decide(&f, t0() + Duration::minutes(15)), Decision::Allow);
    }

    #[test]
    fn failures_outside_the_window_are_forgotten() {
        let p = ThrottlePolicy::ACCOUNT;
        let f = failures_every(0, 30);
        assert_eq!(p.decide(&f, t0() + Duration::minutes(16)), Decision::Allow);
    }

    #[test]
    fn waits_are_described_in_plain_words() {
        assert_eq!(describe_wait(t0(), t0() + Duration::seconds(1)), "1 second");
        assert_eq!(
            describe_wait(t0(), t0() + Duration::seconds(40)),
            "40 seconds"
        );
        assert_eq!(
            describe_wait(t0(), t0() + Duration::seconds(61)),
            "2 minutes"
        );
        assert_eq!(describe_wait(t0(), t0() + Duration::minutes(1)), "1 minute");
    }
}
