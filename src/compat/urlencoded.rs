//! `application/x-www-form-urlencoded` bodies as DRF's `FormParser` reads them: Django 4.2's
//! `QueryDict(body, encoding)` over Python's `urllib.parse.parse_qsl`.

use serde_json::{Map, Value};

use super::python::Codec;

/// Django's default `DATA_UPLOAD_MAX_NUMBER_FIELDS`.
pub const MAX_FIELDS: usize = 1000;

/// The body has more than [`MAX_FIELDS`] fields (Django's `TooManyFieldsSent`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyFields;

impl std::fmt::Display for TooManyFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS.",
        )
    }
}

impl std::error::Error for TooManyFields {}

/// A form body → a JSON object of strings. A key sent several times keeps its last value
/// (`QueryDict[key]`) at the position of its first.
///
/// The body is decoded with `codec`, or as ISO-8859-1 when it is not valid in it; pairs are
/// split on `&` only, empty pairs skipped, a pair without `=` has the value `""`, `+` is a
/// space, and `%XX` escapes are decoded with `codec` (invalid ones kept as they are).
pub fn parse(body: &[u8], codec: Codec) -> Result<Map<String, Value>, TooManyFields> {
    let text = match (codec, std::str::from_utf8(body)) {
        (Codec::Utf8, Ok(text)) => text.into(),
        (Codec::Ascii, Ok(text)) if text.is_ascii() => text.into(),
        _ => Codec::Latin1.decode(body),
    };
    if !text.is_empty() && text.matches('&').count() >= MAX_FIELDS {
        return Err(TooManyFields);
    }
    let mut map = Map::new();
    for pair in text.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let unquote = |s: &str| codec.unquote(&s.replace('+', " "));
        map.insert(unquote(key), Value::String(unquote(value)));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &[u8]) -> Vec<(String, String)> {
        parse(body, Codec::Utf8)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn repeated_keys_keep_the_last_value_at_the_first_place() {
        assert_eq!(form(b"a=1&b=2&a=3"), pairs(&[("a", "3"), ("b", "2")]));
    }

    #[test]
    fn pairs_are_split_like_parse_qsl() {
        assert_eq!(
            form(b"&&phone=&flag&=&x=1;y=2&token=a=b=="),
            pairs(&[
                ("phone", ""),
                ("flag", ""),
                ("", ""),
                ("x", "1;y=2"),
                ("token", "a=b==")
            ])
        );
        assert_eq!(
            form(b"full+name=John+Doe&x=%2B1%20&a=%zz&b=100%&d=%%41"),
            pairs(&[
                ("full name", "John Doe"),
                ("x", "+1 "),
                ("a", "%zz"),
                ("b", "100%"),
                ("d", "%A")
            ])
        );
    }

    #[test]
    fn bytes_are_decoded_like_query_dict() {
        assert_eq!(
            form(b"a=%FF&b=caf%C3%A9&c=%C3"),
            pairs(&[("a", "\u{FFFD}"), ("b", "café"), ("c", "\u{FFFD}")])
        );
        // Not UTF-8: the body is read as ISO-8859-1, escapes still as UTF-8.
        assert_eq!(
            form(b"name=J\xe9r\xf4me&x=%C3%A9"),
            pairs(&[("name", "Jérôme"), ("x", "é")])
        );
        let latin = parse(b"a=na%EFve&b=caf\xe9&c=%41", Codec::Latin1).unwrap_or_default();
        assert_eq!(latin.get("a"), Some(&Value::from("naïve")));
        assert_eq!(latin.get("b"), Some(&Value::from("café")));
        assert_eq!(latin.get("c"), Some(&Value::from("A")));
    }

    #[test]
    fn utf8_forms_agree_with_form_urlencoded() {
        let samples: [&[u8]; 4] = [
            b"a=1&b=%41%42&c=x+y&a=2",
            b"k%20ey=v%2Fal&%E2%82%AC=euro",
            "raw=ü&q=%zz&flag&n=é%C3%A9".as_bytes(),
            b"&&x=%E2%82&y=%C3%28",
        ];
        for sample in samples {
            let mut expected = Map::new();
            for (k, v) in form_urlencoded::parse(sample) {
                expected.insert(k.into_owned(), Value::String(v.into_owned()));
            }
            assert_eq!(parse(sample, Codec::Utf8), Ok(expected), "{sample:?}");
        }
    }

    #[test]
    fn more_than_a_thousand_fields_are_refused() {
        let ok = vec!["a=1"; MAX_FIELDS].join("&");
        assert_eq!(parse(ok.as_bytes(), Codec::Utf8).map(|m| m.len()), Ok(1));
        // 1001 (empty) fields, as Python counts them.
        let too_many = "&".repeat(MAX_FIELDS);
        assert_eq!(parse(too_many.as_bytes(), Codec::Utf8), Err(TooManyFields));
        assert!(parse(b"", Codec::Utf8).is_ok_and(|m| m.is_empty()));
    }
}
