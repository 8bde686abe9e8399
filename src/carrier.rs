//! Carrier and handset detection for Japanese feature phones.
//!
//! This module owns two things and nothing else:
//! - [`detect`]: turning a request's User-Agent (plus a few carrier headers) into a
//!   [`Handset`]: carrier, model, browser generation, whether cookies survive, the page
//!   budget in body bytes and the screen width in characters;
//! - [`claimed_subscriber_id`]: reading the subscriber/terminal ID a request *claims*
//!   (X-DCMGUID, X-UP-SUBNO, X-JPHONE-UID), without deciding whether to believe it
//!   (whether a peer may vouch for it is [`crate::net::Networks`]'s call).
//!
//! Detection is the User-Agent's answer, then what the carriers' gateways add in headers (au's
//! devcap headers and TLS, SoftBank's handset name and display). The server asks
//! [`detect_remembered`]: each thread keeps the User-Agent's answer for its last few UAs in a
//! small fixed [`UaCache`], and reads the headers' part per request.
//!
//! Both read the request's headers through [`Headers`]: the server's header map as it is (no
//! copy of it per request), or a list of pairs (tests, the `ua` command).
//!
//! It is pure: no IO. Parsing is by hand (the formats are simple prefixes and separators)
//! and never panics, whatever bytes it is given.

use crate::recent::Recent;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Carrier {
    Docomo,
    Au,
    Softbank,
    Willcom,
    None,
}

/// Browser generation, as the carriers' docs name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Generation {
    /// DoCoMo/1.0 (i-mode HTML 1.0–3.0 era, mova)
    Imode1,
    /// DoCoMo/2.0 FOMA, i-mode browser 1.0
    Imode2,
    /// DoCoMo/2.0 with c500 (i-mode browser 2.0: cookies)
    ImodeBrowser2,
    /// old au/Tu-Ka: UP.Browser/3.x-XXnn UP.Link/...
    UpBrowser3,
    /// KDDI-XXnn UP.Browser/6.x (WAP2.0)
    UpBrowser6,
    /// J-PHONE C type (J-PHONE/1.x–3.x)
    JphoneC,
    /// J-PHONE P type (J-PHONE/4.x, packet + Java)
    JphoneP,
    /// J-PHONE W type (J-PHONE/5.x)
    JphoneW,
    /// Vodafone/1.0/..., SoftBank/1.0/..., MOT-... 3G
    Softbank3g,
    /// Mozilla/3.0(WILLCOM / DDIPOCKET
    Willcom,
    /// iPhone, Android, etc.
    Smartphone,
    /// PCs (a desktop browser's `Mozilla/` or `Opera/` UA).
    Pc,
    /// Anything not recognised: maybe a phone we do not know (see [`detect`]).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handset {
    pub carrier: Carrier,
    /// "P903i", "SA31", "V903SH", "WX310K" ... None for PCs and smartphones.
    pub model: Option<Model>,
    pub generation: Generation,
    pub cookies: bool,
    /// Page budget, body bytes.
    pub budget_bytes: usize,
    /// Screen width in characters when the UA or headers say so.
    pub width_chars: Option<u16>,
}

const KB: usize = 1024;
/// The smallest page any i-mode handset accepts; also what unknown phones get.
const SMALLEST: usize = 5 * KB;
/// No handset gets more than this, whatever a header claims.
const MAX_BUDGET: usize = 300 * KB;
/// i-mode browser 2.0 says c500; its pages are capped at 100 KB.
const DOCOMO_CAP: usize = 100 * KB;
const AU_WAP2_DEFAULT: usize = 9 * KB;
const AU_WAP1: usize = 7680;
const JPHONE_C: usize = 6 * KB;
const JPHONE_P: usize = 12 * KB;
const JPHONE_W: usize = 48 * KB;
const SOFTBANK_3G: usize = 300 * KB;
const WILLCOM: usize = 96 * KB;
const SMARTPHONE_OR_PC: usize = 100 * KB;
/// X-JPHONE-DISPLAY is in pixels; SoftBank's docs count 12 px per (full-width) character.
const SOFTBANK_PX_PER_CHAR: u16 = 12;

/// Detects the handset from the User-Agent and headers.
///
/// `headers`: (lower-case name, value) pairs of the request. `https`: the request came
/// over TLS (the caller decides whether to trust X-Forwarded-Proto; this fn just takes
/// the bool).
///
/// Anything that is neither a known carrier's handset nor recognisably a smartphone or
/// PC is treated as an unknown phone: carrier `none`, generation `unknown`, the smallest
/// budget and no cookies, because assuming less is what keeps such a phone working.
pub fn detect(user_agent: &str, headers: &[(&str, &str)], https: bool) -> Handset {
    detect_in(user_agent, headers, https)
}

/// [`detect`] on any [`Headers`] (the server passes its header map as it is).
pub fn detect_in<H: Headers + ?Sized>(user_agent: &str, headers: &H, https: bool) -> Handset {
    with_headers(from_user_agent(user_agent.trim_ascii()), headers, https)
}

/// [`detect_in`], the User-Agent's part remembered by this thread (see [`UaCache`]): the
/// server's path, where one handset sends request after request.
pub fn detect_remembered<H: Headers + ?Sized>(
    user_agent: &str,
    headers: &H,
    https: bool,
) -> Handset {
    thread_local! {
        static CACHE: std::cell::RefCell<UaCache> = const { std::cell::RefCell::new(UaCache::new()) };
    }
    let ua = user_agent.trim_ascii();
    let handset = CACHE
        .try_with(|c| c.try_borrow_mut().ok().map(|mut c| c.handset_of(ua)))
        .ok()
        .flatten()
        .unwrap_or_else(|| from_user_agent(ua));
    with_headers(handset, headers, https)
}

