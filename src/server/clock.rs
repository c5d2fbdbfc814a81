//! The time, from one place, so that tests can move it.

use chrono::{DateTime, Duration, DurationRound, Utc};
use std::sync::{Arc, Mutex};

/// Tells the time: the system clock, or a hand-set one in tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    /// The current time, to the microsecond (what both databases store).
    pub fn now(&self) -> DateTime<Utc> {
        let now = match &self.manual {
            Some(t) => *t.lock().expect("clock lock poisoned"),
            None => Utc::now(),
        };
        now.duration_trunc(Duration::microseconds(1)).unwrap_or(now)
    }

    /// Moves a manual clock forward; the system clock cannot be moved.
    pub fn advance(&self, by: Duration) {
        let t = self
            .manual
            .as_ref()
            .expect("only a manual clock can be advanced");
        *t.lock().expect("clock lock poisoned") += by;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start = Utc::now();
        let clock = Clock::manual(start);
        let before = clock.now();
        assert_eq!(clock.now(), before);
        clock.advance(Duration::minutes(15));
        assert_eq!(clock.now() - before, Duration::minutes(15));
    }
}
