//! The gateway's log: one line per event on standard error, each with the UTC time. Every part
//! of the gateway writes here; nothing here knows HTTP.

use std::fmt::Write as _;
use std::io::Write;
use std::sync::OnceLock;

/// One line on standard error, with the UTC time.
///
/// The line is formatted first and written with one `write` call on a handle of its own (a
/// duplicate of standard error): no lock shared by the request threads, one system call per
/// line, and the kernel keeps whole lines apart. The time text is made once a second per thread.
pub fn log(args: std::fmt::Arguments) {
    thread_local! {
        static LINE: std::cell::RefCell<(i64, String, String)> =
            const { std::cell::RefCell::new((i64::MIN, String::new(), String::new())) };
    }
    let now = chrono::Utc::now();
    LINE.with(|cell| {
        let Ok(mut cell) = cell.try_borrow_mut() else {
            return;
        };
        let (second, stamp, line) = &mut *cell;
        if *second != now.timestamp() {
            *second = now.timestamp();
            *stamp = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        }
        line.clear();
        let _ = writeln!(line, "{stamp} {args}");
        match log_file() {
            Some(mut file) => {
                let _ = file.write_all(line.as_bytes());
            }
            None => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
    });
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