/// What the User-Agent alone says (`ua` trimmed): for au, as if the request came over plain
/// HTTP without devcap headers, which [`with_headers`] then reads.
fn from_user_agent(ua: &str) -> Handset {
    // A User-Agent is read from a header, visible ASCII only (`HeaderValue::to_str`), so the
    // UA is trimmed as ASCII by the callers: `str::trim` decodes each end as Unicode.
    if let Some(rest) = ua.strip_prefix("DoCoMo/") {
        docomo(rest)
    } else if ua.starts_with("KDDI-") || ua.starts_with("UP.Browser/") {
        au(ua)
    } else if starts_with_ignore_case(ua, "J-PHONE/") {
        // Case-insensitive: crawlers send "J-Phone/5.0/...".
        jphone(ua)
    } else if ["Vodafone/", "SoftBank/", "Semulator", "Vemulator"]
        .iter()
        .any(|p| ua.starts_with(p))
    {
        // Semulator/Vemulator: SoftBank's and Vodafone's PC emulators (jpmobile counts
        // them as SoftBank too); same UA shape when they give more than the name.
        softbank_3g(ua)
    } else if let Some(rest) = ua.strip_prefix("MOT-") {
        motorola(rest)
    } else if ua.starts_with("Mozilla/3.0(WILLCOM") || ua.starts_with("Mozilla/3.0(DDIPOCKET") {
        willcom(ua)
    } else {
        other(ua)
    }
}

/// What the carriers' gateways add to the User-Agent's answer: au's devcap headers and TLS,
/// SoftBank's handset name and display.
fn with_headers<H: Headers + ?Sized>(mut handset: Handset, headers: &H, https: bool) -> Handset {
    match handset.carrier {
        Carrier::Au => {
            if handset.generation == Generation::UpBrowser6 {
                // WAP2.0: the gateway tells us the handset's real maximum PDU.
                let pdu = header(headers, &names::X_UP_DEVCAP_MAX_PDU)
                    .and_then(parse_digits::<usize>)
                    .filter(|&n| n > 0);
                if let Some(pdu) = pdu {
                    handset.budget_bytes = pdu;
                }
            }
            // au's gateway keeps cookies over HTTP but drops them on its SSL path.
            handset.cookies = !https;
            handset.width_chars = header(headers, &names::X_UP_DEVCAP_SCREENCHARS)
                .and_then(|v| parse_digits(v.split(',').next().unwrap_or("").trim()));
        }
        Carrier::Softbank => {
            // SoftBank's gateway names the handset; it beats anything parsed from the UA
            // (and is the only name a MOT- handset's UA does not give).
            if let Some(name) = header(headers, &names::X_JPHONE_MSNAME).filter(|v| !v.is_empty()) {
                handset.model = Some(Model::new(name));
            }
            handset.width_chars =
                header(headers, &names::X_JPHONE_DISPLAY).and_then(softbank_width);
        }
        Carrier::Docomo | Carrier::Willcom | Carrier::None => {}
    }
    handset.budget_bytes = handset.budget_bytes.min(MAX_BUDGET);
    handset
}

/// A few handsets' User-Agent answers ([`from_user_agent`]), keyed by the exact (trimmed) UA
/// bytes: a bank's phones are a few models, and parsing a UA costs more than finding it here.
/// Fixed size, filled in turn (the oldest entry goes), nothing allocated: a UA longer than
/// [`UaCache::LONGEST`] or a model name held on the heap is answered but not kept.
pub struct UaCache {
    recent: Recent<UaEntry, { UaCache::CAPACITY }>,
}

struct UaEntry {
    len: u16,
    ua: [u8; UaCache::LONGEST],
    handset: Handset,
}

impl UaCache {
    pub const CAPACITY: usize = 16;
    /// Longest UA kept (a smartphone's is about 150 bytes, a feature phone's under 120).
    pub const LONGEST: usize = 256;

    pub const fn new() -> UaCache {
        UaCache {
            recent: Recent::new(),
        }
    }

    /// [`detect_in`] through this cache.
    pub fn detect<H: Headers + ?Sized>(
        &mut self,
        user_agent: &str,
        headers: &H,
        https: bool,
    ) -> Handset {
        with_headers(self.handset_of(user_agent.trim_ascii()), headers, https)
    }

    /// UAs kept.
    pub fn len(&self) -> usize {
        self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }

    fn handset_of(&mut self, ua: &str) -> Handset {
        let key = ua.as_bytes();
        let kept = self
            .recent
            .find(|e| usize::from(e.len) == key.len() && &e.ua[..key.len()] == key);
        if let Some(entry) = kept {
            return entry.handset.clone();
        }
        let handset = from_user_agent(ua);
        let inline = handset.model.as_ref().is_none_or(Model::is_inline);
        if key.len() <= UaCache::LONGEST && inline {
            let mut bytes = [0u8; UaCache::LONGEST];
            bytes[..key.len()].copy_from_slice(key);
            self.recent.keep(UaEntry {
                // At most LONGEST, checked above.
                len: key.len() as u16,
                ua: bytes,
                handset: handset.clone(),
            });
        }
        handset
    }
}

impl Default for UaCache {
    fn default() -> UaCache {
        UaCache::new()
    }
}

