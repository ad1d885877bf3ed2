//! Form bodies (`application/x-www-form-urlencoded` and `multipart/form-data`)
//! decoded the way the upstream Django REST Framework app sees them.
//!
//! The gateway has to produce the same `request.data` as DRF's `FormParser`
//! (a Django `QueryDict`) and `MultiPartParser` (Django's
//! `django.http.multipartparser.MultiPartParser`), and fail with the same
//! messages.  Generic form crates differ from Django in many small ways (raw
//! non-UTF-8 bodies, which value wins for repeated keys, how header parameters
//! are unquoted, what counts as a file part, limits), so this module ports the
//! relevant Python code paths of Django 5.2 LTS instead:
//!
//! * urlencoded: `QueryDict.__init__` → `urllib.parse.parse_qsl` /
//!   `urllib.parse.unquote` (UTF-8, `errors="replace"`), with Django's
//!   fallback of decoding a body that is not valid UTF-8 as ISO-8859-1;
//! * multipart: `MultiPartParser.__init__` (Content-Type and boundary checks),
//!   `parse_boundary_stream` (per-part headers, 1024-byte header limit),
//!   `django.utils.http.parse_header_parameters` (built on
//!   `email.message.Message.get_params`: unquoting, RFC 2231 `name*=` and
//!   continuations), base64 `Content-Transfer-Encoding`, and the default
//!   `DATA_UPLOAD_MAX_*` limits.
//!
//! Both parsers return a JSON object holding, for every key, the *last* value
//! sent (`QueryDict.__getitem__`) at the position of the key's *first*
//! occurrence.  Multipart file parts are skipped; only text fields are kept.
//!
//! Deliberate differences from Django (framing as RFC 2046/7578 describe it):
//! a delimiter is only recognised at the start of a line and must be followed
//! by `--` or by optional blanks and a line end (Django splits on
//! `--boundary` anywhere); bare-LF line endings are accepted (Django ignores
//! such parts); preamble and epilogue are ignored (Django reads fields from
//! them too); a non-empty body without an opening or closing delimiter is an
//! error (Django yields whatever it could split out).  Approximations: RFC 2231
//! charsets other than UTF-8 / ISO-8859-1 / ASCII are treated as unknown, the
//! base64 check of file parts sees the data as one chunk, and the file-name
//! sanitising that decides whether such a check happens skips
//! `html.unescape`.

use std::borrow::Cow;
use std::fmt;

use serde_json::{Map, Value};

use super::python::is_python_space as is_py_space;

/// Django's default `DATA_UPLOAD_MAX_NUMBER_FIELDS`.
const DATA_UPLOAD_MAX_NUMBER_FIELDS: usize = 1000;
/// Django's default `DATA_UPLOAD_MAX_NUMBER_FILES`.
const DATA_UPLOAD_MAX_NUMBER_FILES: usize = 100;
/// Django's default `DATA_UPLOAD_MAX_MEMORY_SIZE` (2.5 MiB).
const DATA_UPLOAD_MAX_MEMORY_SIZE: usize = 2_621_440;
/// `django.http.multipartparser.MAX_TOTAL_HEADER_SIZE`: the headers of a part
/// (counted from just after `--boundary`) must end within this many bytes.
const MAX_TOTAL_HEADER_SIZE: usize = 1024;
/// Django <= 5.2 (`params.get("filename")`) treats `filename=""` as a text
/// field; Django 6.0 (`"filename" in params`) treats it as an (unnamed) file.
const EMPTY_FILENAME_IS_FILE: bool = false;

/// Why a form body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// The Content-Type does not start with `multipart/` (case-sensitive, as in Django).
    InvalidContentType(String),
    /// The Content-Type contains non-ASCII characters.
    NonAsciiContentType(String),
    /// The Content-Type parameters could not be parsed (Django raises an
    /// unhandled `ValueError` here, i.e. a 500); holds the reason.
    MalformedContentType(String),
    /// The boundary parameter is missing (`None`), empty or not a valid boundary.
    InvalidBoundary(Option<String>),
    /// A non-empty body has no opening `--boundary` line.
    MissingOpeningBoundary,
    /// The body ends without a closing `--boundary--` line.
    MissingClosingBoundary,
    /// The headers of a part do not end within Django's 1024-byte limit.
    HeaderTooLarge,
    /// A file part sent with `Content-Transfer-Encoding: base64` is not valid base64.
    InvalidBase64File,
    /// More fields than Django's default `DATA_UPLOAD_MAX_NUMBER_FIELDS` (1000);
    /// Django answers with a plain 400 (`TooManyFieldsSent`), not a DRF `ParseError`.
    TooManyFields,
    /// More file parts than Django's default `DATA_UPLOAD_MAX_NUMBER_FILES` (100);
    /// Django answers with a plain 400 (`TooManyFilesSent`).
    TooManyFiles,
    /// Multipart text fields exceed Django's default `DATA_UPLOAD_MAX_MEMORY_SIZE`
    /// (2.5 MiB); Django answers with a plain 400 (`RequestDataTooBig`).
    DataTooBig,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "Multipart form parse error - ";
        match self {
            Self::InvalidContentType(ct) => write!(f, "{PREFIX}Invalid Content-Type: {ct}"),
            Self::NonAsciiContentType(ct) => write!(
                f,
                "{PREFIX}Invalid non-ASCII Content-Type in multipart: {ct}"
            ),
            Self::MalformedContentType(reason) => write!(f, "{PREFIX}{reason}"),
            Self::InvalidBoundary(None) => write!(f, "{PREFIX}Invalid boundary in multipart: None"),
            Self::InvalidBoundary(Some(b)) => write!(f, "{PREFIX}Invalid boundary in multipart: {b}"),
            Self::MissingOpeningBoundary => {
                write!(f, "{PREFIX}Opening boundary not found in multipart body")
            }
            Self::MissingClosingBoundary => {
                write!(f, "{PREFIX}Closing boundary not found in multipart body")
            }
            Self::HeaderTooLarge => write!(f, "{PREFIX}Request max total header size exceeded."),
            Self::InvalidBase64File => write!(f, "{PREFIX}Could not decode base64 data."),
            Self::TooManyFields => f.write_str(
                "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.",
            ),
            Self::TooManyFiles => f.write_str(
                "The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES.",
            ),
            Self::DataTooBig => {
                f.write_str("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
            }
        }
    }
}

impl std::error::Error for FormError {}

