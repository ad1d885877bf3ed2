//! Python-exact error text for request bodies that are not valid JSON.
//!
//! The gateway must answer a malformed JSON body exactly like the Django REST
//! Framework app it replaces: `{"detail": "JSON parse error - <message>"}`,
//! where `<message>` is `str(exc)` of the exception raised inside DRF's
//! `JSONParser.parse`. `serde_json` words its errors differently and counts
//! positions in bytes, so this module re-scans the body the way CPython 3.11
//! does and rebuilds that message. DRF's parser does, in order:
//!
//! 1. `codecs.getreader('utf-8')(stream).read()`: a strict UTF-8 decode whose
//!    failure text is CPython's `UnicodeDecodeError` (byte positions). The
//!    reader decodes incrementally and never makes a final call, so an
//!    incomplete sequence at the very end of the body is silently dropped
//!    rather than reported as `unexpected end of data`.
//! 2. `json.loads(text)`: a leading U+FEFF is refused, then the C scanner of
//!    `Modules/_json.c` runs; its `JSONDecodeError` positions count code
//!    points, with 1-based line and column.
//!
//! The scanner below mirrors that C code (which is what `json.loads` really
//! runs; `json/decoder.py` has the same structure but words `Invalid \escape`
//! differently and points it elsewhere). It is iterative, with an explicit
//! stack of open containers, so that deep nesting cannot overflow the thread
//! stack; nesting beyond `MAX_DEPTH` (10,000) yields the text of Python's
//! `RecursionError`.
//!
//! Deliberate limits: the body is always decoded as UTF-8 (a caller honouring a
//! `charset` transcodes first); [`python_json_error`] accepts `NaN`/`Infinity` as
//! plain `json.loads` does ([`parse_error`] adds DRF's strict refusal); CPython's own recursion limit depends on its call stack (about
//! 990 levels for a bare `json.loads`) and its `RecursionError` is not a
//! `ValueError`, so DRF answers 500 there: neither is reproduced.

/// Deepest nesting of arrays and objects accepted before giving up with the
/// text of Python's `RecursionError`.
const MAX_DEPTH: usize = 10_000;

/// CPython's default `sys.get_int_max_str_digits()`: longer integer literals
/// make `int()` raise `ValueError`, which DRF reports like a parse error.
const INT_MAX_STR_DIGITS: usize = 4300;

/// The text DRF puts after `"JSON parse error - "` for a body `serde_json` refused.
///
/// Python also accepts some documents serde does not; of those, DRF's strict JSON refuses
/// the first of `NaN`, `Infinity`, `-Infinity` it meets.
pub fn parse_error(body: &[u8], error: &serde_json::Error) -> String {
    if let Some(message) = python_json_error(body) {
        return message;
    }
    let text = String::from_utf8_lossy(body);
    let first = ["-Infinity", "Infinity", "NaN"]
        .iter()
        .filter_map(|c| text.find(c).map(|at| (at, *c)))
        .min();
    match first {
        Some((_, constant)) => {
            format!("Out of range float values are not JSON compliant: '{constant}'")
        }
        None => error.to_string(),
    }
}

/// Returns `None` when DRF's `JSONParser` (Python 3.11, non-strict constants)
/// would accept `body`, otherwise the text DRF puts after
/// `"JSON parse error - "`.
///
/// `None` includes a body whose only flaw is an incomplete UTF-8 sequence at
/// its very end: DRF drops those bytes and parses the rest.
pub fn python_json_error(body: &[u8]) -> Option<String> {
    let text = match decode_like_codecs_reader(body) {
        Ok(text) => text,
        Err(message) => return Some(message),
    };
    scan_document(text.as_bytes())
        .err()
        .map(|failure| failure.render(text.as_bytes()))
}

