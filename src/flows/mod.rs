//! The customer journeys, one file each. A step reads the request, checks the session stage
//! and anti-forgery value, calls the ledger (which writes the store), and picks the next screen.
//!
//! This file holds what every step shares: the reply type, the rendering context and the
//! session checks.

pub mod biz;
pub mod cancel;
pub mod card;
pub mod exchange;
pub mod journey;
pub mod login;
pub mod login_otp;
pub mod pages;
pub mod start;

use crate::app::App;
use crate::attempts::{PasswordCheck, Secret};
use crate::carrier::{Carrier, Handset};
use crate::clock;
use crate::error::AppError;
use crate::form;
use crate::form_token::{Check, Purpose};
use crate::ledger::{OtpRefusal, Refusal};
use crate::reply::Reply;
use crate::request::{Request, SID};
use crate::session::{Finished, Refused, Session, Sessions, Stage};
use crate::store::Customer;
use markup::{Ctx, InputMode, Keypad};
use maud::Markup;
use pages::PageCache;
use subtle::ConstantTimeEq;

/// A step's view of one request.
pub struct Step<'a> {
    pub app: &'a App,
    /// The phone front's sessions.
    pub sessions: &'a Sessions,
    /// The phone front's pages rendered once per kind of phone.
    pub pages: &'a PageCache,
    pub req: &'a Request,
}

