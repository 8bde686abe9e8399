//! A damaged database is answered with a message and a failing exit, never a panic: the embedded
//! engine panics on some truncated or corrupted files while opening them, so opening runs here,
//! with the panic caught and its report (a backtrace naming the engine's source files) kept off
//! the terminal.

use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

/// Runs `open`; a panic inside it comes back as `Err` with the panic's message.
pub fn catching<T>(open: impl FnOnce() -> T) -> Result<T, String> {
    let message = Arc::new(Mutex::new(String::new()));
    let seen = message.clone();
    let previous = panic::take_hook();
    // While opening, a panic anywhere (the engine's own threads too) is recorded, not printed.
    panic::set_hook(Box::new(move |info| {
        let text = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let mut m = seen.lock().unwrap_or_else(|p| p.into_inner());
        if m.is_empty() {
            *m = text;
        }
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(open));
    panic::set_hook(previous);
    result.map_err(|_| {
        let m = message.lock().unwrap_or_else(|p| p.into_inner());
        if m.is_empty() {
            "unreadable data".to_owned()
        } else {
            m.clone()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_the_hook_comes_back() {
        assert_eq!(catching(|| 7), Ok(7));
        let err = catching(|| -> u8 { panic!("segment broken") }).unwrap_err();
        assert_eq!(err, "segment broken");
    }
}
