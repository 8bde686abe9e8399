//! Table test: real User-Agent strings from the Japanese mobile frameworks' own test data,
//! each checked for carrier, cookies, page budget and (where the UA gives one) model.
//! Every group names the repository and file its UAs come from.

use keitai_gateway::carrier::{detect, Carrier, Generation, UaCache};

const KB: usize = 1024;

/// (user agent, carrier, model, cookies, budget_bytes)
type Row = (&'static str, Carrier, Option<&'static str>, bool, usize);

fn check(rows: &[Row]) {
    let mut failures = Vec::new();
    for &(ua, carrier, model, cookies, budget) in rows {
        let h = detect(ua, &[], false);
        let got = (h.carrier, h.model.as_deref(), h.cookies, h.budget_bytes);
        if got != (carrier, model, cookies, budget) {
            failures.push(format!(
                "{ua:?}\n  want {:?}\n  got  {got:?}",
                (carrier, model, cookies, budget)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

use Carrier::{Au, Docomo, Softbank, Willcom};
const NONE: Carrier = Carrier::None;

// yoshiki/HTTP-MobileAgent t/02_docomo.t (the @Tests table and the __END__ list)
const DOCOMO_HTTP_MOBILEAGENT: &[Row] = &[
    ("DoCoMo/1.0/D501i", Docomo, Some("D501i"), false, 5 * KB),
    (
        "DoCoMo/1.0/D502i/c10",
        Docomo,
        Some("D502i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/D210i/c10",
        Docomo,
        Some("D210i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/SO503i/c10",
        Docomo,
        Some("SO503i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/SH251i/c10",
        Docomo,
        Some("SH251i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/R692i/c10",
        Docomo,
        Some("R692i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/2.0 P2101V(c100)",
        Docomo,
        Some("P2101V"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 N2001(c10)",
        Docomo,
        Some("N2001"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/2.0 N2002(c100)",
        Docomo,
        Some("N2002"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 D2101V(c100)",
        Docomo,
        Some("D2101V"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 MST_v_SH2101V(c100)",
        Docomo,
        Some("SH2101V"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 T2101V(c100)",
        Docomo,
        Some("T2101V"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/1.0/D504i/c30/TD",
        Docomo,
        Some("D504i"),
        false,
        30 * KB,
    ),
    (
        "DoCoMo/1.0/F671iS/c10/TB",
        Docomo,
        Some("F671iS"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/P503i/c10/serNMABH200331",
        Docomo,
        Some("P503i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/2.0 N2001(c10;ser0123456789abcde;icc01234567890123456789)",
        Docomo,
        Some("N2001"),
        false,
        10 * KB,
    ),
    // PHS "eggy": c300 is capped at i-mode's 100 KB.
    (
        "DoCoMo/1.0/eggy/c300/s32/kPHS-K",
        Docomo,
        Some("eggy"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/1.0/P751v/c100/s64/kPHS-K",
        Docomo,
        Some("P751v"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/1.0/P209is (Google CHTML Proxy/1.0)",
        Docomo,
        Some("P209is"),
        false,
        5 * KB,
    ),
    (
        "DoCoMo/2.0 N2051(c100;TB)",
        Docomo,
        Some("N2051"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/1.0/D505i/c20/TC/W20H10",
        Docomo,
        Some("D505i"),
        false,
        20 * KB,
    ),
    (
        "DoCoMo/1.0/SH505i2/c20/TB/W20H10",
        Docomo,
        Some("SH505i2"),
        false,
        20 * KB,
    ),
    (
        "DoCoMo/1.0/F661i/c10/TB",
        Docomo,
        Some("F661i"),
        false,
        10 * KB,
    ),
    ("DoCoMo/1.0/N209i/c08", Docomo, Some("N209i"), false, 8 * KB),
    ("DoCoMo/1.0/D503i/c5", Docomo, Some("D503i"), false, 5 * KB),
    (
        "DoCoMo/1.0/F503i/c32",
        Docomo,
        Some("F503i"),
        false,
        32 * KB,
    ),
    (
        "DoCoMo/1.0/N504i/c10/TJ/c0",
        Docomo,
        Some("N504i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/ER209i/c15",
        Docomo,
        Some("ER209i"),
        false,
        15 * KB,
    ),
    (
        "DoCoMo/1.0/P502i/c10 (Google CHTML Proxy/1.0)",
        Docomo,
        Some("P502i"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.0/SO502iWM/c10",
        Docomo,
        Some("SO502iWM"),
        false,
        10 * KB,
    ),
    (
        "DoCoMo/1.1/P711m/c10",
        Docomo,
        Some("P711m"),
        false,
        10 * KB,
    ),
    ("DoCoMo/2.0 P2101V", Docomo, Some("P2101V"), false, 5 * KB),
    (
        "DoCoMo/2.0 N2001(c10;ser350200000307969;icc8981100000200188565F)",
        Docomo,
        Some("N2001"),
        false,
        10 * KB,
    ),
    ("DoCoMo/2.0/N502i", Docomo, Some("N502i"), false, 5 * KB),
    (
        "DoCoMo/2.0 SH905i(c100;TB;W24H12)",
        Docomo,
        Some("SH905i"),
        false,
        100 * KB,
    ),
];

// yoshiki/HTTP-MobileAgent t/13_imode_browser.t; charsbar/test-mobileagent
// lib/Test/MobileAgent/Docomo.pm (the c500 = i-mode browser 2.0 handsets)
const DOCOMO_BROWSER2: &[Row] = &[
    (
        "DoCoMo/2.0 SH905i(c100;TB;W24H16)",
        Docomo,
        Some("SH905i"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 P07A3(c500;TB;W24H15)",
        Docomo,
        Some("P07A3"),
        true,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 N06A3(c500;TB;W24H16)",
        Docomo,
        Some("N06A3"),
        true,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 N04A(c100;TB;W24H16)",
        Docomo,
        Some("N04A"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 N08A(c500;TB;W24H16)",
        Docomo,
        Some("N08A"),
        true,
        100 * KB,
    ),
];

// jpmobile/jpmobile spec/rack/jpmobile/mobile_by_ua_spec.rb and docomo_spec.rb
const DOCOMO_JPMOBILE: &[Row] = &[
    (
        "DoCoMo/2.0 SH902i(c100;TB;W24H12)",
        Docomo,
        Some("SH902i"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/1.0/SO506iC/c20/TB/W20H10",
        Docomo,
        Some("SO506iC"),
        false,
        20 * KB,
    ),
    (
        "DoCoMo/2.0 D902i(c100;TB;W23H16;ser999999999999999;icc0000000000000000000f)",
        Docomo,
        Some("D902i"),
        false,
        100 * KB,
    ),
    (
        "DoCoMo/2.0 SH902i(c100;TB;W24H16)",
        Docomo,
        Some("SH902i"),
        false,
        100 * KB,
    ),
];

// yoshiki/HTTP-MobileAgent t/04_ezweb.t (the @Tests table and the __END__ list)
const AU_HTTP_MOBILEAGENT: &[Row] = &[
    (
        "UP.Browser/3.01-HI01 UP.Link/3.4.5.2",
        Au,
        Some("HI01"),
        true,
        7680,
    ),
    (
        "KDDI-TS21 UP.Browser/6.0.2.276 (GUI) MMP/1.1",
        Au,
        Some("TS21"),
        true,
        9 * KB,
    ),
    (
        "UP.Browser/3.04-TS14 UP.Link/3.4.4 (Google WAP Proxy/1.0)",
        Au,
        Some("TS14"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.04-TST4 UP.Link/3.4.5.6",
        Au,
        Some("TST4"),
        true,
        7680,
    ),
    (
        "KDDI-KCU1 UP.Browser/6.2.0.5.1 (GUI) MMP/2.0",
        Au,
        Some("KCU1"),
        true,
        9 * KB,
    ),
    (
        "KDDI-SN31 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0",
        Au,
        Some("SN31"),
        true,
        9 * KB,
    ),
    (
        "KDDI-CA3F UP.Browser/6.2_7.2.7.1.K.4.306 (GUI) MMP/2.0",
        Au,
        Some("CA3F"),
        true,
        9 * KB,
    ),
    (
        "KDDI-KC42 UP.Browser/6.2_7.2.7.1.K.6.210 (GUI) MMP/2.0",
        Au,
        Some("KC42"),
        true,
        9 * KB,
    ),
    (
        "KDDI-KC46 UP.Browser/6.2_7.2.7.1.K.7.108 (GUI) MMP/2.0",
        Au,
        Some("KC46"),
        true,
        9 * KB,
    ),
    (
        "KDDI-CA21 UP.Browser/6.0.6 (GUI) MMP/1.1",
        Au,
        Some("CA21"),
        true,
        9 * KB,
    ),
    (
        "KDDI-HI21 UP.Browser/6.0.2.213 (GUI) MMP/1.1",
        Au,
        Some("HI21"),
        true,
        9 * KB,
    ),
    (
        "KDDI-MA21 UP.Browser/6.0.7 (GUI) MMP/1.1",
        Au,
        Some("MA21"),
        true,
        9 * KB,
    ),
    (
        "KDDI-SA22 UP.Browser/6.0.7.2 (GUI) MMP/1.1",
        Au,
        Some("SA22"),
        true,
        9 * KB,
    ),
    (
        "KDDI-TS2A UP.Browser/6.2.0.9 (GUI) MMP/2.0",
        Au,
        Some("TS2A"),
        true,
        9 * KB,
    ),
    (
        "UP.Browser/3.04-HI13 UP.Link/3.4.4",
        Au,
        Some("HI13"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.03-HI11 UP.Link/3.2.2.7c",
        Au,
        Some("HI11"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.04-KCT9 UP.Link/3.4.4",
        Au,
        Some("KCT9"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.04-SN17 UP.Link/3.4.4",
        Au,
        Some("SN17"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.04-MAI2 UP.Link/3.2.2.7c",
        Au,
        Some("MAI2"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.1-NT95 UP.Link/3.2",
        Au,
        Some("NT95"),
        true,
        7680,
    ),
    (
        "UP.Browser/3.2.9.1-SA12 UP.Link/3.2",
        Au,
        Some("SA12"),
        true,
        7680,
    ),
];

// jpmobile/jpmobile spec/rack/jpmobile/au_spec.rb and mobile_by_ua_spec.rb
const AU_JPMOBILE: &[Row] = &[
    (
        "KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0",
        Au,
        Some("CA32"),
        true,
        9 * KB,
    ),
    (
        "UP.Browser/3.04-KCTA UP.Link/3.4.5.9",
        Au,
        Some("KCTA"),
        true,
        7680,
    ),
    (
        "KDDI-SN26 UP.Browser/6.2.0.6.2 (GUI) MMP/2.0",
        Au,
        Some("SN26"),
        true,
        9 * KB,
    ),
    (
        "KDDI-CA33 UP.Browser/6.2.0.10.4 (GUI) MMP/2.0",
        Au,
        Some("CA33"),
        true,
        9 * KB,
    ),
];

// yoshiki/HTTP-MobileAgent t/03_j_phone.t (the @Tests table and the __END__ list).
// Types as its Vodafone.pm: 1.x-3.x = C (6 KB), 4.x = P (12 KB), 5.x = W (48 KB).
// Cookies: none for any J-PHONE, as jpmobile decided it while it still had a `Jphone` class
// (jpmobile/jpmobile lib/jpmobile/mobile/softbank.rb: `class Jphone < Vodafone`,
// USER_AGENT_REGEXP /^(J-PHONE|J-EMULATOR)/, `supports_cookie?` false; `Vodafone`
// /^(Vodafone|Vemulator)/ and `Softbank` /^(?:SoftBank|Semulator)/ true). The session ID
// rides in the URL on these handsets.
const JPHONE_HTTP_MOBILEAGENT: &[Row] = &[
    ("J-PHONE/2.0/J-DN02", Softbank, Some("J-DN02"), false, 6 * KB),
    ("J-PHONE/3.0/J-PE03_a", Softbank, Some("J-PE03_a"), false, 6 * KB),
    (
        "J-PHONE/4.0/J-SH51/SNJSHA3029293 SH/0001aa Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        Softbank,
        Some("J-SH51"),
        false,
        12 * KB,
    ),
    ("J-PHONE/5.0/V801SA", Softbank, Some("V801SA"), false, 48 * KB),
    (
        "J-Phone/5.0/J-SH03 (compatible; Mozilla 4.0; MSIE 5.5; YahooSeeker)",
        Softbank,
        Some("J-SH03"),
        false,
        48 * KB,
    ),
    ("J-PHONE/1.0", Softbank, None, false, 6 * KB),
    ("J-PHONE/2.0/J-SH04", Softbank, Some("J-SH04"), false, 6 * KB),
    ("J-PHONE/3.0/J-SH04", Softbank, Some("J-SH04"), false, 6 * KB),
    ("J-PHONE/3.0/J-T07", Softbank, Some("J-T07"), false, 6 * KB),
    ("J-PHONE/3.0/J-SA04_a", Softbank, Some("J-SA04_a"), false, 6 * KB),
    (
        "J-PHONE/4.0/J-K51/SNJKWA3001061 KW/1.00 Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        Softbank,
        Some("J-K51"),
        false,
        12 * KB,
    ),
    (
        "J-PHONE/4.0/J-P51/SNJMAA1036146 MA/JDP51A36 Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        Softbank,
        Some("J-P51"),
        false,
        12 * KB,
    ),
    (
        "J-PHONE/4.0/J-SH51 SH/0001aa Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        Softbank,
        Some("J-SH51"),
        false,
        12 * KB,
    ),
    (
        "J-PHONE/4.0/J-T51/SNJTSA1077171 TS/1.00 Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        Softbank,
        Some("J-T51"),
        false,
        12 * KB,
    ),
    (
        "J-PHONE/4.0/J-SH51_a/SNJSHA1045575 SH/0001aa Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
        Softbank,
        Some("J-SH51_a"),
        false,
        12 * KB,
    ),
];

// yoshiki/HTTP-MobileAgent t/09_vodafone_3gc.t and t/10_softbank.t;
// charsbar/test-mobileagent lib/Test/MobileAgent/Vodafone.pm (MOT-C980) and
// lib/Test/MobileAgent/Softbank.pm. All 3G: 300 KB, cookies kept (jpmobile's `Vodafone` and
// `Softbank` classes: `supports_cookie?` true).
const SOFTBANK_3G_HTTP_MOBILEAGENT: &[Row] = &[
    (
        "Vodafone/1.0/V802SE/SEJ001/SNXXXXXXXXX Browser/SEMC-Browser/4.1 Profile/MIDP-2.0 Configuration/CLDC-1.10",
        Softbank,
        Some("V802SE"),
        true,
        300 * KB,
    ),
    (
        "MOT-V980/80.2B.04I MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("V980"),
        true,
        300 * KB,
    ),
    (
        "Vodafone/1.0/V702NK/NKJ001 Series60/2.6 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("V702NK"),
        true,
        300 * KB,
    ),
    (
        "Vodafone/1.0/V902SH/SHJ001/SN999999999999999 Browser/UP.Browser/7.0.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1 Ext-J-Profile/JSCL-1.2.2 Ext-V-Profile/VSCL-2.0.0",
        Softbank,
        Some("V902SH"),
        true,
        300 * KB,
    ),
    (
        "MOT-V980/80.2F.2E. MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("V980"),
        true,
        300 * KB,
    ),
    (
        "MOT-C980/80.2F.2E. MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("C980"),
        true,
        300 * KB,
    ),
    (
        "SoftBank/1.0/910T/TJ001/SNXXXXXXXXX Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("910T"),
        true,
        300 * KB,
    ),
    (
        "SoftBank/1.0/910T/TJ001 Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("910T"),
        true,
        300 * KB,
    ),
    (
        "SoftBank/1.0/941SH/SHJ001 Browser/NetFront/3.5 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("941SH"),
        true,
        300 * KB,
    ),
    (
        "SoftBank/1.0/705NK/NKJ001 Series60/3.0 NokiaN73/X.XX.XX Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("705NK"),
        true,
        300 * KB,
    ),
    (
        "SoftBank/1.0/DM004SH/SHJ001 Browser/NetFront/3.5 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("DM004SH"),
        true,
        300 * KB,
    ),
    (
        "Vodafone/1.0/V804NK/NKJ001 Series60/3.0 NokiaN71/X.XXXX Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("V804NK"),
        true,
        300 * KB,
    ),
    (
        "Vodafone/1.0/V703SHf/SHJ001 Browser/UP.Browser/7.0.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1 Ext-J-Profile/JSCL-1.2.2 Ext-V-Profile/VSCL-2.0.0",
        Softbank,
        Some("V703SHf"),
        true,
        300 * KB,
    ),
];

// jpmobile/jpmobile spec/rack/jpmobile/softbank_spec.rb and mobile_by_ua_spec.rb
const SOFTBANK_JPMOBILE: &[Row] = &[
    (
        "SoftBank/1.0/910T/TJ001/SN000000000000000 Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        Softbank,
        Some("910T"),
        true,
        300 * KB,
    ),
    (
        "Vodafone/1.0/V903SH/SHJ001/SN000000000000000 Browser/UP.Browser/7.0.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1 Ext-J-Profile/JSCL-1.2.2 Ext-V-Profile/VSCL-2.0.0",
        Softbank,
        Some("V903SH"),
        true,
        300 * KB,
    ),
    (
        "Vodafone/1.0/V903T/TJ001 Browser/VF-Browser/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 Ext-J-Profile/JSCL-1.2.2 Ext-V-Profile/VSCL-2.0.0",
        Softbank,
        Some("V903T"),
        true,
        300 * KB,
    ),
    // SoftBank's PC emulator.
    ("Semulator", Softbank, None, true, 300 * KB),
];

// yoshiki/HTTP-MobileAgent t/07_airh.t; jpmobile/jpmobile spec/rack/jpmobile/willcom_spec.rb
const WILLCOM_ROWS: &[Row] = &[
    (
        "Mozilla/3.0(DDIPOCKET;JRC/AH-J3001V,AH-J3002V/1.0/0100/c50)CNF/2.0",
        Willcom,
        Some("AH-J3001V,AH-J3002V"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(DDIPOCKET;KYOCERA/AH-K3001V/1.4.1.67.000000/0.1/C100) Opera 7.0",
        Willcom,
        Some("AH-K3001V"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(WILLCOM;KYOCERA/WX300K/1;1.0.2.8.000000/0.1/C100) Opera/7.0",
        Willcom,
        Some("WX300K"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(WILLCOM;SANYO/WX310SA/2;1/1/C128) NetFront/3.3",
        Willcom,
        Some("WX310SA"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(WILLCOM;KES/WS009KEplus/2;0001;1/1/C128) NetFront/3.3",
        Willcom,
        Some("WS009KEplus"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(WILLCOM;KES/WS009KE/2;3/1/C128) NetFront/3.3",
        Willcom,
        Some("WS009KE"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(WILLCOM;KYOCERA/WX310K/2;1.2.14.17.000000/0.1/C100) Opera 7.0",
        Willcom,
        Some("WX310K"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(WILLCOM;KYOCERA/WX310K/2;1.2.2.16.000000/0.1/C100) Opera 7.0",
        Willcom,
        Some("WX310K"),
        true,
        96 * KB,
    ),
    (
        "Mozilla/3.0(DDIPOCKET;KYOCERA/AH-K3001V/1.8.2.71.000000/0.1/C100) Opera 7.0",
        Willcom,
        Some("AH-K3001V"),
        true,
        96 * KB,
    ),
];

// jpmobile/jpmobile spec/rack/jpmobile/mobile_by_ua_spec.rb (iPhone, Android, Windows
// Phone, BlackBerry, iPad, Android tablets): carrier none, cookies, 100 KB.
const SMARTPHONES: &[Row] = &[
    (
        "Mozilla/5.0 (iPhone; U; CPU iPhone OS 3_0 like Mac OS X; ja-jp) AppleWebKit/528.18 (KHTML, like Gecko) Version/4.0 Mobile/7A341 Safari/528.16",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 1.6; ja-jp; SonyEriccsonSO-01B Build/R1EA018) AppleWebKit/528.5+ (KHTML, like Gecko) Version/3.1.2 Mobile Safari/525.20.1",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (Compatible; MSIE 6.0; Windows NT 5.1 T-01A_6.5; Windows Phone 6.5)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "BlackBerry9000/4.6.0.224 Profile/MIDP-2.0 Configuration/CLDC-1.1 VendorID/220",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/5.0 (iPad; U; CPU OS 4_3 like Mac OS X; ja-jp) AppleWebKit/533.17.9 (KHTML, like Gecko) Version/5.0.2 Mobile/8F191 Safari/6533.18.5",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 2.2; ja-jp; SC-01C Build/FROYO) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/5.0 (Linux; U; Android 3.2; ja-jp; Sony Tablet S Build/THMAS11002) AppleWebKit/534.13 (KHTML, like Gecko) Version/4.0 Safari/534.13",
        NONE,
        None,
        true,
        100 * KB,
    ),
];

// yoshiki/HTTP-MobileAgent t/06_nonmobile.t: PCs (and PDAs) are carrier none, 100 KB.
const PCS: &[Row] = &[
    (
        "Mozilla/2.0 (compatible; MSIE 3.02; Windows CE; 240x320)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    ("Mozilla/3.0 (Win95; I)", NONE, None, true, 100 * KB),
    (
        "Mozilla/3.01Gold (Macintosh; I; 68K)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/3.0 (DreamPassport/3.0)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/3.0 (Windows 2000; U) Opera 6.05  [ja]",
        NONE,
        None,
        true,
        100 * KB,
    ),
    ("Mozilla/4.0", NONE, None, true, 100 * KB),
    ("Mozilla/4.0 (compatible", NONE, None, true, 100 * KB),
    (
        "Mozilla/4.0 (compatible; MSIE 4.01; Windows 98)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 5.0; Linux 2.2.18-0vl4.2 i686) Opera 6.0  [en]",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 5.2; Mac_PowerPC) OmniWeb/4.1.1-v424.6",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 5.01; Windows NT 5.0; .NET CLR 1.0.3705)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (PDA; SL-A300/1.0,Embedix/Qtopia/1.1.0) NetFront/3.0",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 5.5; Windows 98; Win 9x 4.90)",
        NONE,
        None,
        true,
        100 * KB,
    ),
    (
        "Mozilla/4.0 (compatible; MSIE 5.0; Mac_PowerPC)",
        NONE,
        None,
        true,
        100 * KB,
    ),
];

// Not recognised as a carrier, smartphone or PC: treated as an unknown phone, carrier
// none, smallest budget, no cookies.
// emobile and Googlebot: jpmobile/jpmobile spec/rack/jpmobile/mobile_by_ua_spec.rb;
// Nokia6820 (Googlebot-Mobile): yoshiki/HTTP-MobileAgent t/09_vodafone_3gc.t.
const UNKNOWN: &[Row] = &[
    ("emobile/1.0.0 (H11T; like Gecko; Wireless) NetFront/3.4", NONE, None, false, 5120),
    ("Googlebot", NONE, None, false, 5120),
    (
        "Nokia6820/2.0 (4.83) Profile/MIDP-1.0 Configuration/CLDC-1.0 (compatible; Googlebot-Mobile/2.1; +http://www.google.com/bot.html)",
        NONE,
        None,
        false,
        5120,
    ),
];

const ALL: &[&[Row]] = &[
    DOCOMO_HTTP_MOBILEAGENT,
    DOCOMO_BROWSER2,
    DOCOMO_JPMOBILE,
    AU_HTTP_MOBILEAGENT,
    AU_JPMOBILE,
    JPHONE_HTTP_MOBILEAGENT,
    SOFTBANK_3G_HTTP_MOBILEAGENT,
    SOFTBANK_JPMOBILE,
    WILLCOM_ROWS,
    SMARTPHONES,
    PCS,
    UNKNOWN,
];

#[test]
fn table_has_enough_real_rows() {
    let rows: usize = ALL.iter().map(|g| g.len()).sum();
    assert!(rows >= 110, "only {rows} rows");
}

/// The server remembers each thread's last few UAs' answers: every row answers the same through
/// the cache, when first seen and when found there, with and without the carriers' headers and
/// over TLS or not (au's and SoftBank's headers are read per request, never remembered).
#[test]
fn remembered_detection_answers_as_detection() {
    let header_sets: [&[(&str, &str)]; 2] = [
        &[],
        &[
            ("x-up-devcap-max-pdu", "131072"),
            ("x-up-devcap-screenchars", "24,12"),
            ("x-jphone-msname", "V702MO"),
            ("x-jphone-display", "240*320"),
        ],
    ];
    let mut cache = UaCache::new();
    let mut failures = Vec::new();
    for &(ua, ..) in ALL.iter().copied().flatten() {
        for headers in header_sets {
            for https in [false, true] {
                let want = detect(ua, headers, https);
                for seen in ["new", "kept"] {
                    let got = cache.detect(ua, headers, https);
                    if got != want {
                        failures.push(format!("{ua:?} ({seen})\n  want {want:?}\n  got  {got:?}"));
                    }
                }
            }
        }
        assert!(cache.len() <= UaCache::CAPACITY);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docomo_rows() {
    check(DOCOMO_HTTP_MOBILEAGENT);
    check(DOCOMO_BROWSER2);
    check(DOCOMO_JPMOBILE);
}

#[test]
fn au_rows() {
    check(AU_HTTP_MOBILEAGENT);
    check(AU_JPMOBILE);
}

#[test]
fn softbank_rows() {
    check(JPHONE_HTTP_MOBILEAGENT);
    check(SOFTBANK_3G_HTTP_MOBILEAGENT);
    check(SOFTBANK_JPMOBILE);
}

#[test]
fn willcom_rows() {
    check(WILLCOM_ROWS);
}

#[test]
fn smartphone_pc_and_unknown_rows() {
    check(SMARTPHONES);
    check(PCS);
    check(UNKNOWN);
}

#[test]
fn generations() {
    let cases = [
        ("DoCoMo/1.0/D501i", Generation::Imode1),
        ("DoCoMo/2.0 P2101V(c100)", Generation::Imode2),
        ("DoCoMo/2.0 P07A3(c500;TB;W24H15)", Generation::ImodeBrowser2),
        ("UP.Browser/3.04-HI13 UP.Link/3.4.4", Generation::UpBrowser3),
        ("KDDI-CA32 UP.Browser/6.2.0.7.3.129 (GUI) MMP/2.0", Generation::UpBrowser6),
        ("J-PHONE/2.0/J-DN02", Generation::JphoneC),
        ("J-PHONE/3.0/J-PE03_a", Generation::JphoneC),
        (
            "J-PHONE/4.0/J-SH51 SH/0001aa Profile/MIDP-1.0 Configuration/CLDC-1.0 Ext-Profile/JSCL-1.1.0",
            Generation::JphoneP,
        ),
        ("J-PHONE/5.0/V801SA", Generation::JphoneW),
        (
            "MOT-V980/80.2F.2E. MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
            Generation::Softbank3g,
        ),
        (
            "Mozilla/3.0(WILLCOM;KYOCERA/WX310K/2;1.2.2.16.000000/0.1/C100) Opera 7.0",
            Generation::Willcom,
        ),
        (
            "Mozilla/5.0 (iPhone; U; CPU iPhone OS 3_0 like Mac OS X; ja-jp) AppleWebKit/528.18 (KHTML, like Gecko) Version/4.0 Mobile/7A341 Safari/528.16",
            Generation::Smartphone,
        ),
        ("Mozilla/4.0 (compatible; MSIE 5.5; Windows NT 5.0)", Generation::Pc),
    ];
    for (ua, generation) in cases {
        assert_eq!(detect(ua, &[], false).generation, generation, "{ua}");
    }
}

// Header-dependent rows: the headers are the ones the same spec files send.
#[test]
fn rows_with_headers() {
    // jpmobile/jpmobile spec/rack/jpmobile/softbank_spec.rb: X-JPHONE-DISPLAY 240*320.
    let h = detect(
        "Vodafone/1.0/V903T/TJ001 Browser/VF-Browser/1.0 Profile/MIDP-2.0 Configuration/CLDC-1.1 Ext-J-Profile/JSCL-1.2.2 Ext-V-Profile/VSCL-2.0.0",
        &[("x-jphone-display", "240*320"), ("x-jphone-color", "C262144")],
        false,
    );
    assert_eq!((h.carrier, h.width_chars), (Softbank, Some(20)));

    // yoshiki/HTTP-MobileAgent t/09_vodafone_3gc.t sends X-JPHONE-MSNAME with the model.
    let h = detect(
        "MOT-V980/80.2F.2E. MIB/2.2.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
        &[("x-jphone-msname", "V702MO")],
        false,
    );
    assert_eq!(h.model.as_deref(), Some("V702MO"));

    // jpmobile/jpmobile spec/rack/jpmobile/au_spec.rb, with the WAP2.0 devcap headers.
    let ua = "KDDI-CA33 UP.Browser/6.2.0.10.4 (GUI) MMP/2.0";
    let headers = [
        ("x-up-devcap-screenpixels", "240,346"),
        ("x-up-devcap-screenchars", "24,12"),
        ("x-up-devcap-max-pdu", "131072"),
    ];
    let h = detect(ua, &headers, false);
    assert_eq!(
        (h.budget_bytes, h.width_chars, h.cookies),
        (131072, Some(24), true)
    );
    // au drops cookies over TLS.
    assert!(!detect(ua, &headers, true).cookies);

    // DoCoMo width from W24H12 (jpmobile mobile_by_ua_spec.rb).
    let h = detect("DoCoMo/2.0 SH902i(c100;TB;W24H12)", &[], false);
    assert_eq!(h.width_chars, Some(24));
    let h = detect("DoCoMo/1.0/D505i/c20/TC/W20H10", &[], false);
    assert_eq!(h.width_chars, Some(20));
    let h = detect("DoCoMo/1.0/F504i/c10/TB", &[], false);
    assert_eq!(h.width_chars, None);
}