impl<'a> Step<'a> {
    pub fn new(
        app: &'a App,
        sessions: &'a Sessions,
        pages: &'a PageCache,
        req: &'a Request,
    ) -> Step<'a> {
        Step {
            app,
            sessions,
            pages,
            req,
        }
    }

    pub fn now(&self) -> u64 {
        clock::now_unix()
    }

    /// The rendering context for `session` (or none).
    pub fn ctx<'s>(&'s self, session: Option<&'s Session>) -> Ctx<'s> {
        let handset = &self.req.handset;
        let (keypad, input) = dialect(handset);
        Ctx {
            bank: &self.app.config.bank.name,
            base: &self.app.base,
            keypad,
            input,
            imode_html1: handset.imode_html1(),
            sid: session.filter(|_| !handset.cookies).map(|s| s.id.as_str()),
            guid_on: handset.wants_guid_on(self.req.https),
            csrf: session.map(|s| s.csrf.as_str()),
            customer: session.map(|s| s.name.as_str()),
            footer: session.is_some_and(|s| s.stage.logged_in()),
        }
    }

    /// A 200 page; with a session on a cookie phone, its (possibly rotated) ID goes in a cookie.
    pub fn page(&self, markup: Markup, session: Option<&Session>) -> Reply {
        let set_cookie = session
            .filter(|_| self.req.handset.cookies)
            .map(|s| self.cookie(&s.id, false));
        Reply::phone(self.encode(markup)).with_cookie(set_cookie)
    }

    /// The one phone error page, in this phone's dialect (keypad pictograms, `guid=ON`): sent
    /// as 200, logged with the error's status.
    pub fn error_page(&self, err: &AppError) -> Reply {
        let ctx = self.ctx(None);
        let page = markup::error::error(&ctx, err.message(), markup::paths::TOP);
        Reply::phone_error(err.status(), self.encode(page))
    }

    /// Shift_JIS for this phone: its own carrier's pictograms, no one else's.
    fn encode(&self, markup: Markup) -> markup::Page {
        markup::encode_for(markup, dialect(&self.req.handset).0)
    }

    /// A page that ends the session (logout, finished journey): the cookie is cleared too.
    pub fn page_ending(&self, markup: Markup) -> Reply {
        self.ending(self.encode(markup).body.into())
    }

    /// [`Step::page_ending`] for a page already encoded.
    pub fn ending(&self, body: bytes::Bytes) -> Reply {
        let set_cookie = (self.req.handset.cookies && self.req.cookie_sid.is_some())
            .then(|| self.cookie("", true));
        Reply::phone_body(body).with_cookie(set_cookie)
    }

    fn cookie(&self, value: &str, remove: bool) -> String {
        let mut c = cookie::Cookie::build((SID, value.to_owned()))
            .path("/")
            .http_only(true)
            .same_site(cookie::SameSite::Lax)
            .secure(self.req.https);
        if remove {
            c = c.max_age(cookie::time::Duration::ZERO);
        }
        c.build().to_string()
    }

    fn live_session(&self) -> Result<Session, AppError> {
        let sid = self.req.sid().ok_or(AppError::Session)?;
        self.sessions
            .get(sid, self.req.subscriber.as_deref())
            .map_err(|r| match r {
                Refused::Unknown => AppError::Session,
                Refused::OtherHandset => AppError::OtherHandset,
            })
    }

    fn rotated(&self, session: &Session) -> Result<Session, AppError> {
        self.sessions.rotate(&session.id).ok_or(AppError::Session)
    }

    /// The request's live session, if at a stage `allowed` accepts, under a new ID: every step
    /// rotates it. A session at another stage is left as it was.
    pub fn session_at(&self, allowed: impl Fn(&Stage) -> bool) -> Result<Session, AppError> {
        let session = self.live_session()?;
        if !allowed(&session.stage) {
            return Err(AppError::Step);
        }
        self.rotated(&session)
    }

    /// For a form post: the session must be at a stage `allowed` accepts and the form must
    /// return its anti-forgery value (checked before the ID rotates, so a forged post cannot
    /// disturb the real session).
    pub fn posted_session(&self, allowed: impl Fn(&Stage) -> bool) -> Result<Session, AppError> {
        let session = self.live_session()?;
        let sent = self.req.form.get("csrf").unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(session.csrf.as_bytes())) {
            return Err(AppError::Forgery);
        }
        if !allowed(&session.stage) {
            return Err(AppError::Step);
        }
        self.rotated(&session)
    }

    /// Moves the session to `stage`.
    pub fn advance(&self, session: &Session, stage: Stage) -> Result<Session, AppError> {
        self.sessions
            .set_stage(&session.id, stage)
            .ok_or(AppError::Session)
    }

    pub fn bank_policy(&self) -> &crate::config::Policy {
        &self.app.config.bank.policy
    }

    /// Who sent this request, for per-client limits.
    pub fn client(&self) -> crate::throttle::Client {
        let on_carrier = self
            .app
            .config
            .networks
            .trusts(self.req.handset.carrier, self.req.peer.ip());
        crate::throttle::Client::of(self.req, on_carrier)
    }

    /// The login form's anti-forgery value for this visitor: no session exists yet, so it is
    /// signed, bound to the client and a ten-minute window ([`crate::form_token`]).
    pub fn login_form_value(&self) -> crate::form_token::FormValue {
        let key = self.app.store.form_key();
        self.client()
            .with_binding(|binding| key.issue_parts(Purpose::PhoneLogin, binding, self.now()))
    }

    /// Whether the posted login form carries a value this gateway gave this client lately.
    pub fn login_form_check(&self) -> Check {
        let sent = self.req.form.get("csrf").unwrap_or("");
        let key = self.app.store.form_key();
        let now = self.now();
        let check = |client: crate::throttle::Client| {
            client.with_binding(|binding| key.check_parts(Purpose::PhoneLogin, binding, sent, now))
        };
        let first = check(self.client());
        if first != Check::Forged || self.req.subscriber.is_none() {
            return first;
        }
        // i-mode sends its ID only to `guid=ON` URLs: the top page may have come without it.
        let on_carrier = self
            .app
            .config
            .networks
            .trusts(self.req.handset.carrier, self.req.peer.ip());
        check(crate::throttle::Client::without_subscriber(
            self.req, on_carrier,
        ))
    }

    /// For a credentials form posted before any session (login, 利用開始 and 交換 from the
    /// top page): what to tell the phone when the form did not come with a value this gateway
    /// gave it lately (a foreign page posting someone's credentials), checked before anything
    /// else, so that such a post costs no hash and counts against no one.
    pub fn credentials_form_refused(&self) -> Option<&'static str> {
        match self.login_form_check() {
            Check::Valid => None,
            Check::Expired => Some(FORM_EXPIRED),
            Check::Forged => Some(FORM_FORGED),
        }
    }

    /// The context of a credentials form before any session: its anti-forgery value is
    /// `value` ([`Step::login_form_value`]).
    pub fn credentials_ctx<'s>(&'s self, value: &'s str) -> Ctx<'s> {
        Ctx {
            csrf: Some(value),
            ..self.ctx(None)
        }
    }

    /// Checks `password` as the customer's `which` password, counted against this client.
    pub async fn check_password(
        &self,
        which: Secret,
        contract_id: &str,
        password: &str,
    ) -> Result<PasswordCheck, AppError> {
        let app = self.app;
        let check = app
            .attempts
            .check(
                &app.store,
                self.bank_policy(),
                &self.client(),
                which,
                contract_id,
                password,
            )
            .await?;
        Ok(check)
    }

    /// The OTP a form posted (`otp`), checked against the token of the session's customer
    /// (`purpose` goes into the audit trail); `Ok(Err(form))` when it is not an OTP: `form`
    /// with the message, nothing checked.
    pub async fn posted_otp(
        &self,
        session: &Session,
        purpose: &str,
        form: impl Fn(&'static str) -> Reply,
    ) -> Result<Result<crate::ledger::OtpCheck, Reply>, AppError> {
        let code = match input::otp(&self.req.form.text("otp")) {
            Ok(c) => c,
            Err(m) => return Ok(Err(form(m))),
        };
        let check = crate::ledger::check_otp(
            &self.app.store,
            &session.contract_id,
            &code,
            self.now(),
            self.bank_policy().otp_fail_limit,
            purpose,
        )
        .await?;
        Ok(Ok(check))
    }

    /// The contract ID and login password every journey starts with. `Ok(Err(retry))` is the
    /// message and the typed contract ID to show again on the same form.
    pub async fn credentials(&self) -> Result<Result<Box<Customer>, Retry>, AppError> {
        let typed = self.req.form.text("contract_id");
        let retry = |message: String, contract_id: &str| {
            Ok(Err(Retry {
                message,
                contract_id: contract_id.to_owned(),
            }))
        };
        let id = match input::contract_id(&typed) {
            Ok(id) => id,
            Err(m) => return retry(m.into(), &typed),
        };
        let password = match input::password(
            self.req.form.get("password"),
            "ログインパスワードを入力してください。",
        ) {
            Ok(p) => p,
            Err(m) => return retry(m.into(), id.as_str()),
        };
        match self
            .check_password(Secret::Login, id.as_str(), &password)
            .await?
        {
            PasswordCheck::Ok(customer) => Ok(Ok(customer)),
            other => retry(password_message(&other, Secret::Login), id.as_str()),
        }
    }

    /// Ends a journey on its receipt page: a logged-in customer goes on at the menu (the page
    /// shows the footer keys), anyone else's session ends with it.
    pub fn finish(
        &self,
        session: &Session,
        page: impl Fn(&Ctx) -> Markup,
    ) -> Result<Reply, AppError> {
        if session.stage.logged_in() {
            let session = self.advance(session, Stage::Menu)?;
            let ctx = self.ctx(Some(&session));
            return Ok(self.page(page(&ctx), Some(&session)));
        }
        self.sessions.end(&session.id);
        // The receipt still greets the customer whose password started the journey.
        let ctx = Ctx {
            customer: Some(&session.name),
            ..self.ctx(None)
        };
        Ok(self.page_ending(page(&ctx)))
    }
}

