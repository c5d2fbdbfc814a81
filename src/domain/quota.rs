//! Monthly request quotas: how many accepted verifications a key may have in
//! a calendar month (UTC), besides its per-minute rate limit.

use chrono::{DateTime, Datelike, TimeZone, Utc};

/// Most requests a month a quota may allow.
pub const MAX_MONTHLY_QUOTA: i64 = 1_000_000_000;

/// Shares of the quota (in percent) at which the key's owner and the
/// organisation's admins are told.
pub const NOTICE_PERCENTS: [i64; 2] = [80, 100];

/// A monthly quota as typed: empty means none. Errors: a message for the
/// person, naming the range.
pub fn parse_monthly_quota(input: &str) -> Result<Option<i64>, String> {
    let bad = || {
        format!(
            "Enter a whole number of requests a month from 1 to {}, or leave it empty for no quota.",
            super::format::number(MAX_MONTHLY_QUOTA)
        )
    };
    let text: String = input
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '_')
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    // Commas only between groups of three digits: `10,000`, not `1,5`.
    if text.contains(',') {
        let groups: Vec<&str> = text.split(',').collect();
        let well_grouped = groups[0].len() <= 3
            && !groups[0].is_empty()
            && groups[1..].iter().all(|g| g.len() == 3);
        if !well_grouped {
            return Err(bad());
        }
    }
    let digits = text.replace(',', "");
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    match digits.parse::<i64>() {
        Ok(n) if (1..=MAX_MONTHLY_QUOTA).contains(&n) => Ok(Some(n)),
        _ => Err(bad()),
    }
}

/// The month `t` falls in, as `YYYYMM` (the counters' name).
pub fn month_of(t: DateTime<Utc>) -> u32 {
    t.year() as u32 * 100 + t.month()
}

/// When the month of `t` began (UTC).
pub fn month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0)
        .single()
        .expect("the first of a month exists")
}

/// When the month after `t`'s begins (UTC): when a used-up quota works again.
pub fn next_month_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month) = if t.month() == 12 {
        (t.year() + 1, 1)
    } else {
        (t.year(), t.month() + 1)
    };
    Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0)
        .single()
        .expect("the first of a month exists")
}

/// The notice shares (percent) that the `used`-th request of `quota` reaches
/// for the first time: the request at which 80 % (rounded up) is reached,
/// and the last one the quota allows.
pub fn notices_reached(used: i64, quota: i64) -> Vec<i64> {
    NOTICE_PERCENTS
        .into_iter()
        .filter(|percent| used == (quota * percent + 99) / 100)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_parse_with_separators_and_refuse_the_rest() {
        assert_eq!(parse_monthly_quota(""), Ok(None));
        assert_eq!(parse_monthly_quota(" 100,000 "), Ok(Some(100_000)));
        assert_eq!(parse_monthly_quota("1_000"), Ok(Some(1000)));
        assert_eq!(parse_monthly_quota("1,000,000"), Ok(Some(1_000_000)));
        for bad in [
            "0",
            "-5",
            "+5",
            "1.5",
            "1,5",
            "10,0,0",
            "5,",
            ",500",
            "lots",
            "1000000001",
        ] {
            assert!(parse_monthly_quota(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn months_begin_and_end_in_utc() {
        let t = Utc.with_ymd_and_hms(2026, 12, 31, 23, 59, 59).unwrap();
        assert_eq!(month_of(t), 202612);
        assert_eq!(
            month_start(t),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            next_month_start(t),
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
        let n = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
        assert_eq!(
            next_month_start(n),
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn notices_come_once_at_80_and_100_percent() {
        let reached: Vec<(i64, Vec<i64>)> = (1..=5)
            .map(|used| (used, notices_reached(used, 5)))
            .filter(|(_, n)| !n.is_empty())
            .collect();
        assert_eq!(reached, vec![(4, vec![80]), (5, vec![100])]);
        // A quota of 1: both at once.
        assert_eq!(notices_reached(1, 1), vec![80, 100]);
        assert!(notices_reached(6, 5).is_empty());
    }
}
