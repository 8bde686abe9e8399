//! The console's pages: UTF-8 HTML made with maud, plain forms, no JavaScript. Pages get plain
//! view data and never touch the store. Everything staff read is on this side: one module per
//! procedure (its pages, titles and result lines), and here the frame, the shared parts and the
//! labels of the records and refusals.

pub mod audit;
pub mod business;
pub mod cancel;
pub mod customer;
pub mod issue;
pub mod lists;
pub mod sign_in;
pub mod unlock;

pub use self::audit::audit;
pub use self::customer::{customer, CustomerView, TokenView};
pub use self::lists::{list, Row};
pub use self::sign_in::{home, home_with, password, sign_in};

use super::paths;
use super::procedures::{Actor, Decision, IssueReason, Refused, ReleaseKind, Role};
use crate::clock::jst;
use crate::store::ReceiptKind;
use maud::{html, Markup, DOCTYPE};

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Clerk => "担当者",
            Role::Supervisor => "役席者",
        }
    }
}

impl Decision {
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Received => "受付済",
            Decision::Approved { .. } => "承認済",
            Decision::Rejected { .. } => "却下",
        }
    }
}

impl IssueReason {
    pub fn label(self) -> &'static str {
        match self {
            IssueReason::New => "新規発行",
            IssueReason::Broken => "故障による交換",
            IssueReason::Battery => "電池切れによる交換",
        }
    }
}

impl ReleaseKind {
    pub fn label(self) -> &'static str {
        match self {
            ReleaseKind::Token => "トークンロック解除",
            ReleaseKind::Login => "ログインロック解除",
        }
    }
}

impl Refused {
    /// What staff read.
    pub fn message(&self) -> String {
        match self {
            Refused::UnknownContract => "この契約者IDのお客様は登録されていません。".into(),
            Refused::NumberUsed => "この番号は既に使用されています。用紙の番号をご確認ください。".into(),
            Refused::NoToken => "このお客様にはご利用中のトークンがありません。".into(),
            Refused::NotFound => "該当する受付がありません。".into(),
            Refused::AlreadyDecided(state) => {
                format!("この受付は既に処理されています(状態: {state})。処理は一度だけ行われました。")
            }
            Refused::OwnEntry => "ご自身が受け付けた案件は承認・却下できません。別の役席者が処理してください。".into(),
            Refused::NotSupervisor => "承認・却下は役席者のみが行えます。".into(),
            Refused::NoFreeToken => "払い出せるハードウェアトークンの在庫がありません。".into(),
            Refused::SerialNotFree => "このシリアル番号のトークンは払い出せません(在庫にない、ソフトウェアトークン、または割当済み)。".into(),
            Refused::NotLocked => "ロックされていないため、解除の必要はありません。".into(),
            Refused::TokenChanged => "受付後にお客様のトークンが変更されています。この受付は却下してください。".into(),
            Refused::NothingToReturn => "交換の対象となるご利用中のトークンがありません。新規発行を選んでください。".into(),
            Refused::NotTheirs => "このシリアル番号のトークンは、このお客様のものでも在庫でもありません。".into(),
            Refused::Closed => "このお客様の契約は解約されています(インターネットバンキングのホストから)。".into(),
            Refused::UnknownUser => "この利用者IDの利用者は、この契約先に登録されていません。".into(),
            Refused::ChooseUser => "利用者ごとのトークンです。対象の利用者を選んでください。".into(),
        }
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1em 2em;max-width:72em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;padding:.2em .5em;text-align:left}\
nav a,nav form{margin-right:1em;display:inline}.ok{color:#060}.ng{color:#a00}\
fieldset{margin:1em 0}label{display:block;margin:.3em 0}";

/// Who is signed in, for the navigation bar and the forms' anti-forgery field.
#[derive(Clone, Copy)]
pub struct Nav<'a> {
    pub actor: &'a Actor,
    pub csrf: &'a str,
}

pub(crate) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

pub(crate) fn layout(title: &str, nav: Option<Nav>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="ja" {
            head {
                meta charset="utf-8";
                title { (title) " - 営業店端末" }
                style { (STYLE) }
            }
            body {
                @if let Some(n) = nav {
                    nav {
                        a href=(paths::HOME) { "ホーム" }
                        a href=(paths::PENDING) { "承認待ち" }
                        a href=(paths::TODAY) { "本日の処理" }
                        a href=(paths::ATTEMPTS) { "利用中止の未届" }
                        a href=(paths::AUDIT) { "監査ログ" }
                        a href=(paths::PASSWORD) { "パスワード変更" }
                        span { (n.actor.name) " (" (n.actor.staff_id) " / " (n.actor.role.label()) " / 店番 " (n.actor.branch_code) ") " }
                        form method="post" action=(paths::LOGOUT) {
                            (csrf_field(n.csrf))
                            button type="submit" { "サインアウト" }
                        }
                    }
                    hr;
                }
                h1 { (title) }
                (body)
            }
        }
    }
}

