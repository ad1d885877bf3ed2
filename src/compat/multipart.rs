//! `multipart/form-data` bodies as DRF's `MultiPartParser` reads them with Django 4.2's
//! `django.http.multipartparser.MultiPartParser`: the same fields (the last value of a name
//! wins), the same checks of the Content-Type and boundary, the same limits, and the same
//! messages. File parts are not kept.
//!
//! The parts themselves are framed as RFC 2046 says, a deliberate difference from Django
//! (which splits on `--boundary` anywhere): a delimiter counts only at the start of a line
//! and when followed by `--` or by blanks and a line end; bare-LF line ends are accepted;
//! the preamble and epilogue are ignored; a non-empty body without an opening or a closing
//! delimiter is an error.

use std::borrow::Cow;
use std::fmt;

use memchr::memmem;
use serde_json::{Map, Value};

use super::header;
use super::python::is_python_space;
use super::urlencoded::MAX_FIELDS;

/// Django's default `DATA_UPLOAD_MAX_NUMBER_FILES`.
const MAX_FILES: usize = 100;
/// Django's default `DATA_UPLOAD_MAX_MEMORY_SIZE` (2.5 MiB).
const MAX_MEMORY: usize = 2_621_440;
/// The headers of a part must end within the first 1024 bytes after its `--boundary`.
const MAX_HEADER: usize = 1024;

/// Why a multipart body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// The Content-Type does not start with `multipart/` (case-sensitive, as in Django).
    InvalidContentType(String),
    /// The Content-Type contains non-ASCII characters.
    NonAsciiContentType(String),
    /// Django's header parsing raised (an error page there); holds the exception's text.
    MalformedContentType(String),
    /// The boundary parameter is missing (`None`), empty or not a valid boundary.
    InvalidBoundary(Option<String>),
    /// A non-empty body has no opening `--boundary` line.
    MissingOpeningBoundary,
    /// The body ends without a closing `--boundary--` line.
    MissingClosingBoundary,
    /// A file part sent with `Content-Transfer-Encoding: base64` is not valid base64.
    InvalidBase64File,
    /// More than 1000 fields (`TooManyFieldsSent`, a plain 400 in Django).
    TooManyFields,
    /// More than 100 file parts (`TooManyFilesSent`).
    TooManyFiles,
    /// Text fields beyond 2.5 MiB (`RequestDataTooBig`).
    DataTooBig,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const PREFIX: &str = "Multipart form parse error - ";
        match self {
            Self::InvalidContentType(ct) => write!(f, "{PREFIX}Invalid Content-Type: {ct}"),
            Self::NonAsciiContentType(ct) => {
                write!(f, "{PREFIX}Invalid non-ASCII Content-Type in multipart: {ct}")
            }
            Self::MalformedContentType(reason) => write!(f, "{PREFIX}{reason}"),
            Self::InvalidBoundary(b) => write!(
                f,
                "{PREFIX}Invalid boundary in multipart: {}",
                b.as_deref().unwrap_or("None")
            ),
            Self::MissingOpeningBoundary => {
                write!(f, "{PREFIX}Opening boundary not found in multipart body")
            }
            Self::MissingClosingBoundary => {
                write!(f, "{PREFIX}Closing boundary not found in multipart body")
            }
            Self::InvalidBase64File => write!(f, "{PREFIX}Could not decode base64 data."),
            Self::TooManyFields => f.write_str(
                "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.",
            ),
            Self::TooManyFiles => {
                f.write_str("The number of files exceeded settings.DATA_UPLOAD_MAX_NUMBER_FILES.")
            }
            Self::DataTooBig => {
                f.write_str("Request body exceeded settings.DATA_UPLOAD_MAX_MEMORY_SIZE.")
            }
        }
    }
}

impl std::error::Error for FormError {}

/// A multipart body → a JSON object of its text fields (UTF-8, invalid bytes replaced).
/// `content_type` is the whole header, e.g. `multipart/form-data; boundary="abc"`. An empty
/// body is an empty object (DRF does not run the parser).
pub fn parse(content_type: &str, body: &[u8]) -> Result<Map<String, Value>, FormError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    if !content_type.starts_with("multipart/") {
        return Err(FormError::InvalidContentType(content_type.to_owned()));
    }
    if !content_type.is_ascii() {
        return Err(FormError::NonAsciiContentType(content_type.to_owned()));
    }
    let header = header::parse(content_type).map_err(FormError::MalformedContentType)?;
    let boundary = match header.params.get("boundary") {
        Some(b) if is_valid_boundary(b) => b,
        other => return Err(FormError::InvalidBoundary(other.cloned())),
    };
    let dash = [b"--", boundary.as_bytes()].concat();
    let mut form = Form::default();
    for segment in segments(body, &dash)? {
        form.add(segment)?;
    }
    Ok(form.fields)
}

