//! An upstream's OpenAPI 3.0/3.1 document as its route table: every operation becomes a
//! route proxied to the upstream, with its parameters and JSON body checked before
//! forwarding and its responses checked on the way back, so a team with a spec and a service
//! gets a validating gateway without writing a route.
//!
//! The document (YAML or JSON, a file in the spec folder) is read once per contract load.
//! Local `$ref`s are resolved; remote ones are never fetched and are reported as problems,
//! as is a local one that points at nothing. OpenAPI 3.0's schema dialect is rewritten to
//! JSON Schema 2020-12 where the difference changes validation (`nullable`, boolean
//! `exclusiveMinimum`/`exclusiveMaximum`). Component names get the upstream's name as a
//! prefix (`pets.Pet`), so several documents and the gateway's own schemas share one
//! published document without clashing.

use std::collections::HashMap;
use std::path::Path;

use http::Method;
use jsonschema::Validator;
use serde_json::{Map, Value, json};

use super::format::{HostHeader, ProxyValidation};
use super::locate::{self, Step};
use super::{Binding, Problem, Route, Segment, Target, Via, schema};

/// One upstream's document, normalized, for the gateway's own OpenAPI document (and the
/// response checks, which read it there).
#[derive(Debug, Clone)]
pub struct Import {
    /// Index of the upstream in [`super::Spec::upstreams`].
    pub upstream: usize,
    /// The document's file, relative to the spec folder.
    pub file: String,
    /// Path items: operations with their parameters, request bodies and responses
    /// dereferenced, schemas in the 2020-12 dialect referring to prefixed components.
    pub paths: Map<String, Value>,
    /// Components by kind (`schemas`, ...), their names prefixed with the upstream's.
    pub components: Map<String, Value>,
}

/// The request checks of one imported operation.
#[derive(Debug)]
pub struct Operation {
    /// Its parameters (path, query, header; cookies are not checked).
    pub params: Vec<Param>,
    /// Its request body, when it declares one.
    pub body: Option<Body>,
}

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// The n-th `{param}` segment of the path.
    Path(usize),
    /// The query string (every value, for an array schema; else the last).
    Query,
    /// A request header.
    Header,
}

/// One declared parameter.
#[derive(Debug)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Where it is read from.
    pub location: In,
    /// Whether a request without it is invalid.
    pub required: bool,
    /// Its schema, when it has one (a parameter declared by `content` is not checked).
    pub schema: Option<Checked>,
}

/// A compiled parameter schema, and how the parameter's text becomes the JSON value it
/// checks.
#[derive(Debug)]
pub struct Checked {
    /// The schema, with the document's components as its `$ref` root.
    pub validator: Validator,
    /// How the text is read.
    pub coerce: Coerce,
}

/// How a parameter's text is read before its schema checks it (text that does not read as
/// the type stays a string, so the schema's `type` names the violation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coerce {
    /// As it is.
    Text,
    /// An integer.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Every value (a query parameter repeated, or comma-separated), each read so.
    Array(Box<Coerce>),
}

/// A declared request body.
#[derive(Debug)]
pub struct Body {
    /// Whether a request without a body is invalid.
    pub required: bool,
    /// The schema of its JSON content (`None`: only other media types are declared, and the
    /// body is not checked).
    pub json: Option<Validator>,
}

