//! Request bodies: the media type picks the parser (JSON, urlencoded or multipart form),
//! and the result is one JSON value for validation. Errors use DRF's words.

use serde_json::{Map, Value};

use crate::compat::python::Codec;
use crate::compat::{json_error, multipart, urlencoded};
use crate::error::ApiError;

/// Media types the gateway reads, for OPTIONS and documents.
pub const PARSES: [&str; 3] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

/// Parses `body` according to `content_type` (the header as sent).
///
/// An empty body is an empty object whatever its type, as in DRF. A `charset` naming
/// Latin-1 is honoured for JSON and urlencoded bodies; one Python does not know is refused
/// for JSON.
pub fn parse(content_type: Option<&str>, body: &[u8], max_depth: usize) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let sent = content_type.unwrap_or_default();
    let media = sent
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let charset = charset(sent);
    let latin1 = charset.as_deref().and_then(Codec::lookup) == Some(Codec::Latin1);
    let parse_error = |e: &dyn std::fmt::Display| ApiError::Parse(e.to_string());
    match media.as_str() {
        "application/json" => match (charset, latin1) {
            (_, true) => parse_json(Codec::Latin1.decode(body).as_bytes(), max_depth),
            (Some(other), false) if Codec::lookup(&other).is_none() => Err(ApiError::Parse(
                format!("JSON parse error - unknown encoding: {other}"),
            )),
            _ => parse_json(body, max_depth),
        },
        "application/x-www-form-urlencoded" => {
            let codec = if latin1 { Codec::Latin1 } else { Codec::Utf8 };
            urlencoded::parse(body, codec)
                .map(Value::Object)
                .map_err(|e| parse_error(&e))
        }
        "multipart/form-data" => multipart::parse(sent, body)
            .map(Value::Object)
            .map_err(|e| parse_error(&e)),
        _ => Err(ApiError::UnsupportedMediaType(sent.to_owned())),
    }
}

/// How deeply arrays and objects nest in a JSON text (brackets inside strings ignored).
fn depth(body: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in body {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, false, _) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The `charset` parameter of a Content-Type, lower-cased and unquoted.
fn charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("charset"))
            .then(|| value.trim().trim_matches('"').to_ascii_lowercase())
    })
}

fn parse_json(body: &[u8], max_depth: usize) -> Result<Value, ApiError> {
    if depth(body) > max_depth {
        return Err(ApiError::TooDeep(max_depth));
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::Parse(format!(
            "JSON parse error - {}",
            json_error::parse_error(body, &e)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_pick_the_parser() {
        let json = parse(
            Some("Application/JSON; charset=utf-8"),
            br#"{"a":1,"a":2}"#,
            32,
        );
        assert_eq!(json.ok(), Some(serde_json::json!({"a": 2})));
        let form = parse(Some("application/x-www-form-urlencoded"), b"a=1&b=", 32);
        assert_eq!(form.ok(), Some(serde_json::json!({"a": "1", "b": ""})));
        assert_eq!(parse(None, b"", 32).ok(), Some(serde_json::json!({})));
    }

    #[test]
    fn nesting_beyond_the_limit_is_refused() {
        assert_eq!(depth(br#"{"a": [[1], {"b": "[[[["}]}"#), 3);
        assert!(matches!(
            parse(Some("application/json"), b"[[[[1]]]]", 3),
            Err(ApiError::TooDeep(3))
        ));
        assert!(parse(Some("application/json"), b"[[[1]]]", 3).is_ok());
    }

    #[test]
    fn latin1_forms_are_decoded() {
        let form = parse(
            Some("application/x-www-form-urlencoded; charset=latin-1"),
            b"a=na%EFve&b=caf\xe9&c=%41",
            32,
        );
        assert_eq!(
            form.ok(),
            Some(serde_json::json!({"a": "naïve", "b": "café", "c": "A"}))
        );
    }

    #[test]
    fn charsets_are_honoured() {
        let latin = parse(
            Some("application/json; charset=latin-1"),
            b"{\"a\":\"caf\xe9\"}",
            32,
        );
        assert_eq!(latin.ok(), Some(serde_json::json!({"a": "café"})));
        match parse(Some("application/json; charset=klingon"), b"{}", 32) {
            Err(ApiError::Parse(d)) => {
                assert_eq!(d, "JSON parse error - unknown encoding: klingon")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn other_media_types_are_refused_with_the_type_as_sent() {
        match parse(Some("text/plain"), b"x", 32) {
            Err(ApiError::UnsupportedMediaType(t)) => assert_eq!(t, "text/plain"),
            other => panic!("unexpected {other:?}"),
        }
        match parse(None, b"x", 32) {
            Err(ApiError::UnsupportedMediaType(t)) => assert_eq!(t, ""),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn broken_json_gets_pythons_message() {
        match parse(Some("application/json"), b"{\"a\": }", 32) {
            Err(ApiError::Parse(d)) => {
                assert!(d.starts_with("JSON parse error - Expecting value"), "{d}")
            }
            other => panic!("unexpected {other:?}"),
        }
        match parse(Some("application/json"), b"[NaN]", 32) {
            Err(ApiError::Parse(d)) => assert_eq!(
                d,
                "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"
            ),
            other => panic!("unexpected {other:?}"),
        }
    }
}