/// Django's `boundary_re`, `[ -~]{0,200}[!-~]`, matched in full.
fn is_valid_boundary(boundary: &str) -> bool {
    match boundary.as_bytes().split_last() {
        Some((last, rest)) => {
            rest.len() <= 200
                && last.is_ascii_graphic()
                && rest.iter().all(|c| (b' '..=b'~').contains(c))
        }
        None => false,
    }
}

/// Each part's bytes: from just after its `--boundary` (the rest of that line included, as
/// in Django's sub-streams) to the line end before the next delimiter.
fn segments<'a>(body: &'a [u8], dash: &[u8]) -> Result<Vec<&'a [u8]>, FormError> {
    let mut delimiters = memmem::find_iter(body, dash).filter_map(|at| {
        let line_start = at == 0 || body[at - 1] == b'\n';
        let after = &body[at + dash.len()..];
        let blanks = after
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count();
        let closes = after.starts_with(b"--");
        let opens = after[blanks..].starts_with(b"\n") || after[blanks..].starts_with(b"\r\n");
        (line_start && (closes || opens)).then_some((at, closes))
    });
    let (mut at, mut closed) = delimiters.next().ok_or(FormError::MissingOpeningBoundary)?;
    let mut segments = Vec::new();
    while !closed {
        let (next, closes) = delimiters.next().ok_or(FormError::MissingClosingBoundary)?;
        let start = at + dash.len();
        let end = body[..next - 1]
            .strip_suffix(b"\r")
            .map_or(next - 1, <[u8]>::len);
        segments.push(&body[start..end.max(start)]);
        (at, closed) = (next, closes);
    }
    Ok(segments)
}

/// The fields read so far, and the counts Django limits.
#[derive(Default)]
struct Form {
    fields: Map<String, Value>,
    field_count: usize,
    file_count: usize,
    bytes: usize,
}

impl Form {
    /// One part, as `MultiPartParser._parse` handles it.
    fn add(&mut self, segment: &[u8]) -> Result<(), FormError> {
        let part = Part::read(segment);
        if part.filename.is_none() {
            // Text fields and parts without a Content-Disposition both count as fields.
            self.field_count += 1;
            if self.field_count > MAX_FIELDS {
                return Err(FormError::TooManyFields);
            }
        }
        let Some(name) = part.name else {
            return Ok(());
        };
        match part.filename {
            None => self.add_field(name, part.base64, part.data),
            Some(filename) => {
                self.file_count += 1;
                if self.file_count > MAX_FILES {
                    return Err(FormError::TooManyFiles);
                }
                // The content is not kept, but Django decodes base64 file data and fails
                // on invalid input (unless the file name sanitises to nothing).
                if part.base64 && keeps_file_name(&filename) {
                    let stripped: Vec<u8> = part
                        .data
                        .iter()
                        .copied()
                        .filter(|b| !is_ascii_space(*b))
                        .collect();
                    if b64decode(&stripped).is_none() {
                        return Err(FormError::InvalidBase64File);
                    }
                }
                Ok(())
            }
        }
    }

    fn add_field(&mut self, name: String, base64: bool, data: &[u8]) -> Result<(), FormError> {
        // Django counts the bytes as sent (before base64 decoding) plus `len(name) + 2`.
        self.bytes = self
            .bytes
            .saturating_add(data.len() + name.chars().count() + 2);
        if self.bytes > MAX_MEMORY {
            return Err(FormError::DataTooBig);
        }
        let decoded = match base64.then(|| b64decode(data)).flatten() {
            Some(decoded) => Cow::Owned(decoded),
            None => Cow::Borrowed(data),
        };
        let value = String::from_utf8_lossy(&decoded).into_owned();
        self.fields.insert(name, Value::String(value));
        Ok(())
    }
}

/// What `parse_boundary_stream` makes of a part.
#[derive(Default)]
struct Part<'a> {
    /// The Content-Disposition's `name`, stripped; `None` without either.
    name: Option<String>,
    /// A non-empty `filename` makes the part a file.
    filename: Option<String>,
    /// `Content-Transfer-Encoding: base64`.
    base64: bool,
    data: &'a [u8],
}

