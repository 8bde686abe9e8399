//! Pages without a journey: the top (login) page and help.

use super::Step;
use crate::error::AppError;
use crate::form_token::FormValue;
use crate::recent::Recent;
use crate::reply::Reply;
use crate::session::Stage;
use bytes::Bytes;
use markup::{Ctx, InputMode, Keypad};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// `GET /`: the login screen. The same for every phone of a kind but for the login form's
/// anti-forgery value, so it is rendered once per variant with a slot for the value, which is
/// put in for each visitor (one copy of the page's bytes): it is the page every visit starts
/// with, and the one a flood of visits hits.
pub fn top(step: &Step) -> Result<Reply, AppError> {
    let ctx = Ctx {
        csrf: Some(VALUE_SLOT),
        ..step.ctx(None)
    };
    let variant = Variant {
        keypad: ctx.keypad,
        input: ctx.input,
        imode_html1: ctx.imode_html1,
        guid_on: ctx.guid_on,
    };
    let page = step.pages.top(variant, || {
        let label = &step.app.config.bank.contract_id_label;
        Slotted::new(
            step.encode(markup::top::top(&ctx, label, None, ""))
                .body
                .into(),
        )
    });
    let value = step.login_form_value();
    let body = Filled::recall(step.pages.id, variant, &value).unwrap_or_else(|| {
        Filled::keep(step.pages.id, variant, value, page.with(value.as_bytes()))
    });
    Ok(step.ending(body))
}

/// Top pages a thread filled in lately, by page cache, variant and login form value. A value
/// lasts its window and many visitors share one (see [`crate::form_token`]'s remembered
/// values), so the page they get is the same bytes too: handed out again (a count), not copied
/// into a new buffer each time.
struct Filled {
    cache: u64,
    slot: usize,
    value: FormValue,
    body: Bytes,
}

/// Pages kept per thread (about a kilobyte each), replaced in turn.
const FILLED: usize = 4;

thread_local! {
    static FILLED_TOPS: RefCell<Recent<Filled, FILLED>> = const { RefCell::new(Recent::new()) };
}

impl Filled {
    fn is(&self, cache: u64, slot: usize, value: &FormValue) -> bool {
        self.cache == cache && self.slot == slot && self.value.as_bytes() == value.as_bytes()
    }

    fn recall(cache: u64, variant: Variant, value: &FormValue) -> Option<Bytes> {
        let slot = variant.slot();
        FILLED_TOPS.with(|filled| {
            let filled = filled.try_borrow().ok()?;
            filled
                .find(|f| f.is(cache, slot, value))
                .map(|f| f.body.clone())
        })
    }

    fn keep(cache: u64, variant: Variant, value: FormValue, body: Bytes) -> Bytes {
        let kept = Filled {
            cache,
            slot: variant.slot(),
            value,
            body: body.clone(),
        };
        FILLED_TOPS.with(|filled| {
            if let Ok(mut filled) = filled.try_borrow_mut() {
                filled.keep(kept);
            }
        });
        body
    }
}

/// Where the cached top page's login form value goes: ASCII, the same in Shift_JIS.
const VALUE_SLOT: &str = "@login-form-value@";

/// A cached page split where the per-visitor value goes (both halves share one buffer).
struct Slotted {
    head: Bytes,
    tail: Bytes,
}

impl Slotted {
    fn new(page: Bytes) -> Slotted {
        let at = page
            .windows(VALUE_SLOT.len())
            .position(|w| w == VALUE_SLOT.as_bytes());
        match at {
            Some(at) => Slotted {
                head: page.slice(..at),
                tail: page.slice(at + VALUE_SLOT.len()..),
            },
            None => Slotted {
                head: page,
                tail: Bytes::new(),
            },
        }
    }

    fn with(&self, value: &[u8]) -> Bytes {
        // A Vec, not a BytesMut: `Bytes` takes it over without a shared header to count.
        let mut out = Vec::with_capacity(self.head.len() + value.len() + self.tail.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(value);
        out.extend_from_slice(&self.tail);
        Bytes::from(out)
    }
}

/// Everything a session-less page varies with: the phone's dialect and `guid=ON`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Variant {
    keypad: Keypad,
    input: InputMode,
    imode_html1: bool,
    guid_on: bool,
}