/// Decodes `body` like `codecs.getreader('utf-8')(stream).read()`.
///
/// Returns the decoded text (minus any incomplete trailing sequence, which
/// the incremental decoder keeps back and then forgets at end of stream) or
/// the `UnicodeDecodeError` message for the first invalid sequence.
fn decode_like_codecs_reader(body: &[u8]) -> Result<&str, String> {
    let err = match std::str::from_utf8(body) {
        Ok(text) => return Ok(text),
        Err(err) => err,
    };
    let start = err.valid_up_to();
    let (valid, rest) = body.split_at(start);
    let invalid_len = match err.error_len() {
        // Truncated sequence at the end: held back, never decoded.
        None => 0,
        // CPython's non-final decode also holds back a trailing ED A0..BF
        // (the start of an encoded surrogate) instead of rejecting it.
        Some(_) if matches!(rest, [0xED, 0xA0..=0xBF]) => 0,
        Some(len) => len,
    };
    if invalid_len == 0 {
        // `valid` is exactly the prefix the validator accepted.
        return Ok(std::str::from_utf8(valid).unwrap_or_default());
    }
    // Rust's `error_len` follows the same "maximal subpart" rule as CPython,
    // which only adds the start/continuation distinction for single bytes.
    let first = rest.first().copied().unwrap_or_default();
    Err(if invalid_len == 1 {
        let reason = if matches!(first, 0x80..=0xC1 | 0xF5..=0xFF) {
            "invalid start byte"
        } else {
            "invalid continuation byte"
        };
        format!("'utf-8' codec can't decode byte 0x{first:02x} in position {start}: {reason}")
    } else {
        format!(
            "'utf-8' codec can't decode bytes in position {start}-{}: invalid continuation byte",
            start + invalid_len - 1
        )
    })
}

/// Why the scan stopped.
#[derive(Debug, PartialEq)]
enum Failure {
    /// A `json.JSONDecodeError`: its message and the byte offset it points at.
    Decode(&'static str, usize),
    /// Another `ValueError` (or `RecursionError`) with fixed text.
    Other(String),
}

impl Failure {
    /// Formats the failure as `str(exc)`; `text` is the scanned document.
    fn render(self, text: &[u8]) -> String {
        match self {
            Failure::Other(message) => message,
            Failure::Decode(message, pos) => {
                let before = text.get(..pos).unwrap_or(text);
                let char_pos = count_chars(before);
                let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
                let column = match before.iter().rposition(|&b| b == b'\n') {
                    Some(newline) => count_chars(&before[newline..]),
                    None => char_pos + 1,
                };
                format!("{message}: line {line} column {column} (char {char_pos})")
            }
        }
    }
}

/// Number of code points in a valid UTF-8 slice.
fn count_chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// The `StopIteration(idx)` that `raw_decode` turns into `Expecting value`.
fn expecting_value(idx: usize) -> Failure {
    Failure::Decode("Expecting value", idx)
}

/// A container that has been opened and not yet closed.
#[derive(Clone, Copy)]
enum Container {
    Array,
    Object,
}

impl Container {
    /// The byte that closes this container.
    fn closer(self) -> u8 {
        match self {
            Container::Array => b']',
            Container::Object => b'}',
        }
    }