impl<'a> Part<'a> {
    /// Headers end at the first empty line within [`MAX_HEADER`] bytes; without one the part
    /// is raw data (ignored). Lines that are not UTF-8 or do not parse are skipped.
    fn read(segment: &'a [u8]) -> Part<'a> {
        let window = &segment[..segment.len().min(MAX_HEADER)];
        let Some((head, data)) = split_head(window).map(|(head, skip)| (head, &segment[skip..]))
        else {
            return Part::default();
        };
        let mut part = Part {
            data,
            ..Part::default()
        };
        let mut disposition = None;
        for line in head.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Some(header) = std::str::from_utf8(line)
                .ok()
                .and_then(|l| header::parse(l).ok())
            else {
                continue;
            };
            match header.main.split_once(':') {
                Some(("content-disposition", _)) => disposition = Some(header.params),
                Some(("content-transfer-encoding", value)) => {
                    part.base64 = value.trim_matches(is_python_space) == "base64";
                }
                _ => {}
            }
        }
        if let Some(mut params) = disposition {
            part.filename = params.remove("filename").filter(|f| !f.is_empty());
            let name = params.remove("name");
            part.name = name.map(|n| {
                n.trim_matches(|c| u8::try_from(c).is_ok_and(is_ascii_space))
                    .to_owned()
            });
        }
        part
    }
}

/// Python's `bytes.isspace()`: ASCII whitespace including `\x0b`.
fn is_ascii_space(b: u8) -> bool {
    b.is_ascii_whitespace() || b == 0x0b
}

/// The header lines and where the data starts: the first `\n\n` or `\n\r\n` in `window`.
fn split_head(window: &[u8]) -> Option<(&[u8], usize)> {
    let at = memchr::memchr_iter(b'\n', window).find(|&i| {
        let rest = &window[i + 1..];
        rest.starts_with(b"\n") || rest.starts_with(b"\r\n")
    })?;
    let skip = if window[at + 1] == b'\n' {
        at + 2
    } else {
        at + 3
    };
    Some((&window[..at], skip))
}

