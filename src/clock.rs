//! Wall-clock time and its Japanese renderings (JST, the time on every receipt).

use chrono::{DateTime, FixedOffset, TimeZone};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn jst(unix: u64) -> DateTime<FixedOffset> {
    // Japan has kept +09:00 without daylight saving since 1951: a fixed offset is exact.
    let offset = FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset");
    let secs = i64::try_from(unix).unwrap_or(i64::MAX);
    offset
        .timestamp_opt(secs, 0)
        .single()
        .unwrap_or_else(|| offset.timestamp_opt(0, 0).unwrap())
}

/// 受付時刻 as the seeds print it: `2003年08月16日 14時35分31秒`.
pub fn receipt_time(unix: u64) -> String {
    jst(unix).format("%Y年%m月%d日 %H時%M分%S秒").to_string()
}

/// A date as the menu shows it: `2026年11月22日`.
pub fn date(unix: u64) -> String {
    jst(unix).format("%Y年%m月%d日").to_string()
}

/// The JST calendar day (`YYYY-MM-DD`), for "today's" lists.
pub fn iso_day(unix: u64) -> String {
    jst(unix).format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_time_is_jst() {
        // 2003-08-16 05:35:31 UTC is 14:35:31 in Japan.
        assert_eq!(receipt_time(1_061_012_131), "2003年08月16日 14時35分31秒");
        assert_eq!(date(1_061_012_131), "2003年08月16日");
        assert_eq!(iso_day(1_061_012_131), "2003-08-16");
    }
}
