//! An imported operation's request, checked against its OpenAPI document before it is
//! forwarded: each parameter (path, query, header) read from its text as its schema's type
//! and checked, the JSON body parsed and checked. Every violation is named in one 400, and
//! the upstream never sees an invalid request.

use serde_json::Value;

use crate::config::Limits;
use crate::contract::oas::{Checked, Coerce, In, Operation, Param};
use crate::error::ApiError;
use crate::intake::body;
use crate::route::ApiRequest;

/// The most violations one answer names.
const MAX_VIOLATIONS: usize = 20;

/// `Ok` when `req` satisfies `operation`, else the 400 naming each violation.
pub fn check(operation: &Operation, req: &ApiRequest, limits: &Limits) -> Result<(), ApiError> {
    let mut violations = Vec::new();
    for param in &operation.params {
        parameter(param, req, &mut violations);
    }
    if let Some(declared) = &operation.body {
        if req.body.is_empty() {
            if declared.required {
                violations.push("body: a request body is required".to_owned());
            }
        } else if let Some(validator) = &declared.json {
            let media = req.content_type().unwrap_or_default().into_owned();
            let essence = media.split(';').next().unwrap_or("").trim().to_owned();
            if !(essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")) {
                violations.push(format!(
                    "body: Content-Type {media:?} is not the JSON the operation declares"
                ));
            } else {
                match body::parse(Some(&media), &req.body, limits.max_json_depth) {
                    Ok(value) => schema_violations("body", validator, &value, &mut violations),
                    Err(e) => violations.push(format!("body: not JSON ({})", e.body())),
                }
            }
        }
    }
    if violations.is_empty() {
        return Ok(());
    }
    violations.truncate(MAX_VIOLATIONS);
    Err(ApiError::RequestViolation(violations))
}

fn parameter(param: &Param, req: &ApiRequest, violations: &mut Vec<String>) {
    let (place, texts): (&str, Vec<String>) = match param.location {
        In::Path(i) => ("path", req.params.get(i).cloned().into_iter().collect()),
        In::Query => (
            "query",
            req.query.all(&param.name).map(str::to_owned).collect(),
        ),
        In::Header => {
            let mut texts = Vec::new();
            for value in req.headers.get_all(param.name.as_str()) {
                match value.to_str() {
                    Ok(text) => texts.push(text.to_owned()),
                    Err(_) => {
                        violations.push(format!(
                            "header parameter {:?}: not visible ASCII",
                            param.name
                        ));
                        return;
                    }
                }
            }
            ("header", texts)
        }
    };
    let label = format!("{place} parameter {:?}", param.name);
    if texts.is_empty() {
        if param.required {
            violations.push(format!("{label}: required"));
        }
        return;
    }
    let Some(Checked { validator, coerce }) = &param.schema else {
        return;
    };
    let value = match coerce {
        Coerce::Array(item) => {
            // Repeated (`?a=1&a=2`, form style exploded) or comma-separated (`?a=1,2`).
            let items: Vec<&str> = if texts.len() == 1 && param.location != In::Query
                || texts.len() == 1 && texts[0].contains(',')
            {
                texts[0].split(',').collect()
            } else {
                texts.iter().map(String::as_str).collect()
            };
            Value::Array(items.into_iter().map(|t| read(t, item)).collect())
        }
        scalar => texts.last().map_or(Value::Null, |t| read(t, scalar)),
    };
    schema_violations(&label, validator, &value, violations);
}

/// The text as the JSON value its schema's type reads it as; text that does not read so stays
/// a string, and the schema names the mismatch.
fn read(text: &str, coerce: &Coerce) -> Value {
    let parsed = match coerce {
        Coerce::Integer => text.parse::<i64>().ok().map(Value::from),
        Coerce::Number => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number)),
        Coerce::Boolean => match text {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        Coerce::Text | Coerce::Array(_) => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}

fn schema_violations(
    label: &str,
    validator: &jsonschema::Validator,
    value: &Value,
    violations: &mut Vec<String>,
) {
    for error in validator.iter_errors(value).take(MAX_VIOLATIONS) {
        let at = error.instance_path().as_str().to_owned();
        violations.push(format!("{label}{at}: {error}"));
    }
}