// ---------------------------------------------------------------------------
// Python helpers
// ---------------------------------------------------------------------------

/// Python `str.strip()`.
fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python `bytes.strip()` (ASCII whitespace only).
fn py_bytes_strip(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{b}' | '\u{c}'))
}

/// The codecs Python's `unquote` may be asked to use here.
#[derive(Clone, Copy)]
enum Codec {
    Utf8,
    Latin1,
    Ascii,
}

impl Codec {
    /// `codecs.lookup` for the few codecs supported (after Python's name normalisation).
    fn lookup(label: &str) -> Option<Self> {
        // encodings.normalize_encoding: runs of characters other than
        // alphanumerics and '.' become one '_', leading/trailing ones vanish.
        let mut norm = String::with_capacity(label.len());
        let mut punct = false;
        for c in label.to_lowercase().chars() {
            if c.is_alphanumeric() || c == '.' {
                if punct && !norm.is_empty() {
                    norm.push('_');
                }
                if c.is_ascii() {
                    norm.push(c);
                }
                punct = false;
            } else {
                punct = true;
            }
        }
        let alt = norm.replace('.', "_");
        let known =
            |names: &[&str]| names.contains(&norm.as_str()) || names.contains(&alt.as_str());
        if known(&[
            "utf_8",
            "utf8",
            "u8",
            "utf",
            "utf8_ucs2",
            "utf8_ucs4",
            "cp65001",
        ]) {
            Some(Self::Utf8)
        } else if known(&[
            "latin_1",
            "latin1",
            "latin",
            "l1",
            "iso8859",
            "iso8859_1",
            "iso_8859_1",
            "iso_8859_1_1987",
            "iso_ir_100",
            "8859",
            "cp819",
            "csisolatin1",
        ]) {
            Some(Self::Latin1)
        } else if known(&[
            "ascii",
            "us_ascii",
            "us",
            "646",
            "ansi_x3_4_1968",
            "ansi_x3_4_1986",
            "cp367",
            "csascii",
            "ibm367",
            "iso646_us",
            "iso_646_irv_1991",
            "iso_ir_6",
        ]) {
            Some(Self::Ascii)
        } else {
            None
        }
    }

