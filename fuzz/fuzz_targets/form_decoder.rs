//! The Shift_JIS form decoder on arbitrary bytes: never panics, and what it accepts is clean.
#![no_main]

use keitai_gateway::form::{self, Form, MAX_FIELD_CHARS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = Form::parse(data) {
        for name in ["contract_id", "password", "serial", "otp", "sid", "csrf"] {
            if let Some(v) = f.get(name) {
                assert!(!v.chars().any(char::is_control));
                assert!(v.chars().count() <= MAX_FIELD_CHARS);
                let _ = form::serial(v);
                let _ = form::digits(v);
            }
        }
    }
});
