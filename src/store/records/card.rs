//! An お客様カード (customer card): the eight 確認用パスワード digits printed under the positions
//! ア イ ウ エ オ カ キ ク, of a personal customer (seed 001) or a business contract (seed 000).
//! Kept apart from the customer and business records: the card is the same thing for both.

use serde::{Deserialize, Serialize};

/// The positions printed on the card, in order.
pub const CARD_POSITIONS: [&str; 8] = ["ア", "イ", "ウ", "エ", "オ", "カ", "キ", "ク"];

/// A card: its digits sealed under the master key (see [`crate::store::Store::seal_card`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub contract_id: String,
    /// Base64 of nonce and ciphertext, the contract ID as associated data (a card cannot be
    /// moved to another contract). Never logged, never rendered.
    pub sealed: String,
}

impl Card {
    /// The associated data of `contract_id`'s card: distinct from any token serial's.
    pub fn aad(contract_id: &str) -> Vec<u8> {
        format!("card:{contract_id}").into_bytes()
    }
}
