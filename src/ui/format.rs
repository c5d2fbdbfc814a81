//! How dates and times are written on the pages.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_naturally() {
        let t = DateTime::parse_from_rfc3339("2026-11-07T09:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(date(t), "7 Nov 2026");
        assert_eq!(date_time(t), "7 Nov 2026, 09:05 UTC");
        assert_eq!(iso(t), "2026-11-07T09:05:00Z");
    }
}
