//! The page of a 法人 (business) contract at the branch.

use super::{branch_select, csrf_field, layout, lookup_form, receipt_kind, yen, Nav};
use crate::branch::paths;
use crate::branch::procedures::{CancelForm, Role};
use crate::clock::jst;
use crate::store::{Application, AuditRecord, Business, Receipt, Usage};
use maud::{html as m, Markup};

pub const UNLOCK: &str = "法人のロック解除";
pub const UNLOCKED: &str = "ロックを解除しました。";

/// One registered or issued token as the page lists it.
pub struct TokenRow {
    pub serial: String,
    pub users: String,
    pub state: String,
    pub fails: u32,
    pub locked: bool,
}

/// The contract's lists the page shows.
pub struct Lists {
    /// Tokens issued to the contract and not registered.
    pub issued: Vec<String>,
    pub history: Vec<Receipt>,
    pub applications: Vec<Application>,
    pub audit: Vec<AuditRecord>,
    pub fee_yen: u32,
    /// The contract's 利用中止届 and replacement 発行申込書, waiting or decided.
    pub forms: Vec<CancelForm>,
    pub today: String,
    pub branches: Vec<(String, String)>,
}

pub fn page(
    nav: Nav,
    b: &Business,
    locked: bool,
    tokens: &[TokenRow],
    lists: &Lists,
    message: Option<&str>,
) -> Markup {
    let Lists {
        issued,
        history,
        applications,
        audit,
        fee_yen,
        forms,
        today,
        branches,
    } = lists;
    let fee_yen = *fee_yen;
    let unlock = |what: &str, label: &str| -> Markup {
        m! {
            form method="post" action=(paths::BUSINESS_UNLOCK) {
                (csrf_field(nav.csrf))
                input type="hidden" name="contract_id" value=(b.contract_id);
                input type="hidden" name="what" value=(what);
                button type="submit" { (label) }
            }
        }
    };
    let supervisor = nav.actor.role == Role::Supervisor;
    layout(
        "法人のお客様の照会",
        Some(nav),
        m! {
            (lookup_form(&b.contract_id))
            @if let Some(msg) = message { p.ok { (msg) } }
            table {
                tr { th { "契約先ID" } td { (b.contract_id) } }
                tr { th { "契約先名" } td { (b.name) } }
                @if b.closed {
                    tr { th { "契約" } td { "解約 (closed) ・管理者ログイン・資金移動はできません" } }
                }
                tr { th { "利用形態" } td { (b.usage.label()) } }
                tr { th { "管理者ログイン" } td {
                    @if locked { "ロック中 (locked)" } @else { "利用可" }
                    " / 暗証番号・確認用パスワード誤り " (b.admin_fails) "回"
                    @if locked && supervisor { (unlock("admin", "管理者のロック解除")) }
                } }
                @if !issued.is_empty() {
                    tr { th { "払出済み・未登録" } td { (issued.join(" ")) } }
                }
            }
            h2 { "利用者" }
            table {
                tr { th { "利用者ID" } th { "利用者名" } th { "現在のシリアル番号" } }
                @for u in &b.users {
                    tr { td { (u.user_id) } td { (u.name) } td {
                        (b.token_of(&u.user_id).unwrap_or("-"))
                        // Retired at a branch: no 資金移動 until the administrator registers another.
                        @if u.blocked && b.token_of(&u.user_id).is_none() { " ・利用中止(新しいトークンの登録待ち)" }
                    } }
                }
            }
            h2 { "登録トークン" }
            @if tokens.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "シリアル番号" } th { "利用者" } th { "状態" } th { "誤り" } th { "" } }
                    @for t in tokens {
                        tr { td { (t.serial) } td { (t.users) } td { (t.state) @if t.locked { " ・ロック中 (locked)" } }
                             td { (t.fails) "回" }
                             td { @if t.locked && supervisor { (unlock(&t.serial, "トークンのロック解除")) } } }
                    }
                }
            }
            @if !supervisor { p { "ロック解除は役席者が行います。" } }
            fieldset {
                legend { "ハードウェアトークンの発行(発行申込書)" }
                form method="post" action=(paths::APPLICATIONS) {
                    (csrf_field(nav.csrf))
                    input type="hidden" name="contract_id" value=(b.contract_id);
                    input type="hidden" name="reason" value="new";
                    label { "申込書番号 " input type="text" name="application_no" required; }
                    label { "シリアル番号(空欄なら在庫から自動で払出) " input type="text" name="serial"; }
                    button type="submit" { "発行(新規・手数料 " (yen(fee_yen)) ")" }
                }
                p { "管理者が携帯電話の利用登録で、利用者ごとに登録します。" }
            }
            @if !tokens.is_empty() {
                fieldset {
                    legend { "利用中止届の受付" }
                    form method="post" action=(paths::FORMS) {
                        (csrf_field(nav.csrf))
                        input type="hidden" name="contract_id" value=(b.contract_id);
                        label { "対象 " (target_select(b)) }
                        label { "用紙番号 " input type="text" name="form_no" required; }
                        label { "受付日 " input type="date" name="received_on" value=(today) required; }
                        label { "受付店 " (branch_select(branches, &nav.actor.branch_code)) }
                        label { input type="checkbox" name="identity_checked" value="1"; " 本人確認済み" }
                        button type="submit" { "受付(承認待ちへ)" }
                    }
                    p { "複数の利用者に登録されたトークンは、その全員について利用中止になります。" }
                }
                fieldset {
                    legend { "故障・電池切れによる交換(発行申込書)" }
                    form method="post" action=(paths::APPLICATIONS) {
                        (csrf_field(nav.csrf))
                        input type="hidden" name="contract_id" value=(b.contract_id);
                        label { "対象 " (target_select(b)) }
                        label { "申込書番号 " input type="text" name="application_no" required; }
                        label { input type="radio" name="reason" value="broken" checked; " 故障による交換(無料・旧トークン返却・役席者の承認後)" }
                        label { input type="radio" name="reason" value="battery"; " 電池切れによる交換(無料・旧トークン返却・役席者の承認後)" }
                        label { "シリアル番号(空欄なら承認時に在庫から自動で払出) " input type="text" name="serial"; }
                        button type="submit" { "受付(承認待ちへ)" }
                    }
                    p { "承認後、管理者が携帯電話の利用登録で新しいトークンを登録します。" }
                }
            }
            h2 { "利用中止届・交換の発行申込書(承認制)" }
            @if forms.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "番号" } th { "種類" } th { "利用者" } th { "トークン" } th { "状態" } th { "受付者" } th { "処理者" } }
                    @for f in forms {
                        tr { td { a href={ (paths::FORM) "?no=" (f.form_no) } { (f.form_no) } }
                             td { (super::issue::replacement_kind(f)) }
                             td { (f.user_id.as_deref().unwrap_or("(共通)")) } td { (f.serial) }
                             td { (f.decision.label()) } td { (f.recorded_by) }
                             td { (f.decision.decided_by().unwrap_or("")) } }
                    }
                }
            }
            h2 { "発行申込書" }
            @if applications.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "申込書番号" } th { "トークン" } th { "手数料" } th { "受付者" } th { "日時" } }
                    @for a in applications {
                        tr { td { (a.application_no) } td { (a.serial) } td { (yen(a.fee_yen)) }
                             td { (a.recorded_by) } td { (jst(a.at)) } }
                    }
                }
            }
            h2 { "受付履歴(受付番号)" }
            @if history.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "受付番号" } th { "種類" } th { "トークン" } th { "変更前" } th { "日時" } }
                    @for r in history {
                        tr { td { (r.number_text()) } td { (receipt_kind(r.kind)) } td { (r.serial) }
                             td { (r.old_serial.as_deref().unwrap_or("")) } td { (jst(r.at)) } }
                    }
                }
            }
            h2 { "履歴(監査ログ、新しい順)" }
            table {
                tr { th { "日時" } th { "事象" } th { "トークン" } th { "内容" } }
                @for r in audit {
                    tr { td { (jst(r.at)) } td { (r.event) } td { (r.serial.as_deref().unwrap_or("")) } td { (r.detail) } }
                }
            }
        },
    )
}

/// Whose token a form names: a user with a registered token, or the shared token.
fn target_select(b: &Business) -> Markup {
    m! {
        select name="user_id" {
            @if b.usage == Usage::Shared && b.shared_serial.is_some() {
                option value="" { "共通トークン " (b.shared_serial.as_deref().unwrap_or("")) }
            }
            @for u in &b.users {
                @if let Some(serial) = b.token_of(&u.user_id) {
                    option value=(u.user_id) { (u.user_id) " " (u.name) " (" (serial) ")" }
                }
            }
        }
    }
}
