//! The console's pages: UTF-8 HTML made with maud, plain forms, no JavaScript. Pages get plain
//! view data and never touch the store.

use super::ops::{Actor, Application, CancelForm, Decision, Release};
use super::paths;
use crate::clock::jst;
use crate::store::{AuditRecord, Customer, Receipt, ReceiptKind};
use maud::{html, Markup, DOCTYPE};

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

pub(super) fn csrf_field(csrf: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(csrf); }
}

pub(super) fn layout(title: &str, nav: Option<Nav>, body: Markup) -> Markup {
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

pub(super) fn lookup_form(value: &str) -> Markup {
    html! {
        form method="get" action=(paths::CUSTOMER) {
            label { "契約者ID " input type="text" name="contract_id" value=(value) inputmode="numeric" required; }
            button type="submit" { "照会" }
        }
    }
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

/// A token as the customer page shows it.
pub struct TokenView {
    pub serial: String,
    pub kind: &'static str,
    pub state: String,
    pub fails: u32,
    pub locked: bool,
}

/// Everything the customer page shows.
pub struct CustomerView<'a> {
    pub customer: &'a Customer,
    pub token: Option<TokenView>,
    pub status: String,
    pub login_locked: bool,
    pub history: Vec<Receipt>,
    pub attempts: Vec<u64>,
    pub forms: Vec<CancelForm>,
    pub applications: Vec<Application>,
    pub releases: Vec<Release>,
    /// Hardware tokens assigned at a branch and not registered yet.
    pub assigned: Vec<String>,
    pub today: String,
    pub branches: Vec<(String, String)>,
    pub fee_yen: u32,
}

pub(super) fn receipt_kind(k: ReceiptKind) -> &'static str {
    match k {
        ReceiptKind::Registration => "利用開始",
        ReceiptKind::Exchange => "交換",
        ReceiptKind::Cancellation => "利用中止",
        ReceiptKind::BizRegistration => "法人 利用登録",
        ReceiptKind::BizRelease => "法人 利用登録解除",
    }
}