/// `DoCoMo/1.0/D505i/c20/TC/W20H10` (mova) or `DoCoMo/2.0 P903i(c100;TB;W24H12)` (FOMA).
/// `rest` is what follows "DoCoMo/".
fn docomo(rest: &str) -> Handset {
    let version_end = rest
        .bytes()
        .position(|b| b == b'/' || b == b' ')
        .unwrap_or(rest.len());
    let (version, body) = rest.split_at(version_end);
    // The parameters as one text and their separator: read twice below, never collected.
    let (model, params, separator) = if let Some(foma) = body.strip_prefix(' ') {
        // FOMA: MODEL(param;param;...); the parameters may be missing altogether.
        let (model, params) = split_at_byte(foma, b'(').unwrap_or((foma, ""));
        let params = split_at_byte(params, b')').map_or(params, |(p, _)| p);
        (first_word(model), params, b';')
    } else {
        // mova: /MODEL/param/param...; a trailing " (comment)" belongs to no field.
        let fields = split_at_byte(first_word(body), b'/').map_or("", |(_, f)| f);
        let (model, params) = split_at_byte(fields, b'/').unwrap_or((fields, ""));
        (model, params, b'/')
    };
    // "MST_v_" marks the maker's test firmware of the same model.
    let model = model.strip_prefix("MST_v_").unwrap_or(model);

    let cache_kb = pieces(params, separator)
        .find_map(cache_size)
        .filter(|&kb| kb > 0);
    let browser2 = cache_kb.is_some_and(|kb| kb >= 500);
    let generation = if version.starts_with("1.") {
        Generation::Imode1
    } else if browser2 {
        Generation::ImodeBrowser2
    } else {
        Generation::Imode2
    };
    Handset {
        carrier: Carrier::Docomo,
        model: non_empty(model),
        generation,
        // Only i-mode browser 2.0 keeps cookies.
        cookies: browser2,
        budget_bytes: cache_kb.map_or(SMALLEST, |kb| kb.saturating_mul(KB).min(DOCOMO_CAP)),
        width_chars: pieces(params, separator).find_map(docomo_width),
    }
}

/// `KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0` or `UP.Browser/3.04-HI13 UP.Link/3.4.4`.
/// The budget, cookies and width here are those of a request without devcap headers over plain
/// HTTP; [`with_headers`] reads the rest.
fn au(ua: &str) -> Handset {
    let (model, generation, budget) = if let Some(rest) = ua.strip_prefix("KDDI-") {
        (first_word(rest), Generation::UpBrowser6, AU_WAP2_DEFAULT)
    } else {
        let device = split_at_byte(first_word(ua), b'-').map_or("", |(_, d)| d);
        (device, Generation::UpBrowser3, AU_WAP1)
    };
    Handset {
        carrier: Carrier::Au,
        model: non_empty(model),
        generation,
        cookies: true,
        budget_bytes: budget,
        width_chars: None,
    }
}

/// `J-PHONE/4.0/J-SH51/SNJSHA3029293 SH/0001aa Profile/MIDP-1.0 ...`.
/// Types as HTTP::MobileAgent's Vodafone.pm decides them: 2.x and 3.x are C (C2, C3/C4),
/// 4.x is P (packet, Java), 5.x is W. 1.0 predates them all, so C.
///
/// No J-PHONE handset is trusted to keep cookies: jpmobile's `Jphone` class (every
/// `J-PHONE/` UA, C, P and W alike) answers `supports_cookie?` false, its `Vodafone` and
/// `Softbank` (3G) classes true. The session then rides in the URL, which works on a
/// handset that keeps cookies too; the other way round every flow dies at its second step.
fn jphone(ua: &str) -> Handset {
    let mut fields = first_word(ua).split('/').skip(1);
    let version = fields.next().unwrap_or("");
    let model = fields.next().unwrap_or("");
    let (generation, budget) = match version.bytes().next() {
        Some(b'4') => (Generation::JphoneP, JPHONE_P),
        Some(b'5'..=b'9') => (Generation::JphoneW, JPHONE_W),
        _ => (Generation::JphoneC, JPHONE_C),
    };
    softbank(non_empty(model), generation, budget, false)
}

/// `Vodafone/1.0/V903SH/SHJ001/SN...` and `SoftBank/1.0/910T/TJ001/SN...`: name/version/model/...
fn softbank_3g(ua: &str) -> Handset {
    let model = first_word(ua).split('/').nth(2).unwrap_or("");
    softbank(non_empty(model), Generation::Softbank3g, SOFTBANK_3G, true)
}

/// `MOT-V980/80.2F.2E. MIB/2.2.1 ...`: Motorola's 3G handsets sold by Vodafone/SoftBank.
/// `rest` follows "MOT-".
fn motorola(rest: &str) -> Handset {
    let model = first_word(rest).split('/').next().unwrap_or("");
    softbank(non_empty(model), Generation::Softbank3g, SOFTBANK_3G, true)
}

/// `cookies`: 3G handsets keep them, J-PHONE (2G) handsets are not trusted to (see [`jphone`]).
fn softbank(
    model: Option<Model>,
    generation: Generation,
    budget_bytes: usize,
    cookies: bool,
) -> Handset {
    Handset {
        carrier: Carrier::Softbank,
        model,
        generation,
        cookies,
        budget_bytes,
        width_chars: None, // from X-JPHONE-DISPLAY, in detect()
    }
}

/// `240*320` → 20 characters.
fn softbank_width(display: &str) -> Option<u16> {
    let px: u16 = parse_digits(display.split('*').next()?.trim())?;
    Some(px / SOFTBANK_PX_PER_CHAR).filter(|&w| w > 0)
}

/// `Mozilla/3.0(WILLCOM;KYOCERA/WX310K/2;1.2.2.16.000000/0.1/C100) Opera 7.0`: the model
/// is the field after the maker.
fn willcom(ua: &str) -> Handset {
    let model = ua
        .split_once(';')
        .and_then(|(_, rest)| rest.split(['/', ';', ')']).nth(1))
        .unwrap_or("");
    Handset {
        carrier: Carrier::Willcom,
        model: non_empty(model),
        generation: Generation::Willcom,
        cookies: true,
        budget_bytes: WILLCOM,
        width_chars: None,
    }
}

