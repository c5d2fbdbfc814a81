//! How dates, times and counts are written for people: on the pages, in
//! notifications and emails, and in the audit trail's sentences.

use chrono::{DateTime, Utc};

/// `27 Nov 2026`.
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y").to_string()
}

/// `27 Nov 2026, 23:14 UTC`.
pub fn date_time(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

/// The machine-readable form for `<time datetime=…>`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// To the second, for hovering over a time shown to the minute:
/// `2026-11-07 09:05:31 UTC`.
pub fn exact_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The noun for a count shown apart from it (a dashboard figure above its
/// label): `one` for 1, `many` otherwise.
pub fn noun<'a>(n: i64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// "today", "in 1 day", "in 3 days": how far off a day is, in whole days.
pub fn in_days(days: i64) -> String {
    match days {
        i64::MIN..=0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    }
}

/// A count with its noun: `1 key`, `3 keys`, `0 keys`, `10,000 requests`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", number(n as i64), if n == 1 { one } else { many })
}

/// A whole number with thousands separated by commas: `10,000`, `-1,234`.
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Names joined as a sentence lists them: `A`, `A and B`, `A, B and C`.
pub fn join_names(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod number_tests {
    use super::{count, number};

    #[test]
    fn thousands_are_separated() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1,000");
        assert_eq!(number(1_234_567), "1,234,567");
        assert_eq!(number(-12_345), "-12,345");
        assert_eq!(count(10_000, "request", "requests"), "10,000 requests");
        assert_eq!(count(1, "key", "keys"), "1 key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_of_anything_is_singular() {
        assert_eq!(count(1, "key", "keys"), "1 key");
        assert_eq!(count(0, "key", "keys"), "0 keys");
        assert_eq!(noun(1, "request", "requests"), "request");
        assert_eq!(noun(2, "request", "requests"), "requests");
        assert_eq!(in_days(0), "today");
        assert_eq!(in_days(-3), "today");
        assert_eq!(in_days(1), "in 1 day");
        assert_eq!(in_days(14), "in 14 days");
    }

    #[test]
    fn names_are_joined_as_a_sentence_lists_them() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_names(&names(&[])), "");
        assert_eq!(join_names(&names(&["Acme"])), "Acme");
        assert_eq!(join_names(&names(&["Acme", "Beta"])), "Acme and Beta");
        assert_eq!(join_names(&names(&["A", "B", "C"])), "A, B and C");
    }

    #[test]
    fn dates_read_naturally() {
        let t = DateTime::parse_from_rfc3339("2026-11-07T09:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date(t), "7 Nov 2026");
        assert_eq!(date_time(t), "7 Nov 2026, 09:05 UTC");
        assert_eq!(iso(t), "2026-11-07T09:05:00Z");
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count(0, "key", "keys"), "0 keys");
        assert_eq!(count(1, "working key", "working keys"), "1 working key");
        assert_eq!(count(12, "finding", "findings"), "12 findings");
    }
}