/// Whether `sanitize_file_name` leaves a name (Django skips the file otherwise): the last
/// path component, without non-printable characters, is not empty, `.` or `..`. Not done:
/// `html.unescape`; `isprintable` approximated by control, format and separator characters.
fn keeps_file_name(filename: &str) -> bool {
    let last = filename.rsplit(['/', '\\']).next().unwrap_or_default();
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

/// `base64.b64decode(data)` (non-strict `binascii.a2b_base64`): characters outside the
/// alphabet are skipped, decoding stops at complete padding; `None` is `binascii.Error`.
fn b64decode(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let (mut quad, mut bits, mut pads) = (0u8, 0u32, 0u8);
    for &c in data {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        pads = 0;
        bits = ((bits << 6) | u32::from(value)) & 0xff_ffff;
        quad = (quad + 1) % 4;
        let byte = |shift: u32| u8::try_from((bits >> shift) & 0xff).unwrap_or_default();
        match quad {
            2 => out.push(byte(4)),
            3 => out.push(byte(2)),
            0 => out.push(byte(0)),
            _ => {}
        }
    }
    (quad == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn form(content_type: &str, body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
        Ok(parse(content_type, body)?
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect())
    }

    fn fields(expected: &[(&str, &str)]) -> Result<Vec<(String, String)>, FormError> {
        Ok(expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect())
    }

    #[test]
    fn fields_in_order_last_value_wins() {
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
        assert_eq!(
            form(r#"multipart/form-data; boundary="a b\"c""#, body),
            fields(&[("first", "three"), ("second", "two\r\nlines")])
        );
    }

    #[test]
    fn the_boundary_parameter_is_found_like_django() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=title\r\n\r\nHello\r\n--XyZ--";
        for ct in [
            CT,
            "multipart/form-data;BOUNDARY=XyZ;charset=utf-8",
            "multipart/form-data; charset=\"a;b\"; Boundary = XyZ ",
            "multipart/form-data; boundary*=bogus''XyZ",
        ] {
            assert_eq!(form(ct, body), fields(&[("title", "Hello")]), "{ct}");
        }
    }

    #[test]
    fn file_parts_are_skipped_and_an_empty_filename_is_a_field() {
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
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"empty\"; filename=\"\"\r\n\r\n\
            \r\n--XyZ--\r\n";
        assert_eq!(form(CT, body), fields(&[("bio", "hi"), ("empty", "")]));
    }

    #[test]
    fn delimiters_only_at_line_starts_with_lf_or_padding() {
        let body = b"--XyZ\n\
            Content-Disposition: form-data; name=\"a\"\n\n\
            1\n2\n\
            --XyZ \t\r\n\
            content-disposition: form-data; name=\"b\"\n\n\
            x--XyZ y --XyZ--\r\n--XyZabc\r\nXyZ\n\
            --XyZ--\n";
        assert_eq!(
            form(CT, body),
            fields(&[("a", "1\n2"), ("b", "x--XyZ y --XyZ--\r\n--XyZabc\r\nXyZ")])
        );
    }

    #[test]
    fn preamble_and_epilogue_are_ignored() {
        let body = b"This is the preamble.\r\n\
            Content-Disposition: form-data; name=\"evil\"\r\n\r\nx\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"a\"\r\n\r\n\
            1\r\n\
            --XyZ--\r\n\
            Content-Disposition: form-data; name=\"evil2\"\r\n\r\ny\r\n\
            --XyZ\r\n";
        assert_eq!(form(CT, body), fields(&[("a", "1")]));
    }

    #[test]
    fn missing_delimiters_are_errors() {
        let open = b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        assert_eq!(form(CT, open), Err(FormError::MissingClosingBoundary));
        assert_eq!(
            form(CT, &[&open[..], b"--XyZ"].concat()),
            Err(FormError::MissingClosingBoundary)
        );
        assert_eq!(
            FormError::MissingClosingBoundary.to_string(),
            "Multipart form parse error - Closing boundary not found in multipart body"
        );
        // A closing delimiter first (browsers send one alone for an empty FormData).
        let closed = b"Content-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XyZ--\r\n";
        assert_eq!(form(CT, closed), fields(&[]));
        assert_eq!(form(CT, b"--XyZ--\r\n"), fields(&[]));
        assert_eq!(
            form(CT, b"name=value"),
            Err(FormError::MissingOpeningBoundary)
        );
        assert_eq!(
            form(CT, b"x--XyZ\r\n"),
            Err(FormError::MissingOpeningBoundary)
        );
    }

    #[test]
    fn the_content_type_and_boundary_are_checked_like_django() {
        let err = |ct: &str| parse(ct, b"x").err().map(|e| e.to_string());
        let prefix = "Multipart form parse error - ";
        assert_eq!(
            err("multipart/form-data"),
            Some(format!("{prefix}Invalid boundary in multipart: None"))
        );
        assert_eq!(
            err("multipart/form-data; charset=utf-8"),
            Some(format!("{prefix}Invalid boundary in multipart: None"))
        );
        assert_eq!(
            err("multipart/form-data; boundary=\"\""),
            Some(format!("{prefix}Invalid boundary in multipart: "))
        );
        assert_eq!(
            err("multipart/form-data; boundary=\"ab \""),
            Some(format!("{prefix}Invalid boundary in multipart: ab "))
        );
        let long = "b".repeat(202);
        assert_eq!(
            err(&format!("multipart/form-data; boundary={long}")),
            Some(format!("{prefix}Invalid boundary in multipart: {long}"))
        );
        let max = "b".repeat(201);
        let body = format!("--{max}\r\n\r\n--{max}--");
        assert_eq!(
            form(
                &format!("multipart/form-data; boundary={max}"),
                body.as_bytes()
            ),
            fields(&[])
        );
        assert_eq!(
            err("application/json; boundary=x"),
            Some(format!(
                "{prefix}Invalid Content-Type: application/json; boundary=x"
            ))
        );
        assert!(matches!(
            parse("Multipart/form-data; boundary=x", b"x"),
            Err(FormError::InvalidContentType(_))
        ));
        assert_eq!(
            err("multipart/form-data; boundary = \u{e0}"),
            Some(format!(
                "{prefix}Invalid non-ASCII Content-Type in multipart: multipart/form-data; boundary = \u{e0}"
            ))
        );
        assert_eq!(
            err("multipart/form-data; boundary*=bogus''%41"),
            Some(format!("{prefix}unknown encoding: bogus"))
        );
        // DRF does not run the parser on an empty body.
        assert_eq!(form("multipart/form-data", b""), fields(&[]));
    }

    #[test]
    fn part_headers_are_read_like_django() {
        let body = b"--XyZ\r\n\
            CONTENT-DISPOSITION: form-data; NAME=\"say \\\"hi\\\" \\\\o/; ok\"\r\n\r\n\
            1\r\n\
            --XyZ\r\n\
            Content-Disposition : form-data; name=spaced\r\n\r\n\
            ignored: the header name is not stripped\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name*=utf-8''caf%C3%A9\r\n\r\n\
            J\xe9r\xf4me \xe2\x82\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\" padded \"\r\n\r\n\
            4\r\n\
            --XyZ\r\n\
            Content-Type: text/plain\r\n\r\n\
            orphan\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data\r\n\r\n\
            nameless\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"no blank line\"\r\n\
            --XyZ--";
        assert_eq!(
            form(CT, body),
            fields(&[
                ("say \"hi\" \\o/; ok", "1"),
                ("café", "J\u{FFFD}r\u{FFFD}me \u{FFFD}"),
                ("padded", "4")
            ])
        );
    }

    #[test]
    fn headers_not_ending_within_1024_bytes_make_a_raw_part() {
        // Django 4.2 ignores such a part; 5.x refuses the body.
        let head = "\r\nContent-Disposition: form-data; name=\"n\"\r\nX: ";
        let pad = "p".repeat(MAX_HEADER - head.len() - 4);
        let body = format!("--XyZ{head}{pad}\r\n\r\nvalue\r\n--XyZ--");
        assert_eq!(form(CT, body.as_bytes()), fields(&[("n", "value")]));
        let body = format!("--XyZ{head}{pad}p\r\n\r\nvalue\r\n--XyZ--");
        assert_eq!(form(CT, body.as_bytes()), fields(&[]));
    }

    #[test]
    fn base64_parts_are_decoded() {
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
        assert_eq!(form(CT, body), fields(&[("a", "hello"), ("b", "abcde")]));
        let file = |data: &str, name: &str| {
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{data}\r\n--XyZ--"
            )
        };
        assert_eq!(form(CT, file("aGk=", "a.bin").as_bytes()), fields(&[]));
        assert_eq!(
            parse(CT, file("aGk", "a.bin").as_bytes()).map_err(|e| e.to_string()),
            Err("Multipart form parse error - Could not decode base64 data.".to_owned())
        );
        // A file name that sanitises to nothing skips the file, unread.
        assert_eq!(form(CT, file("aGk", "dir/..").as_bytes()), fields(&[]));
    }

    #[test]
    fn b64decode_matches_python() {
        assert_eq!(b64decode(b"aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(
            b64decode(b"aGVsbG8=trailing").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(b64decode(b"aGVs bG8h").as_deref(), Some(&b"hello!"[..]));
        assert_eq!(b64decode(b"aGVsbG8"), None); // Incorrect padding
        assert_eq!(b64decode(b"a"), None);
        assert_eq!(b64decode(b"").as_deref(), Some(&b""[..]));
        assert_eq!(b64decode(b"=a=b=c=d").as_deref(), Some(&b"i\xb7"[..]));
    }

    #[test]
    fn django_limits() {
        let part = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
        let ok = format!("{}--XyZ--", part.repeat(MAX_FIELDS));
        assert_eq!(parse(CT, ok.as_bytes()).map(|m| m.len()), Ok(1));
        let too_many = format!("{}--XyZ--", part.repeat(MAX_FIELDS + 1));
        assert_eq!(
            parse(CT, too_many.as_bytes()),
            Err(FormError::TooManyFields)
        );

        let file =
            "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\nv\r\n";
        let too_many = format!("{}--XyZ--", file.repeat(MAX_FILES + 1));
        assert_eq!(parse(CT, too_many.as_bytes()), Err(FormError::TooManyFiles));

        let big = "x".repeat(MAX_MEMORY - 3);
        let field = |name: &str| {
            format!(
                "--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{big}\r\n--XyZ--"
            )
        };
        assert_eq!(parse(CT, field("a").as_bytes()).map(|m| m.len()), Ok(1));
        assert_eq!(
            parse(CT, field("ab").as_bytes()),
            Err(FormError::DataTooBig)
        );
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
                let _ = parse(ct, &body[..end]);
                let _ = parse(ct, &body[end..]);
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
            let _ = parse(CT, &buf);
            let ct = format!("multipart/form-data; {}", String::from_utf8_lossy(&buf));
            let _ = parse(&ct, b"--XyZ\r\n\r\n--XyZ--");
        }
    }
}