impl Step<'_> {
    /// Keeps what a completed step's receipt shows, for a re-send of its form.
    pub fn remember_finished(&self, session: &Session, finished: Finished) {
        self.sessions.remember_finished(&session.csrf, finished);
    }

    /// A form re-sent after its step completed (the back button): the same receipt again, with
    /// nothing written. `Err(refused)` (the step's own refusal) unless the posted anti-forgery
    /// value and serial are those of a completed step at `path`.
    pub fn resent(
        &self,
        path: &str,
        refused: AppError,
        page: impl Fn(&Ctx, &Finished) -> Markup,
    ) -> Result<Reply, AppError> {
        let csrf = self.req.form.get("csrf").unwrap_or("");
        let serial = form::serial(&self.req.form.text("serial"));
        let finished = match self
            .sessions
            .finished(csrf, path, self.req.subscriber.as_deref())
        {
            Some(f) if !csrf.is_empty() && f.serial == serial => f,
            _ => return Err(refused),
        };
        // A logged-in customer's session goes on at the menu: keep its keys on the page.
        let live = self.live_session().ok().filter(|s| {
            bool::from(s.csrf.as_bytes().ct_eq(csrf.as_bytes())) && s.stage.logged_in()
        });
        if let Some(session) = live {
            let session = self.rotated(&session)?;
            let session = self.advance(&session, Stage::Menu)?;
            let ctx = self.ctx(Some(&session));
            return Ok(self.page(page(&ctx, &finished), Some(&session)));
        }
        let ctx = Ctx {
            customer: Some(&finished.name),
            ..self.ctx(None)
        };
        Ok(self.page_ending(page(&ctx, &finished)))
    }
}

