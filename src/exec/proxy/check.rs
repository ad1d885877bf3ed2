//! The contract, both ways, for proxied methods. Before forwarding: the key, the filters and
//! the body, checked exactly as the native executor checks them (so a refused request gets
//! the same 400 or 404 the native route would give, and never reaches the upstream). After:
//! the upstream's status must be one the operation declares, and its body must match the
//! schema declared for that status, compiled once per contract from the OpenAPI document the
//! gateway itself publishes.

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, StatusCode, header};
use jsonschema::Validator;
use serde_json::{Map, Value, json};

use crate::config::Limits;
use crate::contract::{Action, Resource, Spec, Via, schema};
use crate::error::ApiError;
use crate::exec::crud;
use crate::intake::scope;
use crate::route::ApiRequest;

/// Checks a proxied request as the native executor of `action` would, without the database.
pub fn request(
    resource: &Resource,
    action: Action,
    req: &ApiRequest,
    limits: &Limits,
) -> Result<(), ApiError> {
    if action.is_detail() {
        crud::parse_key(req.key.as_deref())?;
    }
    if action != Action::Create {
        scope::scope(resource, &req.query)?;
    }
    if !action.takes_body() {
        return Ok(());
    }
    let partial = action == Action::PartialUpdate;
    let checked = crud::checked_body(resource, req, limits, partial)?;
    if checked.errors.is_empty() {
        return Ok(());
    }
    Err(crud::field_errors(resource, checked.errors))
}

/// What one declared status may carry.
enum Expect {
    /// No body (a 204, say).
    Empty,
    /// A JSON body matching this schema.
    Json(Box<Validator>),
    /// Whatever the upstream sends (declared without content).
    Anything,
}

/// Which statuses a declared response covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Covers {
    /// One status.
    Exactly(StatusCode),
    /// A range such as `2XX` (its first digit).
    Range(u16),
    /// Every status no other response declares.
    Default,
}

impl Covers {
    fn parse(key: &str) -> Option<Covers> {
        if key == "default" {
            return Some(Covers::Default);
        }
        if let Ok(code) = key.parse::<u16>() {
            return StatusCode::from_u16(code).ok().map(Covers::Exactly);
        }
        let (first, rest) = key.split_at_checked(1)?;
        let first: u16 = first.parse().ok()?;
        ((1..=5).contains(&first) && rest.eq_ignore_ascii_case("xx"))
            .then_some(Covers::Range(first))
    }

    /// How specific it is (the most specific match applies, as OpenAPI says).
    fn rank(self, status: StatusCode) -> Option<u8> {
        match self {
            Covers::Exactly(s) if s == status => Some(0),
            Covers::Range(first) if status.as_u16() / 100 == first => Some(1),
            Covers::Default => Some(2),
            _ => None,
        }
    }
}

/// The declared responses of one proxied operation.
pub struct Responses {
    by_status: Vec<(Covers, Expect)>,
}

/// The declared responses of every proxied (route, method), compiled once per contract.
#[derive(Default)]
pub struct Checks {
    by_operation: HashMap<(usize, Method), Responses>,
}

impl Checks {
    /// Compiles the responses of every proxied method from `document` (the OpenAPI document
    /// built from `spec`, whose `components` the `$ref`s point into).
    pub fn compile(spec: &Spec, document: &Value) -> Result<Checks, String> {
        let mut checks = Checks::default();
        let components = document.get("components").cloned().unwrap_or(json!({}));
        for (index, route) in spec.routes.iter().enumerate() {
            for binding in &route.methods {
                if binding.via == Via::Native {
                    continue;
                }
                let method = binding.method.as_str().to_ascii_lowercase();
                let declared = document
                    .pointer(&format!(
                        "/paths/{}/{method}/responses",
                        escape(&route.template)
                    ))
                    .and_then(Value::as_object);
                let Some(declared) = declared else {
                    return Err(format!(
                        "{} {method}: no declared responses",
                        route.template
                    ));
                };
                let responses = compile_responses(declared, &components)
                    .map_err(|e| format!("{} {method}: {e}", route.template))?;
                checks
                    .by_operation
                    .insert((index, binding.method.clone()), responses);
            }
        }
        Ok(checks)
    }

