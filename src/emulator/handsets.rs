//! The handsets the emulator can be: for each, what it sends (User-Agent, the headers its
//! carrier's gateway adds, its subscriber-ID header, whether it sends a Referer). What the
//! gateway makes of it (carrier, generation, cookies, budget, width) is never written here: it
//! comes from [`crate::carrier::detect`], the same code that judges real phones.

use crate::carrier::{self, Carrier, Generation};
use crate::flows::dialect;
use markup::{InputMode, Keypad};
use serde::Serialize;

/// One handset as the emulator sends it.
pub struct Handset {
    pub id: &'static str,
    pub label: &'static str,
    pub user_agent: &'static str,
    /// Headers the carrier's gateway adds to every request of this handset.
    pub headers: &'static [(&'static str, &'static str)],
    /// The subscriber/terminal ID header and a demo value, sent when the switch is on.
    pub subscriber: Option<(&'static str, &'static str)>,
    /// Whether its browser sends a Referer (i-mode browser 1.0 never does).
    pub referer: bool,
    /// Screen width in full-width characters, for handsets whose request does not say it.
    pub screen_chars: u16,
}

/// Every carrier and generation the gateway tells apart, one handset each (two for FOMA:
/// with and without cookies).
pub const HANDSETS: [Handset; 7] = [
    Handset {
        id: "docomo-p903i",
        label: "DoCoMo P903i (FOMA, i-mode browser 1.0)",
        user_agent: "DoCoMo/2.0 P903i(c100;TB;W24H12)",
        headers: &[],
        subscriber: Some(("X-DCMGUID", "EMU903P")),
        referer: false,
        screen_chars: 24,
    },
    Handset {
        id: "docomo-n06a",
        label: "DoCoMo N-06A (i-mode browser 2.0)",
        user_agent: "DoCoMo/2.0 N06A3(c500;TB;W24H16)",
        headers: &[],
        subscriber: Some(("X-DCMGUID", "EMU06AN")),
        // i-mode browser 2.0 added the Referer (and cookies).
        referer: true,
        screen_chars: 24,
    },
    Handset {
        id: "docomo-p503i",
        label: "DoCoMo P503i (mova, i-mode 1.0 era)",
        user_agent: "DoCoMo/1.0/P503i/c10",
        headers: &[],
        subscriber: Some(("X-DCMGUID", "EMU503P")),
        referer: false,
        // 120-dot screen, 12-dot font.
        screen_chars: 10,
    },
    Handset {
        id: "au-sa31",
        label: "au SA31 (WIN, UP.Browser 6)",
        user_agent: "KDDI-SA31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0",
        headers: &[
            ("x-up-devcap-max-pdu", "131072"),
            ("x-up-devcap-screenchars", "20,11"),
            ("x-up-devcap-screenpixels", "240,320"),
        ],
        subscriber: Some(("X-UP-SUBNO", "05001234567890_ma.ezweb.ne.jp")),
        referer: true,
        screen_chars: 20,
    },
    Handset {
        id: "softbank-910t",
        label: "SoftBank 910T (3G)",
        user_agent: "SoftBank/1.0/910T/TJ001/SN123456789012345 Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        headers: &[("x-jphone-msname", "910T"), ("x-jphone-display", "240*320")],
        subscriber: Some(("X-JPHONE-UID", "c0123456789abcde")),
        referer: true,
        screen_chars: 20,
    },
    Handset {
        id: "jphone-sh51",
        label: "J-PHONE J-SH51 (P type)",
        user_agent: "J-PHONE/4.0/J-SH51/SNJSHA3029293 SH/0001aa Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        headers: &[("x-jphone-msname", "J-SH51"), ("x-jphone-display", "120*130")],
        subscriber: Some(("X-JPHONE-UID", "a1b2c3d4e5f6g7h8")),
        referer: true,
        screen_chars: 10,
    },
    Handset {
        id: "willcom-wx310k",
        label: "WILLCOM WX310K (Opera)",
        user_agent: "Mozilla/3.0(WILLCOM;KYOCERA/WX310K/2;1.2.2.16.000000/0.1/C100) Opera 7.0",
        headers: &[],
        subscriber: None,
        referer: true,
        screen_chars: 20,
    },
];