    /// `bytes.decode(codec, "replace")`.
    fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Self::Utf8 => String::from_utf8_lossy(bytes),
            Self::Latin1 => Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()),
            Self::Ascii => Cow::Owned(
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
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `urllib.parse.unquote_to_bytes`: `%XX` decoded, anything else kept literally.
fn percent_decode(run: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = run.get(i) {
        if b == b'%' {
            let hi = run.get(i + 1).copied().and_then(hex_value);
            let lo = run.get(i + 2).copied().and_then(hex_value);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi << 4) | lo);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
}

/// `urllib.parse.unquote(s, encoding, errors="replace")`: every run of ASCII
/// characters is percent-decoded and decoded on its own; non-ASCII characters
/// are kept as they are.
fn py_unquote(s: &str, codec: Codec) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut run: Vec<u8> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut flush = |run: &mut Vec<u8>, out: &mut String| {
        if !run.is_empty() {
            bytes.clear();
            percent_decode(run, &mut bytes);
            out.push_str(&codec.decode(&bytes));
            run.clear();
        }
    };
    for c in s.chars() {
        if c.is_ascii() {
            // An ASCII char is exactly one byte.
            run.push(c as u8);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `base64.b64decode(data)` (non-strict `binascii.a2b_base64`): characters
/// outside the alphabet are skipped, decoding stops at complete padding, and
/// `None` stands for `binascii.Error` (bad length / padding).
fn py_b64decode(data: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u8> {
        match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut quad_pos = 0u8;
    let mut left = 0u8;
    let mut pads = 0u8;
    for &c in data {
        if c == b'=' {
            if quad_pos >= 2 {
                pads = pads.saturating_add(1);
                if quad_pos.saturating_add(pads) >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(v) = value(c) else { continue };
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    (quad_pos == 0).then_some(out)
}

/// `email.message._parseparam`: split on `;` outside double quotes (a `\"`
/// does not count as a quote), each piece stripped.
fn split_params(line: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut s = line;
    loop {
        let mut scanned = 0;
        let mut quotes = 0usize;
        let mut escaped = 0usize;
        let mut end = s.find(';');
        while let Some(e) = end {
            if e == 0 {
                break;
            }
            // Every chunk starts at the start of `s` or at a ';', so a `\"`
            // never straddles two chunks.
            let chunk = s.get(scanned..e).unwrap_or("");
            quotes += chunk.matches('"').count();
            escaped += chunk.matches("\\\"").count();
            scanned = e;
            if quotes.saturating_sub(escaped).is_multiple_of(2) {
                break;
            }
            end = s
                .get(e + 1..)
                .and_then(|rest| rest.find(';'))
                .map(|i| i + e + 1);
        }
        let end = end.unwrap_or(s.len());
        parts.push(py_strip(s.get(..end).unwrap_or("")));
        match s.get(end..).and_then(|rest| rest.strip_prefix(';')) {
            Some(rest) => s = rest,
            None => break,
        }
    }
    parts
}

/// `email.utils.unquote`: strip one pair of `"…"` (unescaping `\\` and `\"`)
/// or of `<…>`.
fn email_unquote(s: &str) -> Cow<'_, str> {
    if s.len() > 1 {
        let inner = s.get(1..s.len() - 1).unwrap_or("");
        if s.starts_with('"') && s.ends_with('"') {
            return Cow::Owned(unescape_quoted(inner));
        }
        if s.starts_with('<') && s.ends_with('>') {
            return Cow::Borrowed(inner);
        }
    }
    Cow::Borrowed(s)
}

/// The inside of a quoted string: `\\` → `\`, then `\"` → `"`.
fn unescape_quoted(inner: &str) -> String {
    inner.replace("\\\\", "\\").replace("\\\"", "\"")
}

/// `email.utils.quote`.
fn email_quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `email.utils.rfc2231_continuation` (`^(\w+)\*(([0-9]+)\*?)?$`, ASCII):
/// the base name and the continuation number, if any.
fn rfc2231_name(name: &str) -> Option<(&str, Option<&str>)> {
    let (base, rest) = name.split_once('*')?;
    if base.is_empty() || !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    if rest.is_empty() {
        return Some((base, None));
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (num, tail) = rest.split_at_checked(digits)?;
    (digits > 0 && (tail.is_empty() || tail == "*")).then_some((base, Some(num)))
}

/// Python `int` ordering of two ASCII digit strings.
fn cmp_decimal(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// One `name*N[*]=value` piece of an RFC 2231 parameter.
struct Continuation {
    num: Option<String>,
    value: String,
    encoded: bool,
}

/// Python's `str.encode("raw-unicode-escape")`.
fn raw_unicode_escape(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let code = u32::from(c);
        if let Ok(byte) = u8::try_from(code) {
            out.push(byte);
        } else if code <= 0xFFFF {
            out.extend_from_slice(format!("\\u{code:04x}").as_bytes());
        } else {
            out.extend_from_slice(format!("\\U{code:08x}").as_bytes());
        }
    }
    out
}

/// `email.utils.decode_params` + `collapse_rfc2231_value` for one RFC 2231
/// parameter, with Django's check that a named charset exists.
fn collapse_rfc2231(mut pieces: Vec<Continuation>) -> Result<String, String> {
    // Python sorts (num, value, encoded) tuples; None and int do not compare.
    let nums = pieces.iter().filter(|c| c.num.is_some()).count();
    if nums != 0 && nums != pieces.len() {
        return Err("'<' not supported between instances of 'int' and 'NoneType'".to_owned());
    }
    pieces.sort_by(|a, b| {
        let by_num = match (&a.num, &b.num) {
            (Some(x), Some(y)) => cmp_decimal(x, y),
            _ => std::cmp::Ordering::Equal,
        };
        by_num
            .then_with(|| a.value.cmp(&b.value))
            .then_with(|| a.encoded.cmp(&b.encoded))
    });
    let mut joined = String::new();
    let mut extended = false;
    for piece in &pieces {
        if piece.encoded {
            joined.push_str(&py_unquote(&piece.value, Codec::Latin1));
            extended = true;
        } else {
            joined.push_str(&piece.value);
        }
    }
    let quoted = email_quote(&joined);
    if !extended {
        return Ok(unescape_quoted(&quoted));
    }
    let split: Vec<&str> = quoted.splitn(3, '\'').collect();
    let (charset, text) = match split.as_slice() {
        [charset, _language, text] => (Some(*charset), unescape_quoted(text)),
        _ => (None, unescape_quoted(&quoted)),
    };
    match charset {
        None => Ok(Codec::Ascii.decode(&raw_unicode_escape(&text)).into_owned()),
        // `str(raw, "")` is a LookupError, answered with the unquoted text.
        Some("") => Ok(email_unquote(&text).into_owned()),
        Some(charset) => {
            let codec = Codec::lookup(charset).ok_or_else(|| {
                format!(
                    "Invalid encoding '{}' for RFC 2231 param.",
                    charset.replace('\\', "\\\\")
                )
            })?;
            Ok(codec.decode(&raw_unicode_escape(&text)).into_owned())
        }
    }
}

/// Lowercased main value and the parameters of a header value.
type HeaderParams = (String, Vec<(String, String)>);

/// `django.utils.http.parse_header_parameters` as of Django 5.2 (built on
/// `email.message.Message.get_params`): the main value lowercased, parameter
/// names lowercased (bare attributes kept as they are, with the value `""`),
/// values unquoted (`"…"` with `\\`/`\"` escapes, or `<…>`), RFC 2231
/// `name*=charset'lang'%XX` and `name*0=…; name*1=…` continuations decoded and
/// placed after the plain parameters.  A later parameter of the same name wins
/// (see [`param`]).  `Err` is the message of the `ValueError`/`TypeError`
/// Django raises.
fn parse_header_parameters(line: &str) -> Result<HeaderParams, String> {
    if line.is_empty() {
        return Ok((String::new(), Vec::new()));
    }
    if !line.contains(';') {
        return Ok((py_strip(line).to_lowercase(), Vec::new()));
    }
    // email.message._parseparam + Message._get_params_preserve.
    let mut raw = split_params(line)
        .into_iter()
        .map(|piece| match piece.split_once('=') {
            Some((name, value)) => (py_strip(name).to_lowercase(), py_strip(value)),
            None => (piece.to_owned(), ""),
        });
    let key = raw
        .next()
        .map(|(name, _)| name.to_lowercase())
        .unwrap_or_default();
    let mut params = Vec::new();
    let mut rfc2231: Vec<(String, Vec<Continuation>)> = Vec::new();
    for (name, raw_value) in raw {
        let encoded = name.ends_with('*');
        let value = email_unquote(raw_value).into_owned();
        match rfc2231_name(&name) {
            Some((base, num)) => {
                let piece = Continuation {
                    num: num.map(str::to_owned),
                    value,
                    encoded,
                };
                match rfc2231.iter_mut().find(|(n, _)| n == base) {
                    Some((_, pieces)) => pieces.push(piece),
                    None => rfc2231.push((base.to_owned(), vec![piece])),
                }
            }
            // quote() then unquote() again: the identity.
            None => params.push((name, value)),
        }
    }
    for (name, pieces) in rfc2231 {
        params.push((name, collapse_rfc2231(pieces)?));
    }
    params.retain(|(name, _)| !name.is_empty());
    Ok((key, params))
}

/// Dict lookup on parsed parameters: the last occurrence wins.
fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------------------
// application/x-www-form-urlencoded
// ---------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` body → JSON object of string values; a key given several times keeps its last value (Django QueryDict `__getitem__`), but the key's position is that of its first occurrence.
///
/// Decoding follows `QueryDict`: the body is read as UTF-8, or as ISO-8859-1
/// when it is not valid UTF-8; pairs are split on `&` only, empty pairs are
/// skipped, a pair without `=` has the value `""`, `+` is a space, `%XX`
/// escapes are decoded (invalid ones kept literally) and the decoded bytes are
/// read as UTF-8 with U+FFFD for invalid sequences.  More than 1000 fields
/// (Django's default `DATA_UPLOAD_MAX_NUMBER_FIELDS`) is
/// [`FormError::TooManyFields`].
pub fn parse_urlencoded(body: &[u8]) -> Result<Map<String, Value>, FormError> {
    let text: Cow<'_, str> = match std::str::from_utf8(body) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Codec::Latin1.decode(body),
    };
    if !text.is_empty() {
        let fields = text.matches('&').count().saturating_add(1);
        if fields > DATA_UPLOAD_MAX_NUMBER_FIELDS {
            return Err(FormError::TooManyFields);
        }
    }
    let mut map = Map::new();
    for pair in text.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = py_unquote(&key.replace('+', " "), Codec::Utf8);
        let value = py_unquote(&value.replace('+', " "), Codec::Utf8);
        // With `preserve_order`, inserting an existing key keeps its position.
        map.insert(key, Value::String(value));
    }
    Ok(map)
}

// ---------------------------------------------------------------------------
// multipart/form-data
// ---------------------------------------------------------------------------

/// `multipart/form-data` body with the boundary taken from the Content-Type header's parameters (pass the whole header value, e.g. `multipart/form-data; boundary="abc"`; parameter names case-insensitive, quoted or bare) → same shape as above: text fields as strings (last value wins), file parts (parts whose Content-Disposition has a filename) skipped.
///
/// An empty body is no data at all (DRF does not even run the parser), so it
/// gives an empty object whatever the Content-Type says.  Otherwise the
/// Content-Type and boundary are checked as Django does, then the parts are
/// read: headers case-insensitive, CRLF or bare LF line endings, text values
/// decoded as UTF-8 with U+FFFD for invalid sequences (after base64 decoding
/// when `Content-Transfer-Encoding: base64`), parts without a
/// Content-Disposition or without a name ignored.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Map<String, Value>, FormError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    if !content_type.starts_with("multipart/") {
        return Err(FormError::InvalidContentType(content_type.to_owned()));
    }
    if !content_type.is_ascii() {
        return Err(FormError::NonAsciiContentType(content_type.to_owned()));
    }
    let (_, params) =
        parse_header_parameters(content_type).map_err(FormError::MalformedContentType)?;
    let boundary = match param(&params, "boundary") {
        None => return Err(FormError::InvalidBoundary(None)),
        Some(b) if !is_valid_boundary(b) => {
            return Err(FormError::InvalidBoundary(Some(b.to_owned())));
        }
        Some(b) => b,
    };
    parse_parts(boundary.as_bytes(), body)
}

/// Django's `boundary_re`: `[ -~]{0,200}[!-~]`, matched in full.
fn is_valid_boundary(boundary: &str) -> bool {
    match boundary.as_bytes().split_last() {
        None => false,
        Some((last, rest)) => {
            rest.len() <= 200
                && (b'!'..=b'~').contains(last)
                && rest.iter().all(|c| (b' '..=b'~').contains(c))
        }
    }
}

/// What a `--boundary` at the start of a line turned out to be.
enum Delimiter {
    /// `--boundary` + optional blanks + line end; the next part starts here.
    Open { content_start: usize },
    /// `--boundary--`: the end of the multipart body.
    Close,
}

/// The delimiter line starting at `pos`, if there is one.
fn delimiter_at(body: &[u8], pos: usize, dash_boundary: &[u8]) -> Option<Delimiter> {
    let after = body.get(pos..)?.strip_prefix(dash_boundary)?;
    if after.starts_with(b"--") {
        return Some(Delimiter::Close);
    }
    let padding = after
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let rest = after.get(padding..)?;
    let newline = if rest.starts_with(b"\r\n") {
        2
    } else if rest.starts_with(b"\n") {
        1
    } else {
        return None;
    };
    Some(Delimiter::Open {
        content_start: pos + dash_boundary.len() + padding + newline,
    })
}

/// The first delimiter line starting at or after `from` (at the start of a line).
fn find_delimiter(body: &[u8], from: usize, dash_boundary: &[u8]) -> Option<(usize, Delimiter)> {
    let mut pos = from;
    loop {
        let at_line_start = pos == 0 || body.get(pos - 1) == Some(&b'\n');
        if at_line_start && let Some(delimiter) = delimiter_at(body, pos, dash_boundary) {
            return Some((pos, delimiter));
        }
        let newline = body.get(pos..)?.iter().position(|&b| b == b'\n')?;
        pos = pos + newline + 1;
    }
}

/// Running totals for Django's `DATA_UPLOAD_MAX_*` limits.
#[derive(Default)]
struct Limits {
    fields: usize,
    files: usize,
    bytes: usize,
}

fn parse_parts(boundary: &[u8], body: &[u8]) -> Result<Map<String, Value>, FormError> {
    let mut dash_boundary = Vec::with_capacity(boundary.len() + 2);
    dash_boundary.extend_from_slice(b"--");
    dash_boundary.extend_from_slice(boundary);

    let (mut pos, mut delimiter) =
        find_delimiter(body, 0, &dash_boundary).ok_or(FormError::MissingOpeningBoundary)?;
    let mut map = Map::new();
    let mut limits = Limits::default();
    while let Delimiter::Open { content_start } = delimiter {
        let (next_pos, next_delimiter) = find_delimiter(body, content_start, &dash_boundary)
            .ok_or(FormError::MissingClosingBoundary)?;
        // Like Django's sub-stream: from just after `--boundary` (the rest of
        // the delimiter line included) to before the line end that precedes
        // the next delimiter.
        let start = pos + dash_boundary.len();
        let mut end = next_pos.saturating_sub(1);
        if end > start && body.get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        let segment = body.get(start..end.max(start)).unwrap_or(&[]);
        handle_part(segment, &mut limits, &mut map)?;
        pos = next_pos;
        delimiter = next_delimiter;
    }
    Ok(map)
}

/// One part as Django's `parse_boundary_stream` classifies it.
enum Part<'a> {
    /// No headers, or no Content-Disposition.
    Raw,
    /// Content-Disposition without a (non-empty) filename.
    Field {
        name: Option<String>,
        base64: bool,
        data: &'a [u8],
    },
    /// Content-Disposition with a filename.
    File {
        name: Option<String>,
        filename: String,
        base64: bool,
        data: &'a [u8],
    },
}

/// The headers and the data of a segment: the headers end at the first empty
/// line, which must end within [`MAX_TOTAL_HEADER_SIZE`] bytes.
fn split_headers(segment: &[u8]) -> Option<(&[u8], &[u8])> {
    let window = segment.get(..segment.len().min(MAX_TOTAL_HEADER_SIZE))?;
    let mut from = 0;
    while let Some(offset) = window.get(from..)?.iter().position(|&b| b == b'\n') {
        let i = from + offset;
        let rest = window.get(i + 1..).unwrap_or(&[]);
        let end = if rest.starts_with(b"\n") {
            Some(i + 2)
        } else if rest.starts_with(b"\r\n") {
            Some(i + 3)
        } else {
            None
        };
        if let Some(end) = end {
            let mut header = segment.get(..i)?;
            if let Some(stripped) = header.strip_suffix(b"\r") {
                header = stripped;
            }
            return Some((header, segment.get(end..).unwrap_or(&[])));
        }
        from = i + 1;
    }
    None
}

fn parse_part(segment: &[u8]) -> Result<Part<'_>, FormError> {
    let Some((header, data)) = split_headers(segment) else {
        return if segment.len() >= MAX_TOTAL_HEADER_SIZE {
            Err(FormError::HeaderTooLarge)
        } else {
            Ok(Part::Raw)
        };
    };
    let mut disposition: Option<Vec<(String, String)>> = None;
    let mut transfer_encoding: Option<String> = None;
    for raw_line in header.split(|&b| b == b'\n') {
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        // Django: line.decode() (strict UTF-8), parse_header_parameters on
        // the whole line, then "name: value" split on the first ':' of the
        // lowercased main value; lines failing any step are ignored.
        let Ok(line) = std::str::from_utf8(raw_line) else {
            continue;
        };
        let Ok((main_value, params)) = parse_header_parameters(line) else {
            continue;
        };
        let Some((name, value)) = main_value.split_once(':') else {
            continue;
        };
        match name {
            "content-disposition" => disposition = Some(params),
            "content-transfer-encoding" => transfer_encoding = Some(value.to_owned()),
            _ => {}
        }
    }
    let Some(params) = disposition else {
        return Ok(Part::Raw);
    };
    let name = param(&params, "name").map(|n| py_bytes_strip(n).to_owned());
    let base64 = transfer_encoding.as_deref().map(py_strip) == Some("base64");
    match param(&params, "filename") {
        Some(filename) if EMPTY_FILENAME_IS_FILE || !filename.is_empty() => Ok(Part::File {
            name,
            filename: filename.to_owned(),
            base64,
            data,
        }),
        _ => Ok(Part::Field { name, base64, data }),
    }
}

fn handle_part(
    segment: &[u8],
    limits: &mut Limits,
    map: &mut Map<String, Value>,
) -> Result<(), FormError> {
    match parse_part(segment)? {
        Part::Raw => count_field(limits),
        Part::File {
            name,
            filename,
            base64,
            data,
        } => {
            // Django skips a nameless part before counting it as a file.
            if name.is_none() {
                return Ok(());
            }
            limits.files += 1;
            if limits.files > DATA_UPLOAD_MAX_NUMBER_FILES {
                return Err(FormError::TooManyFiles);
            }
            // The file content is not kept, but Django decodes base64 file
            // data (whitespace removed, in chunks of 4 bytes) and fails on
            // invalid or truncated input.  Django decodes chunk by chunk
            // (64 KiB reads); this checks the data as one chunk.
            if base64 && sanitized_file_name_is_usable(&filename) {
                let stripped: Vec<u8> = data
                    .iter()
                    .copied()
                    .filter(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
                    .collect();
                if !stripped.len().is_multiple_of(4) || py_b64decode(&stripped).is_none() {
                    return Err(FormError::InvalidBase64File);
                }
            }
            Ok(())
        }
        Part::Field { name, base64, data } => {
            count_field(limits)?;
            let Some(name) = name else {
                return Ok(());
            };
            let decoded: Cow<'_, [u8]> = if base64 {
                py_b64decode(data).map_or(Cow::Borrowed(data), Cow::Owned)
            } else {
                Cow::Borrowed(data)
            };
            // Django counts the raw (undecoded) bytes plus `len(name) + 2`.
            limits.bytes = limits
                .bytes
                .saturating_add(data.len())
                .saturating_add(name.chars().count())
                .saturating_add(2);
            if limits.bytes > DATA_UPLOAD_MAX_MEMORY_SIZE {
                return Err(FormError::DataTooBig);
            }
            let value = String::from_utf8_lossy(&decoded).into_owned();
            map.insert(name, Value::String(value));
            Ok(())
        }
    }
}

/// Whether `MultiPartParser.sanitize_file_name` keeps something of the file
/// name (Django skips the file otherwise).  Approximation: no
/// `html.unescape`, and `str.isprintable` reduced to "not a control, format
/// or non-space whitespace character".
fn sanitized_file_name_is_usable(filename: &str) -> bool {
    let last = filename.rsplit('/').next().unwrap_or("");
    let last = last.rsplit('\\').next().unwrap_or("");
    let printable: String = last
        .chars()
        .filter(|&c| {
            !(c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}'))
        })
        .collect();
    !matches!(printable.as_str(), "" | "." | "..")
}

/// Django counts every non-file part (named or not) against
/// `DATA_UPLOAD_MAX_NUMBER_FIELDS` (its `+ 2` allowance covers the preamble
/// and epilogue, which are not counted here).
fn count_field(limits: &mut Limits) -> Result<(), FormError> {
    limits.fields += 1;
    if limits.fields > DATA_UPLOAD_MAX_NUMBER_FIELDS {
        return Err(FormError::TooManyFields);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    fn keys(map: &Map<String, Value>) -> Vec<&str> {
        map.keys().map(String::as_str).collect()
    }

    const CT: &str = "multipart/form-data; boundary=XyZ";

    // --- urlencoded -------------------------------------------------------

    #[test]
    fn urlencoded_repeated_key_last_value_first_position() {
        let map = parse_urlencoded(b"a=1&b=2&a=3").unwrap();
        assert_eq!(map, obj(&[("a", "3"), ("b", "2")]));
        assert_eq!(keys(&map), ["a", "b"]);
    }

    #[test]
    fn urlencoded_empty_value_and_missing_equals() {
        let map = parse_urlencoded(b"phone=&flag&name=Bob").unwrap();
        assert_eq!(map, obj(&[("phone", ""), ("flag", ""), ("name", "Bob")]));
        assert_eq!(keys(&map), ["phone", "flag", "name"]);
    }

    #[test]
    fn urlencoded_plus_and_percent() {
        let map = parse_urlencoded(b"email=a%40b.com&full+name=John+Doe&x=%2B1%20").unwrap();
        assert_eq!(
            map,
            obj(&[
                ("email", "a@b.com"),
                ("full name", "John Doe"),
                ("x", "+1 ")
            ])
        );
    }

    #[test]
    fn urlencoded_bad_percent_escapes_kept_literally() {
        let map = parse_urlencoded(b"a=%zz&b=100%&c=%4&d=%%41&e=%g1%41").unwrap();
        assert_eq!(
            map,
            obj(&[
                ("a", "%zz"),
                ("b", "100%"),
                ("c", "%4"),
                ("d", "%A"),
                ("e", "%g1A")
            ])
        );
    }

    #[test]
    fn urlencoded_empty_pairs_skipped() {
        let map = parse_urlencoded(b"&&a=1&&&b=2&").unwrap();
        assert_eq!(map, obj(&[("a", "1"), ("b", "2")]));
        assert!(parse_urlencoded(b"").unwrap().is_empty());
        // "=" alone is a pair with an empty key; ';' is not a separator.
        let map = parse_urlencoded(b"=&x=1;y=2").unwrap();
        assert_eq!(map, obj(&[("", ""), ("x", "1;y=2")]));
    }

    #[test]
    fn urlencoded_only_first_equals_splits() {
        let map = parse_urlencoded(b"token=a=b==").unwrap();
        assert_eq!(map, obj(&[("token", "a=b==")]));
    }

    #[test]
    fn urlencoded_invalid_utf8_after_decoding_is_replaced() {
        let map = parse_urlencoded(b"a=%FF&b=caf%C3%A9&c=%C3").unwrap();
        assert_eq!(
            map,
            obj(&[("a", "\u{FFFD}"), ("b", "café"), ("c", "\u{FFFD}")])
        );
        // Raw UTF-8 passes through; %-escapes next to it are decoded per ASCII run.
        let map = parse_urlencoded("n=é%C3%A9".as_bytes()).unwrap();
        assert_eq!(map, obj(&[("n", "éé")]));
    }

    #[test]
    fn urlencoded_raw_non_utf8_body_is_latin1() {
        // Django: query_string.decode("utf-8") fails → decode("iso-8859-1").
        let map = parse_urlencoded(b"name=J\xe9r\xf4me&x=%C3%A9").unwrap();
        assert_eq!(map, obj(&[("name", "Jérôme"), ("x", "é")]));
    }

    #[test]
    fn urlencoded_field_limit() {
        let ok = vec!["a=1"; 1000].join("&");
        assert_eq!(parse_urlencoded(ok.as_bytes()).unwrap().len(), 1);
        let too_many = "&".repeat(1000); // 1001 (empty) fields, as Python counts them
        assert_eq!(
            parse_urlencoded(too_many.as_bytes()),
            Err(FormError::TooManyFields)
        );
    }

    #[test]
    fn urlencoded_agrees_with_form_urlencoded_on_utf8_input() {
        let samples: [&[u8]; 4] = [
            b"a=1&b=%41%42&c=x+y&a=2",
            b"k%20ey=v%2Fal&%E2%82%AC=euro",
            "raw=ü&q=%zz&flag".as_bytes(),
            b"&&x=%E2%82&y=%C3%28",
        ];
        for sample in samples {
            let mut expected = Map::new();
            for (k, v) in form_urlencoded::parse(sample) {
                expected.insert(k.into_owned(), Value::String(v.into_owned()));
            }
            assert_eq!(parse_urlencoded(sample).unwrap(), expected, "{sample:?}");
        }
    }

    // --- multipart: framing ----------------------------------------------

    #[test]
    fn multipart_quoted_boundary_fields_in_order_last_wins() {
        let body = b"--a b\"c\r\n\
            Content-Disposition: form-data; name=\"first\"\r\n\r\n\
            one\r\n\
            --a b\"c\r\n\
            Content-Disposition: form-data; name=\"second\"\r\n\r\n\
            two\r\nlines\r\n\
            --a b\"c\r\n\
            Content-Disposition: form-data; name=\"first\"\r\n\r\n\
            three\r\n\
            --a b\"c--\r\n";
        let map = parse_multipart(r#"multipart/form-data; boundary="a b\"c""#, body).unwrap();
        assert_eq!(map, obj(&[("first", "three"), ("second", "two\r\nlines")]));
        assert_eq!(keys(&map), ["first", "second"]);
    }

    #[test]
    fn multipart_unquoted_boundary_case_insensitive_param() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=title\r\n\r\nHello\r\n--XyZ--";
        for ct in [
            "multipart/form-data; boundary=XyZ",
            "multipart/form-data;BOUNDARY=XyZ;charset=utf-8",
            "multipart/form-data; charset=\"a;b\"; Boundary = XyZ ",
        ] {
            assert_eq!(
                parse_multipart(ct, body).unwrap(),
                obj(&[("title", "Hello")]),
                "{ct}"
            );
        }
    }

    #[test]
    fn multipart_file_part_skipped() {
        let body = b"--XyZ\r\n\
            Content-Disposition: form-data; name=\"avatar\"; filename=\"me.png\"\r\n\
            Content-Type: image/png\r\n\r\n\
            \x89PNG\r\n\x00\x01\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"bio\"\r\n\r\n\
            hi\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"doc\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\r\n\
            pdf\r\n\
            --XyZ--\r\n";
        assert_eq!(parse_multipart(CT, body).unwrap(), obj(&[("bio", "hi")]));
    }

    #[test]
    fn multipart_empty_filename_is_a_text_field() {
        // Django <= 5.2: params.get("filename") is falsy → FIELD.
        let body = b"--XyZ\r\n\
            Content-Disposition: form-data; name=\"avatar\"; filename=\"\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\
            \r\n--XyZ--\r\n";
        assert_eq!(parse_multipart(CT, body).unwrap(), obj(&[("avatar", "")]));
    }

    #[test]
    fn multipart_lf_only_line_endings() {
        let body = b"--XyZ\n\
            Content-Disposition: form-data; name=\"a\"\n\n\
            1\n2\n\
            --XyZ\n\
            content-disposition: form-data; name=\"b\"\n\n\
            \n\
            --XyZ--\n";
        assert_eq!(
            parse_multipart(CT, body).unwrap(),
            obj(&[("a", "1\n2"), ("b", "")])
        );
    }

    #[test]
    fn multipart_boundary_inside_value_does_not_split() {
        let body = b"--XyZ\r\n\
            Content-Disposition: form-data; name=\"a\"\r\n\r\n\
            x--XyZ y --XyZ--\r\n\
            --XyZabc\r\n\
            XyZ\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"b\"\r\n\r\n\
            ok\r\n\
            --XyZ--";
        assert_eq!(
            parse_multipart(CT, body).unwrap(),
            obj(&[("a", "x--XyZ y --XyZ--\r\n--XyZabc\r\nXyZ"), ("b", "ok")])
        );
    }

    #[test]
    fn multipart_transport_padding_after_delimiter() {
        let body = b"--XyZ \t\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--";
        assert_eq!(parse_multipart(CT, body).unwrap(), obj(&[("a", "v")]));
    }

    #[test]
    fn multipart_preamble_and_epilogue_ignored() {
        let body = b"This is the preamble.\r\n\
            Content-Disposition: form-data; name=\"evil\"\r\n\r\nx\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"a\"\r\n\r\n\
            1\r\n\
            --XyZ--\r\n\
            Content-Disposition: form-data; name=\"evil2\"\r\n\r\ny\r\n\
            --XyZ\r\n";
        assert_eq!(parse_multipart(CT, body).unwrap(), obj(&[("a", "1")]));
    }

    #[test]
    fn multipart_missing_closing_delimiter() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        assert_eq!(
            parse_multipart(CT, body),
            Err(FormError::MissingClosingBoundary)
        );
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ";
        assert_eq!(
            parse_multipart(CT, body),
            Err(FormError::MissingClosingBoundary)
        );
        assert_eq!(
            FormError::MissingClosingBoundary.to_string(),
            "Multipart form parse error - Closing boundary not found in multipart body"
        );
    }

    #[test]
    fn multipart_missing_opening_delimiter() {
        let body = b"Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--\r\n";
        // "--XyZ--" on its own line is a closing delimiter, never an opening one
        // here: the first delimiter found closes the body, so nothing is read.
        assert_eq!(parse_multipart(CT, body).unwrap(), Map::new());
        // A body made of the closing delimiter only is an empty form (browsers
        // send this for an empty FormData).
        assert_eq!(parse_multipart(CT, b"--XyZ--\r\n").unwrap(), Map::new());
        assert_eq!(
            parse_multipart(CT, b"name=value"),
            Err(FormError::MissingOpeningBoundary)
        );
        assert_eq!(
            parse_multipart(CT, b"x--XyZ\r\n"),
            Err(FormError::MissingOpeningBoundary)
        );
    }

    #[test]
    fn multipart_no_boundary_parameter() {
        let err = parse_multipart("multipart/form-data", b"--x\r\n--x--").unwrap_err();
        assert_eq!(err, FormError::InvalidBoundary(None));
        assert_eq!(
            err.to_string(),
            "Multipart form parse error - Invalid boundary in multipart: None"
        );
        let err = parse_multipart("multipart/form-data; charset=utf-8", b"x").unwrap_err();
        assert_eq!(err, FormError::InvalidBoundary(None));
    }

    #[test]
    fn multipart_empty_or_invalid_boundary() {
        let err = parse_multipart("multipart/form-data; boundary=\"\"", b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multipart form parse error - Invalid boundary in multipart: "
        );
        let long = "b".repeat(202);
        let err =
            parse_multipart(&format!("multipart/form-data; boundary={long}"), b"x").unwrap_err();
        assert_eq!(err, FormError::InvalidBoundary(Some(long)));
        // A trailing space is stripped from bare values but kept in quoted ones.
        let err = parse_multipart("multipart/form-data; boundary=\"ab \"", b"x").unwrap_err();
        assert_eq!(err, FormError::InvalidBoundary(Some("ab ".to_owned())));
        let max = "b".repeat(201);
        let body = format!("--{max}\r\n\r\n--{max}--");
        let ct = format!("multipart/form-data; boundary={max}");
        assert_eq!(parse_multipart(&ct, body.as_bytes()).unwrap(), Map::new());
    }

    #[test]
    fn multipart_empty_body_is_no_data() {
        assert_eq!(parse_multipart(CT, b"").unwrap(), Map::new());
        // DRF does not run the parser at all for an empty body.
        assert_eq!(
            parse_multipart("multipart/form-data", b"").unwrap(),
            Map::new()
        );
    }

    #[test]
    fn multipart_content_type_checks() {
        let err = parse_multipart("application/json; boundary=x", b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multipart form parse error - Invalid Content-Type: application/json; boundary=x"
        );
        // Django's check is case-sensitive.
        assert!(matches!(
            parse_multipart("Multipart/form-data; boundary=x", b"x"),
            Err(FormError::InvalidContentType(_))
        ));
        let err = parse_multipart("multipart/form-data; boundary = \u{e0}", b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multipart form parse error - Invalid non-ASCII Content-Type in multipart: \
             multipart/form-data; boundary = \u{e0}"
        );
        assert!(matches!(
            parse_multipart("multipart/form-data; boundary*=bogus''x", b"x"),
            Err(FormError::MalformedContentType(_))
        ));
    }

    // --- multipart: parts ---------------------------------------------------

    #[test]
    fn multipart_non_utf8_part_body_is_lossy() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nJ\xe9r\xf4me \xe2\x82\r\n--XyZ--";
        assert_eq!(
            parse_multipart(CT, body).unwrap(),
            obj(&[("a", "J\u{FFFD}r\u{FFFD}me \u{FFFD}")])
        );
    }

    #[test]
    fn multipart_name_quoting_and_header_case() {
        let body = b"--XyZ\r\n\
            CONTENT-DISPOSITION: form-data; NAME=\"say \\\"hi\\\" \\\\o/; ok\"\r\n\r\n\
            1\r\n\
            --XyZ\r\n\
            content-disposition: Form-Data; name=bare\r\n\r\n\
            2\r\n\
            --XyZ\r\n\
            Content-Disposition : form-data; name=spaced\r\n\r\n\
            ignored: Django 5.2 does not strip the header name\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name*=utf-8''caf%C3%A9\r\n\r\n\
            3\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\" padded \"\r\n\r\n\
            4\r\n\
            --XyZ--";
        assert_eq!(
            parse_multipart(CT, body).unwrap(),
            obj(&[
                ("say \"hi\" \\o/; ok", "1"),
                ("bare", "2"),
                ("café", "3"),
                ("padded", "4")
            ])
        );
    }

    #[test]
    fn multipart_parts_without_disposition_or_name_ignored() {
        let body = b"--XyZ\r\n\
            Content-Type: text/plain\r\n\r\n\
            orphan\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data\r\n\r\n\
            nameless\r\n\
            --XyZ\r\n\
            \r\n\
            no headers\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"a\"\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"empty\"\r\n\r\n\
            \r\n\
            --XyZ\r\n\
            --XyZ--";
        assert_eq!(parse_multipart(CT, body).unwrap(), obj(&[("empty", "")]));
    }

    #[test]
    fn multipart_base64_transfer_encoding() {
        let body = b"--XyZ\r\n\
            Content-Disposition: form-data; name=\"a\"\r\n\
            Content-Transfer-Encoding: BASE64\r\n\r\n\
            aGVs\r\nbG8=\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"b\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\n\
            abcde\r\n\
            --XyZ--";
        // Invalid base64 (bad length) keeps the raw bytes, as Django does.
        assert_eq!(
            parse_multipart(CT, body).unwrap(),
            obj(&[("a", "hello"), ("b", "abcde")])
        );
    }

    #[test]
    fn multipart_base64_file_part_must_decode() {
        let file = |data: &str| {
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{data}\r\n--XyZ--"
            )
        };
        assert_eq!(
            parse_multipart(CT, file("aGk=").as_bytes()).unwrap(),
            Map::new()
        );
        let err = parse_multipart(CT, file("aGk").as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multipart form parse error - Could not decode base64 data."
        );
    }

    #[test]
    fn py_b64decode_matches_python() {
        assert_eq!(py_b64decode(b"aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            py_b64decode(b"aGVsbG8=trailing").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(py_b64decode(b"aGVs bG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(py_b64decode(b"aGVsbG8"), None); // Incorrect padding
        assert_eq!(py_b64decode(b"a"), None);
        assert_eq!(py_b64decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(py_b64decode(b"=a=b=c=d").as_deref(), Some(&b"i\xb7"[..]));
    }

    #[test]
    fn multipart_header_too_large() {
        let long = "-".repeat(MAX_TOTAL_HEADER_SIZE + 1);
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"name\"\r\nX-Long-Header: {long}\r\n\r\nvalue\r\n--XyZ--"
        );
        let err = parse_multipart(CT, body.as_bytes()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Multipart form parse error - Request max total header size exceeded."
        );
        // Headers ending exactly at the limit are fine.
        let head = "\r\nContent-Disposition: form-data; name=\"n\"\r\nX: ";
        let pad = "p".repeat(MAX_TOTAL_HEADER_SIZE - head.len() - 4);
        let body = format!("--XyZ{head}{pad}\r\n\r\nvalue\r\n--XyZ--");
        assert_eq!(
            parse_multipart(CT, body.as_bytes()).unwrap(),
            obj(&[("n", "value")])
        );
        let body = format!("--XyZ{head}{pad}p\r\n\r\nvalue\r\n--XyZ--");
        assert_eq!(
            parse_multipart(CT, body.as_bytes()),
            Err(FormError::HeaderTooLarge)
        );
    }

    #[test]
    fn multipart_limits() {
        let part = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
        let ok = format!("{}--XyZ--", part.repeat(1000));
        assert_eq!(parse_multipart(CT, ok.as_bytes()).unwrap().len(), 1);
        let too_many = format!("{}--XyZ--", part.repeat(1001));
        assert_eq!(
            parse_multipart(CT, too_many.as_bytes()),
            Err(FormError::TooManyFields)
        );

        let file =
            "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nv\r\n";
        let too_many = format!("{}--XyZ--", file.repeat(101));
        assert_eq!(
            parse_multipart(CT, too_many.as_bytes()),
            Err(FormError::TooManyFiles)
        );

        let big = "x".repeat(DATA_UPLOAD_MAX_MEMORY_SIZE - 3);
        let body =
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{big}\r\n--XyZ--");
        assert_eq!(parse_multipart(CT, body.as_bytes()).unwrap().len(), 1);
        let body =
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"ab\"\r\n\r\n{big}\r\n--XyZ--");
        assert_eq!(
            parse_multipart(CT, body.as_bytes()),
            Err(FormError::DataTooBig)
        );
    }

    #[test]
    fn header_parameter_parsing_matches_django() {
        let (key, params) = parse_header_parameters(
            "Form-Data; name=\"a;b\"; x=\"q\\\"; y\"; filename*=latin-1''%E9",
        )
        .unwrap();
        assert_eq!(key, "form-data");
        assert_eq!(param(&params, "name"), Some("a;b"));
        assert_eq!(param(&params, "x"), Some("q\"; y"));
        assert_eq!(param(&params, "filename"), Some("é"));
        let (_, params) = parse_header_parameters("a; n=1; N=2").unwrap();
        assert_eq!(param(&params, "n"), Some("2"));
        assert!(parse_header_parameters("a; n*=bogus''%41").is_err());
        assert!(parse_header_parameters("a; n*=bogus''A").is_err());
        // Continuations, <angle> quoting, bare attributes, plain params first.
        let (key, params) = parse_header_parameters(
            "Attachment; n*1=\"c d\"; n*0*=utf-8''a%C3%A9; u=<x>; Bare; t*=\"a\"; t=b",
        )
        .unwrap();
        assert_eq!(key, "attachment");
        assert_eq!(param(&params, "n"), Some("aéc d"));
        assert_eq!(param(&params, "u"), Some("x"));
        assert_eq!(param(&params, "Bare"), Some(""));
        assert_eq!(param(&params, "t"), Some("a"));
        assert!(parse_header_parameters("a; n*=x; n*0=y").is_err());
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let body: &[u8] = b"pre\r\n--XyZ \r\nContent-Disposition: form-data; name=\"a\"; x*=u''%\r\n\
            Content-Transfer-Encoding: base64\r\n\r\naGk=\r\n--XyZ\nContent-Disposition: form-data; \
            name=\"b\\\"\"; filename=\"\"\n\n\xff\xfe\r\n--XyZ\r\n\r\n--XyZ--\r\npost";
        let cts = [
            CT,
            "multipart/form-data; boundary=\"XyZ",
            "multipart/form-data; boundary=\"\\\";\"",
            "multipart/form-data; ;;; boundary*=''%",
            "multipart/",
        ];
        for ct in cts {
            for end in 0..=body.len() {
                let slice = &body[..end];
                let _ = parse_multipart(ct, slice);
                let _ = parse_urlencoded(slice);
                let _ = parse_multipart(ct, &body[end..]);
            }
        }
        // Pseudo-random bytes drawn from a small alphabet rich in syntax characters.
        let alphabet: &[u8] = b"-XyZ\r\n:;=\"\\'%+&*aB \t\xff\xc3";
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..3000 {
            let len = (state % 96) as usize;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                buf.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = parse_multipart(CT, &buf);
            let _ = parse_urlencoded(&buf);
            let ct = format!("multipart/form-data; {}", String::from_utf8_lossy(&buf));
            let _ = parse_multipart(&ct, b"--XyZ\r\n\r\n--XyZ--");
        }
    }
}
