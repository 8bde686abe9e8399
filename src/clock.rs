//! The gateway's time: wall-clock seconds ([`now_unix`]) and their Japanese renderings (JST, the
//! time on every receipt and console page). Every other module asks here for the time.
//!
//! The integration suite needs to say what time it is (a TOTP code is valid for one 30- or
//! 60-second step, and a test must not wait for the next one). [`use_test_clock`] switches the
//! process to a clock the test harness owns: a file holding Unix seconds, read on every call.
//! `serve` allows it only for loopback `--demo` runs; without it (always, in production) the
//! time is a plain system-clock read.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The harness's clock file and the last time read from it.
struct TestClock {
    path: PathBuf,
    last: AtomicU64,
}

static TEST_CLOCK: OnceLock<TestClock> = OnceLock::new();

/// Why the test clock cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("cannot read the test clock {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("the test clock is already set")]
    AlreadySet,
}

/// Seconds since the Unix epoch, now (the test clock's time when one is in use).
pub fn now_unix() -> u64 {
    match TEST_CLOCK.get() {
        None => system_now(),
        Some(clock) => {
            // The harness replaces the file by renaming a new one over it, so a read sees the
            // old time or the new one; if it fails anyway, the last time read stands.
            match read_clock_file(&clock.path) {
                Ok(t) => {
                    clock.last.store(t, Ordering::Relaxed);
                    t
                }
                Err(_) => clock.last.load(Ordering::Relaxed),
            }
        }
    }
}

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// From now on this process's time is the number in `path` (Unix seconds), as the test harness
/// writes it. The file must be readable now: a test clock that fails later keeps its last time.
pub fn use_test_clock(path: &Path) -> Result<(), ClockError> {
    let first = read_clock_file(path).map_err(|reason| ClockError::Unreadable {
        path: path.display().to_string(),
        reason,
    })?;
    TEST_CLOCK
        .set(TestClock {
            path: path.to_owned(),
            last: AtomicU64::new(first),
        })
        .map_err(|_| ClockError::AlreadySet)
}

fn read_clock_file(path: &Path) -> Result<u64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    text.trim()
        .parse()
        .map_err(|_| format!("{:?} is not Unix seconds", text.trim()))
}

fn offset() -> FixedOffset {
    // Japan has kept +09:00 without daylight saving since 1951: a fixed offset is exact.
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

fn in_jst(unix: u64) -> DateTime<FixedOffset> {
    let secs = i64::try_from(unix).unwrap_or(i64::MAX);
    offset()
        .timestamp_opt(secs, 0)
        .single()
        .unwrap_or_else(|| offset().timestamp_opt(0, 0).unwrap())
}

/// 受付時刻 as the seeds print it: `2003年08月16日 14時35分31秒`.
pub fn receipt_time(unix: u64) -> String {
    in_jst(unix).format("%Y年%m月%d日 %H時%M分%S秒").to_string()
}

/// A date as the menu shows it: `2026年11月22日`.
pub fn date(unix: u64) -> String {
    in_jst(unix).format("%Y年%m月%d日").to_string()
}

/// The JST calendar day (`YYYY-MM-DD`), for "today's" lists.
pub fn iso_day(unix: u64) -> String {
    in_jst(unix).format("%Y-%m-%d").to_string()
}

/// A time as staff read it on the console and in the audit listing: `2026-11-22 14:35:31`.
pub fn jst(unix: u64) -> String {
    in_jst(unix).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The Unix time of 00:00 JST on `day` (`YYYY-MM-DD`, as staff type it).
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
    fn renderings_are_jst() {
        // 2003-08-16 05:35:31 UTC is 14:35:31 in Japan.
        assert_eq!(receipt_time(1_061_012_131), "2003年08月16日 14時35分31秒");
        assert_eq!(date(1_061_012_131), "2003年08月16日");
        assert_eq!(iso_day(1_061_012_131), "2003-08-16");
        assert_eq!(jst(1_061_012_131), "2003-08-16 14:35:31");
    }

    #[test]
    fn day_start_is_jst_midnight() {
        // 2003-08-16 00:00 JST is 2003-08-15 15:00 UTC.
        assert_eq!(day_start("2003-08-16"), Some(1_060_959_600));
        assert_eq!(day_start(" 2003-08-16 "), Some(1_060_959_600));
        assert_eq!(day_start("2003-02-30"), None);
        assert_eq!(day_start("yesterday"), None);
    }

    #[test]
    fn clock_file_is_unix_seconds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        assert!(read_clock_file(&path).is_err(), "missing file");
        std::fs::write(&path, "1061012131\n").unwrap();
        assert_eq!(read_clock_file(&path), Ok(1_061_012_131));
        std::fs::write(&path, "soon").unwrap();
        assert!(read_clock_file(&path).is_err());
    }
}
