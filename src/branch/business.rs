//! The console's view of a 法人 (business) contract, found by the same 契約者ID lookup as
//! personal customers: 利用形態, the users with their serials, the tokens, the receipts and the
//! audit trail and 発行申込書 (a new hardware token issued to the contract, which its
//! administrator then registers from the phone); and the release of a lock (the administrator's, or a registered token's),
//! which only a supervisor may do, audited with who did it.

use super::pages::{csrf_field, layout, lookup_form, receipt_kind, Nav};
use super::paths;
use super::steps::{contract_id, nav, refused, token_state};
use super::when::jst;
use super::{html, BranchError, Staffed};
use crate::reply::Reply;
use crate::store::{Application, AuditEvent, AuditRecord, Business, Event, Receipt, TokenState};
use hyper::StatusCode;
use maud::{html as m, Markup};

type Step = Result<Reply, BranchError>;

/// Audit records the page shows at most.
const AUDIT_ROWS: usize = 50;

/// One registered or issued token as the page lists it.
struct TokenRow {
    serial: String,
    users: String,
    state: String,
    fails: u32,
    locked: bool,
}

/// `GET /branch/customer?contract_id=` for a 法人 contract.
pub fn page(s: &Staffed, b: &Business, message: Option<&str>) -> Step {
    let store = &s.app.store;
    let policy = &s.app.config.bank.policy;
    let mut tokens = Vec::new();
    for serial in b.serials() {
        let Some(t) = store.token(&serial)? else {
            continue;
        };
        let users: Vec<&str> = b
            .users
            .iter()
            .filter(|u| b.token_of(&u.user_id) == Some(serial.as_str()))
            .map(|u| u.user_id.as_str())
            .collect();
        tokens.push(TokenRow {
            users: users.join(" "),
            state: token_state(&t.state),
            fails: t.otp.fails,
            locked: t.locked(policy),
            serial,
        });
    }
    let issued: Vec<String> = store
        .assigned_tokens(&b.contract_id)?
        .into_iter()
        .filter(|t| t.state == TokenState::Available)
        .map(|t| t.serial)
        .collect();
    let lists = Lists {
        issued,
        history: store.receipts_of(&b.contract_id)?,
        applications: store.applications_of(&b.contract_id)?,
        audit: store.audit_recent(Some(&b.contract_id), None, AUDIT_ROWS)?,
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
    };
    let body = view(nav(s), b, b.locked(policy), &tokens, &lists, message);
    Ok(html(StatusCode::OK, body))
}

/// The contract's lists the page shows.
struct Lists {
    /// Tokens issued to the contract and not registered.
    issued: Vec<String>,
    history: Vec<Receipt>,
    applications: Vec<Application>,
    audit: Vec<AuditRecord>,
    fee_yen: u32,
}

fn view(
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
    let supervisor = nav.actor.role == super::ops::Role::Supervisor;
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
                    button type="submit" { "発行(新規・手数料 " (super::pages::yen(fee_yen)) ")" }
                }
                p { "管理者が携帯電話の利用登録で、利用者ごとに登録します。" }
            }
            h2 { "発行申込書" }
            @if applications.is_empty() { p { "なし" } } @else {
                table {
                    tr { th { "申込書番号" } th { "トークン" } th { "手数料" } th { "受付者" } th { "日時" } }
                    @for a in applications {
                        tr { td { (a.application_no) } td { (a.serial) } td { (super::pages::yen(a.fee_yen)) }
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

/// `POST /branch/business/unlock`: `what` = `admin` or a registered token's serial.
pub async fn unlock(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "法人のロック解除";
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(_) => return refused(s, TITLE, &super::ops::Refused::UnknownContract, None),
    };
    if s.actor.role != super::ops::Role::Supervisor {
        return refused(s, TITLE, &super::ops::Refused::NotSupervisor, Some(&id));
    }
    let what = s.req.text("what");
    let store = &s.app.store;
    let (staff, branch) = (&s.actor.staff_id, &s.actor.branch_code);
    let now = s.now();
    let done = if what == "admin" {
        crate::business::unlock(store, &id, staff, branch, now).await?
    } else {
        store
            .commit(|tx| {
                let Some(b) = tx.business(&id)? else {
                    return Ok(false);
                };
                let Some(mut t) = tx.token(&what)?.filter(|_| b.uses(&what)) else {
                    return Ok(false);
                };
                t.otp.locked = false;
                t.otp.fails = 0;
                tx.put_token(&t)?;
                tx.audit_by(
                    now,
                    Event {
                        contract_id: Some(&id),
                        serial: Some(&what),
                        detail: "法人トークンのロック解除".into(),
                        ..Event::new(AuditEvent::BizUnlock)
                    },
                    staff,
                    branch,
                )?;
                Ok(true)
            })
            .await?
    };
    let Some(b) = store.business(&id)? else {
        return refused(s, TITLE, &super::ops::Refused::UnknownContract, None);
    };
    if !done {
        return refused(s, TITLE, &super::ops::Refused::NotFound, Some(&id));
    }
    page(s, &b, Some("ロックを解除しました。"))
}