impl Variant {
    /// Every variant there can be.
    const ALL: usize = 4 * 5 * 2 * 2;

    /// The variant's own slot in [`PageCache`] (a match, so a new keypad or input mode must be
    /// given one).
    fn slot(self) -> usize {
        let keypad = match self.keypad {
            Keypad::Text => 0,
            Keypad::Docomo => 1,
            Keypad::Au => 2,
            Keypad::Softbank => 3,
        };
        let input = match self.input {
            InputMode::All => 0,
            InputMode::Istyle => 1,
            InputMode::Format => 2,
            InputMode::Mode => 3,
            InputMode::None => 4,
        };
        ((keypad * 5 + input) * 2 + usize::from(self.imode_html1)) * 2 + usize::from(self.guid_on)
    }
}

/// Pages that do not depend on the visitor beyond the kind of phone, rendered once per
/// [`Variant`], each in a slot of its own. The bank profile they show does not change while
/// serving. Reading a rendered page takes no lock and counts no reference: on two cores a lock
/// or a count shared by every request moves between them on every request.
pub struct PageCache {
    top: [OnceLock<Slotted>; Variant::ALL],
    /// This cache among the process's (for [`Filled`]).
    id: u64,
}

impl Default for PageCache {
    fn default() -> Self {
        static CACHES: AtomicU64 = AtomicU64::new(0);
        PageCache {
            top: std::array::from_fn(|_| OnceLock::new()),
            id: CACHES.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl PageCache {
    fn top(&self, variant: Variant, render: impl FnOnce() -> Slotted) -> &Slotted {
        self.top[variant.slot()].get_or_init(render)
    }
}

/// The top page with a message (after logout, or a failed login) and the typed contract ID.
pub fn top_with(step: &Step, message: Option<&str>, contract_id: &str) -> Reply {
    let value = step.login_form_value();
    let ctx = step.credentials_ctx(value.as_str());
    let label = &step.app.config.bank.contract_id_label;
    step.page_ending(markup::top::top(&ctx, label, message, contract_id))
}

/// `GET /help`: also where a customer without a (working) token is sent. A logged-in customer
/// keeps the session: the page ends with the menu keys.
pub fn help(step: &Step) -> Result<Reply, AppError> {
    let session = step.session_at(Stage::logged_in).ok();
    let session = match session {
        Some(s) if s.stage != Stage::Menu => Some(step.advance(&s, Stage::Menu)?),
        other => other,
    };
    let ctx = step.ctx(session.as_ref());
    let bank = &step.app.config.bank;
    let s = &bank.support;
    let support = markup::Support {
        name: &s.name,
        phone: &s.phone,
        hours: &s.hours,
    };
    let page = markup::help::help(&ctx, support, bank.hardware_token_fee_yen);
    Ok(step.page(page, session.as_ref()))
}

/// Any phone path opened from a PC or smartphone (unless `serve --allow-pc`): the short page
/// pointing to the bank's PC/smartphone site. A session ID that came with it (a phone URL
/// opened on a PC: copied, forwarded, leaked) ends here, and its cookie is cleared, so the
/// ID is worth nothing wherever the URL went next (the link to the bank's site, its Referer).
pub fn pc_pointer(step: &Step) -> Reply {
    if let Some(sid) = step.req.sid() {
        step.sessions.end(sid);
    }
    let ctx = step.ctx(None);
    let url = &step.app.config.bank.pc_site_url;
    step.page_ending(markup::pc::pointer(&ctx, url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_slot_of_its_own() {
        let mut slots = std::collections::HashSet::new();
        for keypad in [Keypad::Text, Keypad::Docomo, Keypad::Au, Keypad::Softbank] {
            for input in [
                InputMode::All,
                InputMode::Istyle,
                InputMode::Format,
                InputMode::Mode,
                InputMode::None,
            ] {
                for imode_html1 in [false, true] {
                    for guid_on in [false, true] {
                        let slot = Variant {
                            keypad,
                            input,
                            imode_html1,
                            guid_on,
                        }
                        .slot();
                        assert!(slot < Variant::ALL);
                        assert!(slots.insert(slot), "slot {slot} twice");
                    }
                }
            }
        }
        assert_eq!(slots.len(), Variant::ALL);
    }
}