    /// The declared responses of a route's method, if it is proxied.
    pub fn responses(&self, route: usize, method: &Method) -> Option<&Responses> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.by_operation.get(&(route, method.clone()))
    }
}

fn compile_responses(
    declared: &Map<String, Value>,
    components: &Value,
) -> Result<Responses, String> {
    let mut by_status = Vec::new();
    for (status, response) in declared {
        let Some(status) = Covers::parse(status) else {
            return Err(format!(
                "response {status:?} is not a status, a range or default"
            ));
        };
        let expect = match response.pointer("/content/application~1json/schema") {
            Some(body) => {
                let root = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "components": components,
                    "allOf": [body],
                });
                Expect::Json(Box::new(schema::compile(&root)?))
            }
            None if response.get("content").is_some() => Expect::Anything,
            None => Expect::Empty,
        };
        by_status.push((status, expect));
    }
    Ok(Responses { by_status })
}

/// A JSON-pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

impl Responses {
    /// What is wrong with the upstream's answer, if anything (at most a few messages).
    pub fn violations(&self, response: &http::Response<Bytes>, head: bool) -> Vec<String> {
        let status = response.status();
        let best = self
            .by_status
            .iter()
            .filter_map(|(covers, expect)| covers.rank(status).map(|rank| (rank, expect)))
            .min_by_key(|(rank, _)| *rank);
        let Some((_, expect)) = best else {
            return vec![format!(
                "status {} is not declared for this operation",
                status.as_u16()
            )];
        };
        let body = response.body();
        match expect {
            Expect::Anything => Vec::new(),
            Expect::Empty if body.is_empty() => Vec::new(),
            Expect::Empty => vec![format!(
                "status {} declares no body, and the upstream sent {} bytes",
                status.as_u16(),
                body.len()
            )],
            Expect::Json(_) if head && body.is_empty() => Vec::new(),
            Expect::Json(validator) => json_violations(validator, response),
        }
    }
}

fn json_violations(validator: &Validator, response: &http::Response<Bytes>) -> Vec<String> {
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = media.split(';').next().unwrap_or("").trim();
    if !(essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")) {
        return vec![format!(
            "Content-Type {media:?} is not JSON, which status {} declares",
            response.status().as_u16()
        )];
    }
    let value: Value = match serde_json::from_slice(response.body()) {
        Ok(value) => value,
        Err(e) => return vec![format!("the body is not JSON: {e}")],
    };
    if validator.is_valid(&value) {
        return Vec::new();
    }
    validator
        .iter_errors(&value)
        .take(10)
        .map(|e| {
            let at = e.instance_path().as_str().to_owned();
            let at = if at.is_empty() { "/".to_owned() } else { at };
            format!("{at}: {e}")
        })
        .collect()
}

/// The violations as one `Specgate-Violations` value: a compact JSON array of strings,
/// ASCII only, at most `max` bytes (messages that do not fit are counted instead).
pub fn header_value(violations: &[String], max: usize) -> http::HeaderValue {
    let mut kept: Vec<String> = Vec::new();
    let mut length = 2;
    for (i, message) in violations.iter().enumerate() {
        let encoded = ascii_json(message);
        let more = violations.len() - i;
        let room_for_tail = if more > 1 { 24 } else { 0 };
        if length + encoded.len() + 1 + room_for_tail > max {
            kept.push(ascii_json(&format!("... {more} more")));
            break;
        }
        length += encoded.len() + 1;
        kept.push(encoded);
    }
    let text = format!("[{}]", kept.join(","));
    http::HeaderValue::from_str(&text).unwrap_or_else(|_| http::HeaderValue::from_static("[]"))
}

/// A JSON string with every non-ASCII character escaped, so any message fits a header.
fn ascii_json(message: &str) -> String {
    let json = Value::String(message.chars().take(500).collect()).to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_ascii_json_and_cut_at_its_limit() {
        let many: Vec<String> = (0..50).map(|i| format!("/id: é problem {i}")).collect();
        let value = header_value(&many, 256);
        let text = value.to_str().unwrap_or_default();
        assert!(text.len() <= 256, "{}", text.len());
        let parsed: Vec<String> = serde_json::from_str(text).unwrap_or_default();
        assert!(parsed[0].contains('é'));
        assert!(parsed.last().is_some_and(|l| l.ends_with("more")));
    }
}
