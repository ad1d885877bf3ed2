//! Python's text rules that clients can observe: what `str.isspace()` counts as whitespace,
//! what `int()` accepts, how `quote_plus` encodes, the type names `json.loads` values get,
//! and the codecs a `charset` parameter may name.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::borrow::Cow;

use serde_json::Value;

/// Whether Python's `str.isspace()` holds for `c`: Unicode White_Space plus the ASCII
/// information separators U+001C..U+001F. `str.strip()`, `str.split()` and `int()` use it.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Parses an integer the way Python's `int()` does for text: surrounding whitespace, an
/// optional sign, digits with single underscores between them. Saturates beyond `i64`.
pub fn python_int(text: &str) -> Option<i64> {
    python_int_wide(text)
        .map(|n| i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX }))
}

/// [`python_int`] over 128 bits (saturating beyond), for page arithmetic on huge offsets.
pub fn python_int_wide(text: &str) -> Option<i128> {
    let t = text.trim_matches(is_python_space);
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut value: i128 = 0;
    for c in digits.chars().filter(|c| *c != '_') {
        let d = i128::from(decimal_digit(c)?);
        value = value.saturating_mul(10).saturating_add(d);
    }
    Some(if negative { -value } else { value })
}

/// The first code point of each run of ten decimal digits (Unicode category Nd) that
/// Python's `int()` reads, besides ASCII: Arabic-Indic, Devanagari, Thai, fullwidth, ...
const DIGIT_ZEROS: [u32; 46] = [
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC,
];

/// The value of a decimal digit in any script Python's `int()` accepts.
fn decimal_digit(c: char) -> Option<u32> {
    if let Some(d) = c.to_digit(10) {
        return Some(d);
    }
    let code = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|zero| (**zero..**zero + 10).contains(&code))
        .map(|zero| code - zero)
}

/// Python's name for the type `json.loads` gives a value (DRF's messages quote it).
pub fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.to_string().contains(['.', 'e', 'E']) => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The Python codecs a `charset` may name that the gateway decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// `utf-8`.
    Utf8,
    /// `latin-1`: each byte is the code point of the same value.
    Latin1,
    /// `ascii`.
    Ascii,
}

impl Codec {
    /// `codecs.lookup(label)` for the codecs above, after Python's name normalisation
    /// (`encodings.normalize_encoding`: lower case; runs of characters other than letters,
    /// digits and `.` become one `_`; non-ASCII letters dropped; `.` read as `_`).
    pub fn lookup(label: &str) -> Option<Codec> {
        let mut name = String::with_capacity(label.len());
        let mut punct = false;
        for c in label.to_lowercase().chars() {
            if !(c.is_alphanumeric() || c == '.') {
                punct = true;
                continue;
            }
            if punct && !name.is_empty() {
                name.push('_');
            }
            if c.is_ascii() {
                name.push(if c == '.' { '_' } else { c });
            }
            punct = false;
        }
        match name.as_str() {
            "utf_8" | "utf8" | "u8" | "utf" | "utf8_ucs2" | "utf8_ucs4" | "cp65001" => {
                Some(Codec::Utf8)
            }
            "latin_1" | "latin1" | "latin" | "l1" | "iso8859" | "iso8859_1" | "iso_8859_1"
            | "iso_8859_1_1987" | "iso_ir_100" | "8859" | "cp819" | "csisolatin1" => {
                Some(Codec::Latin1)
            }
            "ascii" | "us_ascii" | "us" | "646" | "ansi_x3_4_1968" | "ansi_x3_4_1986" | "cp367"
            | "csascii" | "ibm367" | "iso646_us" | "iso_646_irv_1991" | "iso_ir_6" => {
                Some(Codec::Ascii)
            }
            _ => None,
        }
    }