    /// The `RecursionError` raised when opening this container is too deep.
    fn too_deep(self) -> Failure {
        let kind = match self {
            Container::Array => "array",
            Container::Object => "object",
        };
        Failure::Other(format!(
            "maximum recursion depth exceeded while decoding a JSON {kind} from a unicode string"
        ))
    }
}

/// `json.loads` on an already decoded document.
fn scan_document(s: &[u8]) -> Result<(), Failure> {
    if s.starts_with("\u{feff}".as_bytes()) {
        return Err(Failure::Decode(
            "Unexpected UTF-8 BOM (decode using utf-8-sig)",
            0,
        ));
    }
    let end = scan_value(s, skip_whitespace(s, 0))?;
    let end = skip_whitespace(s, end);
    if end != s.len() {
        return Err(Failure::Decode("Extra data", end));
    }
    Ok(())
}

/// Index of the first byte at or after `idx` that is not JSON whitespace.
fn skip_whitespace(s: &[u8], mut idx: usize) -> usize {
    while matches!(s.get(idx), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        idx += 1;
    }
    idx
}

/// `scan_once` at `idx`, with the recursion of `_parse_array` and
/// `_parse_object` unrolled; returns the index just after the value.
fn scan_value(s: &[u8], mut idx: usize) -> Result<usize, Failure> {
    let mut open: Vec<Container> = Vec::new();
    'value: loop {
        match s.get(idx) {
            None => return Err(expecting_value(idx)),
            Some(b'"') => idx = scan_string(s, idx + 1)?,
            Some(&opener @ (b'[' | b'{')) => {
                let container = if opener == b'[' {
                    Container::Array
                } else {
                    Container::Object
                };
                if open.len() >= MAX_DEPTH {
                    return Err(container.too_deep());
                }
                idx = skip_whitespace(s, idx + 1);
                if s.get(idx) == Some(&container.closer()) {
                    idx += 1;
                } else {
                    open.push(container);
                    if let Container::Object = container {
                        idx = scan_member_name(s, idx)?;
                    }
                    continue 'value;
                }
            }
            Some(_) => idx = scan_scalar(s, idx)?,
        }
        // A value just ended at `idx`: close containers or move to the next item.
        loop {
            let Some(&container) = open.last() else {
                return Ok(idx);
            };
            idx = skip_whitespace(s, idx);
            match s.get(idx) {
                Some(&b) if b == container.closer() => {
                    open.pop();
                    idx += 1;
                }
                Some(b',') => {
                    idx = skip_whitespace(s, idx + 1);
                    if let Container::Object = container {
                        idx = scan_member_name(s, idx)?;
                    }
                    continue 'value;
                }
                _ => return Err(Failure::Decode("Expecting ',' delimiter", idx)),
            }
        }
    }
}

/// Reads `"name" :` plus the whitespace after it; returns the value's index.
fn scan_member_name(s: &[u8], idx: usize) -> Result<usize, Failure> {
    if s.get(idx) != Some(&b'"') {
        return Err(Failure::Decode(
            "Expecting property name enclosed in double quotes",
            idx,
        ));
    }
    let idx = skip_whitespace(s, scan_string(s, idx + 1)?);
    if s.get(idx) != Some(&b':') {
        return Err(Failure::Decode("Expecting ':' delimiter", idx));
    }
    Ok(skip_whitespace(s, idx + 1))
}

/// `scanstring_unicode` with `strict=True`: `end` is just after the opening
/// quote; returns the index just after the closing quote.
fn scan_string(s: &[u8], mut end: usize) -> Result<usize, Failure> {
    const UNTERMINATED: &str = "Unterminated string starting at";
    const BAD_UNICODE_ESCAPE: &str = "Invalid \\uXXXX escape";
    let begin = end - 1;
    loop {
        let mut next = end;
        let found = loop {
            match s.get(next) {
                None => return Err(Failure::Decode(UNTERMINATED, begin)),
                Some(&c @ (b'"' | b'\\')) => break c,
                Some(&c) if c <= 0x1f => {
                    return Err(Failure::Decode("Invalid control character at", next));
                }
                Some(_) => next += 1,
            }
        };
        next += 1;
        if found == b'"' {
            return Ok(next);
        }
        let Some(&escape) = s.get(next) else {
            return Err(Failure::Decode(UNTERMINATED, begin));
        };
        if escape != b'u' {
            end = next + 1;
            if !matches!(
                escape,
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't'
            ) {
                return Err(Failure::Decode("Invalid \\escape", end - 2));
            }
            continue;
        }
        next += 1;
        end = next + 4;
        // CPython insists on at least one character after the four digits.
        if end >= s.len() {
            return Err(Failure::Decode(BAD_UNICODE_ESCAPE, next - 1));
        }
        let unit = hex4(s, next).ok_or(Failure::Decode(BAD_UNICODE_ESCAPE, end - 5))?;
        if (0xD800..=0xDBFF).contains(&unit)
            && end + 6 < s.len()
            && s.get(end..end + 2) == Some(b"\\u")
        {
            end += 6;
            let low = hex4(s, end - 4).ok_or(Failure::Decode(BAD_UNICODE_ESCAPE, end - 5))?;
            if !(0xDC00..=0xDFFF).contains(&low) {
                // Not a pair: the second escape is scanned again on its own.
                end -= 6;
            }
        }
    }
}

