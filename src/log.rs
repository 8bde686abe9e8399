//! The gateway's log: one line per event on standard error, each with the UTC time. Every part
//! of the gateway writes here; nothing here knows HTTP.
//!
//! A thread that serves requests (a runtime worker: see [`flush_idle`]) gathers its lines and
//! writes them with one system call when it runs out of work, when 8 KB are waiting, or when the
//! oldest waiting line is 100 ms old: under load one `write` carries a hundred request lines
//! instead of one, and an idle gateway's lines are out as soon as its answer is. Every other
//! thread writes each line at once.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::OnceLock;

/// A batch is written once it holds this much.
const BATCH_BYTES: usize = 8 * 1024;
/// Nor does a line wait longer than this for its batch, even on a worker that never idles.
const BATCH_MILLIS: i64 = 100;

struct Lines {
    /// The second the time text is for, and the text.
    second: i64,
    stamp: String,
    /// Lines not yet written.
    pending: String,
    /// When the oldest pending line was made (ms since the epoch).
    oldest: i64,
    /// This thread batches its lines (it said so with [`flush_idle`]).
    batches: bool,
}

thread_local! {
    static LINES: RefCell<Lines> = const {
        RefCell::new(Lines {
            second: i64::MIN,
            stamp: String::new(),
            pending: String::new(),
            oldest: 0,
            batches: false,
        })
    };
}

/// One line on standard error, with the UTC time.
///
/// The line is formatted into a buffer of the thread's own and written with one `write` call
/// on a handle of its own (a duplicate of standard error): no lock shared by the request
/// threads, and the kernel keeps whole lines apart. The time text is made once a second per
/// thread.
pub fn log(args: std::fmt::Arguments) {
    log_with(|line| {
        let _ = line.write_fmt(args);
    });
}

/// [`log`] for a line written by `text` straight into the buffer (cheaper than formatting
/// machinery, see [`push_number`]).
pub fn log_with(text: impl FnOnce(&mut String)) {
    write_line(Started::now(), text);
}

/// When a request began: wall-clock milliseconds, so its log line's time and its duration come
/// from one clock read at the end (a clock step between the two reads shows as 0 ms).
#[derive(Clone, Copy)]
pub struct Started(u64);

impl Started {
    pub fn now() -> Started {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Started(u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A request's line: what `text` writes, then the milliseconds since `started` and "ms".
pub fn log_request_line(text: impl FnOnce(&mut String), started: Started) {
    let now = Started::now();
    write_line(now, |line| {
        text(line);
        push_number(line, now.0.saturating_sub(started.0));
        line.push_str("ms");
    });
}

fn write_line(now: Started, text: impl FnOnce(&mut String)) {
    // The clock as plain numbers: a calendar date is worked out once a second, not per line.
    let millis = i64::try_from(now.0).unwrap_or(i64::MAX);
    let second = millis / 1000;
    LINES.with(|cell| {
        let Ok(mut lines) = cell.try_borrow_mut() else {
            return;
        };
        let lines = &mut *lines;
        if lines.second != second {
            lines.second = second;
            lines.stamp.clear();
            if let Some(at) = chrono::DateTime::from_timestamp(second, 0) {
                let _ = write!(lines.stamp, "{}", at.format("%Y-%m-%dT%H:%M:%SZ"));
            }
        }
        if lines.pending.is_empty() {
            lines.oldest = millis;
        }
        lines.pending.push_str(&lines.stamp);
        lines.pending.push(' ');
        text(&mut lines.pending);
        lines.pending.push('\n');
        if !lines.batches
            || lines.pending.len() >= BATCH_BYTES
            || millis - lines.oldest >= BATCH_MILLIS
        {
            write_out(&mut lines.pending);
        }
    });
}

/// Appends `n` in decimal (64-bit: a 128-bit division is a library call per digit).
pub fn push_number(line: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // A char at a time: a few ASCII digits, cheaper than checking them as UTF-8.
    for &d in &digits[i..] {
        line.push(char::from(d));
    }
}

/// Writes this thread's waiting lines, and from now on lets it gather them: the runtime calls
/// this on each worker as it runs out of work (and as it stops), so a worker's lines never wait
/// for more than the rest of its current burst of work.
pub fn flush_idle() {
    LINES.with(|cell| {
        if let Ok(mut lines) = cell.try_borrow_mut() {
            lines.batches = true;
            write_out(&mut lines.pending);
        }
    });
}

impl Drop for Lines {
    /// A thread that ends writes what it gathered.
    fn drop(&mut self) {
        write_out(&mut self.pending);
    }
}

fn write_out(pending: &mut String) {
    if pending.is_empty() {
        return;
    }
    match log_file() {
        Some(mut file) => {
            let _ = file.write_all(pending.as_bytes());
        }
        None => {
            let _ = std::io::stderr().lock().write_all(pending.as_bytes());
        }
    }
    pending.clear();
    // A burst of long lines (a storage error's) is not kept as this thread's buffer forever.
    if pending.capacity() > 4 * BATCH_BYTES {
        pending.shrink_to(BATCH_BYTES);
    }
}

/// Standard error as a plain file handle (unbuffered, unlocked).
fn log_file() -> Option<&'static std::fs::File> {
    use std::os::fd::AsFd;
    static FILE: OnceLock<Option<std::fs::File>> = OnceLock::new();
    FILE.get_or_init(|| {
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .ok()
            .map(std::fs::File::from)
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_are_pushed_in_decimal() {
        for n in [0, 7, 10, 943, 1_234_567_890, u64::MAX] {
            let mut line = String::from("x ");
            super::push_number(&mut line, n);
            assert_eq!(line, format!("x {n}"));
        }
    }
}