    /// `bytes.decode(codec, "replace")`.
    pub fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Codec::Utf8 => String::from_utf8_lossy(bytes),
            Codec::Latin1 => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            Codec::Ascii if bytes.is_ascii() => String::from_utf8_lossy(bytes),
            Codec::Ascii => Cow::Owned(
                bytes
                    .iter()
                    .map(|&b| {
                        if b.is_ascii() {
                            char::from(b)
                        } else {
                            '\u{FFFD}'
                        }
                    })
                    .collect(),
            ),
        }
    }

    /// `urllib.parse.unquote(text, codec, errors="replace")`: `%XX` escapes decoded with
    /// the codec; other characters kept as they are.
    pub fn unquote(self, text: &str) -> String {
        match self {
            // Raw characters are whole UTF-8 sequences, so decoding the escapes together with
            // them gives what Python's run-by-run decoding gives.
            Codec::Utf8 => percent_encoding::percent_decode_str(text)
                .decode_utf8_lossy()
                .into_owned(),
            // One byte is one character: each escape decodes on its own.
            Codec::Latin1 | Codec::Ascii => {
                let mut out = String::with_capacity(text.len());
                let mut rest = text;
                while let Some(at) = rest.find('%') {
                    out.push_str(&rest[..at]);
                    let escape = rest
                        .get(at + 1..at + 3)
                        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                    match escape.and_then(|hex| u8::from_str_radix(hex, 16).ok()) {
                        Some(byte) => {
                            out.push_str(&self.decode(&[byte]));
                            rest = &rest[at + 3..];
                        }
                        None => {
                            out.push('%');
                            rest = &rest[at + 1..];
                        }
                    }
                }
                out.push_str(rest);
                out
            }
        }
    }
}

/// Characters Python's `quote_plus` leaves alone: letters, digits and `_.-~`.
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b' ');

/// Python's `urllib.parse.quote_plus`: UTF-8 percent-encoding with spaces as `+`, as
/// `urlencode` writes query parameters.
pub fn quote_plus(text: &str) -> String {
    utf8_percent_encode(text, QUOTE_PLUS)
        .to_string()
        .replace(' ', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_is_lenient_like_python() {
        assert_eq!(python_int(" +2 "), Some(2));
        assert_eq!(python_int("\u{1f}3\u{a0}"), Some(3));
        assert_eq!(python_int("\u{663}"), Some(3), "Arabic-Indic three");
        assert_eq!(python_int("\u{ff11}\u{ff12}"), Some(12), "fullwidth");
        assert_eq!(
            python_int("\u{b2}"),
            None,
            "superscript two is not a decimal digit"
        );
        assert_eq!(python_int("007"), Some(7));
        assert_eq!(python_int("1_000"), Some(1000));
        assert_eq!(python_int("-3"), Some(-3));
        assert_eq!(python_int("1__0"), None);
        assert_eq!(python_int("_1"), None);
        assert_eq!(python_int("1.5"), None);
        assert_eq!(python_int(""), None);
        assert_eq!(python_int("99999999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn python_type_names() {
        assert_eq!(python_type(&serde_json::json!([1])), "list");
        assert_eq!(python_type(&serde_json::json!("x")), "str");
        assert_eq!(python_type(&serde_json::json!(1)), "int");
        assert_eq!(
            python_type(&serde_json::from_str::<Value>("1.0").unwrap_or_default()),
            "float"
        );
        assert_eq!(python_type(&serde_json::json!(true)), "bool");
    }

    #[test]
    fn codec_names_are_normalised_like_python() {
        assert_eq!(Codec::lookup("UTF-8"), Some(Codec::Utf8));
        assert_eq!(Codec::lookup(" ISO 8859-1 "), Some(Codec::Latin1));
        assert_eq!(Codec::lookup("latin-1"), Some(Codec::Latin1));
        assert_eq!(Codec::lookup("US-ASCII"), Some(Codec::Ascii));
        assert_eq!(Codec::lookup("klingon"), None);
    }

    #[test]
    fn unquote_decodes_escapes_with_the_codec() {
        assert_eq!(Codec::Utf8.unquote("caf%C3%A9%zz%4"), "café%zz%4");
        assert_eq!(Codec::Utf8.unquote("é%C3%A9%C3"), "éé\u{FFFD}");
        assert_eq!(Codec::Latin1.unquote("%E9é%41"), "ééA");
        assert_eq!(Codec::Ascii.unquote("%E9%41"), "\u{FFFD}A");
    }
}
