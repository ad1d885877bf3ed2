//! JSON Schema files: read, compiled once with `jsonschema`, and read for what the gateway
//! needs to know about each property (its kind, nullability, messages, coercions).

use std::collections::BTreeMap;
use std::path::Path;

use jsonschema::{Draft, Validator};
use serde_json::{Map, Value};

use super::ident::Ident;
use crate::compat::email;
use crate::plan::Kind;

/// A schema file and its compiled validator.
pub struct Compiled {
    /// The schema as written.
    pub document: Value,
    /// The validator, compiled once.
    pub validator: Validator,
}

impl Compiled {
    /// Properties in written order, with their kind and nullability.
    pub fn properties(&self) -> Vec<(String, (Kind, bool))> {
        let Some(props) = self.document.get("properties").and_then(Value::as_object) else {
            return Vec::new();
        };
        props
            .iter()
            .filter_map(|(name, prop)| kind_of(prop).map(|k| (name.clone(), k)))
            .collect()
    }

    /// Why this schema cannot describe a row, if it cannot.
    pub fn shape_problems(&self) -> Result<(), String> {
        let Some(props) = self.document.get("properties").and_then(Value::as_object) else {
            return Err("a representation schema needs `type: object` and `properties`".into());
        };
        for (name, prop) in props {
            if kind_of(prop).is_none() {
                return Err(format!(
                    "property {name:?} needs a `type` of integer, number, boolean, string, object or array of integers (optionally with null)"
                ));
            }
        }
        Ok(())
    }
}

/// The types a property allows: (kind, nullable). `None` when it is not a supported shape.
fn kind_of(prop: &Value) -> Option<(Kind, bool)> {
    let types: Vec<&str> = match prop.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let nullable = types.contains(&"null");
    let mut rest = types.into_iter().filter(|t| *t != "null");
    let ty = rest.next()?;
    if rest.next().is_some() {
        return None;
    }
    let kind = match ty {
        "integer" => Kind::Integer,
        "number" => Kind::Number,
        "boolean" => Kind::Boolean,
        "string" => match prop.get("format").and_then(Value::as_str) {
            Some("date-time") => Kind::Timestamp,
            Some("date") => Kind::Date,
            Some("uuid") => Kind::Uuid,
            _ => Kind::Text,
        },
        "object" => Kind::Json,
        "array" if prop.pointer("/items/type").and_then(Value::as_str) == Some("integer") => {
            Kind::IdList
        }
        _ => return None,
    };
    Some((kind, nullable))
}

/// Compiles a schema with the gateway's options: draft 2020-12, formats asserted, no remote
/// references.
pub fn compile(document: &Value) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_format("email", email::django_email)
        .build(document)
        .map_err(|e| format!("invalid schema: {e}"))
}