/// Where imported routes and their checks go.
pub(super) struct Imported<'a> {
    /// The spec's routes; imported ones are appended, so hand-written ones match first.
    pub routes: &'a mut Vec<Route>,
    /// Request checks by (route index, method).
    pub operations: &'a mut HashMap<(usize, Method), Operation>,
    /// The index the import will have in [`super::Spec::imports`].
    pub imports: usize,
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The canonical order of `Allow`.
const ALLOW_ORDER: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// Reads `file` (in `dir`) for the upstream `name` (index `upstream`) and adds a route for
/// each of its paths; the problems carry the document's file and, where found, line.
pub(super) fn import(
    dir: &Path,
    file: &str,
    name: &str,
    upstream: usize,
    validate: ProxyValidation,
    into: &mut Imported<'_>,
) -> Result<Import, Vec<Problem>> {
    let problem = |line: Option<usize>, message: String| Problem {
        file: file.to_owned(),
        line,
        message,
    };
    if file.contains("..") || file.starts_with('/') {
        return Err(vec![problem(
            None,
            "the document must be a file inside the spec folder".into(),
        )]);
    }
    let text = std::fs::read_to_string(dir.join(file))
        .map_err(|e| vec![problem(None, format!("cannot read: {e}"))])?;
    let document = parse(file, &text).map_err(|(line, message)| vec![problem(line, message)])?;
    let version = document
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("");
    let dialect_30 = if version.starts_with("3.0") {
        true
    } else if version.starts_with("3.1") {
        false
    } else {
        let line = locate::line_of(&text, &[Step::Key("openapi")]);
        return Err(vec![problem(
            line,
            format!("openapi {version:?}: only OpenAPI 3.0 and 3.1 documents are read"),
        )]);
    };
    let mut problems = Vec::new();
    check_refs(&document, &document, &text, &mut |line, m| {
        problems.push(problem(line, m))
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut document = document;
    if dialect_30 {
        normalize_30(&mut document);
    }
    let prefix = format!("{name}.");
    prefix_refs(&mut document, &prefix);
    let mut components = Map::new();
    if let Some(kinds) = document.get("components").and_then(Value::as_object) {
        for (kind, entries) in kinds {
            let Some(entries) = entries.as_object() else {
                continue;
            };
            let renamed: Map<String, Value> = entries
                .iter()
                .map(|(k, v)| (format!("{prefix}{k}"), v.clone()))
                .collect();
            components.insert(kind.clone(), Value::Object(renamed));
        }
    }
    if let Some(kinds) = document.get_mut("components") {
        *kinds = Value::Object(components.clone());
    }
    let root_components = Value::Object(components.clone());
    let mut paths = Map::new();
    let empty = Map::new();
    let items = document
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (template, item) in items {
        let at = |extra: &[Step<'_>]| {
            let mut steps = vec![Step::Key("paths"), Step::Key(template)];
            steps.extend_from_slice(extra);
            locate::line_of(&text, &steps)
        };
        let Some(segments) = segments(template) else {
            problems.push(problem(
                at(&[]),
                format!("path {template:?}: a template must start with / and have each {{param}} as a whole segment"),
            ));
            continue;
        };
        let item = deref(&document, item);
        let shared = item.get("parameters").and_then(Value::as_array);
        let route_index = into.routes.len();
        let mut bindings = Vec::new();
        let mut published = Map::new();
        for method in METHODS {
            let Some(op) = item.get(method) else {
                continue;
            };
            let Ok(http_method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                continue;
            };
            let mut report = |m: String| {
                problems.push(problem(
                    at(&[Step::Key(method)]),
                    format!("{} {template}: {m}", method.to_ascii_uppercase()),
                ))
            };
            let (operation, document_op) = compile_operation(
                &document,
                &root_components,
                &segments,
                shared,
                op,
                &mut report,
            );
            published.insert(method.to_owned(), document_op);
            into.operations
                .insert((route_index, http_method.clone()), operation);
            bindings.push(Binding {
                method: http_method,
                action: None,
                via: Via::Upstream(upstream),
            });
        }
        if bindings.is_empty() {
            continue;
        }
        paths.insert(template.clone(), Value::Object(published));
        into.routes.push(route(
            template,
            segments,
            bindings,
            upstream,
            validate,
            into.imports,
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Import {
        upstream,
        file: file.to_owned(),
        paths,
        components,
    })
}

/// The document's value: JSON for `.json`, YAML (which JSON also is) otherwise.
fn parse(file: &str, text: &str) -> Result<Value, (Option<usize>, String)> {
    if file.ends_with(".json") {
        serde_json::from_str(text).map_err(|e| (Some(e.line()), e.to_string()))
    } else {
        serde_yaml::from_str(text).map_err(|e| {
            (
                e.location().map(|l| l.line()),
                super::yaml::plain(&e.to_string()),
            )
        })
    }
}

/// A route for one path of the document.
fn route(
    template: &str,
    segments: Vec<Segment>,
    mut methods: Vec<Binding>,
    _upstream: usize,
    validate: ProxyValidation,
    import: usize,
) -> Route {
    methods.sort_by_key(|b| ALLOW_ORDER.iter().position(|o| *o == b.method.as_str()));
    let mut allow: Vec<&str> = methods.iter().map(|b| b.method.as_str()).collect();
    if methods.iter().any(|b| b.method == Method::GET) && !allow.contains(&"HEAD") {
        allow.push("HEAD");
    }
    if !allow.contains(&"OPTIONS") {
        allow.push("OPTIONS");
    }
    allow.sort_by_key(|m| ALLOW_ORDER.iter().position(|o| o == m));
    Route {
        template: template.into(),
        key_param: None,
        segments,
        target: Target::Import(import),
        name: template.to_owned(),
        description: String::new(),
        allow: http::HeaderValue::from_str(&allow.join(", "))
            .unwrap_or_else(|_| http::HeaderValue::from_static("OPTIONS")),
        methods,
        validate,
        host: HostHeader::Client,
    }
}

/// `/pets/{id}/toys` → literals and named parameters; `None` for a template the router
/// cannot match (a parameter inside a segment, no leading `/`).
fn segments(template: &str) -> Option<Vec<Segment>> {
    let rest = template.strip_prefix('/')?;
    rest.split('/')
        .map(|s| {
            if let Some(name) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                (!name.is_empty() && !name.contains(['{', '}']))
                    .then(|| Segment::Param(name.to_owned()))
            } else {
                (!s.contains(['{', '}'])).then(|| Segment::Literal(s.to_owned()))
            }
        })
        .collect()
}

/// One operation's request checks, and the operation as the gateway's document publishes
/// it (parameters merged with the path's and dereferenced, body and responses dereferenced).
fn compile_operation(
    document: &Value,
    components: &Value,
    segments: &[Segment],
    shared: Option<&Vec<Value>>,
    op: &Value,
    problem: &mut impl FnMut(String),
) -> (Operation, Value) {
    let mut declared: Vec<Value> = Vec::new();
    let own = op.get("parameters").and_then(Value::as_array);
    for param in shared
        .into_iter()
        .flatten()
        .chain(own.into_iter().flatten())
    {
        let param = deref(document, param).clone();
        let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
        declared.retain(|p| key(p) != key(&param));
        declared.push(param);
    }
    let path_params: Vec<&str> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Param(name) => Some(name.as_str()),
            _ => None,
        })
        .collect();
    let mut params = Vec::new();
    for param in &declared {
        let name = param.get("name").and_then(Value::as_str).unwrap_or("");
        let place = param.get("in").and_then(Value::as_str).unwrap_or("");
        let location = match place {
            "path" => match path_params.iter().position(|p| *p == name) {
                Some(i) => In::Path(i),
                None => {
                    problem(format!("path parameter {name:?} is not in the path"));
                    continue;
                }
            },
            "query" => In::Query,
            "header" => In::Header,
            "cookie" => continue,
            other => {
                problem(format!("parameter {name:?}: unknown location {other:?}"));
                continue;
            }
        };
        // OpenAPI: these headers are described elsewhere, and a parameter of that name is
        // ignored.
        if location == In::Header
            && ["accept", "content-type", "authorization"]
                .contains(&name.to_ascii_lowercase().as_str())
        {
            continue;
        }
        let required = matches!(location, In::Path(_))
            || param
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        let schema = match param.get("schema") {
            Some(s) => match compile(components, s) {
                Ok(validator) => Some(Checked {
                    validator,
                    coerce: coerce(document, s),
                }),
                Err(e) => {
                    problem(format!("parameter {name:?}: {e}"));
                    None
                }
            },
            None => None,
        };
        params.push(Param {
            name: name.to_owned(),
            location,
            required,
            schema,
        });
    }
    let mut published = op.clone();
    if let Some(object) = published.as_object_mut() {
        object.remove("parameters");
        if !declared.is_empty() {
            object.insert("parameters".into(), Value::Array(declared.clone()));
        }
    }
    let body = op.get("requestBody").map(|b| deref(document, b).clone());
    let checked_body = body.as_ref().map(|b| {
        let required = b.get("required").and_then(Value::as_bool).unwrap_or(false);
        let json = b
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().find(|(media, _)| is_json(media)))
            .and_then(|(_, m)| m.get("schema"))
            .and_then(|s| match compile(components, s) {
                Ok(v) => Some(v),
                Err(e) => {
                    problem(format!("requestBody: {e}"));
                    None
                }
            });
        Body { required, json }
    });
    if let (Some(object), Some(body)) = (published.as_object_mut(), body) {
        object.insert("requestBody".into(), body);
    }
    let mut responses = Map::new();
    match op.get("responses").and_then(Value::as_object) {
        Some(declared) => {
            for (status, response) in declared {
                if !is_status(status) {
                    problem(format!(
                        "response {status:?}: a status is a code, a range like 2XX, or default"
                    ));
                    continue;
                }
                let mut response = deref(document, response).clone();
                // The response checks read the JSON schema at content/application~1json.
                if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                    && !content.contains_key("application/json")
                    && let Some(schema) = content
                        .iter()
                        .find(|(media, _)| is_json(media))
                        .map(|(_, m)| m.clone())
                {
                    content.insert("application/json".into(), schema);
                }
                responses.insert(status.clone(), response);
            }
        }
        None => problem("declares no responses".into()),
    }
    if let Some(object) = published.as_object_mut() {
        object.insert("responses".into(), Value::Object(responses));
    }
    (
        Operation {
            params,
            body: checked_body,
        },
        published,
    )
}

