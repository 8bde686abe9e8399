//! The お客様カード as the last confirmation of personal 利用開始 and 交換 (seed 001), when the
//! bank profile chooses it over the 資金移動用パスワード (`start_confirmation = "card"`). Each
//! form showing the card asks two new positions; a wrong answer counts on the login counter.
//! The 法人 administrator's login reads its card answer here too ([`answer`]).

use super::Step;
use crate::card::{self, CardCheck, Holder};
use crate::config::Confirmation;
use crate::error::AppError;
use crate::form;
use crate::session::Session;

/// Whether the bank asks for the card.
pub fn wanted(step: &Step) -> bool {
    step.app.config.bank.start_confirmation == Confirmation::Card
}

/// For the next form: the session with a new pair of positions and their labels, when the
/// bank asks for the card; the session as it is otherwise.
pub fn ask(step: &Step, session: &Session) -> (Session, Option<[&'static str; 2]>) {
    if !wanted(step) {
        return (session.clone(), None);
    }
    let p = card::pick();
    let session = step
        .sessions
        .set_card(&session.id, Some(p))
        .unwrap_or_else(|| session.clone());
    (session, Some(card::labels(p)))
}

/// The two card digits a form posted (`card1`, `card2`), half-width; none unless both came.
pub fn answer(step: &Step) -> Option<[String; 2]> {
    let a = form::digits(&step.req.form.text("card1"));
    let b = form::digits(&step.req.form.text("card2"));
    (!a.is_empty() && !b.is_empty()).then_some([a, b])
}

/// What the card answer of a posted form came to.
pub enum Answer {
    Right,
    /// The form again, with this message (and a new pair).
    Again(String),
    /// The login is locked: the journey ends with this message.
    Locked(&'static str),
}

/// Checks the posted card digits against the positions the form asked.
pub async fn check(step: &Step<'_>, session: &Session) -> Result<Answer, AppError> {
    let Some(p) = session.card else {
        return Err(AppError::Step);
    };
    let Some([a, b]) = answer(step) else {
        return Ok(Answer::Again("確認用パスワードを入力してください。".into()));
    };
    let check = card::check(
        &step.app.store,
        Holder::Personal,
        session.contract_id.as_str(),
        p,
        [&a, &b],
        step.now(),
        step.bank_policy().login_fail_limit,
    )
    .await?;
    Ok(match check {
        CardCheck::Ok => Answer::Right,
        CardCheck::Wrong { left } => Answer::Again(format!(
            "確認用パスワードが正しくありません。あと{left}回間違えるとロックされます。"
        )),
        CardCheck::LockedNow | CardCheck::Locked => Answer::Locked(
            "ログインがロックされています。ロック解除はお取引店の窓口でお手続きください。",
        ),
        CardCheck::NoCard => Answer::Again(
            "お客様カードが登録されていません。お取引店にお問い合わせください。".into(),
        ),
    })
}