pub fn forbidden() -> Markup {
    layout(
        "アクセスできません",
        None,
        html! { p { "この端末からは営業店端末を利用できません。" } },
    )
}

pub fn error(message: &str) -> Markup {
    layout(
        "エラー",
        None,
        html! {
            p.ng { (message) }
            p { a href=(paths::HOME) { "営業店端末のトップへ" } }
        },
    )
}

pub(crate) fn lookup_form(value: &str) -> Markup {
    html! {
        form method="get" action=(paths::CUSTOMER) {
            label { "契約者ID " input type="text" name="contract_id" value=(value) inputmode="numeric" required; }
            button type="submit" { "照会" }
        }
    }
}

pub(crate) fn receipt_kind(k: ReceiptKind) -> &'static str {
    match k {
        ReceiptKind::Registration => "利用開始",
        ReceiptKind::Exchange => "交換",
        ReceiptKind::Cancellation => "利用中止",
        ReceiptKind::BizRegistration => "法人 利用登録",
        ReceiptKind::BizRelease => "法人 利用登録解除",
    }
}

/// The 受付店 select of the bank profile's branches.
pub(crate) fn branch_select(branches: &[(String, String)], selected: &str) -> Markup {
    html! {
        select name="branch_code" {
            @for (code, name) in branches {
                option value=(code) selected[code == selected] { (code) " " (name) }
            }
        }
    }
}

pub fn yen(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out + "円"
}

/// The outcome of an action: what happened (or why nothing did) and where to go on.
pub fn result(
    nav: Nav,
    title: &str,
    ok: bool,
    lines: &[String],
    contract_id: Option<&str>,
) -> Markup {
    layout(
        title,
        Some(nav),
        html! {
            @for l in lines { p class=(if ok { "ok" } else { "ng" }) { (l) } }
            @if let Some(id) = contract_id {
                p { a href={ (paths::CUSTOMER) "?contract_id=" (id) } { "お客様の照会へ戻る" } }
            }
            p { a href=(paths::PENDING) { "承認待ち一覧へ" } }
        },
    )
}

pub(crate) fn decision_rows(d: &Decision) -> Markup {
    html! {
        tr { th { "状態" } td { (d.label()) } }
        @match d {
            Decision::Received => {}
            Decision::Approved { by, at, receipt } => {
                tr { th { "承認者" } td { (by) } }
                tr { th { "承認日時" } td { (jst(*at)) } }
                @if let Some(r) = receipt { tr { th { "受付番号" } td { (r) } } }
            }
            Decision::Rejected { by, at, reason } => {
                tr { th { "却下者" } td { (by) } }
                tr { th { "却下日時" } td { (jst(*at)) } }
                tr { th { "却下理由" } td { (reason) } }
            }
        }
    }
}

pub(crate) fn decide_forms(
    nav: Nav,
    approve: &str,
    reject: &str,
    key: &str,
    value: &str,
) -> Markup {
    html! {
        form method="post" action=(approve) {
            (csrf_field(nav.csrf))
            input type="hidden" name=(key) value=(value);
            button type="submit" { "承認" }
        }
        form method="post" action=(reject) {
            (csrf_field(nav.csrf))
            input type="hidden" name=(key) value=(value);
            label { "却下理由 " input type="text" name="reason" required; }
            button type="submit" { "却下" }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn yen_groups_thousands() {
        assert_eq!(super::yen(0), "0円");
        assert_eq!(super::yen(2200), "2,200円");
        assert_eq!(super::yen(1234567), "1,234,567円");
    }
}
