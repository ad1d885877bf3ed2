//! Request bodies checked against their input schema, with Django REST Framework's field
//! semantics; response bodies checked against their representation schema.
//!
//! A body is first shaped the way DRF's `CharField` shapes it (unknown keys dropped, strings
//! trimmed, numbers sent for string fields turned into their Python text), then validated by
//! the compiled JSON Schema. Each failed keyword becomes the message the schema declares for
//! it, and messages are gathered per field in the schema's property order. Like DRF, a field
//! that is missing, null, of the wrong type or blank gets that one message; otherwise it
//! gets one message per failed rule, in the order the rules are written.

use serde_json::{Map, Value};

use crate::compat::drf::{COLUMN_MESSAGES, FALSE_WORDS, TRUE_WORDS};
use crate::compat::number::python_number_text;
use crate::compat::python::{is_python_space, python_int, python_type};
use crate::contract::{InputField, InputSchema};
use crate::plan::{ColumnType, Columns, Kind, Storage};

pub use crate::error::FieldErrors;

/// The key DRF uses for errors about the body as a whole.
pub const NON_FIELD_ERRORS: &str = "non_field_errors";

/// The outcome of checking one body.
#[derive(Debug, Default)]
pub struct Checked {
    /// Values of the fields that passed, by index into [`InputSchema::fields`], in field order.
    pub values: Vec<(usize, Value)>,
    /// Messages of the fields that failed, by field index, in field order.
    pub errors: Vec<(usize, Vec<String>)>,
    /// Values of the fields that failed a rule but are well-formed (present, of their type,
    /// not blank): DRF still runs their uniqueness check.
    pub well_formed: Vec<(usize, Value)>,
}

/// Why a body was refused before any field was looked at.
#[derive(Debug, PartialEq, Eq)]
pub struct BodyError(pub String);

/// Checks a parsed body against `schema`; `partial` (PATCH) makes every field optional.
pub fn check_input(schema: &InputSchema, body: Value, partial: bool) -> Result<Checked, BodyError> {
    let object = match body {
        Value::Object(object) => object,
        Value::Null => return Err(BodyError(body_message(schema, "null", "null"))),
        other => return Err(BodyError(body_message(schema, "type", python_type(&other)))),
    };
    let (shaped, out_of_range) = shape(schema, object);
    let validator = if partial {
        &schema.partial
    } else {
        &schema.full
    };
    let instance = Value::Object(shaped);
    let mut failed: Vec<Vec<String>> = vec![Vec::new(); schema.fields.len()];
    for error in validator.iter_errors(&instance) {
        let (field, keyword) = match error.kind() {
            jsonschema::error::ValidationErrorKind::Required { property } => (
                property.as_str().unwrap_or_default().to_owned(),
                "required".to_owned(),
            ),
            kind => {
                let path = error.instance_path().as_str();
                let field = path
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or_default();
                (field.to_owned(), kind.keyword().to_owned())
            }
        };
        if let Some(i) = schema.fields.iter().position(|f| f.name == field) {
            failed[i].push(keyword);
        }
    }
    let Value::Object(shaped) = instance else {
        return Ok(Checked::default());
    };
    let mut checked = Checked::default();
    for (i, field) in schema.fields.iter().enumerate() {
        let value = shaped.get(&field.name);
        if value.is_some_and(has_nul) {
            failed[i].push("nul".to_owned());
        }
        if out_of_range.contains(&i) {
            failed[i] = vec![RANGE.to_owned()];
        }
        if failed[i].is_empty() && !fits(field, value) {
            let keyword = if field.keywords.contains_key("maximum") {
                "maximum"
            } else {
                "type"
            };
            failed[i].push(keyword.to_owned());
        }
        if !failed[i].is_empty() {
            let messages = messages(field, value, &failed[i]);
            if let Some(value) = value.filter(|_| !is_gate(value, &failed[i])) {
                checked.well_formed.push((i, value.clone()));
            }
            checked.errors.push((i, messages));
        } else if let Some(value) = value {
            checked.values.push((i, value.clone()));
        }
    }
    Ok(checked)
}

