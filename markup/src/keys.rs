//! Numbered-key links and numeric input modes.
//!
//! Feature phones are driven from the keypad: every link a user picks carries an `accesskey` and
//! shows its key, and inputs say which input mode to open so the user does not have to switch.

use crate::layout::Ctx;
use maud::{html, Markup};

/// How a key is shown next to its link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Keypad {
    /// `[1]` text: every phone can show it.
    #[default]
    Text,
}

impl Keypad {
    fn label(self, key: char) -> String {
        match self {
            Keypad::Text => format!("[{key}]"),
        }
    }
}

/// A link picked with a keypad key: `<a href=.. accesskey="1">[1]label</a>`.
pub fn key_link(ctx: &Ctx, key: char, path: &str, label: &str) -> Markup {
    html! {
        a href=(ctx.href(path)) accesskey=(key) { (ctx.keypad.label(key)) (label) }
    }
}

/// A numeric input (contract ID, OTP): i-mode `istyle`, au `format`, SoftBank `mode`.
pub fn numeric_input(name: &str, max_len: u8, value: &str) -> Markup {
    html! {
        input type="text" name=(name) value=(value) size=(max_len) maxlength=(max_len) istyle="4" format="*N" mode="numeric";
    }
}

/// An upper-case alphanumeric input (token serial), prefilled with what the user typed.
pub fn serial_input(name: &str, value: &str) -> Markup {
    html! {
        input type="text" name=(name) value=(value) size="12" maxlength="16" istyle="3" format="*X" mode="alphabet";
    }
}

/// A password input; secrets are never prefilled.
pub fn password_input(name: &str, numeric: bool) -> Markup {
    html! {
        @if numeric {
            input type="password" name=(name) size="8" maxlength="16" istyle="4" format="*N" mode="numeric";
        } @else {
            input type="password" name=(name) size="8" maxlength="16" istyle="3" mode="alphabet";
        }
    }
}
