//! What each console request does: read and check the fields, call [`super::ops`] (which
//! writes the store durably), and pick the page. Refusals (unknown contract ID, a number used
//! twice, one's own entry, a second approval) are pages with a clear message and a 4xx status,
//! and change nothing.

use super::auth::{self, StaffSessions};
use super::export;
use super::input;
use super::ops::{
    self, Actor, CancelForm, Decision, IssueReason, IssueRequest, Refused, Release, ReleaseKind,
    Role,
};
use super::pages::{self, CustomerView, Nav, Row, TokenView};
use super::paths;
use super::sign_in;
use super::{html, BranchError, BranchRequest, Staffed};
use crate::app::App;
use crate::clock;
use crate::clock::{day_start, jst};
use crate::password;
use crate::reply::Reply;
use crate::store::{AuditEvent, Customer, Event, TokenKind, TokenState};
use hyper::StatusCode;

type Step = Result<Reply, BranchError>;

/// Audit rows per page of the console's audit view (the CLI prints them all). A view reads
/// one page's records from where the page starts, however long the trail.
pub const AUDIT_PAGE_ROWS: usize = 100;

pub(super) fn nav<'a>(s: &'a Staffed) -> Nav<'a> {
    Nav {
        actor: &s.actor,
        csrf: s.csrf(),
    }
}

pub(super) fn today(now: u64) -> String {
    clock::iso_day(now)
}

/// The sign-in page: a random cookie value and the form's anti-forgery value signed over it
/// ([`auth::SignInForm`]); nothing is kept on the server.
pub fn sign_in_page(app: &App, message: Option<&str>, status: StatusCode) -> Step {
    let form = auth::SignInForm::new(app.store.form_key(), clock::now_unix());
    Ok(html(status, pages::sign_in(&form.csrf, message))
        .with_cookie(Some(auth::cookie(&form.cookie_value))))
}

/// `POST /branch/login`.
pub async fn sign_in(app: &App, sessions: &StaffSessions, req: &BranchRequest) -> Step {
    let store = &app.store;
    let now = clock::now_unix();
    // The form must come back with the value its page was given with this cookie.
    let cookie_value = req.cookie_sid.clone().unwrap_or_default();
    let sent = req.form.get("csrf").unwrap_or("");
    match auth::SignInForm::check(store.form_key(), &cookie_value, sent, now) {
        crate::form_token::Check::Valid => {}
        crate::form_token::Check::Expired => {
            return sign_in_page(
                app,
                Some("サインイン画面の有効期限が切れました。もう一度入力してください。"),
                StatusCode::FORBIDDEN,
            )
        }
        crate::form_token::Check::Forged => {
            return sign_in_page(
                app,
                Some(BranchError::Forgery.message()),
                StatusCode::FORBIDDEN,
            )
        }
    }
    // The same page again after a refusal: its value still holds.
    let anon = auth::SignInForm {
        cookie_value,
        csrf: sent.to_owned(),
    };
    let staff_id = req.text("staff_id").to_ascii_uppercase();
    let password = req.form.get("password").unwrap_or("").to_owned();
    let wrong = || {
        let page = pages::sign_in(
            &anon.csrf,
            Some("職員番号またはパスワードが正しくありません。"),
        );
        Ok(html(StatusCode::UNAUTHORIZED, page))
    };
    let begun = if staff_id.is_empty() || staff_id.len() > 32 {
        sign_in::Begin::Unknown
    } else {
        sign_in::begin(store, &staff_id, now)?
    };
    let staff = match begun {
        sign_in::Begin::Paused(s) => {
            ops::audit_sign_in(
                store,
                now,
                AuditEvent::StaffSignInPaused,
                Some((&s.staff_id, &s.branch_code)),
                "too many wrong passwords",
            )
            .await?;
            let page = pages::sign_in(
                &anon.csrf,
                Some("パスワードの誤りが続いたため、この職員番号は15分間サインインできません。"),
            );
            return Ok(html(StatusCode::TOO_MANY_REQUESTS, page));
        }
        sign_in::Begin::Unknown => {
            password::verify_async(None, password).await;
            ops::audit_sign_in(
                store,
                now,
                AuditEvent::StaffSignInFailed,
                None,
                "unknown staff ID",
            )
            .await?;
            return wrong();
        }
        sign_in::Begin::Counted(s) => s,
    };
    let ok = password::verify_async(Some(staff.password_hash.clone()), password).await;
    let staff = match sign_in::finish(store, &staff.staff_id, ok, now).await? {
        sign_in::Finish::In(s) => s,
        sign_in::Finish::Wrong => return wrong(),
        sign_in::Finish::Disabled => {
            let page = pages::sign_in(
                &anon.csrf,
                Some("この職員番号は利用停止中です。管理者にお問い合わせください。"),
            );
            return Ok(html(StatusCode::FORBIDDEN, page));
        }
    };
    let session = sessions.sign_in(store, &anon.cookie_value, &staff).await?;
    let s = Staffed {
        app,
        sessions,
        req,
        actor: auth::actor(&staff),
        session: session.clone(),
    };
    let page = if session.must_change {
        password_page(&s, None, StatusCode::OK)?
    } else {
        home(&s)?
    };
    Ok(page.with_cookie(Some(auth::cookie(&session.id))))
}

