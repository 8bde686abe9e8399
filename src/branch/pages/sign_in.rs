//! The sign-in, password change and home pages.

use super::{csrf_field, layout, lookup_form, Nav};
use crate::branch::paths;
use maud::{html, Markup};

pub fn sign_in(csrf: &str, message: Option<&str>) -> Markup {
    layout(
        "営業店端末 サインイン",
        None,
        html! {
            @if let Some(m) = message { p.ng { (m) } }
            form method="post" action=(paths::LOGIN) {
                (csrf_field(csrf))
                label { "職員番号 " input type="text" name="staff_id" autocomplete="username" required; }
                label { "パスワード " input type="password" name="password" autocomplete="current-password" required; }
                button type="submit" { "サインイン" }
            }
        },
    )
}

/// The password change; `forced` while the password is the initial one.
pub fn password(nav: Nav, forced: bool, min: usize, message: Option<&str>) -> Markup {
    layout(
        "パスワードの変更",
        Some(nav),
        html! {
            @if forced { p { "初期パスワードでサインインしました。業務を始める前に、ご自身で決めたパスワードに変更してください。" } }
            @if let Some(m) = message { p.ng { (m) } }
            form method="post" action=(paths::PASSWORD) {
                (csrf_field(nav.csrf))
                label { "現在のパスワード " input type="password" name="current" autocomplete="current-password" required; }
                label { "新しいパスワード(" (min) "文字以上) " input type="password" name="new" autocomplete="new-password" minlength=(min) required; }
                label { "新しいパスワード(確認) " input type="password" name="confirm" autocomplete="new-password" minlength=(min) required; }
                button type="submit" { "変更する" }
            }
        },
    )
}

pub fn home(nav: Nav, pending: usize) -> Markup {
    home_with(nav, pending, None)
}

/// The home page with a message on top (a password just changed).
pub fn home_with(nav: Nav, pending: usize, message: Option<&str>) -> Markup {
    layout(
        "ホーム",
        Some(nav),
        html! {
            @if let Some(m) = message { p.ok { (m) } }
            h2 { "お客様の照会" }
            (lookup_form(""))
            p { "承認待ちの受付: " (pending) "件 " a href=(paths::PENDING) { "一覧" } }
        },
    )
}
