//! The help page: what the token is, which tokens a feature phone can use, how to get or replace
//! one (seed 003, 2. トークンの種類), whom to call.

use crate::keys::key_link;
use crate::layout::{page, phone_number, Ctx};
use crate::paths;
use crate::Support;
use maud::{html, Markup};

/// `fee_yen`: the bank profile's hardware-token fee.
pub fn help(ctx: &Ctx, support: Support, fee_yen: u32) -> Markup {
    let back = if ctx.footer { paths::MENU } else { paths::TOP };
    let body = html! {
        "ワンタイムパスワードは一度しか使わないパスワードです。トークンに表示される6桁の数字を入力してください。" br;
        "携帯電話(ガラケー)をご利用のお客さまはハードウェアトークンのみご利用いただけます。" br;
        "シリアル番号はトークン裏面の12桁の英数字です。" br;
        hr;
        "■トークンの入手・交換" br;
        "「インターネットバンキングサービス【ハードウェアトークン】発行申込書」を本支店窓口にお届けください。" br;
        "発行手数料:" (yen(fee_yen)) "円（税込）" br;
        "※故障・破損・電池切れの場合は、お使いのハードウェアトークンと引換に無料で交換いたします。" br;
        "お受取りの後、利用開始(交換の場合は交換)から登録してください。" br;
        hr;
        "お問合せ:" (support.name) br;
        (phone_number(ctx, support.phone)) br;
        (support.hours) br;
        (key_link(ctx, '9', back, "戻る"))
    };
    page(ctx, "ヘルプ", body)
}

/// `2200` → `2,200`.
pub fn yen(amount: u32) -> String {
    let digits = amount.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::yen;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "0");
        assert_eq!(yen(999), "999");
        assert_eq!(yen(2200), "2,200");
        assert_eq!(yen(1_234_567), "1,234,567");
    }
}
