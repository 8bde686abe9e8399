//! The お客様カード 確認用パスワード inputs (seeds 000, 001): the two positions the bank picked for
//! this attempt, one single-digit numeric input each, in the seed's wording.

use crate::keys::numeric_input;
use crate::layout::Ctx;
use maud::{html, Markup};

/// The two card inputs (`card1`, `card2`) for positions `labels` (ア..ク), for any form that
/// ends with the card.
pub fn card_fields(ctx: &Ctx, labels: [&str; 2]) -> Markup {
    html! {
        "確認用パスワード入力" br;
        "お客様カードの(1)、(2)に対応した数字を半角でそれぞれ入力してください。" br;
        "(1)(" (labels[0]) "):" (numeric_input(ctx, "card1", 1, "")) br;
        "(2)(" (labels[1]) "):" (numeric_input(ctx, "card2", 1, "")) br;
    }
}
