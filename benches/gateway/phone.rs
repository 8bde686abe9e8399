//! The simulated handsets are the test kit's: one kept-alive connection each, Shift_JIS forms,
//! cookies only when the handset keeps them, every byte counted (`testkit::phone::KeptAlive`).

pub use testkit::http::Resp;
pub use testkit::phone::{KeptAlive as Phone, AU, FOMA, SOFTBANK};
