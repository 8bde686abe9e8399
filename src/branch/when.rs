//! Times as staff read and type them: Japan Standard Time, ISO-style.

use chrono::{FixedOffset, NaiveDate, Offset, TimeZone};

fn offset() -> FixedOffset {
    // Japan has kept +09:00 without daylight saving since 1951: a fixed offset is exact.
    FixedOffset::east_opt(9 * 3600).unwrap_or(chrono::Utc.fix())
}

/// `2026-11-22 14:35:31` (JST).
pub fn jst(unix: u64) -> String {
    let secs = i64::try_from(unix).unwrap_or(i64::MAX);
    match offset().timestamp_opt(secs, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
        None => unix.to_string(),
    }
}

/// The Unix time of 00:00 JST on `day` (`YYYY-MM-DD`).
pub fn day_start(day: &str) -> Option<u64> {
    let d = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    let t = offset()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()?;
    u64::try_from(t.timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jst_both_ways() {
        assert_eq!(jst(1_061_012_131), "2003-08-16 14:35:31");
        // 2003-08-16 00:00 JST is 2003-08-15 15:00 UTC.
        assert_eq!(day_start("2003-08-16"), Some(1_060_959_600));
        assert_eq!(day_start("2003-02-30"), None);
    }
}