/// A credentials form that did not come from our pages (lately, to this phone).
pub const FORM_FORGED: &str = "ログイン画面から送信されていないため、受け付けできませんでした。この画面から入力してください。";
/// A credentials form shown too long ago.
pub const FORM_EXPIRED: &str =
    "画面を表示してから時間がたったため、受け付けできませんでした。もう一度入力してください。";

/// A credentials form to show again: what went wrong and the contract ID the user typed.
pub struct Retry {
    pub message: String,
    pub contract_id: String,
}

/// 受付番号 and 受付時刻 as a receipt page prints them.
pub fn receipt_text(receipt: &crate::store::Receipt) -> (String, String) {
    (receipt.number_text(), clock::receipt_time(receipt.at))
}

/// How pages speak to a handset: its carrier's keypad pictograms and input-mode attribute.
/// i-mode HTML 1.0 handsets get neither (their pages show no keys at all, see `imode_html1`);
/// WILLCOM and unknown handsets get `[1]` text and all three input-mode attributes.
pub fn dialect(handset: &Handset) -> (Keypad, InputMode) {
    match handset.carrier {
        Carrier::Docomo if handset.imode_html1() => (Keypad::Text, InputMode::None),
        Carrier::Docomo => (Keypad::Docomo, InputMode::Istyle),
        Carrier::Au => (Keypad::Au, InputMode::Format),
        Carrier::Softbank => (Keypad::Softbank, InputMode::Mode),
        Carrier::Willcom | Carrier::None => (Keypad::Text, InputMode::All),
    }
}

/// What the customer reads for a password check that did not pass: which password, what
/// happened, and how many tries are left before which lock.
pub fn password_message(check: &PasswordCheck, which: Secret) -> String {
    let (name, locks) = match which {
        Secret::Login => ("ログインパスワード", "ログイン"),
        Secret::Transfer => ("資金移動用パスワード", "資金移動用パスワード"),
    };
    let branch = "ロック解除はお取引店の窓口でお手続きください。";
    match check {
        PasswordCheck::Ok(_) => String::new(),
        PasswordCheck::Wrong { left, branch_next } => {
            let wrong = match which {
                Secret::Login => "契約者IDまたはログインパスワードが正しくありません。",
                Secret::Transfer => "資金移動用パスワードが正しくありません。",
            };
            let lock = if *branch_next {
                format!("{locks}がロックされ、お取引店でのロック解除が必要になります。")
            } else {
                format!("{locks}が一時的にロックされます。")
            };
            format!("{wrong}あと{left}回間違えると{lock}")
        }
        PasswordCheck::TempLockedNow { minutes } | PasswordCheck::TempLocked { minutes } => {
            format!("{name}の誤りが続いたため、{locks}が一時的にロックされています。{minutes}分後にもう一度お試しください。")
        }
        PasswordCheck::BranchLockedNow | PasswordCheck::BranchLocked => {
            format!("{name}の誤りが続いたため、{locks}がロックされています。{branch}")
        }
        PasswordCheck::Throttled => "パスワードの誤りが続いたため、この端末からのパスワード入力を一時的に制限しています。しばらくしてからもう一度お試しください。".into(),
        PasswordCheck::Busy => {
            "ただいま混み合っています。しばらくしてからもう一度お試しください。".into()
        }
    }
}

