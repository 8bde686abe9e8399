//! お客様の照会: the customer page with its procedures' forms, and how a token's and a
//! customer's state read (the console and `customers show`).

use super::{branch_select, csrf_field, layout, lookup_form, receipt_kind, yen, Nav};
use crate::branch::paths;
use crate::branch::procedures::{Application, CancelForm, Release};
use crate::clock::jst;
use crate::store::{Customer, Receipt, TokenKind, TokenState};
use maud::{html, Markup};

pub const TITLE: &str = "お客様の照会";

/// A token's kind as staff read it.
pub fn kind(k: TokenKind) -> &'static str {
    match k {
        TokenKind::Hardware => "ハードウェア",
        TokenKind::Software => "ソフトウェア",
    }
}

/// A token's state as the console and `customers show` print it.
pub fn token_state(state: &TokenState) -> String {
    match state {
        TokenState::Available => "未使用 (available)".into(),
        TokenState::Active { since, .. } => format!("利用中 (active) {}から", jst(*since)),
        TokenState::Replaced { at, .. } => format!("交換済 (replaced) {}", jst(*at)),
        TokenState::Cancelled { at, .. } => format!("利用中止 (cancelled) {}", jst(*at)),
        TokenState::Returned { at, reason, .. } => {
            format!("返却済 (returned: {reason}) {}", jst(*at))
        }
    }
}

/// A customer's state in one line (console and `customers show`); `token_locked` is `None`
/// without a token; `issued` when a hardware token issued at a branch waits for 利用開始.
pub fn status(c: &Customer, token_locked: Option<bool>, issued: bool) -> String {
    if c.closed {
        return "解約 (closed) ・ログイン・振込等はできません".to_owned();
    }
    match (token_locked, c.transfers_blocked) {
        (Some(true), _) => "トークンロック中 (locked)".to_owned(),
        (Some(false), _) => "利用中 (active)".to_owned(),
        // A replacement (or a new token after 利用中止) is in the customer's hands.
        (None, true) if issued => {
            "トークン未登録 ・払出済みトークンの利用開始待ち(振込等は停止中)".to_owned()
        }
        // A replacement (or a new token after 利用中止) is in the customer's hands.
        (None, true) if issued => {
            "トークン未登録 ・払出済みトークンの利用開始待ち(振込等は停止中)".to_owned()
        }
        (None, true) => "利用中止 (cancelled) ・新しいトークンの利用開始待ち".to_owned(),
        (None, false) => "トークン未登録".to_owned(),
    }
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

pub fn customer(nav: Nav, v: &CustomerView, message: Option<&str>) -> Markup {
    let c = v.customer;
    layout(
        TITLE,
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
            h2 { "利用中止届・交換の発行申込書(承認制)" }
            @if v.forms.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "用紙番号" } th { "種類" } th { "受付日" } th { "受付店" } th { "状態" } th { "受付者" } th { "処理者" } }
                    @for f in &v.forms {
                        tr { td { a href={ (paths::FORM) "?no=" (f.form_no) } { (f.form_no) } }
                             td { (super::issue::replacement_kind(f)) } td { (f.received_on) }
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
                        label { input type="radio" name="reason" value="broken"; " 故障による交換(無料・旧トークン返却・役席者の承認後)" }
                        label { input type="radio" name="reason" value="battery"; " 電池切れによる交換(無料・旧トークン返却・役席者の承認後)" }
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
