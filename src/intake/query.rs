//! The query string: decoded pairs (last value wins), DRF's lenient `limit`/`offset`
//! parsing, and the `next`/`previous` links with their parameters re-encoded the way
//! Python's `urlencode` does.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// The decoded query parameters, in the order sent.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes a raw query string (`+` is a space; blank values kept).
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Query { pairs }
    }

    /// Whether the query has no parameters at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The last value given for `name`, as Django's `QueryDict[name]`.
    pub fn last(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every parameter name, once each, in first-seen order.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for (k, _) in &self.pairs {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
        names
    }

    /// This query with `name` set to `value` (or removed), re-encoded: names sorted, repeated
    /// values kept in order, form-encoded like Python's `urlencode(..., doseq=True)`.
    pub fn with(&self, changes: &[(&str, Option<String>)]) -> String {
        let mut names: Vec<&str> = self.names();
        for (name, _) in changes {
            if !names.contains(name) {
                names.push(name);
            }
        }
        names.sort_unstable();
        let mut out = Vec::new();
        for name in names {
            let values: Vec<&str> = match changes.iter().find(|(n, _)| *n == name) {
                Some((_, Some(value))) => vec![value.as_str()],
                Some((_, None)) => continue,
                None => self
                    .pairs
                    .iter()
                    .filter(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
                    .collect(),
            };
            for value in values {
                out.push(format!("{}={}", quote_plus(name), quote_plus(value)));
            }
        }
        out.join("&")
    }
}

/// Characters Python's `quote_plus` leaves alone: letters, digits and `_.-~`.
const QUOTE_PLUS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b' ');

fn quote_plus(text: &str) -> String {
    utf8_percent_encode(text, QUOTE_PLUS)
        .to_string()
        .replace(' ', "+")
}

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

/// DRF's `limit`: a positive integer, else the default; capped by the maximum.
pub fn limit(query: &Query, name: &str, default: u64, max: Option<u64>) -> i128 {
    let wanted = query
        .last(name)
        .and_then(python_int_wide)
        .filter(|n| *n > 0)
        .unwrap_or(i128::from(default));
    match max {
        Some(max) => wanted.min(i128::from(max)),
        None => wanted,
    }
}

/// DRF's `offset`: a non-negative integer, else 0.
pub fn offset(query: &Query, name: &str) -> i128 {
    query
        .last(name)
        .and_then(python_int_wide)
        .filter(|n| *n >= 0)
        .unwrap_or(0)
}

/// A page size or offset as the database takes it (beyond 64 bits there are no rows anyway).
pub fn to_sql(n: i128) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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
    fn limit_and_offset_fall_back_like_drf() {
        let q = |s: &str| Query::parse(Some(s));
        assert_eq!(limit(&q("limit=0"), "limit", 10, None), 10);
        assert_eq!(limit(&q("limit=-1"), "limit", 10, None), 10);
        assert_eq!(limit(&q("limit="), "limit", 10, None), 10);
        assert_eq!(limit(&q("limit=x"), "limit", 10, None), 10);
        assert_eq!(limit(&q("limit=+2"), "limit", 10, None), 2);
        assert_eq!(limit(&q("limit=500"), "limit", 10, Some(100)), 100);
        assert_eq!(limit(&q("limit=3&limit=4"), "limit", 10, None), 4);
        assert_eq!(offset(&q("offset=-5"), "offset"), 0);
        assert_eq!(offset(&q("offset=%2012%20"), "offset"), 12);
    }

    #[test]
    fn links_sort_and_encode_like_python() {
        let q = Query::parse(Some("search=a%20b&email=x%40y&limit=2&tag=1&tag=2"));
        assert_eq!(
            q.with(&[("limit", Some("2".into())), ("offset", Some("4".into()))]),
            "email=x%40y&limit=2&offset=4&search=a+b&tag=1&tag=2"
        );
        assert_eq!(
            q.with(&[("offset", None)]),
            "email=x%40y&limit=2&search=a+b&tag=1&tag=2"
        );
        assert_eq!(Query::parse(Some("a=~*'")).with(&[]), "a=~%2A%27");
    }
}