/// The password change page (forced while the password is an initial one).
pub fn password_page(s: &Staffed, message: Option<&str>, status: StatusCode) -> Step {
    let forced = s.session.must_change;
    Ok(html(
        status,
        pages::password(nav(s), forced, crate::operate::staff::MIN_PASSWORD, message),
    ))
}

/// `POST /branch/password`: the staff member chooses a password.
pub async fn change_password(s: &Staffed<'_>) -> Step {
    let field = |name: &str| s.req.form.get(name).unwrap_or("").to_owned();
    let result = sign_in::change_password(
        &s.app.store,
        &s.actor.staff_id,
        &field("current"),
        &field("new"),
        &field("confirm"),
        s.now(),
    )
    .await?;
    match result {
        Ok(()) => Ok(html(
            StatusCode::OK,
            pages::home_with(nav(s), home_pending(s)?, Some("パスワードを変更しました。")),
        )),
        Err(r) => password_page(s, Some(&r.message()), StatusCode::UNPROCESSABLE_ENTITY),
    }
}

/// `POST /branch/logout`.
pub async fn sign_out(s: &Staffed<'_>) -> Step {
    s.sessions.end(&s.app.store, &s.session.id).await?;
    ops::audit_sign_in(
        &s.app.store,
        s.now(),
        AuditEvent::StaffSignOut,
        Some((&s.actor.staff_id, &s.actor.branch_code)),
        "",
    )
    .await?;
    sign_in_page(s.app, Some("サインアウトしました。"), StatusCode::OK)
}

fn home_pending(s: &Staffed) -> Result<usize, BranchError> {
    let (forms, releases) = s.app.store.pending()?;
    Ok(forms.len() + releases.len())
}

/// `GET /branch/`.
pub fn home(s: &Staffed) -> Step {
    Ok(html(StatusCode::OK, pages::home(nav(s), home_pending(s)?)))
}