/// Whether a media type (or range) is JSON.
fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
}

/// A response key: `200`, `2XX`, `default`.
fn is_status(key: &str) -> bool {
    let b = key.as_bytes();
    key == "default"
        || (b.len() == 3
            && (b'1'..=b'5').contains(&b[0])
            && (key[1..].chars().all(|c| c.is_ascii_digit())
                || key[1..].eq_ignore_ascii_case("xx")))
}

/// A schema compiled with the (prefixed) components as its `$ref` root.
fn compile(components: &Value, schema: &Value) -> Result<Validator, String> {
    schema::compile(&json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": components,
        "allOf": [schema],
    }))
}

/// How a parameter's text is read: from the schema's `type` (its `$ref`s followed).
fn coerce(document: &Value, schema: &Value) -> Coerce {
    let schema = deref(document, schema);
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or(""),
        _ => "",
    };
    match ty {
        "integer" => Coerce::Integer,
        "number" => Coerce::Number,
        "boolean" => Coerce::Boolean,
        "array" => Coerce::Array(Box::new(
            schema
                .get("items")
                .map_or(Coerce::Text, |items| coerce(document, items)),
        )),
        _ => Coerce::Text,
    }
}

/// Follows local `$ref`s (at most 32) to the value they name.
fn deref<'a>(document: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(target) = value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| document.pointer(pointer))
        else {
            break;
        };
        value = target;
    }
    value
}

