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
}

impl Query {
    /// Decodes a raw query string: pairs split on `&` (empty ones skipped), `+` is a space,
    /// blank values kept, `%XX` escapes that are not hexadecimal kept as they are. Bytes that
    /// are not UTF-8 once decoded, in a name or a value, are refused rather than read as
    /// replacement characters (which would filter or search for something never sent).
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut pairs = Vec::new();
        for pair in raw.unwrap_or_default().split('&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            pairs.push((unquote(name)?, unquote(value)?));
        }
        Ok(Query { pairs })
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

/// One name or value of the query, decoded.
fn unquote(raw: &str) -> Result<String, ApiError> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| ApiError::QueryNotUtf8)
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
        let q = |s: &str| Query::parse(Some(s)).unwrap_or_default();
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
        let q =
            Query::parse(Some("search=a%20b&email=x%40y&limit=2&tag=1&tag=2")).unwrap_or_default();
        assert_eq!(
            q.with(&[("limit", Some("2".into())), ("offset", Some("4".into()))]),
            "email=x%40y&limit=2&offset=4&search=a+b&tag=1&tag=2"
        );
        assert_eq!(
            q.with(&[("offset", None)]),
            "email=x%40y&limit=2&search=a+b&tag=1&tag=2"
        );
        let odd = Query::parse(Some("a=~*'")).unwrap_or_default();
        assert_eq!(odd.with(&[]), "a=~%2A%27");
    }

    #[test]
    fn decodes_like_form_urlencoded_but_refuses_bad_utf8() {
        let q = Query::parse(Some("a=x+y%21&&b&c=%zz&d=%C3%A9")).unwrap_or_default();
        assert_eq!(q.last("a"), Some("x y!"));
        assert_eq!(q.last("b"), Some(""));
        assert_eq!(q.last("c"), Some("%zz"));
        assert_eq!(q.last("d"), Some("é"));
        assert_eq!(q.names(), ["a", "b", "c", "d"]);
        for bad in ["search=%ff%fe", "%ff=1", "x=%C3"] {
            assert!(matches!(
                Query::parse(Some(bad)),
                Err(ApiError::QueryNotUtf8)
            ));
        }
    }
}
