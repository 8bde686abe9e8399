//! The customer journeys, one file each. A step reads the request, checks the session stage
//! and anti-forgery value, calls the ledger (which writes the store), and picks the next screen.
//!
//! This file holds what every step shares: the reply type, the rendering context and the
//! session checks.

pub mod cancel;
pub mod exchange;
pub mod login;
pub mod pages;
pub mod start;

use crate::app::App;
use crate::clock;
use crate::error::AppError;
use crate::ledger::{OtpRefusal, PasswordCheck, Refusal};
use crate::reply::Reply;
use crate::request::{Request, SID};
use crate::session::{Refused, Session, Stage};
use hyper::StatusCode;
use markup::{Ctx, Keypad};
use maud::Markup;
use subtle::ConstantTimeEq;

/// A step's view of one request.
pub struct Step<'a> {
    pub app: &'a App,
    pub req: &'a Request,
}

impl<'a> Step<'a> {
    pub fn new(app: &'a App, req: &'a Request) -> Step<'a> {
        Step { app, req }
    }

    pub fn now(&self) -> u64 {
        clock::now_unix()
    }

    /// The rendering context for `session` (or none).
    pub fn ctx<'s>(&'s self, session: Option<&'s Session>) -> Ctx<'s> {
        let handset = &self.req.handset;
        Ctx {
            bank: &self.app.config.bank.name,
            keypad: Keypad::Text,
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
        Reply::phone(StatusCode::OK, markup::encode(markup)).with_cookie(set_cookie)
    }

    /// A page that ends the session (logout, finished journey): the cookie is cleared too.
    pub fn page_ending(&self, markup: Markup) -> Reply {
        self.ending(markup::encode(markup))
    }

    /// [`Step::page_ending`] for a page already encoded.
    pub fn ending(&self, page: markup::Page) -> Reply {
        let set_cookie = (self.req.handset.cookies && self.req.cookie_sid.is_some())
            .then(|| self.cookie("", true));
        Reply::phone(StatusCode::OK, page).with_cookie(set_cookie)
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
        self.app
            .sessions
            .get(sid, self.req.subscriber.as_deref())
            .map_err(|r| match r {
                Refused::Unknown => AppError::Session,
                Refused::OtherHandset => AppError::OtherHandset,
            })
    }

    fn rotated(&self, session: &Session) -> Result<Session, AppError> {
        self.app
            .sessions
            .rotate(&session.id)
            .ok_or(AppError::Session)
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
        self.app
            .sessions
            .set_stage(&session.id, stage)
            .ok_or(AppError::Session)
    }

    pub fn bank_policy(&self) -> &crate::config::Policy {
        &self.app.config.bank.policy
    }
}

/// What the customer reads for a password check that did not pass.
pub fn password_message(check: &PasswordCheck, transfer: bool) -> &'static str {
    match check {
        PasswordCheck::Ok(_) => "",
        PasswordCheck::Wrong { .. } if transfer => "資金移動用パスワードが正しくありません。",
        PasswordCheck::Wrong { .. } => "契約者IDまたはログインパスワードが正しくありません。",
        PasswordCheck::LockedNow | PasswordCheck::Locked => {
            "ログインがロックされています。ロック解除はお取引店の窓口でお手続きください。"
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

/// What the customer reads when a token cannot be registered.
pub fn refusal_message(r: &Refusal) -> String {
    match r {
        Refusal::UnknownCustomer => "契約者IDまたはログインパスワードが正しくありません。".into(),
        Refusal::HasToken => "既にトークンが登録されています。トークンの変更は交換から行ってください。".into(),
        Refusal::TokenChanged => "ご利用中のトークンが変更されています。最初からやり直してください。".into(),
        Refusal::UnknownSerial => "シリアル番号が正しくありません。トークン裏面の12桁の英数字をご確認ください。".into(),
        Refusal::Software => "携帯電話(ガラケー)ではハードウェアトークンのみご利用いただけます。ソフトウェアトークンは登録できません。".into(),
        Refusal::Taken => "このトークンは既に登録されているため、ご利用いただけません。".into(),
        Refusal::Retired => "このトークンは利用が終了しているため、登録できません。".into(),
        Refusal::SameToken => "現在ご利用中のトークンです。新しいトークンのシリアル番号を入力してください。".into(),
        Refusal::Otp(o) => otp_message(*o),
    }
}

/// Checks the shape of typed input before anything is looked up.
pub mod input {
    use crate::form;
    use crate::inventory::valid_serial;

    pub fn contract_id(raw: &str) -> Result<String, &'static str> {
        let id = form::digits(raw);
        if id.is_empty() {
            Err("契約者IDを入力してください。")
        } else if id.len() > 16 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Err("契約者IDは半角数字で入力してください。")
        } else {
            Ok(id)
        }
    }

    pub fn password(raw: Option<&str>, what: &'static str) -> Result<String, &'static str> {
        match raw.map(form::half_width) {
            Some(p) if !p.is_empty() => Ok(p),
            _ => Err(what),
        }
    }

    pub fn otp(raw: &str) -> Result<String, &'static str> {
        let code = form::digits(raw);
        if code.is_empty() {
            Err("ワンタイムパスワードを入力してください。")
        } else if !(6..=8).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            Err("ワンタイムパスワードはトークンに表示されている6桁の数字を入力してください。")
        } else {
            Ok(code)
        }
    }

    pub fn serial(raw: &str) -> Result<String, &'static str> {
        let s = form::serial(raw);
        if s.is_empty() {
            Err("シリアル番号を入力してください。")
        } else if !valid_serial(&s) {
            Err("シリアル番号はトークン裏面の12桁の英数字で入力してください。")
        } else {
            Ok(s)
        }
    }
}