/// Reports every remote `$ref` (never fetched) and every local one that names nothing.
fn check_refs(
    document: &Value,
    value: &Value,
    text: &str,
    problem: &mut impl FnMut(Option<usize>, String),
) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(r)) = object.get("$ref") {
                let line = line_of_text(text, r);
                match r.strip_prefix('#') {
                    None => problem(
                        line,
                        format!(
                            "remote $ref {r:?} is not fetched: put the schema in this document's components"
                        ),
                    ),
                    Some(pointer) if document.pointer(pointer).is_none() => problem(
                        line,
                        format!("$ref {r:?} points at nothing in this document"),
                    ),
                    Some(_) => {}
                }
            }
            for (key, inner) in object {
                if !literal(key, inner) {
                    check_refs(document, inner, text, problem);
                }
            }
        }
        Value::Array(items) => {
            for inner in items {
                check_refs(document, inner, text, problem);
            }
        }
        _ => {}
    }
}

/// Whether `value` under `key` is data (an example, a default value, an enum), not part of
/// the document to walk. `default` is also the key of a default response, which has a
/// `description` (or is a `$ref`).
fn literal(key: &str, value: &Value) -> bool {
    match key {
        "example" | "examples" | "enum" | "const" => true,
        "default" => !value
            .as_object()
            .is_some_and(|o| o.contains_key("description") || o.contains_key("$ref")),
        _ => false,
    }
}

