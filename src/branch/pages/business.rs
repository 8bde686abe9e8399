//! The page of a 法人 (business) contract at the branch.

use super::{csrf_field, layout, lookup_form, receipt_kind, yen, Nav};
use crate::branch::paths;
use crate::branch::procedures::Role;
use crate::clock::jst;
use crate::store::{Application, AuditRecord, Business, Receipt};
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
                    tr { td { (u.user_id) } td { (u.name) } td { (b.token_of(&u.user_id).unwrap_or("-")) } }
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
