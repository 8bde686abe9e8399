//! The steps 利用開始 ([`super::start`]) and 交換 ([`super::exchange`]) share, written once:
//! the credentials form and its check, the new token's serial and OTP, the お客様カード when
//! the bank confirms with it, and the receipt page (remembered, so a re-sent form shows it
//! again). Each journey keeps what is its own: its stages, its ledger call, its pages.

use super::card::{self, Answer};
use super::{input, receipt_text, Step};
use crate::error::AppError;
use crate::ids::{OtpCode, Serial};
use crate::reply::Reply;
use crate::session::{Finished, Session, Stage};
use crate::store::Customer;
use markup::start::Receipt;
use markup::Ctx;
use maud::Markup;

/// A journey's own names: its title and where its forms post.
pub struct Journey {
    pub title: &'static str,
    /// Where the credentials form posts.
    pub credentials: &'static str,
    /// Where the last form posts; a re-send of it after the receipt shows the receipt again.
    pub last: &'static str,
}

impl Journey {
    /// The credentials form (contract ID and login password), with a message.
    pub fn credentials_form(&self, step: &Step, message: Option<&str>, contract_id: &str) -> Reply {
        // Before any session: the form's anti-forgery value is signed (as the login form's).
        let value = step.login_form_value();
        let ctx = step.credentials_ctx(value.as_str());
        let label = &step.app.config.bank.contract_id_label;
        step.page(
            markup::start::credentials_form(
                &ctx,
                self.title,
                self.credentials,
                label,
                message,
                contract_id,
            ),
            None,
        )
    }

    /// The posted credentials: a new session at `stage` for a customer who may take this
    /// journey, or the form again (`refuse` says why a customer may not).
    pub async fn sign_in(
        &self,
        step: &Step<'_>,
        refuse: impl Fn(&Customer) -> Option<&'static str>,
        stage: Stage,
    ) -> Result<Result<Session, Reply>, AppError> {
        if let Some(m) = step.credentials_form_refused() {
            return Ok(Err(self.credentials_form(step, Some(m), "")));
        }
        let customer = match step.credentials().await? {
            Ok(c) => c,
            Err(retry) => {
                let form = self.credentials_form(step, Some(&retry.message), &retry.contract_id);
                return Ok(Err(form));
            }
        };
        if let Some(m) = refuse(&customer) {
            return Ok(Err(self.credentials_form(
                step,
                Some(m),
                &customer.contract_id,
            )));
        }
        Ok(Ok(step.sessions.create(
            &customer.id(),
            &customer.name,
            stage,
            step.req.subscriber.clone(),
        )))
    }

    /// The session the last form was posted in, or, for a form re-sent after its receipt, the
    /// receipt again (`page`), or the refusal.
    pub fn last_session(
        &self,
        step: &Step,
        allowed: impl Fn(&Stage) -> bool,
        page: impl Fn(&Ctx, Receipt, &Finished) -> Markup,
    ) -> Result<Result<Session, Reply>, AppError> {
        match step.posted_session(allowed) {
            Ok(s) => Ok(Ok(s)),
            Err(e @ (AppError::Session | AppError::Step)) => {
                let reply = step.resent(self.last, e, |ctx, f| {
                    let receipt = Receipt {
                        number: &f.number,
                        time: &f.time,
                    };
                    page(ctx, receipt, f)
                })?;
                Ok(Err(reply))
            }
            Err(e) => Err(e),
        }
    }

    /// The receipt ending the journey (`serial` registered, `old_serial` replaced), kept for
    /// a re-send of the last form.
    pub fn receipt(
        &self,
        step: &Step,
        session: &Session,
        registered: (&str, Option<&str>),
        receipt: &crate::store::Receipt,
        page: impl Fn(&Ctx, Receipt) -> Markup,
    ) -> Result<Reply, AppError> {
        let (serial, old_serial) = registered;
        let (number, time) = receipt_text(receipt);
        step.remember_finished(
            session,
            Finished {
                path: self.last,
                name: session.name.clone(),
                subscriber: session.subscriber.clone(),
                serial: serial.to_owned(),
                old_serial: old_serial.map(str::to_owned),
                number: number.clone(),
                time: time.clone(),
            },
        );
        let receipt = Receipt {
            number: &number,
            time: &time,
        };
        step.finish(session, |ctx| page(ctx, receipt))
    }
}

/// The new token's serial and OTP as posted, or the form again (`form`: a message and the
/// serial to show).
pub fn new_token(
    step: &Step,
    form: impl Fn(&str, &str) -> Reply,
) -> Result<(Serial, OtpCode), Reply> {
    let typed_serial = step.req.form.text("serial");
    let serial = input::serial(&typed_serial).map_err(|m| form(m, &typed_serial))?;
    let code = input::otp(&step.req.form.text("otp")).map_err(|m| form(m, serial.as_str()))?;
    Ok((serial, code))
}

/// The お客様カード answer, when the bank confirms with the card (seed 001): `None` to go on,
/// or what to answer instead: the form again (`form`, with its message) or, locked, the top
/// page with the session ended.
pub async fn card_refused(
    step: &Step<'_>,
    session: &Session,
    form: impl Fn(&str) -> Reply,
) -> Result<Option<Reply>, AppError> {
    if !card::wanted(step) {
        return Ok(None);
    }
    Ok(match card::check(step, session).await? {
        Answer::Right => None,
        Answer::Again(m) => Some(form(&m)),
        Answer::Locked(m) => {
            step.sessions.end(&session.id);
            Some(super::pages::top_with(step, Some(m), ""))
        }
    })
}