/// The four hex digits at `from`, if they are all present and valid.
fn hex4(s: &[u8], from: usize) -> Option<u32> {
    s.get(from..from + 4)?
        .iter()
        .try_fold(0, |acc, &d| Some(acc << 4 | char::from(d).to_digit(16)?))
}

/// A literal or a number at `idx` (which holds neither a quote nor a bracket).
fn scan_scalar(s: &[u8], idx: usize) -> Result<usize, Failure> {
    let rest = s.get(idx..).unwrap_or_default();
    for literal in [
        &b"null"[..],
        b"true",
        b"false",
        b"NaN",
        b"Infinity",
        b"-Infinity",
    ] {
        if rest.starts_with(literal) {
            return Ok(idx + literal.len());
        }
    }
    scan_number(s, idx)
}

/// Whether `s[i]` exists and is an ASCII digit.
fn is_digit_at(s: &[u8], i: usize) -> bool {
    s.get(i).is_some_and(u8::is_ascii_digit)
}

/// `_match_number_unicode`: returns the index just after the number.
fn scan_number(s: &[u8], start: usize) -> Result<usize, Failure> {
    let mut idx = start;
    if s.get(idx) == Some(&b'-') {
        idx += 1;
    }
    let digits_start = idx;
    match s.get(idx) {
        Some(b'0') => idx += 1,
        Some(b'1'..=b'9') => {
            idx += 1;
            while is_digit_at(s, idx) {
                idx += 1;
            }
        }
        _ => return Err(expecting_value(start)),
    }
    let int_end = idx;
    let mut is_float = false;
    if s.get(idx) == Some(&b'.') && is_digit_at(s, idx + 1) {
        is_float = true;
        idx += 2;
        while is_digit_at(s, idx) {
            idx += 1;
        }
    }
    // The C scanner only considers an `e`, or a sign after it, that is not
    // the last character; without digits after it the number ends before it.
    if idx + 1 < s.len() && matches!(s.get(idx), Some(b'e' | b'E')) {
        let e_start = idx;
        idx += 1;
        if idx + 1 < s.len() && matches!(s.get(idx), Some(b'+' | b'-')) {
            idx += 1;
        }
        while is_digit_at(s, idx) {
            idx += 1;
        }
        if is_digit_at(s, idx - 1) {
            is_float = true;
        } else {
            idx = e_start;
        }
    }
    let digits = int_end - digits_start;
    if !is_float && digits > INT_MAX_STR_DIGITS {
        return Err(Failure::Other(format!(
            "Exceeds the limit ({INT_MAX_STR_DIGITS} digits) for integer string conversion: \
             value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
        )));
    }
    Ok(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Generated by running real DRF 3.18 `JSONParser` (strict = False) on
    // Python 3.11.7 for each body and keeping the text after
    // "JSON parse error - ".
    /// Bodies DRF rejects, with the exact message it reports.
    const BROKEN: &[(&[u8], &str)] = &[
        (b"", "Expecting value: line 1 column 1 (char 0)"),
        (b"   \n\t\r ", "Expecting value: line 2 column 4 (char 7)"),
        (
            b"{\"a\":1,}",
            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)",
        ),
        (b"[1,]", "Expecting value: line 1 column 4 (char 3)"),
        (
            b"{\"a\" 1}",
            "Expecting ':' delimiter: line 1 column 6 (char 5)",
        ),
        (
            b"{'a':1}",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b"tru", "Expecting value: line 1 column 1 (char 0)"),
        (b"01", "Extra data: line 1 column 2 (char 1)"),
        (b"-", "Expecting value: line 1 column 1 (char 0)"),
        (b"1.", "Extra data: line 1 column 2 (char 1)"),
        (
            b"\"\x01\"",
            "Invalid control character at: line 1 column 2 (char 1)",
        ),
        (b"\"\\q\"", "Invalid \\escape: line 1 column 2 (char 1)"),
        (
            b"\"\\u12\"",
            "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
        ),
        (
            b"[1 2]",
            "Expecting ',' delimiter: line 1 column 4 (char 3)",
        ),
        (b"{} x", "Extra data: line 1 column 4 (char 3)"),
        (
            b"\xef\xbb\xbf{}",
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
        ),
        (
            b"\xef\xbb\xbf",
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
        ),
        (
            b"\xff",
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
        ),
        (
            b"{\"a\": \"\xc3(\"}",
            "'utf-8' codec can't decode byte 0xc3 in position 7: invalid continuation byte",
        ),
        (
            b"[1, 2]\x80",
            "'utf-8' codec can't decode byte 0x80 in position 6: invalid start byte",
        ),
        (
            b"{\"k\xe2\x82(\": 1}",
            "'utf-8' codec can't decode bytes in position 3-4: invalid continuation byte",
        ),
        (
            b"\xed\xa0\x80",
            "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte",
        ),
        (
            b"\xc0\xaf",
            "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte",
        ),
        (
            b"\xf4\x90\x80\x80",
            "'utf-8' codec can't decode byte 0xf4 in position 0: invalid continuation byte",
        ),
        (
            b"\xf0\x9f\x98x",
            "'utf-8' codec can't decode bytes in position 0-2: invalid continuation byte",
        ),
        (
            b"[\"\xe9\"]",
            "'utf-8' codec can't decode byte 0xe9 in position 2: invalid continuation byte",
        ),
        (
            b"{\"\xe5\x90\x8d\xe5\x89\x8d\": \"\xc3\xa9\xe9\"}",
            "'utf-8' codec can't decode byte 0xe9 in position 14: invalid continuation byte",
        ),
        (
            b"\"caf\xc3",
            "Unterminated string starting at: line 1 column 1 (char 0)",
        ),
        (b"\xef\xbb", "Expecting value: line 1 column 1 (char 0)"),
        (
            b"{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}",
            "Expecting value: line 3 column 14 (char 25)",
        ),
        (
            b"{\r\n\"a\": tru\r\n}",
            "Expecting value: line 2 column 6 (char 8)",
        ),
        (
            b"{\"\xe5\x90\x8d\xe5\x89\x8d\": \"\xe5\x80\xa4\", \"x\": }",
            "Expecting value: line 1 column 18 (char 17)",
        ),
        (
            b"[\"\xf0\x9f\x98\x80\", 1 2]",
            "Expecting ',' delimiter: line 1 column 9 (char 8)",
        ),
        (
            b"{\"\xc3\xa9\":\n \"\xc3\xbc\" \"x\"}",
            "Expecting ',' delimiter: line 2 column 6 (char 11)",
        ),
        (
            b"\"ab\xe2\x80\xa8\ncd",
            "Invalid control character at: line 1 column 5 (char 4)",
        ),
        (
            b"{\"a\": [1, 2",
            "Expecting ',' delimiter: line 1 column 12 (char 11)",
        ),
        (b"{\"a\":", "Expecting value: line 1 column 6 (char 5)"),
        (
            b"{\"a\"",
            "Expecting ':' delimiter: line 1 column 5 (char 4)",
        ),
        (
            b"{",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b"[", "Expecting value: line 1 column 2 (char 1)"),
        (
            b"\"abc",
            "Unterminated string starting at: line 1 column 1 (char 0)",
        ),
        (
            b"\"abc\\",
            "Unterminated string starting at: line 1 column 1 (char 0)",
        ),
        (
            b"{\"a\":1 \"b\":2}",
            "Expecting ',' delimiter: line 1 column 8 (char 7)",
        ),
        (b"[1,,2]", "Expecting value: line 1 column 4 (char 3)"),
        (
            b"{,}",
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (b"[1]]", "Extra data: line 1 column 4 (char 3)"),
        (b"nul", "Expecting value: line 1 column 1 (char 0)"),
        (b"NaNx", "Extra data: line 1 column 4 (char 3)"),
        (b"-Infinit", "Expecting value: line 1 column 1 (char 0)"),
        (b"+1", "Expecting value: line 1 column 1 (char 0)"),
        (b".5", "Expecting value: line 1 column 1 (char 0)"),
        (b"1e5e", "Extra data: line 1 column 4 (char 3)"),
        (b"1.5.", "Extra data: line 1 column 4 (char 3)"),
        (b"[-]", "Expecting value: line 1 column 2 (char 1)"),
        (
            b"\"\\u00zz\"",
            "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
        ),
        (
            b"\"\\ud800\\u12\"",
            "Invalid \\uXXXX escape: line 1 column 9 (char 8)",
        ),
        (
            b"\"\\ud834\\udd1e",
            "Invalid \\uXXXX escape: line 1 column 9 (char 8)",
        ),
        (
            b"\"\\u1234",
            "Invalid \\uXXXX escape: line 1 column 3 (char 2)",
        ),
        (
            b"\"a\tb\"",
            "Invalid control character at: line 1 column 3 (char 2)",
        ),
        (
            b"\"line\nbreak\"",
            "Invalid control character at: line 1 column 6 (char 5)",
        ),
        (
            b"{\"a\":1}{\"b\":2}",
            "Extra data: line 1 column 8 (char 7)",
        ),
        (b"[1]\n\n  x", "Extra data: line 3 column 3 (char 7)"),
        (b"\x00", "Expecting value: line 1 column 1 (char 0)"),
        (b"\"\\x41\"", "Invalid \\escape: line 1 column 2 (char 1)"),
        (b"\xc2\xa0[]", "Expecting value: line 1 column 1 (char 0)"),
        (b"[]\xe3\x80\x80", "Extra data: line 1 column 3 (char 2)"),
        (b"[1,\n2,\n]", "Expecting value: line 3 column 1 (char 7)"),
        (
            b"{\"a\":1,\n \"b\"}",
            "Expecting ':' delimiter: line 2 column 5 (char 12)",
        ),
        (b"[1]\x00", "Extra data: line 1 column 4 (char 3)"),
        (b"{\"a\":[}", "Expecting value: line 1 column 7 (char 6)"),
        (b"{\"a\":}", "Expecting value: line 1 column 6 (char 5)"),
        (
            b"[true false]",
            "Expecting ',' delimiter: line 1 column 7 (char 6)",
        ),
        (b"[1e]", "Expecting ',' delimiter: line 1 column 3 (char 2)"),
        (b"-01", "Extra data: line 1 column 3 (char 2)"),
        (b"[01]", "Expecting ',' delimiter: line 1 column 3 (char 2)"),
        (
            b"\"\\",
            "Unterminated string starting at: line 1 column 1 (char 0)",
        ),
        (
            b"{\"\\u00e9\x1f\": 1}",
            "Invalid control character at: line 1 column 9 (char 8)",
        ),
    ];

    /// Bodies DRF (non-strict) accepts, some of which serde_json rejects.
    const ACCEPTED: &[&[u8]] = &[
        b"{\"a\":1}\xe2\x82",
        b"[1]\xed\xa0",
        b"\"\x7f\"",
        b"{\"a\":1, \"a\":2}",
        b"[NaN, Infinity, -Infinity]",
        b"\"\\ud800\"",
        b"\"\\udc00\\ud800x\"",
        b"\"\\ud834\\udd1e\"",
        b"1e999",
        b"[1E+2, -0.0e-0, 0.5e-3]",
        b"{\"a\":1}   \n",
        b" \t\r\n[ ] ",
        b"{\"\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87\": [\"\xd0\xb7\xd0\xbd\xd0\xb0\xd1\x87\xd0\xb5\xd0\xbd\xd0\xb8\xd0\xb5\", \"\xf0\x9f\x98\x80\", \"\\u00e9\"]}",
        b"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        b"-0",
        b"{}",
        b"[]",
        b"null",
    ];

    #[test]
    fn broken_bodies_give_pythons_exact_message() {
        assert!(BROKEN.len() >= 40);
        for &(body, expected) in BROKEN {
            assert_eq!(
                python_json_error(body).as_deref(),
                Some(expected),
                "body {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn accepted_bodies_give_none() {
        for &body in ACCEPTED {
            assert_eq!(
                python_json_error(body),
                None,
                "body {:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn whatever_serde_json_accepts_python_accepts() {
        let bodies = BROKEN
            .iter()
            .map(|&(body, _)| body)
            .chain(ACCEPTED.iter().copied())
            .chain([
                &br#"{"a": [1, 2.5, -3e4, true, false, null, "x\u00e9\"y"], "b": {}}"#[..],
                br#"  [[[[]]], {"k": {"k": [{}]}}]  "#,
                "\"\u{1F600} \u{20AC}\"".as_bytes(),
            ]);
        for body in bodies {
            if serde_json::from_slice::<serde_json::Value>(body).is_ok() {
                assert_eq!(python_json_error(body), None, "body {body:?}");
            }
        }
    }

    const INT_LIMIT_4301: &str = "Exceeds the limit (4300 digits) for integer string conversion: \
        value has 4301 digits; use sys.set_int_max_str_digits() to increase the limit";
    const INT_LIMIT_5000: &str = "Exceeds the limit (4300 digits) for integer string conversion: \
        value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit";

    #[test]
    fn integers_longer_than_4300_digits_are_refused_like_int() {
        let digits = |n: usize, d: &str| d.repeat(n);
        let at = |body: String| python_json_error(body.as_bytes());
        assert_eq!(at(digits(4300, "1")), None);
        assert_eq!(at(digits(4301, "1")).as_deref(), Some(INT_LIMIT_4301));
        assert_eq!(
            at(format!("[-{}]", digits(5000, "9"))).as_deref(),
            Some(INT_LIMIT_5000)
        );
        // Floats have no such limit.
        assert_eq!(at(format!("[{}.0]", digits(4301, "1"))), None);
        assert_eq!(at(format!("[{}e1]", digits(4301, "1"))), None);
    }

    const TOO_DEEP_ARRAY: &str =
        "maximum recursion depth exceeded while decoding a JSON array from a unicode string";
    const TOO_DEEP_OBJECT: &str =
        "maximum recursion depth exceeded while decoding a JSON object from a unicode string";

    #[test]
    fn nesting_is_capped_without_overflowing_the_stack() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert_eq!(python_json_error(nested(MAX_DEPTH).as_bytes()), None);
        assert_eq!(
            python_json_error(nested(MAX_DEPTH + 1).as_bytes()).as_deref(),
            Some(TOO_DEEP_ARRAY)
        );
        let objects = format!("{}{}", "{\"a\":".repeat(MAX_DEPTH), "{}");
        assert_eq!(
            python_json_error(objects.as_bytes()).as_deref(),
            Some(TOO_DEEP_OBJECT)
        );
        // Far deeper than any thread stack would survive if this recursed.
        let huge = "[{\"k\":".repeat(1_000_000);
        assert_eq!(
            python_json_error(huge.as_bytes()).as_deref(),
            Some(TOO_DEEP_ARRAY)
        );
        // Unclosed but within the cap: an ordinary decode error.
        assert_eq!(
            python_json_error("[".repeat(50).as_bytes()).as_deref(),
            Some("Expecting value: line 1 column 51 (char 50)")
        );
    }
}