pub fn customer(nav: Nav, v: &CustomerView, message: Option<&str>) -> Markup {
    let c = v.customer;
    layout(
        "お客様の照会",
        Some(nav),
        html! {
            (lookup_form(&c.contract_id))
            @if let Some(m) = message { p.ng { (m) } }
            table {
                tr { th { "契約者ID" } td { (c.contract_id) } }
                tr { th { "氏名" } td { (c.name) } }
                tr { th { "状態" } td { (v.status) } }
                tr { th { "ログイン" } td {
                    @if v.login_locked { "ロック中 (locked)" } @else { "利用可" }
                    " / ログインパスワード誤り " (c.login_fails) "回"
                    " / 資金移動用パスワード誤り " (c.transfer_lock.fails) "回"
                } }
                @if c.claim_fails > 0 {
                    // Wrong codes for tokens not yet the customer's (利用開始, 交換's new token):
                    // at the OTP limit a ロック解除 (トークン) releases them.
                    tr { th { "登録時のワンタイムパスワード誤り" } td { (c.claim_fails) "回" } }
                }
                @match &v.token {
                    Some(t) => {
                        tr { th { "トークン" } td { (t.serial) " (" (t.kind) ")" } }
                        tr { th { "トークンの状態" } td {
                            (t.state)
                            @if t.locked { " ・ロック中 (locked)" }
                            " / ワンタイムパスワード誤り " (t.fails) "回"
                        } }
                    }
                    None => { tr { th { "トークン" } td { "なし" } } }
                }
                tr { th { "振込等" } td { @if c.transfers_blocked { "停止中(新しいトークンの利用開始まで)" } @else { "—" } } }
                @if !v.assigned.is_empty() {
                    tr { th { "払出済み・未登録" } td { (v.assigned.join(" ")) } }
                }
            }
            h2 { "受付履歴(受付番号)" }
            @if v.history.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "受付番号" } th { "種類" } th { "トークン" } th { "変更前" } th { "日時" } }
                    @for r in &v.history {
                        tr { td { (r.number_text()) } td { (receipt_kind(r.kind)) } td { (r.serial) }
                             td { (r.old_serial.as_deref().unwrap_or("")) } td { (jst(r.at)) } }
                    }
                }
            }
            h2 { "携帯電話からの利用中止操作" }
            @if v.attempts.is_empty() { p { "なし" } } @else {
                ul { @for at in &v.attempts { li { (jst(*at)) } } }
            }
            h2 { "利用中止届" }
            @if v.forms.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "用紙番号" } th { "受付日" } th { "受付店" } th { "状態" } th { "受付者" } th { "処理者" } }
                    @for f in &v.forms {
                        tr { td { a href={ (paths::FORM) "?no=" (f.form_no) } { (f.form_no) } } td { (f.received_on) }
                             td { (f.branch_code) } td { (f.decision.label()) } td { (f.recorded_by) }
                             td { (f.decision.decided_by().unwrap_or("")) } }
                    }
                }
            }
            h2 { "発行申込書" }
            @if v.applications.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "申込書番号" } th { "区分" } th { "トークン" } th { "返却" } th { "手数料" } th { "受付者" } th { "日時" } }
                    @for a in &v.applications {
                        tr { td { (a.application_no) } td { (a.reason.label()) } td { (a.serial) }
                             td { (a.returned_serial.as_deref().unwrap_or("")) } td { (yen(a.fee_yen)) }
                             td { (a.recorded_by) } td { (jst(a.at)) } }
                    }
                }
            }
            h2 { "ロック解除" }
            @if v.releases.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "受付番号" } th { "種類" } th { "状態" } th { "受付者" } th { "処理者" } }
                    @for r in &v.releases {
                        tr { td { a href={ (paths::RELEASE) "?id=" (r.id) } { (r.number()) } } td { (r.kind.label()) }
                             td { (r.decision.label()) } td { (r.recorded_by) } td { (r.decision.decided_by().unwrap_or("")) } }
                    }
                }
            }
            h2 { "手続き" }
            @if v.token.is_some() {
                fieldset {
                    legend { "利用中止届の受付" }
                    form method="post" action=(paths::FORMS) {
                        (csrf_field(nav.csrf))
                        input type="hidden" name="contract_id" value=(c.contract_id);
                        label { "用紙番号 " input type="text" name="form_no" required; }
                        label { "受付日 " input type="date" name="received_on" value=(v.today) required; }
                        label { "受付店 " (branch_select(&v.branches, &nav.actor.branch_code)) }
                        label { input type="checkbox" name="identity_checked" value="1"; " 本人確認済み" }
                        button type="submit" { "受付(承認待ちへ)" }
                    }
                }
            }
            fieldset {
                legend { "ハードウェアトークンの発行(発行申込書)" }
                form method="post" action=(paths::APPLICATIONS) {
                    (csrf_field(nav.csrf))
                    input type="hidden" name="contract_id" value=(c.contract_id);
                    label { "申込書番号 " input type="text" name="application_no" required; }
                    label { input type="radio" name="reason" value="new" checked; " 新規発行(手数料 " (yen(v.fee_yen)) ")" }
                    @if v.token.is_some() {
                        label { input type="radio" name="reason" value="broken"; " 故障による交換(無料・旧トークン返却)" }
                        label { input type="radio" name="reason" value="battery"; " 電池切れによる交換(無料・旧トークン返却)" }
                    }
                    label { "シリアル番号(空欄なら在庫から自動で払出) " input type="text" name="serial"; }
                    button type="submit" { "発行" }
                }
            }
            fieldset {
                legend { "ロック解除の受付" }
                form method="post" action=(paths::RELEASES) {
                    (csrf_field(nav.csrf))
                    input type="hidden" name="contract_id" value=(c.contract_id);
                    label { "種類 " select name="kind" {
                        option value="token" { "トークンロック解除" }
                        option value="login" { "ログインロック解除" }
                    } }
                    label { "シリアル番号(任意: ご利用中でないトークン) " input type="text" name="serial"; }
                    label { "備考 " input type="text" name="note"; }
                    button type="submit" { "受付(承認待ちへ)" }
                }
            }
        },
    )
}

