//! The query string: decoded pairs (last value wins), DRF's lenient `limit`/`offset`
//! parsing, and the `next`/`previous` links with their parameters re-encoded the way
//! Python's `urlencode` does.

use percent_encoding::percent_decode_str;

use crate::compat::python::{python_int_wide, quote_plus};
use crate::error::ApiError;

/// The decoded query parameters, in the order sent.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
    /// Whether some name or value was not UTF-8 once decoded (then read lossily).
    not_utf8: bool,
}

impl Query {
    /// Decodes a raw query string: pairs split on `&` (empty ones skipped), `+` is a space,
    /// blank values kept, `%XX` escapes that are not hexadecimal kept as they are. Bytes that
    /// are not UTF-8 once decoded are read as replacement characters and remembered, so that
    /// [`Query::utf8`] refuses them where the query is read.
    pub fn parse(raw: Option<&str>) -> Query {
        let mut query = Query::default();
        for pair in raw.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = query.unquote(name);
            let value = query.unquote(value);
            query.pairs.push((name, value));
        }
        query
    }

    /// One name or value, decoded.
    fn unquote(&mut self, raw: &str) -> String {
        let spaced = raw.replace('+', " ");
        let bytes: Vec<u8> = percent_decode_str(&spaced).collect();
        match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                self.not_utf8 = true;
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        }
    }

    /// A 400 when some name or value was not UTF-8 once decoded: read as replacement
    /// characters, it would filter or search for something the client never sent.
    pub fn utf8(&self) -> Result<(), ApiError> {
        if self.not_utf8 {
            Err(ApiError::QueryNotUtf8)
        } else {
            Ok(())
        }
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

    /// Every value given for `name`, in the order sent.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(k, _)| k == name)
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

    #[test]
    fn decodes_like_form_urlencoded_but_refuses_bad_utf8() {
        let q = Query::parse(Some("a=x+y%21&&b&c=%zz&d=%C3%A9"));
        assert!(q.utf8().is_ok());
        assert_eq!(q.last("a"), Some("x y!"));
        assert_eq!(q.last("b"), Some(""));
        assert_eq!(q.last("c"), Some("%zz"));
        assert_eq!(q.last("d"), Some("é"));
        assert_eq!(q.names(), ["a", "b", "c", "d"]);
        for bad in ["search=%ff%fe", "%ff=1", "x=%C3"] {
            let q = Query::parse(Some(bad));
            assert!(matches!(q.utf8(), Err(ApiError::QueryNotUtf8)), "{bad}");
        }
        assert_eq!(Query::parse(Some("x=%C3")).last("x"), Some("\u{fffd}"));
    }
}