pub fn find(id: &str) -> Option<&'static Handset> {
    HANDSETS.iter().find(|h| h.id == id)
}

/// A pictogram the handset's pages use: the gateway's code point for it, the key it marks and
/// the bytes the carrier reads (hex), from the markup crate's own tables.
#[derive(Debug, Clone, Serialize)]
pub struct Pictogram {
    pub char: char,
    pub key: char,
    pub code: String,
}

/// What the emulator page needs to know about a handset.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub id: &'static str,
    pub label: &'static str,
    pub user_agent: &'static str,
    pub carrier: Carrier,
    pub generation: Generation,
    pub cookies: bool,
    pub budget_bytes: usize,
    pub width_chars: u16,
    /// The input-mode attribute the handset reads: istyle, format, mode, all or none.
    pub input_attr: &'static str,
    /// i-mode HTML 1.0: no accesskey.
    pub accesskeys: bool,
    pub subscriber_header: Option<&'static str>,
    pub referer: bool,
    pub pictograms: Vec<Pictogram>,
}

impl Handset {
    /// The headers as (lower-case name, value), as the gateway reads them.
    pub fn header_pairs(&self) -> Vec<(&'static str, &'static str)> {
        self.headers.to_vec()
    }

    /// What the gateway makes of this handset (over plain HTTP, as the emulator talks).
    pub fn detected(&self) -> carrier::Handset {
        carrier::detect(self.user_agent, &self.header_pairs(), false)
    }

    pub fn keypad(&self) -> Keypad {
        dialect(&self.detected()).0
    }

    pub fn summary(&self) -> Summary {
        let detected = self.detected();
        let (keypad, input) = dialect(&detected);
        Summary {
            id: self.id,
            label: self.label,
            user_agent: self.user_agent,
            carrier: detected.carrier,
            generation: detected.generation,
            cookies: detected.cookies,
            budget_bytes: detected.budget_bytes,
            width_chars: detected.width_chars.unwrap_or(self.screen_chars),
            input_attr: match input {
                InputMode::All => "all",
                InputMode::Istyle => "istyle",
                InputMode::Format => "format",
                InputMode::Mode => "mode",
                InputMode::None => "none",
            },
            accesskeys: !detected.imode_html1(),
            subscriber_header: self.subscriber.map(|(h, _)| h),
            referer: self.referer,
            pictograms: pictograms(keypad),
        }
    }
}

/// The keypad pictograms of `keypad`'s carrier (none for `[1]` text).
pub fn pictograms(keypad: Keypad) -> Vec<Pictogram> {
    "1234567890#"
        .chars()
        .filter_map(|key| {
            let c = keypad.label(key).chars().next()?;
            let bytes = keypad.pictogram_bytes(c)?;
            Some(Pictogram {
                char: c,
                key,
                code: bytes.iter().map(|b| format!("{b:02X}")).collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generation_the_gateway_tells_apart() {
        let g: Vec<Generation> = HANDSETS.iter().map(|h| h.detected().generation).collect();
        for want in [
            Generation::Imode1,
            Generation::Imode2,
            Generation::ImodeBrowser2,
            Generation::UpBrowser6,
            Generation::JphoneP,
            Generation::Softbank3g,
            Generation::Willcom,
        ] {
            assert!(g.contains(&want), "{want:?} missing");
        }
    }

    #[test]
    fn cookie_rules_and_widths_come_from_the_carrier_table() {
        let p903i = find("docomo-p903i").unwrap().summary();
        assert!(!p903i.cookies);
        assert_eq!((p903i.width_chars, p903i.budget_bytes), (24, 100 * 1024));
        assert!(find("docomo-n06a").unwrap().summary().cookies);
        let sa31 = find("au-sa31").unwrap().summary();
        assert!(sa31.cookies);
        assert_eq!(sa31.budget_bytes, 131072, "x-up-devcap-max-pdu");
        assert_eq!(sa31.input_attr, "format");
        assert_eq!(find("softbank-910t").unwrap().summary().width_chars, 20);
        assert_eq!(p903i.pictograms.len(), 11);
        assert_eq!(p903i.pictograms[0].code, "F987");
        assert!(find("willcom-wx310k")
            .unwrap()
            .summary()
            .pictograms
            .is_empty());
    }
}