/// Whether a string in `value` (a key, for a JSON document) holds a NUL character, which
/// no query can carry and PostgreSQL's jsonb refuses.
fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

fn body_message(schema: &InputSchema, key: &str, type_name: &str) -> String {
    schema
        .body_messages
        .get(key)
        .map(|m| m.replace("{type}", type_name))
        .unwrap_or_else(|| format!("Invalid data: expected an object, got {type_name}."))
}

/// Whether a numeric value fits the column's type (64-bit integer or finite float).
fn fits(field: &InputField, value: Option<&Value>) -> bool {
    match (field.kind, value) {
        (Kind::Integer, Some(Value::Number(n))) => n.as_i64().is_some(),
        (Kind::Number, Some(Value::Number(n))) => n.as_f64().is_some_and(f64::is_finite),
        _ => true,
    }
}

/// The message key of a number beyond the double range, for any field.
const RANGE: &str = "range";

/// Keeps the schema's fields only, and coerces their values as DRF's fields would. Also
/// returns the fields (by index) given a number beyond the double range, such as `1e400`:
/// Python reads it as infinity, and the original stored the text `"inf"` for it; here it
/// is refused, since no client means infinity by it.
fn shape(schema: &InputSchema, mut object: Map<String, Value>) -> (Map<String, Value>, Vec<usize>) {
    let mut shaped = Map::new();
    let mut out_of_range = Vec::new();
    for (i, field) in schema.fields.iter().enumerate() {
        if let Some(value) = object.remove(&field.name) {
            if beyond_double(field, &value) {
                out_of_range.push(i);
            }
            shaped.insert(field.name.clone(), coerce(field, value));
        }
    }
    (shaped, out_of_range)
}

/// Whether `value` is a number too large for a double: a JSON number for any field, or the
/// text of one for a number field (form bodies).
fn beyond_double(field: &InputField, value: &Value) -> bool {
    let overflows = |text: &str| text.parse::<f64>().is_ok_and(f64::is_infinite);
    match value {
        Value::Number(n) => overflows(&n.to_string()),
        Value::String(s) if field.kind == Kind::Number => {
            let text = s.trim_matches(is_python_space);
            !text.to_ascii_lowercase().contains("inf") && overflows(text)
        }
        _ => false,
    }
}

fn coerce(field: &InputField, value: Value) -> Value {
    match (field.kind, value) {
        (Kind::Text | Kind::Timestamp | Kind::Date | Kind::Uuid, Value::Number(n)) => {
            coerce(field, Value::String(python_number_text(&n.to_string())))
        }
        (Kind::Integer, Value::Number(n)) if n.as_i64().is_none() => match n.as_f64() {
            // `12.0` is an integer, as JSON Schema and DRF's `IntegerField` both read it.
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Value::from(x as i64),
            _ => Value::Number(n),
        },
        (Kind::Boolean, Value::Number(n)) => match n.as_f64() {
            Some(1.0) => Value::Bool(true),
            Some(0.0) => Value::Bool(false),
            _ => Value::Number(n),
        },
        (_, Value::String(s)) if field.trim => {
            let trimmed = s.trim_matches(is_python_space);
            let s = if trimmed.len() == s.len() {
                s
            } else {
                trimmed.to_owned()
            };
            coerce_text(field, s)
        }
        (_, Value::String(s)) => coerce_text(field, s),
        (_, other) => other,
    }
}

/// Text sent for a non-text field is read as DRF's fields read it (form bodies carry
/// nothing but text): integers (`"12"`, `"12.0"`), numbers, DRF's boolean words, and an
/// empty string as null where null is allowed.
fn coerce_text(field: &InputField, s: String) -> Value {
    if matches!(
        field.kind,
        Kind::Text | Kind::Timestamp | Kind::Date | Kind::Uuid | Kind::Json
    ) {
        return Value::String(s);
    }
    if s.trim_matches(is_python_space).is_empty() && field.nullable {
        return Value::Null;
    }
    let parsed = match field.kind {
        Kind::Integer => {
            let digits = s.trim_end_matches(is_python_space).trim_end_matches('0');
            let digits = digits.strip_suffix('.').unwrap_or(&s);
            python_int(digits).map(Value::from)
        }
        Kind::Number => s
            .trim_matches(is_python_space)
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::from),
        Kind::Boolean if TRUE_WORDS.contains(&s.as_str()) => Some(Value::Bool(true)),
        Kind::Boolean if FALSE_WORDS.contains(&s.as_str()) => Some(Value::Bool(false)),
        _ => None,
    };
    parsed.unwrap_or(Value::String(s))
}

