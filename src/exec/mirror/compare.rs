//! Comparing a primary's answer with its mirror's: status, then the JSON bodies with the
//! declared noise removed, member order included (the clients being migrated read bytes,
//! not sets). Bodies that are not JSON are compared byte for byte.

use http::StatusCode;
use serde_json::Value;

use crate::contract::mirror::{Mirror, PathStep};

/// The placeholder an id in a URL is compared as.
const ID: &str = "{id}";

/// One side's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its body as sent.
    pub body: bytes::Bytes,
}

/// What differs between `primary` and `mirror` under `rule`, one line per difference
/// (empty: they are the same answer).
pub fn differences(rule: &Mirror, primary: &Answer, mirror: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    if primary.status != mirror.status {
        out.push(format!(
            "status: {} vs {}",
            primary.status.as_u16(),
            mirror.status.as_u16()
        ));
    }
    match (json(&primary.body), json(&mirror.body)) {
        (Some(mut a), Some(mut b)) => {
            for value in [&mut a, &mut b] {
                normalise(rule, value);
            }
            diff(&a, &b, "$", &mut out);
        }
        _ if primary.body != mirror.body => out.push("body: the bytes differ".to_owned()),
        _ => {}
    }
    out
}

/// The body as JSON, when it is JSON.
pub fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

/// Removes the ignored paths and, when asked, turns ids in URLs into the placeholder.
fn normalise(rule: &Mirror, value: &mut Value) {
    for path in &rule.ignore {
        remove(value, &path.0);
    }
    if rule.ids_in_urls {
        placeholders(value);
    }
}

/// Removes what `steps` selects: a member is taken out of its object, an item becomes
/// `null` (so the items after it keep their places).
fn remove(value: &mut Value, steps: &[PathStep]) {
    let [step, rest @ ..] = steps else {
        *value = Value::Null;
        return;
    };
    let last = rest.is_empty();
    match (step, value) {
        (PathStep::Key(key), Value::Object(map)) if last => {
            map.shift_remove(key);
        }
        (PathStep::Key(key), Value::Object(map)) => {
            if let Some(inner) = map.get_mut(key) {
                remove(inner, rest);
            }
        }
        (PathStep::Index(i), Value::Array(items)) => {
            if let Some(inner) = items.get_mut(*i) {
                remove(inner, rest);
            }
        }
        (PathStep::Any, Value::Array(items)) => {
            for inner in items {
                remove(inner, rest);
            }
        }
        (PathStep::Any, Value::Object(map)) if last => map.clear(),
        (PathStep::Any, Value::Object(map)) => {
            for inner in map.values_mut() {
                remove(inner, rest);
            }
        }
        _ => {}
    }
}

/// Every string that is a URL (`scheme://…` or an absolute path) gets its all-digit path
/// segments replaced by the placeholder.
fn placeholders(value: &mut Value) {
    match value {
        Value::String(text) if text.contains("://") || text.starts_with('/') => {
            *text = ids_replaced(text);
        }
        Value::Array(items) => items.iter_mut().for_each(placeholders),
        Value::Object(map) => map.values_mut().for_each(placeholders),
        _ => {}
    }
}

fn ids_replaced(url: &str) -> String {
    let (head, query) = match url.find(['?', '#']) {
        Some(at) => url.split_at(at),
        None => (url, ""),
    };
    let path: Vec<&str> = head
        .split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                ID
            } else {
                segment
            }
        })
        .collect();
    format!("{}{query}", path.join("/"))
}

/// Appends to `out` where `a` and `b` differ, member order included.
fn diff(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let (kx, ky): (Vec<&String>, Vec<&String>) = (x.keys().collect(), y.keys().collect());
            if kx != ky {
                out.push(format!("{at}: members {kx:?} vs {ky:?}"));
            }
            for (key, inner) in x {
                if let Some(other) = y.get(key) {
                    diff(inner, other, &member(at, key), out);
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(format!("{at}: {} items vs {}", x.len(), y.len()));
            }
            for (i, (inner, other)) in x.iter().zip(y).enumerate() {
                diff(inner, other, &format!("{at}[{i}]"), out);
            }
        }
        _ if a != b => out.push(format!("{at}: {a} vs {b}")),
        _ => {}
    }
}

fn member(at: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{at}.{key}")
    } else {
        format!("{at}[{key:?}]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Via;
    use crate::contract::mirror::JsonPath;

    fn rule(ignore: &[&str], ids_in_urls: bool) -> Mirror {
        Mirror {
            to: Via::Native,
            to_name: "native".into(),
            primary_name: "legacy".into(),
            ignore: ignore
                .iter()
                .map(|p| JsonPath::parse(p).unwrap_or_else(|e| panic!("{e}")))
                .collect(),
            ids_in_urls,
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT),
            body: bytes::Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    #[test]
    fn ignored_paths_and_url_ids_are_not_differences() {
        let r = rule(&["$.results[*].created_at", "$.id"], true);
        let a = answer(
            200,
            r#"{"id":1,"next":"http://h/library/books/7/?limit=2","results":[{"a":1,"created_at":"x"}]}"#,
        );
        let b = answer(
            200,
            r#"{"id":2,"next":"http://h/library/books/9/?limit=2","results":[{"a":1,"created_at":"y"}]}"#,
        );
        assert_eq!(differences(&r, &a, &b), Vec::<String>::new());
        let limits = answer(
            200,
            r#"{"id":2,"next":"http://h/library/books/9/?limit=3","results":[{"a":1,"created_at":"y"}]}"#,
        );
        assert_eq!(differences(&r, &a, &limits).len(), 1);
    }

    #[test]
    fn order_status_and_values_differ() {
        let r = rule(&[], false);
        let a = answer(200, r#"{"a":1,"b":[1,2]}"#);
        let reordered = answer(200, r#"{"b":[1,2],"a":1}"#);
        assert_eq!(differences(&r, &a, &reordered).len(), 1);
        let other = answer(201, r#"{"a":1,"b":[1,3]}"#);
        assert_eq!(
            differences(&r, &a, &other),
            vec!["status: 200 vs 201".to_owned(), "$.b[1]: 2 vs 3".to_owned()]
        );
        assert_eq!(differences(&r, &answer(204, ""), &answer(204, "")).len(), 0);
        assert_eq!(differences(&r, &answer(404, "<h1>"), &a).len(), 2);
    }
}
