//! The customer journeys as a phone walks them: 利用開始, 交換, login with OTP. Each checks its
//! own success (a receipt, the menu) and fails loudly otherwise.

use crate::data;
use crate::phone::{Phone, Resp};
use keitai_gateway::clock::now_unix;

/// Every page a walk saw, by name, for the page-size table.
pub type Pages = Vec<(&'static str, Resp)>;

fn expect(page: &Resp, what: &str, needle: &str) -> Result<(), String> {
    if page.status == 200 && page.text.contains(needle) {
        Ok(())
    } else {
        Err(format!(
            "{what}: expected {needle:?}, got status {}:\n{}",
            page.status, page.text
        ))
    }
}

/// 利用開始 from the top page: customer `i` registers token `i` with its current code.
pub async fn start(phone: &mut Phone, i: u64, pages: Option<&mut Pages>) -> Result<(), String> {
    start_at(phone, "", i, pages).await
}

/// [`start`] at the bank under `base` (`/1020`; empty for a one-bank gateway).
pub async fn start_at(
    phone: &mut Phone,
    base: &str,
    i: u64,
    pages: Option<&mut Pages>,
) -> Result<(), String> {
    let top = phone.get(&format!("{base}/")).await?;
    expect(&top, "top page", "利用開始</a>")?;
    let step1 = phone.follow(&top, '1').await?;
    expect(&step1, "利用開始", "ワンタイムパスワード利用開始")?;
    let id = data::contract_id(i);
    let step2 = phone
        .submit(
            &step1,
            &[("contract_id", &id), ("password", data::LOGIN_PASSWORD)],
        )
        .await?;
    expect(&step2, "利用開始 credentials", "シリアル番号")?;
    let serial = data::serial(i);
    let otp = data::code(i, now_unix());
    let done = phone
        .submit(
            &step2,
            &[
                ("serial", &serial),
                ("otp", &otp),
                ("login_otp", "1"),
                ("transfer_password", data::TRANSFER_PASSWORD),
            ],
        )
        .await?;
    expect(&done, "利用開始 token", "登録が完了しました")?;
    if let Some(p) = pages {
        p.extend([
            ("top (ログイン)", top),
            ("利用開始 1: credentials", step1),
            ("利用開始 2: token", step2),
            ("利用開始 3: receipt", done),
        ]);
    }
    Ok(())
}

/// 交換 from the top page: customer `i`, holding token `old` (whose code of this step is used
/// already), moves to token `new`.
pub async fn exchange(
    phone: &mut Phone,
    i: u64,
    old: u64,
    new: u64,
    pages: Option<&mut Pages>,
) -> Result<(), String> {
    let top = phone.get("/").await?;
    let step1 = phone.follow(&top, '2').await?;
    expect(&step1, "交換", "ワンタイムパスワード交換")?;
    let id = data::contract_id(i);
    let current = phone
        .submit(
            &step1,
            &[("contract_id", &id), ("password", data::LOGIN_PASSWORD)],
        )
        .await?;
    expect(&current, "交換 credentials", "ワンタイムパスワード")?;
    // The next step's code: still inside the one-step skew, and later than the one used.
    let now = now_unix();
    let old_code = data::code(old, now + 60);
    let next = phone.submit(&current, &[("otp", &old_code)]).await?;
    expect(&next, "交換 current OTP", "シリアル番号")?;
    let serial = data::serial(new);
    let new_code = data::code(new, now);
    let done = phone
        .submit(&next, &[("serial", &serial), ("otp", &new_code)])
        .await?;
    expect(&done, "交換 new token", "変更前")?;
    if let Some(p) = pages {
        p.extend([
            ("交換 1: credentials", step1),
            ("交換 2: current OTP", current),
            ("交換 3: new token", next),
            ("交換 4: result", done),
        ]);
    }
    Ok(())
}

/// Login with OTP (customer `i` on token `t`, whose code of this step and the next are used),
/// the menu, help, 利用中止 notice and logout; every page goes in `pages`.
pub async fn login_and_others(
    phone: &mut Phone,
    i: u64,
    t: u64,
    pages: &mut Pages,
) -> Result<(), String> {
    let top = phone.get("/").await?;
    let help = phone.follow(&top, '0').await?;
    expect(&help, "help", "ヘルプ")?;
    let cancel = phone.follow(&top, '3').await?;
    expect(&cancel, "利用中止", "利用中止")?;
    let id = data::contract_id(i);
    let otp_page = phone
        .submit(
            &top,
            &[("contract_id", &id), ("password", data::LOGIN_PASSWORD)],
        )
        .await?;
    expect(&otp_page, "login", "ワンタイムパスワード")?;
    let code = data::code(t, now_unix() + 60);
    let menu = phone.submit(&otp_page, &[("otp", &code)]).await?;
    expect(&menu, "login OTP", "ようこそ")?;
    let logout = phone.follow(&menu, '#').await?;
    expect(&logout, "logout", "")?;
    let missing = phone.get("/no-such-page").await?;
    pages.extend([
        ("help", help),
        ("利用中止 notice", cancel),
        ("login: OTP", otp_page),
        ("menu", menu),
        ("logout (top)", logout),
        ("error (404)", missing),
    ]);
    Ok(())
}

/// The digits of the bench card at the two positions a card page asks (`(1)(ウ)`, `(2)(カ)`).
fn card_answer(page: &Resp) -> Result<[String; 2], String> {
    const KANA: [char; 8] = ['ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク'];
    let card: Vec<char> = data::BIZ.2.chars().collect();
    let at = |n: &str| -> Result<String, String> {
        let marker = format!("({n})(");
        let i = page.text.find(&marker).ok_or("no card position")? + marker.len();
        let kana = page.text[i..].chars().next().ok_or("no card position")?;
        let p = KANA
            .iter()
            .position(|k| *k == kana)
            .ok_or("not a card position")?;
        Ok(card[p].to_string())
    };
    Ok([at("1")?, at("2")?])
}

/// The 法人 administrator's pages: 管理者ログイン, お客様カード, メイン, ご契約先管理情報変更,
/// 利用者情報選択, ワンタイムパスワードの設定, 利用形態設定, 利用登録 (and its error), 利用登録解除,
/// logout; every page goes in `pages`.
pub async fn business(phone: &mut Phone, pages: &mut Pages) -> Result<(), String> {
    let top = phone.get("/").await?;
    let entry = phone.follow(&top, '4').await?;
    expect(&entry, "法人 entrance", "管理者ログイン")?;
    let (id, password, _) = data::BIZ;
    let card = phone
        .submit(&entry, &[("contract_id", id), ("password", password)])
        .await?;
    expect(&card, "法人 login", "お客様カード")?;
    let [a, b] = card_answer(&card)?;
    let main = phone.submit(&card, &[("card1", &a), ("card2", &b)]).await?;
    expect(&main, "法人 card", "メイン")?;
    let manage = phone.follow(&main, '1').await?;
    let users = phone.follow(&manage, '1').await?;
    expect(&users, "利用者情報選択", "利用者情報選択")?;
    let otp = phone.follow(&users, '1').await?;
    let usage = phone.follow(&otp, '1').await?;
    expect(&usage, "利用形態設定", "利用形態の選択")?;
    // Back to the settings page before each next link: every page rotates the session ID, and a
    // phone without cookies (DoCoMo) carries it in the links of the page it is on.
    let back = phone.follow(&usage, '9').await?;
    let register = phone.follow(&back, '2').await?;
    expect(&register, "利用登録", "ワンタイムパスワード利用登録")?;
    let refused = phone
        .submit(&register, &[("user", "bench01"), ("serial", "X")])
        .await?;
    expect(&refused, "利用登録 refused", "シリアル番号")?;
    let back = phone.follow(&refused, '9').await?;
    let release = phone.follow(&back, '3').await?;
    let logout = phone.follow(&release, '#').await?;
    pages.extend([
        ("法人: 管理者ログイン", entry),
        ("法人: お客様カード", card),
        ("法人: メイン", main),
        ("法人: ご契約先管理情報変更", manage),
        ("法人: 利用者情報選択", users),
        ("法人: ワンタイムパスワードの設定", otp),
        ("法人: 利用形態設定", usage),
        ("法人: 利用登録", register),
        ("法人: 利用登録 (error)", refused),
        ("法人: 利用登録解除", release),
        ("法人: logout", logout),
    ]);
    Ok(())
}