/// Smartphones and PCs (carrier `none`), or an unknown phone.
fn other(ua: &str) -> Handset {
    const SMARTPHONE_MARKS: [&str; 6] = [
        "iPhone",
        "iPad",
        "iPod",
        "Android",
        "Windows Phone",
        "BlackBerry",
    ];
    let (generation, cookies, budget) = if SMARTPHONE_MARKS.iter().any(|m| ua.contains(m)) {
        (Generation::Smartphone, true, SMARTPHONE_OR_PC)
    } else if ua.starts_with("Mozilla/") || ua.starts_with("Opera/") {
        (Generation::Pc, true, SMARTPHONE_OR_PC)
    } else {
        // Unrecognised: maybe a phone we do not know. Smallest page, no cookies.
        (Generation::Unknown, false, SMALLEST)
    };
    Handset {
        carrier: Carrier::None,
        model: None,
        generation,
        cookies,
        budget_bytes: budget,
        width_chars: None,
    }
}

/// `c100` → 100 (KB). Other DoCoMo parameters (TB, W24H12, ser..., icc..., s64) → None.
fn cache_size(param: &str) -> Option<usize> {
    parse_digits(param.trim_ascii().strip_prefix('c')?)
}

/// `W24H12` → 24.
fn docomo_width(param: &str) -> Option<u16> {
    let (w, h) = split_at_byte(param.trim_ascii().strip_prefix('W')?, b'H')?;
    parse_digits::<u16>(h)?;
    parse_digits(w).filter(|&w| w > 0)
}

/// A number made only of ASCII digits (no sign, no spaces); None on overflow.
fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn first_word(s: &str) -> &str {
    split_at_byte(s, b' ').map_or(s, |(w, _)| w)
}

// Splitting at an ASCII byte, byte by byte: the pieces of a User-Agent are a few bytes long,
// where `str::split`'s searcher costs more to set up than the search itself.