/// The first line holding `needle` (where a `$ref` is written, in YAML or JSON).
fn line_of_text(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

/// Rewrites OpenAPI 3.0's schema dialect as JSON Schema 2020-12 wherever it changes what
/// validates: `nullable: true` admits `null`; a boolean `exclusiveMinimum`/`exclusiveMaximum`
/// turns its `minimum`/`maximum` exclusive.
fn normalize_30(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                if !literal(key, inner) {
                    normalize_30(inner);
                }
            }
            for (flag, bound) in [
                ("exclusiveMinimum", "minimum"),
                ("exclusiveMaximum", "maximum"),
            ] {
                if let Some(Value::Bool(exclusive)) = object.get(flag).cloned() {
                    object.remove(flag);
                    if exclusive && let Some(limit) = object.remove(bound) {
                        object.insert(flag.to_owned(), limit);
                    }
                }
            }
            if let Some(Value::Bool(nullable)) = object.get("nullable").cloned() {
                object.remove("nullable");
                if nullable {
                    admit_null(object);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_30),
        _ => {}
    }
}

/// Makes a schema object also accept `null`.
fn admit_null(object: &mut Map<String, Value>) {
    if let Some(Value::Array(values)) = object.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    match object.get("type").cloned() {
        Some(Value::String(t)) => {
            object.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(mut types)) => {
            if !types.contains(&json!("null")) {
                types.push(json!("null"));
            }
            object.insert("type".into(), Value::Array(types));
        }
        _ => {
            // No type of its own (a `$ref`, an `allOf`): null, or whatever it says.
            let rest = std::mem::take(object);
            object.insert(
                "anyOf".into(),
                json!([{ "type": "null" }, Value::Object(rest)]),
            );
        }
    }
}

/// Puts `prefix` before every component name a `$ref` names.
fn prefix_refs(value: &mut Value, prefix: &str) {
    match value {
        Value::Object(object) => {
            if let Some(Value::String(r)) = object.get_mut("$ref")
                && let Some(rest) = r.strip_prefix("#/components/")
                && let Some((kind, name)) = rest.split_once('/')
            {
                *r = format!("#/components/{kind}/{prefix}{name}");
            }
            for (key, inner) in object.iter_mut() {
                if !literal(key, inner) {
                    prefix_refs(inner, prefix);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| prefix_refs(v, prefix)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_30_dialect_becomes_2020_12() {
        let mut schema = json!({
            "type": "object",
            "properties": {
                "name": { "type": "string", "nullable": true },
                "age": { "type": "integer", "minimum": 0, "exclusiveMinimum": true },
                "kind": { "$ref": "#/components/schemas/Kind", "nullable": true },
                "size": { "type": "number", "maximum": 9, "exclusiveMaximum": false },
                "nullable": { "type": "boolean" }
            }
        });
        normalize_30(&mut schema);
        assert_eq!(
            schema["properties"]["name"]["type"],
            json!(["string", "null"])
        );
        assert_eq!(
            schema["properties"]["age"],
            json!({"type": "integer", "exclusiveMinimum": 0})
        );
        assert_eq!(
            schema["properties"]["kind"]["anyOf"][0],
            json!({"type": "null"})
        );
        assert_eq!(
            schema["properties"]["size"],
            json!({"type": "number", "maximum": 9})
        );
        assert_eq!(schema["properties"]["nullable"], json!({"type": "boolean"}));
    }

    #[test]
    fn templates_take_any_number_of_whole_segment_params() {
        assert_eq!(
            segments("/a/{x}/b/{y}"),
            Some(vec![
                Segment::Literal("a".into()),
                Segment::Param("x".into()),
                Segment::Literal("b".into()),
                Segment::Param("y".into()),
            ])
        );
        assert_eq!(segments("/a/x{y}"), None);
        assert_eq!(segments("a"), None);
    }

    #[test]
    fn statuses_are_codes_ranges_or_default() {
        for ok in ["200", "2XX", "4xx", "default"] {
            assert!(is_status(ok), "{ok}");
        }
        for bad in ["20", "6XX", "2X0", "ok"] {
            assert!(!is_status(bad), "{bad}");
        }
    }
}