fn branch_select(branches: &[(String, String)], selected: &str) -> Markup {
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

fn decision_rows(d: &Decision) -> Markup {
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

fn decide_forms(nav: Nav, approve: &str, reject: &str, key: &str, value: &str) -> Markup {
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

pub fn form_detail(nav: Nav, f: &CancelForm, name: &str, can_decide: bool) -> Markup {
    layout(
        "利用中止届",
        Some(nav),
        html! {
            table {
                tr { th { "用紙番号" } td { (f.form_no) } }
                tr { th { "契約者ID" } td { a href={ (paths::CUSTOMER) "?contract_id=" (f.contract_id) } { (f.contract_id) } } }
                tr { th { "氏名" } td { (name) } }
                tr { th { "トークン" } td { (f.serial) } }
                tr { th { "受付日" } td { (f.received_on) } }
                tr { th { "受付店" } td { (f.branch_code) } }
                tr { th { "本人確認" } td { @if f.identity_checked { "済" } @else { "未" } } }
                tr { th { "受付者" } td { (f.recorded_by) " " (jst(f.recorded_at)) } }
                (decision_rows(&f.decision))
            }
            @if can_decide {
                (decide_forms(nav, paths::FORMS_APPROVE, paths::FORMS_REJECT, "form_no", &f.form_no))
            }
        },
    )
}

pub fn release_detail(nav: Nav, r: &Release, name: &str, can_decide: bool) -> Markup {
    layout(
        "ロック解除",
        Some(nav),
        html! {
            table {
                tr { th { "受付番号" } td { (r.number()) } }
                tr { th { "種類" } td { (r.kind.label()) } }
                tr { th { "契約者ID" } td { a href={ (paths::CUSTOMER) "?contract_id=" (r.contract_id) } { (r.contract_id) } } }
                tr { th { "氏名" } td { (name) } }
                @if let Some(s) = &r.serial { tr { th { "トークン" } td { (s) } } }
                tr { th { "備考" } td { (r.note) } }
                tr { th { "受付者" } td { (r.recorded_by) " (店番 " (r.branch_code) ") " (jst(r.recorded_at)) } }
                (decision_rows(&r.decision))
            }
            @if can_decide {
                (decide_forms(nav, paths::RELEASES_APPROVE, paths::RELEASES_REJECT, "id", &r.id.to_string()))
            }
        },
    )
}

/// One row of a list: the cells, and where the first cell links to.
pub struct Row {
    pub href: Option<String>,
    pub cells: Vec<String>,
}

pub fn list(
    nav: Nav,
    title: &str,
    csv_href: &str,
    header: &[&str],
    rows: &[Row],
    note: Option<&str>,
) -> Markup {
    layout(
        title,
        Some(nav),
        html! {
            p { a href=(csv_href) { "CSVで出力" } " (" (rows.len()) "件)" }
            @if let Some(n) = note { p { (n) } }
            table {
                tr { @for h in header { th { (h) } } }
                @for r in rows {
                    tr {
                        @for (i, c) in r.cells.iter().enumerate() {
                            td {
                                @match (&r.href, i) {
                                    (Some(h), 0) => { a href=(h) { (c) } }
                                    _ => { (c) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Where the audit page sits in the trail: links to the newest records and to older ones.
pub struct AuditPaging {
    /// This page is not the newest.
    pub newer: bool,
    /// Older records exist, below this record number.
    pub older: Option<u64>,
}

pub fn audit(
    nav: Nav,
    contract: &str,
    since: &str,
    records: &[AuditRecord],
    paging: AuditPaging,
    message: Option<&str>,
) -> Markup {
    // The filters go with the page links: a contract ID and a YYYY-MM-DD date, kept to the
    // characters those have (nothing else could need URL encoding).
    let keep = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    };
    let (c, d) = (keep(contract), keep(since));
    let link = |before: Option<u64>| {
        let mut q = format!("{}?contract={c}&since={d}", paths::AUDIT);
        if let Some(b) = before {
            q.push_str(&format!("&before={b}"));
        }
        q
    };
    let links = html! {
        p.paging {
            @if paging.newer { a href=(link(None)) { "« 最新の記録" } " " }
            @if let Some(b) = paging.older { a href=(link(Some(b))) { "古い記録(#" (b) "より前) »" } }
        }
    };
    layout(
        "監査ログ",
        Some(nav),
        html! {
            form method="get" action=(paths::AUDIT) {
                label { "契約者ID " input type="text" name="contract" value=(contract); }
                label { "開始日 " input type="date" name="since" value=(since); }
                button type="submit" { "絞り込み" }
            }
            @if let Some(m) = message { p.ng { (m) } }
            p { "新しい順に" (records.len()) "件(1ページ" (super::steps::AUDIT_PAGE_ROWS) "件まで)" }
            (links)
            table {
                tr { th { "記録番号" } th { "日時" } th { "事象" } th { "職員" } th { "店番" } th { "契約者ID" } th { "トークン" } th { "内容" } }
                @for r in records {
                    // 記録番号 is the audit record number the OTP API returns as `receipt`.
                    tr { td { "#" (r.seq) } td { (jst(r.at)) } td { (r.event) } td { (r.staff.as_deref().unwrap_or("")) }
                         td { (r.branch.as_deref().unwrap_or("")) } td { (r.contract_id.as_deref().unwrap_or("")) }
                         td { (r.serial.as_deref().unwrap_or("")) } td { (r.detail) } }
                }
            }
            (links)
        },
    )
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