/// `s` before and after the first `sep` (an ASCII byte, so both sides are whole UTF-8).
fn split_at_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s.split(sep)` for an ASCII byte.
fn pieces(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let r = rest?;
        match split_at_byte(r, sep) {
            Some((piece, after)) => {
                rest = Some(after);
                Some(piece)
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

fn non_empty(s: &str) -> Option<Model> {
    let s = s.trim_ascii();
    (!s.is_empty()).then(|| Model::new(s))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The first header of that name, value trimmed.
fn header<'a, H: Headers + ?Sized>(headers: &'a H, name: &Name) -> Option<&'a str> {
    headers.first(name).map(str::trim)
}

/// A header name as [`Headers`] are asked for it: its text, lower case, the server's name for
/// it, made at compile time (a lookup in the server's map by text parses and lower-cases the
/// name first, each time), and its place in [`names::ALL`] (where [`Head`] keeps its values).
pub struct Name {
    text: &'static str,
    header: hyper::header::HeaderName,
    slot: usize,
}

impl Name {
    /// `text` must be a valid header name in lower case (checked at compile time); `slot` its
    /// index in [`names::ALL`] (checked by a test).
    const fn new(text: &'static str, slot: usize) -> Name {
        Name {
            text,
            header: hyper::header::HeaderName::from_static(text),
            slot,
        }
    }
}

/// The names this module, [`crate::net`] and [`crate::request`] read.
pub mod names {
    use super::Name;

    /// Each name, its slot and text once: the statics, [`ALL`] and [`slot_of`] from one list.
    macro_rules! names {
        ($($slot:literal $name:ident $text:literal,)*) => {
            $(pub static $name: Name = Name::new($text, $slot);)*
            pub const COUNT: usize = [$($slot),*].len();
            /// Every name above, each at its slot.
            pub static ALL: [&Name; COUNT] = [$(&$name),*];
            /// The slot of a name as the server's map holds it (lower case): compared as text
            /// of a known length, not name by name against the statics.
            pub(super) fn slot_of(text: &str) -> Option<usize> {
                match text {
                    $($text => Some($slot),)*
                    _ => None,
                }
            }
        };
    }

    names! {
        0 USER_AGENT "user-agent",
        1 COOKIE "cookie",
        2 X_DCMGUID "x-dcmguid",
        3 X_UP_SUBNO "x-up-subno",
        4 X_JPHONE_UID "x-jphone-uid",
        5 X_JPHONE_MSNAME "x-jphone-msname",
        6 X_JPHONE_DISPLAY "x-jphone-display",
        7 X_UP_DEVCAP_MAX_PDU "x-up-devcap-max-pdu",
        8 X_UP_DEVCAP_SCREENCHARS "x-up-devcap-screenchars",
        9 X_FORWARDED_PROTO "x-forwarded-proto",
    }
}

/// A request's headers as this module and [`crate::net`] read them; a value that is not
/// visible ASCII is not ours to read and counts as absent.
pub trait Headers {
    /// The first readable value of `name`.
    fn first(&self, name: &Name) -> Option<&str>;
    /// The last readable value of `name`.
    fn last(&self, name: &Name) -> Option<&str>;
}

/// (name, value) pairs, names compared case-insensitively.
impl Headers for [(&str, &str)] {
    fn first(&self, name: &Name) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.text))
            .map(|(_, v)| *v)
    }

    fn last(&self, name: &Name) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.text))
            .map(|(_, v)| *v)
    }
}

/// The server's header map, read in place.
impl Headers for hyper::HeaderMap {
    fn first(&self, name: &Name) -> Option<&str> {
        self.get_all(&name.header)
            .iter()
            .find_map(|v| v.to_str().ok())
    }

    fn last(&self, name: &Name) -> Option<&str> {
        self.get_all(&name.header)
            .iter()
            .rev()
            .find_map(|v| v.to_str().ok())
    }
}

/// The values of every name in [`names::ALL`] a request carries, found in one pass over its
/// header map: a phone sends a few headers, and one walk over them costs less than a hashed
/// lookup per name the head is asked for. Borrowed from the map, nothing copied; a name sent
/// more than once (rare: a split Cookie, a proxy's second X-Forwarded-Proto) is asked of the map
/// for its other values.
pub struct Head<'a> {
    map: &'a hyper::HeaderMap,
    first: [Option<&'a str>; names::COUNT],
    repeated: [bool; names::COUNT],
}

impl<'a> Head<'a> {
    #[inline]
    pub fn read(map: &'a hyper::HeaderMap) -> Head<'a> {
        let mut head = Head {
            map,
            first: [None; names::COUNT],
            repeated: [false; names::COUNT],
        };
        for (name, value) in map {
            let Some(slot) = names::slot_of(name.as_str()) else {
                continue;
            };
            if head.first[slot].is_some() {
                head.repeated[slot] = true;
            } else {
                head.first[slot] = value.to_str().ok();
            }
        }
        head
    }

    /// Every readable value of `name`, in order.
    pub fn all(&self, name: &Name) -> impl Iterator<Item = &'a str> {
        let (one, all) = if self.repeated[name.slot] {
            (None, Some(self.map.get_all(&name.header).iter()))
        } else {
            (self.first[name.slot], None)
        };
        one.into_iter()
            .chain(all.into_iter().flatten().filter_map(|v| v.to_str().ok()))
    }
}

impl Headers for Head<'_> {
    fn first(&self, name: &Name) -> Option<&str> {
        if self.repeated[name.slot] {
            return self.map.first(name);
        }
        self.first[name.slot]
    }

    fn last(&self, name: &Name) -> Option<&str> {
        if self.repeated[name.slot] {
            return self.map.last(name);
        }
        self.first[name.slot]
    }
}

/// A handset's model name: held in place when short (every real model is), so detecting a
/// handset allocates nothing; on the heap otherwise. Reads as a `&str`.
#[derive(Clone, PartialEq, Eq)]
pub struct Model(ModelText);

#[derive(Clone, PartialEq, Eq)]
enum ModelText {
    Inline { len: u8, bytes: [u8; INLINE_MODEL] },
    Heap(Box<str>),
}

/// Longest model name held in place (real ones are 4 to 12 characters).
const INLINE_MODEL: usize = 22;

impl Model {
    pub fn new(name: &str) -> Model {
        if name.len() > INLINE_MODEL {
            return Model(ModelText::Heap(name.into()));
        }
        let mut bytes = [0u8; INLINE_MODEL];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Model(ModelText::Inline {
            len: name.len() as u8,
            bytes,
        })
    }

    /// Held in place: a clone allocates nothing.
    fn is_inline(&self) -> bool {
        matches!(self.0, ModelText::Inline { .. })
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            // A whole `&str` was copied in: always valid UTF-8.
            ModelText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            ModelText::Heap(s) => s,
        }
    }
}

impl std::ops::Deref for Model {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The subscriber/terminal ID the request claims, if any, regardless of trust:
/// docomo: X-DCMGUID (7 alphanumerics; ignore otherwise); au: X-UP-SUBNO; softbank:
/// X-JPHONE-UID (ignore the "NULLGWDOCOMO"-style placeholders and values starting with
/// "NULL"); others: None.
pub fn claimed_subscriber_id(handset: &Handset, headers: &[(&str, &str)]) -> Option<String> {
    claimed_subscriber_id_in(handset, headers)
}

/// [`claimed_subscriber_id`] on any [`Headers`].
pub fn claimed_subscriber_id_in<H: Headers + ?Sized>(
    handset: &Handset,
    headers: &H,
) -> Option<String> {
    let value = match handset.carrier {
        Carrier::Docomo => header(headers, &names::X_DCMGUID)
            .filter(|v| v.len() == 7 && v.bytes().all(|b| b.is_ascii_alphanumeric()))?,
        Carrier::Au => header(headers, &names::X_UP_SUBNO).filter(|v| plausible_id(v))?,
        Carrier::Softbank => header(headers, &names::X_JPHONE_UID)
            .filter(|v| !v.starts_with("NULL") && plausible_id(v))?,
        Carrier::Willcom | Carrier::None => return None,
    };
    Some(value.to_string())
}

/// Real IDs are short ASCII tokens ("00000000000000_mj.ezweb.ne.jp", "c0123456789abcde");
/// anything else is not an ID, and must not reach logs or the session store.
fn plausible_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

impl Handset {
    /// One line of JSON: {"carrier":..,"model":..,"cookies":true|false,"budget_bytes":..,
    /// "width_chars":..|null,"subscriber_id":..|null}
    pub fn json_line(&self, subscriber_id: Option<&str>) -> String {
        // A struct, not a json! map, so the keys keep this order.
        #[derive(Serialize)]
        struct Line<'a> {
            carrier: Carrier,
            model: Option<&'a str>,
            cookies: bool,
            budget_bytes: usize,
            width_chars: Option<u16>,
            subscriber_id: Option<&'a str>,
        }
        let line = Line {
            carrier: self.carrier,
            model: self.model.as_deref(),
            cookies: self.cookies,
            budget_bytes: self.budget_bytes,
            width_chars: self.width_chars,
            subscriber_id,
        };
        // Serialising plain strings, numbers and bools cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }

    /// A PC or smartphone: the bank's PC/smartphone site serves it, not the phone pages.
    /// Unknown handsets are not counted: they may be phones, and get the phone pages.
    pub fn is_pc_or_smartphone(&self) -> bool {
        self.carrier == Carrier::None
            && matches!(self.generation, Generation::Pc | Generation::Smartphone)
    }

    /// An i-mode HTML 1.0 handset (the 501i series, DoCoMo/1.0 only): no `accesskey`, no
    /// `istyle`, no `tel:` links; those came with i-mode HTML 2.0 (502i). The model list is
    /// the one HTTP::MobileAgent's DoCoMo.pm gives for HTML 1.0: D501i, F501i, N501i, P501i.
    pub fn imode_html1(&self) -> bool {
        self.carrier == Carrier::Docomo
            && self.generation == Generation::Imode1
            && self
                .model
                .as_deref()
                .is_some_and(|m| matches!(m, "D501i" | "F501i" | "N501i" | "P501i"))
    }

    /// i-mode links/forms need `guid=ON` for the phone to send X-DCMGUID (DoCoMo over
    /// plain HTTP only: the gateway never adds it to SSL requests).
    pub fn wants_guid_on(&self, https: bool) -> bool {
        self.carrier == Carrier::Docomo && !https
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The carrier tests' UAs, and a header set for each carrier's extras.
    const UAS: [&str; 12] = [
        "DoCoMo/2.0 P903i(c100;TB;W24H12)",
        "DoCoMo/2.0 P07A3(c500;TB;W24H15)",
        "DoCoMo/1.0/D501i",
        "DoCoMo/1.0/P209is (Google CHTML Proxy/1.0)",
        "DoCoMo/2.0 MST_v_SH2101V(c100)",
        "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0",
        "UP.Browser/3.04-HI13 UP.Link/3.4.4",
        "MOT-V980/80.2F.2E. MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        "SoftBank/1.0/910T/TJ001/SN000000000000000",
        "J-PHONE/4.0/J-SH51/SNJSHA3029293 SH/0001aa Profile/MIDP-1.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
        "",
    ];
    const HEADERS: [(&str, &str); 4] = [
        ("x-up-devcap-max-pdu", "131072"),
        ("x-up-devcap-screenchars", "24,12"),
        ("x-jphone-msname", "V702MO"),
        ("x-jphone-display", "176*220"),
    ];

    #[test]
    fn the_ua_cache_answers_as_detection() {
        let mut cache = UaCache::new();
        for round in 0..3 {
            for ua in UAS {
                for headers in [&[][..], &HEADERS[..]] {
                    for https in [false, true] {
                        let want = detect(ua, headers, https);
                        assert_eq!(cache.detect(ua, headers, https), want, "{ua} {round}");
                        assert_eq!(detect_remembered(ua, headers, https), want, "{ua}");
                    }
                }
                // Surrounding blanks are no part of the key's meaning.
                let padded = format!(" {ua}\t");
                assert_eq!(
                    cache.detect(&padded, &[][..], false),
                    detect(ua, &[], false)
                );
            }
        }
        assert_eq!(cache.len(), UAS.len());
    }

    #[test]
    fn the_ua_cache_stays_small_and_tells_near_uas_apart() {
        let mut cache = UaCache::new();
        assert!(cache.is_empty());
        for n in 0..1_000 {
            let ua = format!("DoCoMo/2.0 P{n}(c{};TB;W24H12)", n % 600);
            assert_eq!(cache.detect(&ua, &[][..], false), detect(&ua, &[], false));
            assert!(cache.len() <= UaCache::CAPACITY);
        }
        assert_eq!(cache.len(), UaCache::CAPACITY);
        // One byte apart: c100 and c500 are different browsers; P903i and P903j different models.
        let near = [
            "DoCoMo/2.0 P903i(c100;TB;W24H12)",
            "DoCoMo/2.0 P903i(c500;TB;W24H12)",
            "DoCoMo/2.0 P903j(c100;TB;W24H12)",
            "DoCoMo/2.0 P903i(c100;TB;W24H12",
            "DoCoMo/2.0 P903i(c100;TB;W24H13)",
        ];
        for _ in 0..2 {
            for ua in near {
                assert_eq!(
                    cache.detect(ua, &[][..], false),
                    detect(ua, &[], false),
                    "{ua}"
                );
            }
        }
        let [a, b, c] = [near[0], near[1], near[2]].map(|ua| cache.detect(ua, &[][..], false));
        assert!(!a.cookies && b.cookies);
        assert_eq!(
            (a.model.as_deref(), c.model.as_deref()),
            (Some("P903i"), Some("P903j"))
        );
    }

    #[test]
    fn long_uas_and_long_models_are_answered_not_kept() {
        let mut cache = UaCache::new();
        let long = format!("Mozilla/5.0 {}", "x".repeat(UaCache::LONGEST));
        assert_eq!(
            cache.detect(&long, &[][..], false),
            detect(&long, &[], false)
        );
        // A model name too long to hold in place would allocate each time it was copied out.
        let long_model = format!("DoCoMo/2.0 P{}(c100)", "9".repeat(INLINE_MODEL));
        let h = cache.detect(&long_model, &[][..], false);
        assert_eq!(h, detect(&long_model, &[], false));
        assert!(!h.model.as_ref().is_some_and(Model::is_inline));
        assert!(cache.is_empty());
    }

    #[test]
    fn every_name_is_at_its_slot() {
        for (i, name) in names::ALL.iter().enumerate() {
            assert_eq!(name.slot, i, "{}", name.text);
            assert_eq!(names::slot_of(name.text), Some(i));
            assert_eq!(name.header.as_str(), name.text);
            assert!(names::ALL[..i].iter().all(|n| n.text != name.text));
        }
        // The server's map holds these as the standard names: they must compare equal.
        assert_eq!(names::USER_AGENT.header, hyper::header::USER_AGENT);
        assert_eq!(names::COOKIE.header, hyper::header::COOKIE);
    }

    /// One pass over the map answers as a lookup per name would, for names sent once, twice
    /// (the first value readable or not) or not at all, whatever else the request sends.
    #[test]
    fn the_head_reads_as_the_map_does() {
        use hyper::header::{HeaderMap, HeaderName, HeaderValue};
        let unreadable = HeaderValue::from_bytes(b"\xe3\x81\x82").unwrap();
        let mut maps = vec![HeaderMap::new()];
        let mut map = HeaderMap::new();
        map.append("host", HeaderValue::from_static("127.0.0.1"));
        map.append(
            "user-agent",
            HeaderValue::from_static("DoCoMo/2.0 P903i(c100)"),
        );
        map.append("x-dcmguid", HeaderValue::from_static("abc1234"));
        maps.push(map.clone());
        map.append("cookie", HeaderValue::from_static("a=1"));
        map.append("accept", HeaderValue::from_static("*/*"));
        map.append("cookie", HeaderValue::from_static("sid=x"));
        map.append("x-forwarded-proto", unreadable.clone());
        map.append("x-forwarded-proto", HeaderValue::from_static("https"));
        map.append("x-jphone-msname", unreadable.clone());
        map.append("x-up-subno", HeaderValue::from_static("one"));
        map.append("x-up-subno", unreadable.clone());
        maps.push(map);
        let mut every = HeaderMap::new();
        for (i, name) in names::ALL.iter().enumerate() {
            let header = HeaderName::from_static(name.text);
            every.append(
                header.clone(),
                HeaderValue::from_str(&format!("v{i}")).unwrap(),
            );
            every.append(header, HeaderValue::from_str(&format!("w{i}")).unwrap());
        }
        maps.push(every);
        for map in &maps {
            let head = Head::read(map);
            for name in names::ALL {
                assert_eq!(head.first(name), map.first(name), "{}", name.text);
                assert_eq!(head.last(name), map.last(name), "{}", name.text);
                let want: Vec<&str> = map
                    .get_all(&name.header)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                assert_eq!(head.all(name).collect::<Vec<_>>(), want, "{}", name.text);
            }
        }
    }

    #[test]
    fn cache_size_reads_only_c_numbers() {
        assert_eq!(cache_size("c100"), Some(100));
        assert_eq!(cache_size("c08"), Some(8));
        assert_eq!(cache_size("c500"), Some(500));
        assert_eq!(cache_size("TB"), None);
        assert_eq!(cache_size("c"), None);
        assert_eq!(cache_size("c1x"), None);
        assert_eq!(cache_size("icc0123"), None);
        assert_eq!(cache_size("c99999999999999999999999"), None);
    }

    #[test]
    fn docomo_width_reads_w_of_wnnhnn() {
        assert_eq!(docomo_width("W24H12"), Some(24));
        assert_eq!(docomo_width("W20H10"), Some(20));
        assert_eq!(docomo_width("TB"), None);
        assert_eq!(docomo_width("W24"), None);
        assert_eq!(docomo_width("WxH12"), None);
        assert_eq!(docomo_width("W0H0"), None);
        assert_eq!(docomo_width("W99999H1"), None);
    }

    #[test]
    fn softbank_width_is_pixels_over_twelve() {
        assert_eq!(softbank_width("240*320"), Some(20));
        assert_eq!(softbank_width("120*130"), Some(10));
        assert_eq!(softbank_width("250*320"), Some(20));
        assert_eq!(softbank_width("*320"), None);
        assert_eq!(softbank_width("abc"), None);
        assert_eq!(softbank_width("5*5"), None);
    }

    #[test]
    fn parse_digits_rejects_signs_and_spaces() {
        assert_eq!(parse_digits::<u16>("24"), Some(24));
        assert_eq!(parse_digits::<u16>("+24"), None);
        assert_eq!(parse_digits::<u16>(" 24"), None);
        assert_eq!(parse_digits::<u16>(""), None);
        assert_eq!(parse_digits::<u16>("70000"), None);
    }

    #[test]
    fn docomo_budgets_and_cookies() {
        let h = detect("DoCoMo/2.0 P903i(c100;TB;W24H12)", &[], false);
        assert_eq!(h.model.as_deref(), Some("P903i"));
        assert_eq!(
            (h.budget_bytes, h.cookies, h.width_chars),
            (100 * KB, false, Some(24))
        );
        let h = detect("DoCoMo/2.0 P07A3(c500;TB;W24H15)", &[], false);
        assert_eq!(h.generation, Generation::ImodeBrowser2);
        assert_eq!((h.budget_bytes, h.cookies), (100 * KB, true));
        let h = detect("DoCoMo/1.0/D501i", &[], false);
        assert_eq!((h.generation, h.budget_bytes), (Generation::Imode1, 5120));
        let h = detect("DoCoMo/2.0 P2101V", &[], false);
        assert_eq!((h.generation, h.budget_bytes), (Generation::Imode2, 5120));
        let h = detect("DoCoMo/1.0/P209is (Google CHTML Proxy/1.0)", &[], false);
        assert_eq!(h.model.as_deref(), Some("P209is"));
        let h = detect("DoCoMo/2.0 MST_v_SH2101V(c100)", &[], false);
        assert_eq!(h.model.as_deref(), Some("SH2101V"));
    }

    #[test]
    fn au_uses_max_pdu_and_drops_cookies_over_https() {
        let ua = "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0";
        let h = detect(ua, &[], false);
        assert_eq!((h.budget_bytes, h.cookies), (9 * KB, true));
        let headers = [
            ("x-up-devcap-max-pdu", "131072"),
            ("x-up-devcap-screenchars", "24,12"),
        ];
        let h = detect(ua, &headers, true);
        assert_eq!((h.budget_bytes, h.cookies), (131072, false));
        assert_eq!(h.width_chars, Some(24));
        let h = detect(ua, &[("x-up-devcap-max-pdu", "999999999")], false);
        assert_eq!(h.budget_bytes, MAX_BUDGET);
        let h = detect(ua, &[("x-up-devcap-max-pdu", "lots")], false);
        assert_eq!(h.budget_bytes, 9 * KB);
    }

    #[test]
    fn softbank_msname_and_display_headers() {
        let ua = "MOT-V980/80.2F.2E. MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1";
        let h = detect(ua, &[], false);
        assert_eq!(h.model.as_deref(), Some("V980"));
        let headers = [
            ("x-jphone-msname", "V702MO"),
            ("x-jphone-display", "176*220"),
        ];
        let h = detect(ua, &headers, false);
        assert_eq!(h.model.as_deref(), Some("V702MO"));
        assert_eq!(h.width_chars, Some(14));
    }

    #[test]
    fn odd_inputs_never_panic() {
        let huge = "DoCoMo/2.0 ".to_string() + &"(c".repeat(100_000);
        let odd: Vec<String> = vec![
            String::new(),
            " ".into(),
            "\0\u{1}\u{7f}".into(),
            "DoCoMo/".into(),
            "DoCoMo/2.0 ".into(),
            "DoCoMo/2.0 (".into(),
            "DoCoMo/2.0 X()".into(),
            "DoCoMo/1.0//c/W/H".into(),
            "DoCoMo/1.0/c99999999999999999999999".into(),
            "DoCoMo/2.0 X(c18446744073709551615;W65536H1)".into(),
            "KDDI-".into(),
            "UP.Browser/".into(),
            "UP.Browser/3.04-".into(),
            "J-PHONE/".into(),
            "j-phone/5".into(),
            "J-PHONé/".into(),
            "é".repeat(10),
            "Vodafone/".into(),
            "SoftBank".into(),
            "MOT-".into(),
            "Mozilla/3.0(WILLCOM".into(),
            "Mozilla/3.0(DDIPOCKET;".into(),
            "Mozilla/3.0(WILLCOM;;;".into(),
            "\u{FFFD}\u{FFFD}DoCoMo/2.0 \u{FFFD}(c\u{FFFD})".into(),
            huge,
            "x".repeat(1 << 20),
        ];
        let headers = [
            ("x-up-devcap-max-pdu", "-1"),
            ("x-up-devcap-screenchars", ",,,"),
            ("x-jphone-display", "**"),
            ("x-jphone-msname", ""),
            ("x-dcmguid", "ééééééé"),
        ];
        for ua in &odd {
            for https in [false, true] {
                let h = detect(ua, &headers, https);
                assert_eq!(detect_remembered(ua, &headers[..], https), h);
                assert!(h.budget_bytes >= SMALLEST && h.budget_bytes <= MAX_BUDGET);
                let _ = claimed_subscriber_id(&h, &headers);
                assert!(!h.json_line(None).contains('\n'));
            }
        }
        let h = detect("", &[], false);
        assert_eq!(
            (h.carrier, h.budget_bytes, h.cookies),
            (Carrier::None, 5120, false)
        );
    }

    #[test]
    fn subscriber_ids() {
        let docomo = detect("DoCoMo/2.0 P903i(c100;TB;W24H12)", &[], false);
        assert_eq!(
            claimed_subscriber_id(&docomo, &[("x-dcmguid", "abc1234")]).as_deref(),
            Some("abc1234")
        );
        assert_eq!(
            claimed_subscriber_id(&docomo, &[("x-dcmguid", "abc123")]),
            None
        );
        assert_eq!(
            claimed_subscriber_id(&docomo, &[("x-dcmguid", "abc123-")]),
            None
        );
        assert_eq!(claimed_subscriber_id(&docomo, &[("x-up-subno", "x")]), None);

        let au = detect(
            "KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0",
            &[],
            false,
        );
        let subno = [("x-up-subno", "00000000000000_mj.ezweb.ne.jp")];
        assert_eq!(
            claimed_subscriber_id(&au, &subno).as_deref(),
            Some("00000000000000_mj.ezweb.ne.jp")
        );
        assert_eq!(claimed_subscriber_id(&au, &[("x-up-subno", "")]), None);
        assert_eq!(claimed_subscriber_id(&au, &[("x-up-subno", "a b")]), None);

        let sb = detect("SoftBank/1.0/910T/TJ001/SN000000000000000", &[], false);
        let uid = [("x-jphone-uid", "c0123456789abcde")];
        assert_eq!(
            claimed_subscriber_id(&sb, &uid).as_deref(),
            Some("c0123456789abcde")
        );
        assert_eq!(
            claimed_subscriber_id(&sb, &[("x-jphone-uid", "NULLGWDOCOMO")]),
            None
        );
        assert_eq!(
            claimed_subscriber_id(&sb, &[("x-jphone-uid", "NULL")]),
            None
        );

        let pc = detect("Mozilla/5.0 (Windows NT 10.0; Win64; x64)", &[], false);
        assert_eq!(claimed_subscriber_id(&pc, &uid), None);
    }

    #[test]
    fn json_line_shape() {
        let h = detect("DoCoMo/2.0 P903i(c100;TB;W24H12)", &[], false);
        assert_eq!(
            h.json_line(Some("abc1234")),
            r#"{"carrier":"docomo","model":"P903i","cookies":false,"budget_bytes":102400,"width_chars":24,"subscriber_id":"abc1234"}"#
        );
        let h = detect("Mozilla/5.0 (X11; Linux x86_64)", &[], false);
        assert_eq!(
            h.json_line(None),
            r#"{"carrier":"none","model":null,"cookies":true,"budget_bytes":102400,"width_chars":null,"subscriber_id":null}"#
        );
        let h = detect("DoCoMo/2.0 \"P\\903i(c100)", &[], false);
        let v: serde_json::Value = serde_json::from_str(&h.json_line(None)).unwrap();
        assert_eq!(v["model"], "\"P\\903i");
    }

    #[test]
    fn guid_on_only_for_docomo_over_http() {
        let docomo = detect("DoCoMo/2.0 P903i(c100;TB;W24H12)", &[], false);
        assert!(docomo.wants_guid_on(false));
        assert!(!docomo.wants_guid_on(true));
        let au = detect(
            "KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0",
            &[],
            false,
        );
        assert!(!au.wants_guid_on(false));
    }
}