fn read(dir: &Path, file: &str) -> Result<Value, String> {
    if file.contains("..") || file.starts_with('/') {
        return Err(format!(
            "schema file {file:?} must be a plain name under schemas/"
        ));
    }
    let text = std::fs::read_to_string(dir.join(file))
        .map_err(|e| format!("cannot read schema schemas/{file}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("schemas/{file}: {e}"))
}

/// Reads and compiles `schemas/<file>`.
pub fn load(dir: &Path, file: &str) -> Result<Compiled, String> {
    let document = read(dir, file)?;
    let validator = compile(&document).map_err(|e| format!("schemas/{file}: {e}"))?;
    Ok(Compiled {
        document,
        validator,
    })
}

/// A writable field, as the input schema describes it.
#[derive(Debug, Clone)]
pub struct InputField {
    /// The JSON key.
    pub name: String,
    /// The quoted column it is stored in.
    pub column: Ident,
    /// How the value is bound to SQL.
    pub kind: Kind,
    /// Whether the schema allows `null`.
    pub nullable: bool,
    /// Whether the field is required on create and full update.
    pub required: bool,
    /// Strings are trimmed before validation (DRF's `trim_whitespace`); `x-trim: false` turns it off.
    pub trim: bool,
    /// Messages by keyword: the schema's `x-field-messages` overridden by the property's `x-messages`.
    pub messages: BTreeMap<String, String>,
    /// The property's keywords in written order, which is the order its messages are listed in.
    pub keywords: Map<String, Value>,
}

impl InputField {
    /// The message for a failed `keyword`, placeholders `{keyword}` filled from the property.
    pub fn message(&self, keyword: &str) -> String {
        let template = self
            .messages
            .get(keyword)
            .cloned()
            .unwrap_or_else(|| format!("Invalid value ({keyword})."));
        fill(&template, &self.keywords)
    }
}

fn fill(template: &str, keywords: &Map<String, Value>) -> String {
    let mut out = template.to_owned();
    for (key, value) in keywords {
        let placeholder = format!("{{{key}}}");
        if out.contains(&placeholder) {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out = out.replace(&placeholder, &text);
        }
    }
    out
}

/// The compiled input schema of a resource.
pub struct InputSchema {
    /// The schema as written.
    pub document: Value,
    /// Validates create and full-update bodies.
    pub full: Validator,
    /// Validates partial updates: the same schema without `required`.
    pub partial: Validator,
    /// Writable fields, in the order errors are reported.
    pub fields: Vec<InputField>,
    /// Messages about the body as a whole (`type`, `null`), from the root `x-messages`.
    pub body_messages: BTreeMap<String, String>,
}

fn messages(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// The schema of a partial update: the same, without `required`.
pub fn partial(schema: &Value) -> Value {
    let mut partial = schema.clone();
    if let Some(root) = partial.as_object_mut() {
        root.remove("required");
    }
    partial
}

/// Reads and compiles an input schema; `column` tells, for a property, its representation
/// kind and quoted column when it is one.
pub fn load_input(
    dir: &Path,
    file: &str,
    column: &dyn Fn(&str) -> Option<(Kind, Ident)>,
) -> Result<InputSchema, String> {
    let document = read(dir, file)?;
    let full = compile(&document).map_err(|e| format!("schemas/{file}: {e}"))?;
    let partial_doc = partial(&document);
    let partial = compile(&partial_doc).map_err(|e| format!("schemas/{file}: {e}"))?;
    let required: Vec<&str> = document
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let defaults = messages(document.get("x-field-messages"));
    let props = document
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("schemas/{file}: an input schema needs `properties`"))?;
    let mut fields = Vec::new();
    for (name, prop) in props {
        let (own_kind, nullable) = kind_of(prop).ok_or_else(|| {
            format!("schemas/{file}: property {name:?} needs a `type` of integer, number, boolean, string or object (optionally with null)")
        })?;
        let (kind, column) = column(name).ok_or_else(|| {
            format!(
                "schemas/{file}: property {name:?} is not a column property of the representation"
            )
        })?;
        let text_like = matches!(kind, Kind::Timestamp | Kind::Date | Kind::Uuid);
        if kind != own_kind && !(text_like && own_kind == Kind::Text) {
            return Err(format!(
                "schemas/{file}: property {name:?} has another type than in the representation"
            ));
        }
        let mut merged = defaults.clone();
        merged.extend(messages(prop.get("x-messages")));
        fields.push(InputField {
            name: name.clone(),
            column,
            kind,
            nullable,
            required: required.contains(&name.as_str()),
            trim: prop.get("x-trim").and_then(Value::as_bool).unwrap_or(true),
            messages: merged,
            keywords: prop.as_object().cloned().unwrap_or_default(),
        });
    }
    Ok(InputSchema {
        body_messages: messages(document.get("x-messages")),
        document,
        full,
        partial,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_follow_the_declared_type() {
        assert_eq!(
            kind_of(&json!({"type": "integer"})),
            Some((Kind::Integer, false))
        );
        assert_eq!(
            kind_of(&json!({"type": ["string", "null"]})),
            Some((Kind::Text, true))
        );
        assert_eq!(
            kind_of(&json!({"type": "string", "format": "date-time"})),
            Some((Kind::Timestamp, false))
        );
        assert_eq!(
            kind_of(&json!({"type": "array", "items": {"type": "integer"}})),
            Some((Kind::IdList, false))
        );
        assert_eq!(
            kind_of(&json!({"type": "string", "format": "uuid"})),
            Some((Kind::Uuid, false))
        );
        assert_eq!(
            kind_of(&json!({"type": ["object", "null"]})),
            Some((Kind::Json, true))
        );
        assert_eq!(kind_of(&json!({"type": ["string", "integer"]})), None);
        assert_eq!(kind_of(&json!({})), None);
    }

    #[test]
    fn messages_fill_placeholders_from_the_property() {
        let keywords = json!({"maxLength": 150, "pattern": "^x$"});
        let map = keywords.as_object().cloned().unwrap_or_default();
        assert_eq!(
            fill("no more than {maxLength} characters", &map),
            "no more than 150 characters"
        );
        assert_eq!(fill("as {pattern}", &map), "as ^x$");
    }
}
