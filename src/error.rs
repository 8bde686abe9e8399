//! Errors that end a request, each mapped once to an HTTP status and one Japanese error page.
//!
//! A customer's mistakes (wrong password, wrong OTP, unknown serial) are not errors here: the
//! flow shows them on the form itself so the user can correct them.

use crate::body::BodyError;
use crate::form::FormError;
use crate::store::StoreError;
use hyper::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("bad form or query: {0}")]
    Form(#[from] FormError),
    #[error(transparent)]
    Body(#[from] BodyError),
    #[error("no such page")]
    NotFound,
    #[error("method not allowed")]
    Method,
    #[error("session unknown, ended or expired")]
    Session,
    #[error("session presented by another handset")]
    OtherHandset,
    #[error("anti-forgery value missing or wrong")]
    Forgery,
    #[error("step out of order")]
    Step,
    #[error("storage: {0}")]
    Store(#[from] StoreError),
}

impl AppError {
    /// The one status mapping.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Form(_) | AppError::Body(BodyError::Broken) => StatusCode::BAD_REQUEST,
            AppError::Body(BodyError::TooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Body(BodyError::Timeout) => StatusCode::REQUEST_TIMEOUT,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Method => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Session | AppError::OtherHandset | AppError::Forgery | AppError::Step => {
                StatusCode::FORBIDDEN
            }
            AppError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// What the customer reads. Never contains input, secrets or internals.
    pub fn message(&self) -> &'static str {
        match self {
            AppError::Form(FormError::Encoding) => {
                "入力された文字を読み取れませんでした。半角英数字で入力し直してください。"
            }
            AppError::Form(FormError::TooLong) | AppError::Body(BodyError::TooLarge) => {
                "入力が長すぎます。入力内容をご確認ください。"
            }
            AppError::Form(FormError::Control) => "入力に使用できない文字が含まれています。",
            AppError::Form(_) | AppError::Body(BodyError::Broken) => {
                "送信内容が正しくありません。最初からやり直してください。"
            }
            AppError::Body(BodyError::Timeout) => {
                "通信がタイムアウトしました。もう一度お試しください。"
            }
            AppError::NotFound => "ページが見つかりません。",
            AppError::Method => "この操作はできません。",
            AppError::Session => {
                "セッションの有効期限が切れたか、ログアウト済みです。最初からやり直してください。"
            }
            AppError::OtherHandset => "ご利用の端末を確認できません。最初からやり直してください。",
            AppError::Forgery | AppError::Step => {
                "操作の手順が正しくありません。最初からやり直してください。"
            }
            AppError::Store(_) => {
                "ただいま処理できません。しばらくしてからもう一度お試しください。"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error's logical status (logged; the phone receives the page with 200).
    #[test]
    fn every_error_has_one_status() {
        let store = || {
            AppError::Store(StoreError::Corrupt {
                tree: "tokens",
                detail: "x".into(),
            })
        };
        for (err, status) in [
            (AppError::Form(FormError::Encoding), 400),
            (AppError::Body(BodyError::Broken), 400),
            (AppError::Body(BodyError::TooLarge), 413),
            (AppError::Body(BodyError::Timeout), 408),
            (AppError::NotFound, 404),
            (AppError::Method, 405),
            (AppError::Session, 403),
            (AppError::OtherHandset, 403),
            (AppError::Forgery, 403),
            (AppError::Step, 403),
            (store(), 503),
        ] {
            assert_eq!(err.status().as_u16(), status, "{err:?}");
            assert!(!err.message().is_empty());
        }
        assert!(!store().message().contains("tokens"), "no internals");
    }
}
