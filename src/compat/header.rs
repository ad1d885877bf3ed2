//! Django 4.2's `django.utils.http.parse_header_parameters`, which reads the Content-Type of
//! a request and the headers of each multipart part: which parameters a client's header
//! carries decides the media type, the charset, the boundary and the field names.

use std::collections::HashMap;

use super::python::{Codec, is_python_space};

/// A header value: its main value, lower-cased, and its parameters by lower-cased name
/// (a later parameter of the same name wins, as in Django's dict).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// What comes before the first `;`, e.g. `multipart/form-data`.
    pub main: String,
    /// The parameters, unquoted and (for `name*=charset'lang'value`) decoded.
    pub params: HashMap<String, String>,
}

/// Parses `line` like `parse_header_parameters`. `Err` is the text of the exception Django
/// raises (a malformed `name*=` parameter or an unknown charset in it).
pub fn parse(line: &str) -> Result<Header, String> {
    let mut pieces = split_params(line).into_iter();
    let main = pieces.next().unwrap_or_default().to_lowercase();
    let mut params = HashMap::new();
    for piece in pieces {
        let Some((name, value)) = piece.split_once('=') else {
            continue;
        };
        let mut name = name.trim_matches(is_python_space).to_lowercase();
        // RFC 2231's `filename*=UTF-8''file.ext` (no continuations in Django 4.2).
        let mut encoded = false;
        if name.ends_with('*') {
            name.pop();
            encoded = piece.matches('\'').count() == 2;
        }
        let mut value = value.trim_matches(is_python_space).to_owned();
        if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            value = value[1..value.len() - 1]
                .replace("\\\\", "\\")
                .replace("\\\"", "\"");
        }
        if encoded {
            value = decode_extended(&value)?;
        }
        params.insert(name, value);
    }
    Ok(Header { main, params })
}

/// `encoding, lang, value = value.split("'")` then `unquote(value, encoding=encoding)`.
fn decode_extended(value: &str) -> Result<String, String> {
    let parts: Vec<&str> = value.split('\'').collect();
    // The piece has two `'`s, so the value has at most two.
    let [charset, _lang, text] = parts[..] else {
        let n = parts.len();
        return Err(format!("not enough values to unpack (expected 3, got {n})"));
    };
    // `unquote` returns text without `%` before looking the codec up.
    if !text.contains('%') {
        return Ok(text.to_owned());
    }
    let codec = Codec::lookup(charset).ok_or_else(|| format!("unknown encoding: {charset}"))?;
    Ok(codec.unquote(text))
}

/// Django's `_parseparam`: the pieces between `;`s outside double quotes (an escaped `\"`
/// does not count), each stripped; the first is the main value.
fn split_params(line: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = line;
    loop {
        let mut end = rest.find(';');
        while let Some(at) = end.filter(|&at| at > 0) {
            let before = &rest[..at];
            let quotes = before.matches('"').count() - before.matches("\\\"").count();
            if quotes.is_multiple_of(2) {
                break;
            }
            end = rest[at + 1..].find(';').map(|next| at + 1 + next);
        }
        let end = end.unwrap_or(rest.len());
        pieces.push(rest[..end].trim_matches(is_python_space));
        match rest[end..].strip_prefix(';') {
            Some(next) => rest = next,
            None => return pieces,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn param<'a>(header: &'a Header, name: &str) -> Option<&'a str> {
        header.params.get(name).map(String::as_str)
    }

    #[test]
    fn parameters_are_read_like_django_4_2() {
        let header = parse(
            "Form-Data; name=\"a;b\"; x=\"q\\\"; y\"; filename*=latin-1''%E9; bare; N=1; n=2",
        )
        .unwrap_or_default();
        assert_eq!(header.main, "form-data");
        assert_eq!(param(&header, "name"), Some("a;b"));
        assert_eq!(param(&header, "x"), Some("q\"; y"));
        assert_eq!(param(&header, "filename"), Some("é"));
        assert_eq!(param(&header, "n"), Some("2"));
        assert_eq!(param(&header, "bare"), None, "no `=`: dropped");
        assert_eq!(header.params.len(), 4);
    }

    #[test]
    fn rfc2231_values_need_two_quotes_and_a_known_charset() {
        let utf8 = parse("a; name*=utf-8''caf%C3%A9").unwrap_or_default();
        assert_eq!(param(&utf8, "name"), Some("café"));
        let plain = parse("a; name*=caf%C3%A9").unwrap_or_default();
        assert_eq!(param(&plain, "name"), Some("caf%C3%A9"), "no quotes: kept");
        let unknown = parse("a; name*=bogus''A").unwrap_or_default();
        assert_eq!(param(&unknown, "name"), Some("A"), "no `%`: no lookup");
        assert_eq!(
            parse("a; n*=bogus''%41"),
            Err("unknown encoding: bogus".to_owned())
        );
        assert_eq!(
            parse("a; b'c*=x'y"),
            Err("not enough values to unpack (expected 3, got 2)".to_owned())
        );
        let continued = parse("a; n*0=x; n*1=y").unwrap_or_default();
        assert_eq!(
            param(&continued, "n*0"),
            Some("x"),
            "no continuations in 4.2"
        );
    }

    #[test]
    fn the_main_value_alone() {
        assert_eq!(parse(" Text/Plain ").unwrap_or_default().main, "text/plain");
        assert_eq!(parse("").unwrap_or_default(), Header::default());
        let header = parse(";;x=1").unwrap_or_default();
        assert_eq!((header.main.as_str(), param(&header, "x")), ("", Some("1")));
    }
}