fn refused_status(r: &Refused) -> StatusCode {
    match r {
        Refused::UnknownContract | Refused::NotFound => StatusCode::NOT_FOUND,
        Refused::NotSupervisor => StatusCode::FORBIDDEN,
        Refused::NumberUsed | Refused::AlreadyDecided(_) | Refused::OwnEntry => {
            StatusCode::CONFLICT
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn outcome(
    s: &Staffed,
    status: StatusCode,
    title: &str,
    ok: bool,
    lines: &[String],
    contract: Option<&str>,
) -> Step {
    Ok(html(
        status,
        pages::result(nav(s), title, ok, lines, contract),
    ))
}

pub(super) fn refused(s: &Staffed, title: &str, r: &Refused, contract: Option<&str>) -> Step {
    outcome(s, refused_status(r), title, false, &[r.message()], contract)
}

fn bad_input(s: &Staffed, title: &str, message: String, contract: Option<&str>) -> Step {
    outcome(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        title,
        false,
        &[message],
        contract,
    )
}

/// A contract ID from field `name`, or the message to show.
pub(super) fn contract_id(req: &BranchRequest, name: &str) -> Result<String, String> {
    crate::flows::input::contract_id(&req.text(name))
        .map(String::from)
        .map_err(str::to_owned)
}

fn name_of(s: &Staffed, contract_id: &str) -> Result<String, BranchError> {
    Ok(s.app
        .store
        .customer(contract_id)?
        .map(|c| c.name)
        .unwrap_or_default())
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
/// without a token.
pub fn status(c: &Customer, token_locked: Option<bool>) -> String {
    if c.closed {
        return "解約 (closed) ・ログイン・振込等はできません".to_owned();
    }
    match (token_locked, c.transfers_blocked) {
        (Some(true), _) => "トークンロック中 (locked)".to_owned(),
        (Some(false), _) => "利用中 (active)".to_owned(),
        (None, true) => "利用中止 (cancelled) ・新しいトークンの利用開始待ち".to_owned(),
        (None, false) => "トークン未登録".to_owned(),
    }
}

/// `GET /branch/customer?contract_id=`.
pub async fn customer(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "お客様の照会";
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(m) => return bad_input(s, TITLE, m, None),
    };
    let Some(c) = s.app.store.customer(&id)? else {
        // 法人 contracts are looked up by the same ID field.
        if let Some(b) = s.app.store.business(&id)? {
            return super::business::page(s, &b, None);
        }
        // A staff member sees only their own bank: another bank's customer is unknown here,
        // and looking for one is on the trail (durably: the refusal is reported).
        s.app
            .store
            .commit(|tx| {
                let e = Event {
                    contract_id: Some(&id),
                    detail: "not a contract of this bank".into(),
                    ..Event::new(AuditEvent::StaffLookupUnknown)
                };
                tx.audit_by(
                    clock::now_unix(),
                    e,
                    &s.actor.staff_id,
                    &s.actor.branch_code,
                )
            })
            .await?;
        return refused(s, TITLE, &Refused::UnknownContract, None);
    };
    customer_page(s, &c, None)
}

fn customer_page(s: &Staffed, c: &Customer, message: Option<&str>) -> Step {
    let store = &s.app.store;
    let policy = &s.app.config.bank.policy;
    let token = match &c.token {
        Some(b) => store.token(&b.serial)?.map(|t| TokenView {
            kind: match t.kind {
                TokenKind::Hardware => "ハードウェア",
                TokenKind::Software => "ソフトウェア",
            },
            state: token_state(&t.state),
            fails: t.otp.fails,
            locked: t.locked(policy),
            serial: t.serial,
        }),
        None => None,
    };
    let login_locked = c.login_locked(policy);
    let status = status(c, token.as_ref().map(|t| t.locked));
    let id = &c.contract_id;
    let assigned = store
        .assigned_tokens(id)?
        .into_iter()
        .filter(|t| t.state == TokenState::Available)
        .map(|t| t.serial)
        .collect();
    let attempts = store.attempts_of(id)?.iter().map(|a| a.at).collect();
    let now = s.now();
    let view = CustomerView {
        customer: c,
        token,
        status,
        login_locked,
        history: store.receipts_of(id)?,
        attempts,
        forms: store.forms_of(id)?,
        applications: store.applications_of(id)?,
        releases: store.releases_of(id)?,
        assigned,
        today: today(now),
        branches: s
            .app
            .config
            .bank
            .branches
            .iter()
            .map(|b| (b.code.clone(), b.name.clone()))
            .collect(),
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
    };
    Ok(html(
        StatusCode::OK,
        pages::customer(nav(s), &view, message),
    ))
}

/// `POST /branch/forms`: records a paper 利用中止届 (受付済).
pub async fn record_form(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "利用中止届の受付";
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(m) => return bad_input(s, TITLE, m, None),
    };
    let now = s.now();
    let checked = (|| {
        let form_no = input::number(&s.req.text("form_no"), "用紙番号")?;
        let received_on = input::date_not_after(&s.req.text("received_on"), &today(now), "受付日")?;
        let branch_code = s.req.text("branch_code");
        if !s
            .app
            .config
            .bank
            .branches
            .iter()
            .any(|b| b.code == branch_code)
        {
            return Err("受付店を選んでください。".to_owned());
        }
        if s.req.form.get("identity_checked") != Some("1") {
            return Err("本人確認を行い、「本人確認済み」にチェックしてください。".to_owned());
        }
        Ok((form_no, received_on, branch_code))
    })();
    let (form_no, received_on, branch_code) = match checked {
        Ok(v) => v,
        Err(m) => return bad_input(s, TITLE, m, Some(&id)),
    };
    let form = CancelForm {
        form_no,
        contract_id: id.clone(),
        serial: String::new(),
        received_on,
        branch_code,
        identity_checked: true,
        recorded_by: String::new(),
        recorded_at: now,
        decision: Decision::Received,
    };
    match ops::record_form(&s.app.store, &s.actor, form, now).await? {
        Ok(f) => outcome(
            s,
            StatusCode::OK,
            TITLE,
            true,
            &[
                format!("用紙番号 {} を受け付けました(受付済)。", f.form_no),
                format!(
                    "トークン {} は、別の役席者が承認するまで利用中止になりません。",
                    f.serial
                ),
            ],
            Some(&id),
        ),
        Err(r) => refused(s, TITLE, &r, Some(&id)),
    }
}

fn can_decide(actor: &Actor, maker: &str, decision: &Decision) -> bool {
    actor.role == Role::Supervisor && actor.staff_id != maker && *decision == Decision::Received
}

/// `GET /branch/form?no=`.
pub fn form(s: &Staffed) -> Step {
    let no = s.req.text("no").to_ascii_uppercase();
    let Some(f) = ops::form(&s.app.store, &no)? else {
        return refused(s, "利用中止届", &Refused::NotFound, None);
    };
    let name = name_of(s, &f.contract_id)?;
    let decide = can_decide(&s.actor, &f.recorded_by, &f.decision);
    Ok(html(
        StatusCode::OK,
        pages::form_detail(nav(s), &f, &name, decide),
    ))
}

/// `POST /branch/forms/approve`.
pub async fn approve_form(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "利用中止届の承認";
    let no = s.req.text("form_no").to_ascii_uppercase();
    match ops::approve_form(&s.app.store, &s.actor, &no, s.now()).await? {
        Ok(f) => {
            let receipt = match &f.decision {
                Decision::Approved { receipt, .. } => receipt.clone().unwrap_or_default(),
                _ => String::new(),
            };
            outcome(
                s,
                StatusCode::OK,
                TITLE,
                true,
                &[
                    format!("用紙番号 {} を承認しました。", f.form_no),
                    format!(
                        "トークン {} を利用中止にしました。受付番号: {receipt}",
                        f.serial
                    ),
                    "新しいトークンの利用開始まで、振込等の資金移動は停止されます。".into(),
                ],
                Some(&f.contract_id),
            )
        }
        Err(r) => refused(s, TITLE, &r, None),
    }
}

/// `POST /branch/forms/reject`.
pub async fn reject_form(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "利用中止届の却下";
    let no = s.req.text("form_no").to_ascii_uppercase();
    let reason = match input::reason(&s.req.text("reason"), true) {
        Ok(r) => r,
        Err(m) => return bad_input(s, TITLE, m, None),
    };
    match ops::reject_form(&s.app.store, &s.actor, &no, &reason, s.now()).await? {
        Ok(f) => outcome(
            s,
            StatusCode::OK,
            TITLE,
            true,
            &[format!(
                "用紙番号 {} を却下しました。トークンは変更されていません。",
                f.form_no
            )],
            Some(&f.contract_id),
        ),
        Err(r) => refused(s, TITLE, &r, None),
    }
}

/// `POST /branch/applications`: carries out a 発行申込書.
pub async fn issue(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "ハードウェアトークンの発行";
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(m) => return bad_input(s, TITLE, m, None),
    };
    let checked = (|| {
        let application_no = input::number(&s.req.text("application_no"), "申込書番号")?;
        let reason = IssueReason::parse(&s.req.text("reason"))
            .ok_or_else(|| "発行の区分を選んでください。".to_owned())?;
        let typed = crate::form::serial(&s.req.text("serial"));
        let serial = if typed.is_empty() {
            None
        } else if crate::inventory::valid_serial(&typed) {
            Some(typed)
        } else {
            return Err("シリアル番号は12桁の英数字で入力してください。".to_owned());
        };
        Ok((application_no, reason, serial))
    })();
    let (application_no, reason, serial) = match checked {
        Ok(v) => v,
        Err(m) => return bad_input(s, TITLE, m, Some(&id)),
    };
    let req = IssueRequest {
        application_no,
        contract_id: id.clone(),
        reason,
        serial,
        fee_yen: s.app.config.bank.hardware_token_fee_yen,
    };
    match ops::issue(&s.app.store, &s.actor, &req, s.now()).await? {
        Ok(a) => {
            let mut lines = vec![
                format!(
                    "申込書番号 {}({})で、トークン {} をお渡しください。",
                    a.application_no,
                    a.reason.label(),
                    a.serial
                ),
                format!("手数料: {}", pages::yen(a.fee_yen)),
            ];
            if let Some(old) = &a.returned_serial {
                lines.push(format!(
                    "返却されたトークン {old} は返却済として登録しました。"
                ));
            }
            lines.push(
                "このトークンは、このお客様だけが携帯電話の利用開始(または交換)で登録できます。"
                    .into(),
            );
            outcome(s, StatusCode::OK, TITLE, true, &lines, Some(&id))
        }
        Err(r) => refused(s, TITLE, &r, Some(&id)),
    }
}

/// `POST /branch/releases`: records a lock release request.
pub async fn record_release(s: &Staffed<'_>) -> Step {
    const TITLE: &str = "ロック解除の受付";
    let id = match contract_id(s.req, "contract_id") {
        Ok(id) => id,
        Err(m) => return bad_input(s, TITLE, m, None),
    };
    let Some(kind) = ReleaseKind::parse(&s.req.text("kind")) else {
        return bad_input(s, TITLE, "解除の種類を選んでください。".into(), Some(&id));
    };
    let note = match input::reason(&s.req.text("note"), false) {
        Ok(n) => n,
        Err(m) => return bad_input(s, TITLE, m, Some(&id)),
    };
    // Optional: a locked token that is not (yet) the customer's own, e.g. one handed out to them.
    let serial = crate::form::serial(&s.req.text("serial"));
    if !serial.is_empty() && !crate::inventory::valid_serial(&serial) {
        let m = "シリアル番号はトークン裏面の12桁の英数字で入力してください。".into();
        return bad_input(s, TITLE, m, Some(&id));
    }
    let serial = (!serial.is_empty()).then_some(serial.as_str());
    let policy = &s.app.config.bank.policy;
    let now = s.now();
    let store = &s.app.store;
    match ops::record_release(store, &s.actor, &id, kind, serial, &note, policy, now).await? {
        Ok(r) => outcome(
            s,
            StatusCode::OK,
            TITLE,
            true,
            &[format!(
                "{}を受け付けました。受付番号: {}(別の役席者の承認で解除されます)",
                r.kind.label(),
                r.number()
            )],
            Some(&id),
        ),
        Err(r) => refused(s, TITLE, &r, Some(&id)),
    }
}

/// `GET /branch/release?id=`.
pub fn release(s: &Staffed) -> Step {
    let r = match Release::parse_number(&s.req.text("id")) {
        Some(id) => ops::release(&s.app.store, id)?,
        None => None,
    };
    let Some(r) = r else {
        return refused(s, "ロック解除", &Refused::NotFound, None);
    };
    let name = name_of(s, &r.contract_id)?;
    let decide = can_decide(&s.actor, &r.recorded_by, &r.decision);
    Ok(html(
        StatusCode::OK,
        pages::release_detail(nav(s), &r, &name, decide),
    ))
}

/// `POST /branch/releases/approve` and `/reject`.
pub async fn decide_release(s: &Staffed<'_>, reject: bool) -> Step {
    let title = if reject {
        "ロック解除の却下"
    } else {
        "ロック解除の承認"
    };
    let Some(id) = Release::parse_number(&s.req.text("id")) else {
        return refused(s, title, &Refused::NotFound, None);
    };
    let reason = if reject {
        match input::reason(&s.req.text("reason"), true) {
            Ok(r) => Some(r),
            Err(m) => return bad_input(s, title, m, None),
        }
    } else {
        None
    };
    match ops::decide_release(&s.app.store, &s.actor, id, reason.as_deref(), s.now()).await? {
        Ok(r) => {
            let line = if reject {
                format!("{} を却下しました。ロックはそのままです。", r.number())
            } else {
                format!("{} を承認し、{}を行いました。", r.number(), r.kind.label())
            };
            outcome(
                s,
                StatusCode::OK,
                title,
                true,
                &[line],
                Some(&r.contract_id),
            )
        }
        Err(e) => refused(s, title, &e, None),
    }
}

fn list_reply(
    s: &Staffed,
    csv: bool,
    title: &str,
    file: &str,
    header: &[&str],
    rows: Vec<Row>,
    note: Option<&str>,
) -> Step {
    if csv {
        let cells: Vec<Vec<String>> = rows.into_iter().map(|r| r.cells).collect();
        let name = format!("{file}-{}.csv", today(s.now()));
        return Ok(export::reply(&name, header, &cells));
    }
    let href = format!("{}/{file}.csv", paths::LISTS);
    Ok(html(
        StatusCode::OK,
        pages::list(nav(s), title, &href, header, &rows, note),
    ))
}

/// `GET /branch/lists/pending[.csv]`: forms and releases waiting for approval.
pub fn pending(s: &Staffed, csv: bool) -> Step {
    let (forms, releases) = s.app.store.pending()?;
    let mut rows = Vec::new();
    for f in forms {
        rows.push(Row {
            href: Some(format!("{}?no={}", paths::FORM, f.form_no)),
            cells: vec![
                f.form_no.clone(),
                "利用中止届".into(),
                f.contract_id.clone(),
                name_of(s, &f.contract_id)?,
                f.serial.clone(),
                f.received_on.clone(),
                f.branch_code.clone(),
                f.recorded_by.clone(),
                jst(f.recorded_at),
            ],
        });
    }
    for r in releases {
        rows.push(Row {
            href: Some(format!("{}?id={}", paths::RELEASE, r.id)),
            cells: vec![
                r.number(),
                r.kind.label().into(),
                r.contract_id.clone(),
                name_of(s, &r.contract_id)?,
                r.serial.clone().unwrap_or_default(),
                clock::iso_day(r.recorded_at),
                r.branch_code.clone(),
                r.recorded_by.clone(),
                jst(r.recorded_at),
            ],
        });
    }
    let header = [
        "番号",
        "種類",
        "契約者ID",
        "氏名",
        "トークン",
        "受付日",
        "受付店",
        "受付者",
        "受付日時",
    ];
    list_reply(s, csv, "承認待ち", "pending", &header, rows, None)
}

/// `GET /branch/lists/today[.csv]`: forms, releases and applications processed today (JST).
pub fn today_list(s: &Staffed, csv: bool) -> Step {
    let day = today(s.now());
    let is_today = |at: Option<u64>| at.is_some_and(|t| clock::iso_day(t) == day);
    let detail = |d: &Decision| match d {
        Decision::Approved { receipt, .. } => receipt
            .clone()
            .map(|r| format!("受付番号 {r}"))
            .unwrap_or_default(),
        Decision::Rejected { reason, .. } => reason.clone(),
        Decision::Received => String::new(),
    };
    let from = day_start(&day).unwrap_or(0);
    let done = s.app.store.processed_between(from, from + 24 * 3600)?;
    let mut rows = Vec::new();
    for f in done.forms {
        if is_today(f.decision.decided_at()) {
            rows.push(Row {
                href: Some(format!("{}?no={}", paths::FORM, f.form_no)),
                cells: vec![
                    f.form_no.clone(),
                    "利用中止届".into(),
                    f.contract_id.clone(),
                    name_of(s, &f.contract_id)?,
                    f.serial.clone(),
                    f.decision.label().into(),
                    f.recorded_by.clone(),
                    f.decision.decided_by().unwrap_or("").into(),
                    f.decision.decided_at().map(jst).unwrap_or_default(),
                    detail(&f.decision),
                ],
            });
        }
    }
    for r in done.releases {
        if is_today(r.decision.decided_at()) {
            rows.push(Row {
                href: Some(format!("{}?id={}", paths::RELEASE, r.id)),
                cells: vec![
                    r.number(),
                    r.kind.label().into(),
                    r.contract_id.clone(),
                    name_of(s, &r.contract_id)?,
                    r.serial.clone().unwrap_or_default(),
                    r.decision.label().into(),
                    r.recorded_by.clone(),
                    r.decision.decided_by().unwrap_or("").into(),
                    r.decision.decided_at().map(jst).unwrap_or_default(),
                    detail(&r.decision),
                ],
            });
        }
    }
    for a in done.applications {
        if is_today(Some(a.at)) {
            let mut note = format!("手数料 {}", pages::yen(a.fee_yen));
            if let Some(old) = &a.returned_serial {
                note.push_str(&format!(" 返却 {old}"));
            }
            rows.push(Row {
                href: Some(format!("{}?contract_id={}", paths::CUSTOMER, a.contract_id)),
                cells: vec![
                    a.application_no.clone(),
                    format!("発行申込書({})", a.reason.label()),
                    a.contract_id.clone(),
                    name_of(s, &a.contract_id)?,
                    a.serial.clone(),
                    "発行済".into(),
                    a.recorded_by.clone(),
                    a.recorded_by.clone(),
                    jst(a.at),
                    note,
                ],
            });
        }
    }
    let header = [
        "番号",
        "種類",
        "契約者ID",
        "氏名",
        "トークン",
        "結果",
        "受付者",
        "処理者",
        "処理日時",
        "備考",
    ];
    list_reply(s, csv, "本日の処理", "today", &header, rows, None)
}

/// `GET /branch/lists/attempts[.csv]`: customers sent to the branch by the phone's 利用中止
/// page who have not brought a form since.
pub fn attempts(s: &Staffed, csv: bool) -> Step {
    // The list is every attempt; each attempt's customer's forms are read by index, once.
    let mut forms: std::collections::HashMap<String, Vec<CancelForm>> = Default::default();
    // Anonymous views are counts (one record per carrier and minute); the last minute's are
    // still in memory.
    let mut anonymous = s.app.cancels.unwritten();
    // contract ID → (attempts, last attempt), in contract-ID order.
    let mut open: std::collections::BTreeMap<String, (u32, u64)> = Default::default();
    for a in s.app.store.attempts() {
        let a = a?;
        let Some(id) = a.contract_id else {
            anonymous += a.count;
            continue;
        };
        if !forms.contains_key(&id) {
            forms.insert(id.clone(), s.app.store.forms_of(&id)?);
        }
        let covered = forms
            .get(&id)
            .is_some_and(|fs| fs.iter().any(|f| f.recorded_at >= a.at));
        if !covered {
            let e = open.entry(id).or_insert((0, 0));
            e.0 += 1;
            e.1 = e.1.max(a.at);
        }
    }
    let mut rows = Vec::new();
    for (id, (count, last)) in open {
        rows.push(Row {
            href: Some(format!("{}?contract_id={id}", paths::CUSTOMER)),
            cells: vec![id.clone(), name_of(s, &id)?, count.to_string(), jst(last)],
        });
    }
    let note = format!("ログインせずに利用中止の画面を開いた操作(お客様不明): {anonymous}件");
    let header = ["契約者ID", "氏名", "操作回数", "最終操作日時"];
    list_reply(
        s,
        csv,
        "利用中止の未届(携帯電話で利用中止を操作したお客様)",
        "attempts",
        &header,
        rows,
        Some(&note),
    )
}

/// `GET /branch/audit?contract=&since=`: newest first.
pub fn audit(s: &Staffed) -> Step {
    let contract = crate::form::digits(&s.req.text("contract"));
    let since_text = s.req.text("since");
    let (since, message) = if since_text.is_empty() {
        (None, None)
    } else {
        match day_start(&since_text) {
            Some(t) => (Some(t), None),
            None => (None, Some("開始日は YYYY-MM-DD の形で入力してください。")),
        }
    };
    // A page starts below record number `before` (the link to older records carries it).
    let before = s.req.text("before").parse::<u64>().ok();
    let mut records = s.app.store.audit_page(
        Some(contract.as_str()).filter(|c| !c.is_empty()),
        since,
        before,
        AUDIT_PAGE_ROWS + 1,
    )?;
    let older = (records.len() > AUDIT_PAGE_ROWS).then(|| {
        records.truncate(AUDIT_PAGE_ROWS);
        records.last().map_or(0, |r| r.seq)
    });
    let paging = pages::AuditPaging {
        newer: before.is_some(),
        older,
    };
    Ok(html(
        StatusCode::OK,
        pages::audit(nav(s), &contract, &since_text, &records, paging, message),
    ))
}
