//! OPTIONS: Django REST Framework's `SimpleMetadata`, derived from the compiled spec: the
//! route's name and description, the media types, and for the writable actions each
//! field's type, whether it is required or read-only, its label, help text and limits.

use serde_json::{Map, Value, json};

use crate::contract::{Action, Resource, Route};
use crate::intake::body;
use crate::plan::Kind;

/// DRF's `SimpleMetadata` for OPTIONS: names, media types, and the writable actions'
/// fields, all derived from the schemas.
pub fn metadata(route: &Route, resource: &Resource) -> Value {
    let mut actions = Map::new();
    for binding in &route.methods {
        if matches!(binding.action, Some(Action::Create | Action::Update)) {
            let info = Value::Object(field_info(resource));
            actions.insert(binding.method.to_string(), info);
        }
    }
    let mut out = json!({
        "name": route.name,
        "description": route.description,
        "renders": ["application/json"],
        "parses": body::PARSES,
    });
    if !actions.is_empty()
        && let Some(map) = out.as_object_mut()
    {
        map.insert("actions".into(), Value::Object(actions));
    }
    out
}

fn field_info(resource: &Resource) -> Map<String, Value> {
    let props = resource
        .representation
        .document
        .get("properties")
        .and_then(Value::as_object);
    let input = resource.input.as_ref();
    let mut out = Map::new();
    for field in &resource.fields {
        let shown = props.and_then(|p| p.get(&field.name));
        let written = input.and_then(|i| i.fields.iter().find(|f| f.name == field.name));
        let rule = |k: &str| {
            written
                .and_then(|w| w.keywords.get(k))
                .or_else(|| shown.and_then(|s| s.get(k)))
        };
        let type_name = match field.kind {
            Kind::Integer => "integer",
            Kind::Number => "float",
            Kind::Boolean => "boolean",
            Kind::Timestamp => "datetime",
            Kind::Date => "date",
            Kind::IdList | Kind::Json => "field",
            Kind::Uuid => "string",
            Kind::Text if rule("format").and_then(Value::as_str) == Some("email") => "email",
            Kind::Text => "string",
        };
        let mut info = Map::new();
        info.insert("type".into(), json!(type_name));
        info.insert(
            "required".into(),
            json!(written.is_some_and(|w| w.required)),
        );
        info.insert("read_only".into(), json!(written.is_none()));
        if let Some(title) = rule("title") {
            info.insert("label".into(), title.clone());
        }
        if let Some(help) = rule("description") {
            info.insert("help_text".into(), help.clone());
        }
        if let Some(min) = rule("minLength").filter(|m| m.as_u64() > Some(1)) {
            info.insert("min_length".into(), min.clone());
        }
        if let Some(max) = rule("maxLength") {
            info.insert("max_length".into(), max.clone());
        }
        out.insert(field.name.clone(), Value::Object(info));
    }
    out
}