/// What the customer reads for a refused OTP.
pub fn otp_message(r: OtpRefusal) -> String {
    match r {
        OtpRefusal::Wrong { left } => {
            format!("ワンタイムパスワードが正しくありません。あと{left}回間違えるとトークンがロックされます。")
        }
        OtpRefusal::Replayed => "このワンタイムパスワードは使用済みです。トークンに次のパスワードが表示されてから入力してください。".into(),
        OtpRefusal::LockedNow | OtpRefusal::Locked => {
            "トークンがロックされています。ロック解除はお取引店の窓口でお手続きください。".into()
        }
    }
}

/// What 利用開始 and 交換 answer for a serial that is unknown, someone else's (bound, handed
/// out, retired) or a software token, all alike.
pub const SERIAL_REFUSED: &str = "このシリアル番号のトークンは登録できません。携帯電話(ガラケー)ではお取引店でお渡ししたハードウェアトークンのみ登録できます。トークン裏面の12桁の英数字をご確認ください。ご不明な点はお取引店にお問い合わせください。";

/// What the customer reads when a token cannot be registered.
pub fn refusal_message(r: &Refusal) -> String {
    match r {
        Refusal::UnknownCustomer => "契約者IDまたはログインパスワードが正しくありません。".into(),
        // One answer, and no OTP check, for every serial that cannot be this customer's:
        // whether it exists, is someone else's or is retired is not for the phone to tell.
        Refusal::UnknownSerial | Refusal::Software | Refusal::Taken => SERIAL_REFUSED.into(),
        // Only ever the customer's own old token (someone else's is `Taken`).
        Refusal::Retired => "このトークンは利用が終了しているため、登録できません。新しいトークンはお取引店の窓口でお申込みください。".into(),
        Refusal::HasToken => "既にトークンが登録されています。トークンの変更は交換から行ってください。".into(),
        Refusal::TokenChanged => "ご利用中のトークンが変更されています。最初からやり直してください。".into(),
        Refusal::SameToken => "現在ご利用中のトークンです。新しいトークンのシリアル番号を入力してください。".into(),
        Refusal::Otp(o) => otp_message(*o),
        Refusal::ClaimWrong { left } => format!("ワンタイムパスワードが正しくありません。あと{left}回間違えるとトークンの登録ができなくなります。"),
        Refusal::ClaimLocked => "ワンタイムパスワードの誤りが続いたため、トークンの登録を停止しています。解除はお取引店の窓口でお手続きください。".into(),
    }
}

/// Checks the shape of typed input before anything is looked up, and words what is wrong for
/// the phone. The rules themselves are [`crate::ids`]'.
pub mod input {
    use crate::form;
    use crate::ids::{ContractId, IdError, OtpCode, Serial};

    pub fn contract_id(raw: &str) -> Result<ContractId, &'static str> {
        ContractId::parse(&form::digits(raw)).map_err(|e| match e {
            IdError::Empty => "契約者IDを入力してください。",
            IdError::Malformed => "契約者IDは半角数字で入力してください。",
        })
    }

    pub fn password(raw: Option<&str>, what: &'static str) -> Result<String, &'static str> {
        match raw.map(form::half_width) {
            Some(p) if !p.is_empty() => Ok(p),
            _ => Err(what),
        }
    }

    pub fn otp(raw: &str) -> Result<OtpCode, &'static str> {
        OtpCode::parse(&form::digits(raw)).map_err(|e| match e {
            IdError::Empty => "ワンタイムパスワードを入力してください。",
            IdError::Malformed => {
                "ワンタイムパスワードはトークンに表示されている6桁の数字を入力してください。"
            }
        })
    }

    pub fn serial(raw: &str) -> Result<Serial, &'static str> {
        Serial::parse(&form::serial(raw)).map_err(|e| match e {
            IdError::Empty => "シリアル番号を入力してください。",
            IdError::Malformed => "シリアル番号はトークン裏面の12桁の英数字で入力してください。",
        })
    }
}