/// Whether the failure stops DRF before its validators run (missing, null, of the wrong
/// type, blank), or leaves a value no query can carry (a NUL character).
fn is_gate(value: Option<&Value>, failed: &[String]) -> bool {
    let blank = value.and_then(Value::as_str) == Some("");
    failed.iter().any(|k| {
        k == "required" || k == "type" || k == "nul" || k == RANGE || (k == "minLength" && blank)
    })
}

/// Where a uniqueness message goes among a field's messages: before those of the rules
/// written from `maxLength` on (and NUL's), as DRF runs the unique validator after the
/// field's own validators (`pattern`) and before the length, NUL and e-mail checks.
pub fn insert_unique(field: &InputField, messages: &mut Vec<String>, unique: String) {
    let keys: Vec<&String> = field.keywords.keys().collect();
    let later: Vec<String> = match keys.iter().position(|k| *k == "maxLength") {
        Some(from) => keys[from..]
            .iter()
            .map(|k| field.message(k))
            .chain([field.message("nul")])
            .collect(),
        None => vec![field.message("nul")],
    };
    let at = messages
        .iter()
        .position(|m| later.contains(m))
        .unwrap_or(messages.len());
    messages.insert(at, unique);
}

/// The messages of one failed field, with DRF's precedence.
fn messages(field: &InputField, value: Option<&Value>, failed: &[String]) -> Vec<String> {
    let failed: Vec<&str> = failed.iter().map(String::as_str).collect();
    if failed.contains(&"required") {
        return vec![field.message("required")];
    }
    if failed.contains(&RANGE) {
        return vec![field.message(RANGE)];
    }
    if failed.contains(&"type") {
        let key = if value.is_some_and(Value::is_null) {
            "null"
        } else {
            "type"
        };
        return vec![field.message(key)];
    }
    if failed.contains(&"minLength") && value.and_then(Value::as_str) == Some("") {
        let key = if field.messages.contains_key("blank") {
            "blank"
        } else {
            "minLength"
        };
        return vec![field.message(key)];
    }
    // Messages follow the keywords' written order; NUL's comes right after `maxLength`'s
    // (DRF runs its NUL check after the length check and before e-mail's), else last.
    let written = |k: &str| field.keywords.keys().position(|p| p == k).map(|p| 2 * p);
    let position = |k: &str| match k {
        "nul" => written("maxLength").map_or(usize::MAX, |p| p + 1),
        _ => written(k).unwrap_or(usize::MAX),
    };
    let mut keywords = failed;
    keywords.sort_by_key(|k| position(k));
    keywords.dedup();
    keywords.into_iter().map(|k| field.message(k)).collect()
}

/// Checks a response body against its schema; the error lists what is wrong, for the log.
pub fn check_output(validator: &jsonschema::Validator, body: &Value) -> Result<(), String> {
    // The common case, without building any error.
    if validator.is_valid(body) {
        return Ok(());
    }
    let problems: Vec<String> = validator
        .iter_errors(body)
        .take(5)
        .map(|e| format!("{} at {:?}", e, e.instance_path().as_str()))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Moves each value its column would round, cut or refuse (more decimal places or digits
/// than a numeric's scale and precision, more characters than a varchar's length, an
/// integer beyond a smallint's or integer's range) from the passed values to the errors,
/// with a message saying the limit. Such values are well-formed: uniqueness is still
/// checked for them.
pub fn fit_columns(schema: &InputSchema, columns: &Columns, checked: &mut Checked) {
    let mut kept = Vec::with_capacity(checked.values.len());
    for (i, value) in std::mem::take(&mut checked.values) {
        let field = &schema.fields[i];
        let column = columns.get(field.column.name().as_ref());
        match column.and_then(|c| column_problem(c, &value)) {
            Some((key, n)) => {
                checked
                    .errors
                    .push((i, vec![column_message(field, key, n)]));
                checked.well_formed.push((i, value));
            }
            None => kept.push((i, value)),
        }
    }
    checked.values = kept;
    checked.errors.sort_by_key(|(i, _)| *i);
}

/// The limit `value` goes past in `column`, as (message key, limit).
fn column_problem(column: &ColumnType, value: &Value) -> Option<(&'static str, String)> {
    match value {
        Value::Number(n) if column.storage == Storage::Decimal => {
            let (whole, places) = decimal_digits(&n.to_string())?;
            let scale = column.scale?;
            if places > scale {
                return Some(("max_decimal_places", scale.to_string()));
            }
            let precision = column.precision?;
            if whole + places > precision {
                return Some(("max_digits", precision.to_string()));
            }
            let most = precision.saturating_sub(scale);
            (whole > most).then(|| ("max_whole_digits", most.to_string()))
        }
        Value::String(s) => {
            let length = column.length?;
            (s.chars().count() > length as usize).then(|| ("max_length", length.to_string()))
        }
        _ => None,
    }
}

fn column_message(field: &InputField, key: &str, n: String) -> String {
    let template = field.messages.get(key).map(String::as_str).or_else(|| {
        COLUMN_MESSAGES
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, m)| *m)
    });
    template.unwrap_or("Invalid value.").replace("{n}", &n)
}

/// The digits a number's text has before and after the decimal point, as a decimal column
/// counts them: leading zeros and trailing fraction zeros do not count (`1e3`: 4 and 0;
/// `0.050`: 0 and 2). `None` if the text is not a number.
pub fn decimal_digits(text: &str) -> Option<(u32, u32)> {
    let unsigned = text.trim_start_matches(['-', '+']);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    let point = i64::try_from(int.len()).ok()? + exponent
        - i64::try_from(digits.len() - significant.len()).ok()?;
    let significant = significant.trim_end_matches('0');
    let len = i64::try_from(significant.len()).ok()?;
    let whole = point.clamp(0, len.max(point));
    let places = (len - point).max(0);
    Some((u32::try_from(whole).ok()?, u32::try_from(places).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_digits_count_as_a_numeric_column_does() {
        assert_eq!(decimal_digits("100"), Some((3, 0)));
        assert_eq!(decimal_digits("99.999"), Some((2, 3)));
        assert_eq!(decimal_digits("-0.050"), Some((0, 2)));
        assert_eq!(decimal_digits("99.990"), Some((2, 2)));
        assert_eq!(decimal_digits("1e3"), Some((4, 0)));
        assert_eq!(decimal_digits("1.5E-3"), Some((0, 4)));
        assert_eq!(decimal_digits("0"), Some((0, 0)));
        assert_eq!(decimal_digits("abc"), None);
    }

    #[test]
    fn a_numeric_column_refuses_what_it_would_round() {
        let column = ColumnType {
            declared: "numeric(5,2)".into(),
            storage: Storage::Decimal,
            precision: Some(5),
            scale: Some(2),
            length: None,
        };
        let number = |text: &str| serde_json::from_str::<Value>(text).unwrap_or_default();
        assert_eq!(column_problem(&column, &number("999.99")), None);
        assert_eq!(
            column_problem(&column, &number("1.005")),
            Some(("max_decimal_places", "2".into()))
        );
        assert_eq!(
            column_problem(&column, &number("1000")),
            Some(("max_whole_digits", "3".into()))
        );
        let text = ColumnType {
            declared: "varchar(2)".into(),
            storage: Storage::Text,
            precision: None,
            scale: None,
            length: Some(2),
        };
        assert_eq!(column_problem(&text, &Value::from("éé")), None);
        assert_eq!(
            column_problem(&text, &Value::from("abc")),
            Some(("max_length", "2".into()))
        );
    }
}
