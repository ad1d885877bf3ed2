//! The OpenAPI 3.1 document, generated from the compiled spec: the very schemas that drive
//! validation are embedded as they are (OpenAPI 3.1 speaks JSON Schema 2020-12), so the
//! document cannot drift from the behaviour. Pure: built once at start-up.

use http::Method;
use serde_json::{Map, Value, json};

use crate::auth::{KeyLocation, Requirement, SchemeKind, Security};
use crate::compat::drf::{FALSE_WORDS, TRUE_WORDS};
use crate::contract::oas::Import;
use crate::contract::{Action, Resource, Route, Spec, Target, schema};
use crate::intake::body::PARSES;
use crate::plan::{Kind, Lookup};

mod pattern;

/// The whole document.
pub fn document(spec: &Spec) -> Value {
    let mut paths = Map::new();
    for (index, route) in spec.routes.iter().enumerate() {
        let Target::Table(table) = route.target else {
            continue;
        };
        let resource = &spec.resources[table];
        let mut item = Map::new();
        if let Some(name) = &route.key_param {
            item.insert(
                "parameters".into(),
                json!([{
                    "name": name, "in": "path", "required": true,
                    "schema": {"type": "integer", "minimum": 1, "maximum": i64::MAX - 1}
                }]),
            );
        }
        for binding in &route.methods {
            let Some(action) = binding.action else {
                continue;
            };
            let links = links(spec, table);
            let mut op = operation(route, resource, action, links);
            if let Some(security) = &spec.security {
                secure(&mut op, security, index, &binding.method);
            }
            if spec.policies.limit(Some(index)).is_some() {
                limited(&mut op);
            }
            item.insert(binding.method.as_str().to_ascii_lowercase(), op);
        }
        paths.insert(route.template.to_string(), Value::Object(item));
    }
    let mut components = Map::from_iter([("schemas".to_owned(), Value::Object(components(spec)))]);
    if let Some(security) = &spec.security {
        components.insert("securitySchemes".into(), security_schemes(security));
    }
    for import in &spec.imports {
        merge_import(&mut paths, &mut components, import);
    }
    let mut document = json!({
        "openapi": "3.1.0",
        "info": {"title": spec.title, "version": spec.version},
        "paths": paths,
        "components": components,
    });
    pattern::make_portable(&mut document);
    document
}

/// `components.securitySchemes`: a JWT scheme as HTTP bearer, an API key where it is sent.
fn security_schemes(security: &Security) -> Value {
    let schemes: Map<String, Value> = security
        .schemes
        .iter()
        .map(|scheme| {
            let value = match &scheme.kind {
                SchemeKind::Jwt(_) => {
                    json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
                }
                SchemeKind::ApiKey { location, .. } => match location {
                    KeyLocation::Header(name) => {
                        json!({"type": "apiKey", "in": "header", "name": name.as_str()})
                    }
                    KeyLocation::Query(name) => {
                        json!({"type": "apiKey", "in": "query", "name": name})
                    }
                },
            };
            (scheme.name.clone(), value)
        })
        .collect();
    Value::Object(schemes)
}

/// An operation's `security` (any one of the route's schemes, each with the method's
/// scopes) and its 401 and 403, when the route requires a caller.
fn secure(op: &mut Value, security: &Security, route: usize, method: &Method) {
    let Some(requirement @ Requirement::Authenticated { schemes, .. }) = security.routes.get(route)
    else {
        return;
    };
    let scopes = requirement.scopes(method);
    let any: Vec<Value> = schemes
        .iter()
        .filter_map(|&i| security.schemes.get(i))
        .map(|scheme| json!({ scheme.name.clone(): scopes }))
        .collect();
    op["security"] = Value::Array(any);
    op["responses"]["401"] = response(
        "No credentials, or credentials that do not check out (see WWW-Authenticate).",
        reference("Detail"),
    );
    if !scopes.is_empty() {
        op["responses"]["403"] = response(
            "The credentials lack a scope this operation needs.",
            reference("Detail"),
        );
    }
}

/// An operation's 429, when the route has a rate limit: DRF's throttle body, and the
/// headers it comes with.
fn limited(op: &mut Value) {
    let header = |description: &str, kind: &str| json!({"description": description, "schema": {"type": kind}});
    let mut throttled = response(
        "Over the route's rate limit; Retry-After says when to try again.",
        reference("Detail"),
    );
    throttled["headers"] = json!({
        "Retry-After": header("Seconds until a request is expected to be allowed.", "integer"),
        "RateLimit": header("The limit's state (draft-ietf-httpapi-ratelimit-headers).", "string"),
        "RateLimit-Policy": header("The limit's quota and window.", "string"),
    });
    op["responses"]["429"] = throttled;
}

/// An upstream's imported operations, beside the gateway's own: a hand-written operation on
/// the same path and method keeps its place (it is the one served). Component names carry
/// the upstream's prefix, so they cannot clash.
fn merge_import(
    paths: &mut Map<String, Value>,
    components: &mut Map<String, Value>,
    import: &Import,
) {
    for (template, item) in &import.paths {
        let entry = paths
            .entry(template.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let (Some(entry), Some(item)) = (entry.as_object_mut(), item.as_object()) {
            for (method, operation) in item {
                entry
                    .entry(method.clone())
                    .or_insert_with(|| operation.clone());
            }
        }
    }
    for (kind, entries) in &import.components {
        let target = components
            .entry(kind.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let (Some(target), Some(entries)) = (target.as_object_mut(), entries.as_object()) {
            for (name, value) in entries {
                target.insert(name.clone(), value.clone());
            }
        }
    }
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A schema as written, minus `$schema` (the document's dialect already says 2020-12).
fn embed(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(map) = schema.as_object_mut() {
        map.remove("$schema");
    }
    schema
}

/// The input schema as form bodies carry it: every value is text. Text fields keep their
/// rules (null cannot be sent); integers are digits (`12`, `12.0`), booleans DRF's words,
/// and an empty value means null where null is allowed.
fn form_schema(input: &Value) -> Value {
    let mut form = input.clone();
    let props = form.get_mut("properties").and_then(Value::as_object_mut);
    for prop in props.into_iter().flat_map(|p| p.values_mut()) {
        let types: Vec<String> = match prop.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let nullable = types.iter().any(|t| t == "null");
        let empty = if nullable { "|" } else { "" };
        let replacement = if types.iter().any(|t| t == "integer") {
            let positive = prop
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| m > 0.0);
            let digits = if positive {
                "[1-9][0-9]{0,8}"
            } else {
                "[0-9]{1,9}"
            };
            Some(json!({"type": "string", "pattern": format!("^(?:{digits}(?:\\.0*)?{empty})$")}))
        } else if types.iter().any(|t| t == "boolean") {
            let mut words = vec![json!("true"), json!("false")];
            if nullable {
                words.push(json!(""));
            }
            Some(json!({"type": "string", "enum": words}))
        } else if types.iter().any(|t| t == "string") {
            prop.as_object_mut()
                .map(|p| p.insert("type".into(), json!("string")));
            None
        } else {
            None
        };
        if let Some(replacement) = replacement {
            *prop = replacement;
        }
    }
    form
}

/// Django 4.2's `EmailValidator` as one pattern (`compat::email` is the rule the gateway
/// applies): a dot-atom or quoted local part, `@`, then a host name whose last label has two
/// or more characters, `localhost`, or an IPv4 or IPv6 literal. Django's regexes ignore case,
/// and Python then also matches four non-ASCII letters to ASCII ones (U+0130, U+0131, U+017F,
/// U+212A): the classes list them. What no pattern can say is left out, and said in
/// [`EMAIL_DESCRIPTION`]: international host names, which Django accepts when their IDNA
/// 2003 encoding is a host name, and IPv6 literals that end in an IPv4 address.
fn email_pattern() -> String {
    const FOLDED: &str = "\\u0130\\u0131\\u017f\\u212a";
    let atext = format!("[-!#$%&'*+/=?^_`{{}}|~0-9A-Za-z{FOLDED}]");
    let dot_atom = format!("{atext}+(?:\\.{atext}+)*");
    let quoted = format!(
        "\"(?:[\\u0001-\\u0008\\u000b\\u000c\\u000e-\\u001f!#-\\[\\]-\\u007f{FOLDED}]\
         |\\\\[\\u0001-\\u0009\\u000b\\u000c\\u000e-\\u007f{FOLDED}])*\""
    );
    let alnum = format!("[A-Za-z0-9{FOLDED}]");
    let alnum_dash = format!("[-A-Za-z0-9{FOLDED}]");
    let host =
        format!("(?:{alnum}(?:{alnum_dash}{{0,61}}{alnum})?\\.)+{alnum_dash}{{1,62}}{alnum}");
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let ipv4 = format!("(?:{octet}\\.){{3}}{octet}");
    let h = "[0-9A-Fa-f]{1,4}";
    let ipv6 = format!(
        "(?:(?:{h}:){{7}}{h}|(?:{h}:){{1,7}}:|(?:{h}:){{1,6}}:{h}|(?:{h}:){{1,5}}(?::{h}){{1,2}}\
         |(?:{h}:){{1,4}}(?::{h}){{1,3}}|(?:{h}:){{1,3}}(?::{h}){{1,4}}\
         |(?:{h}:){{1,2}}(?::{h}){{1,5}}|{h}:(?::{h}){{1,6}}|:(?:(?::{h}){{1,7}}|:))"
    );
    format!("^(?:{dot_atom}|{quoted})@(?:{host}|localhost|\\[{ipv4}\\]|\\[{ipv6}\\])$")
}

/// Django's e-mail rule in words, for the e-mail fields of input schemas.
const EMAIL_DESCRIPTION: &str = "An e-mail address as Django's EmailValidator accepts it: a dot-atom or quoted local part of any length, `@`, and a host name whose last label has two or more characters, `localhost`, or an IPv4 or IPv6 literal in brackets. As in Django, an international host name is accepted too when its IDNA 2003 encoding is such a host name, and so is an IPv6 literal ending in an IPv4 address (at most 39 characters); the pattern leaves those two out.";

/// Some character that trimming keeps: not one of Python's `str.isspace()` characters
/// (ECMA's `\s` differs: it lacks U+001C..U+001F and U+0085, and has U+FEFF).
const NOT_ONLY_SPACE: &str = "[^\\t\\n\\u000b\\f\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// A boolean input as the gateway reads it: `true`/`false`, 1/0 and DRF's words.
fn document_boolean(prop: &mut Value) {
    let nullable = prop
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|ts| ts.contains(&json!("null")));
    let mut accepted = vec![json!(true), json!(false), json!(0), json!(1)];
    accepted.extend(
        TRUE_WORDS
            .iter()
            .chain(FALSE_WORDS.iter())
            .map(|w| json!(w)),
    );
    if nullable {
        accepted.push(Value::Null);
    }
    if let Some(map) = prop.as_object_mut() {
        map.remove("type");
        map.insert("enum".into(), Value::Array(accepted));
    }
}

/// What the gateway's shaping adds to an input schema, said in the schema: text refuses NUL
/// characters, and is trimmed before `minLength` (whitespace alone is blank).
fn refuse_nul(mut schema: Value) -> Value {
    let props = schema.get_mut("properties").and_then(Value::as_object_mut);
    for prop in props.into_iter().flat_map(|p| p.values_mut()) {
        let text = match prop.get("type") {
            Some(Value::String(t)) => t == "string",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
            _ => false,
        };
        if prop.get("type").is_some_and(|t| {
            t == "boolean"
                || t.as_array()
                    .is_some_and(|ts| ts.contains(&json!("boolean")))
        }) {
            document_boolean(prop);
            continue;
        }
        let Some(map) = prop.as_object_mut().filter(|_| text) else {
            continue;
        };
        if map.get("format").is_some_and(|f| f == "email") {
            // The tools read `email` as RFC 5321 (a local part of at most 64 octets, say);
            // the gateway applies Django's rule. The pattern and the words say that rule.
            map.remove("format");
            map.entry("pattern")
                .or_insert_with(|| json!(email_pattern()));
            map.entry("description")
                .or_insert_with(|| json!(EMAIL_DESCRIPTION));
        }
        map.entry("not")
            .or_insert_with(|| json!({"type": "string", "pattern": "\\u0000"}));
        // Values are trimmed before `minLength` is checked: whitespace alone is blank.
        let trimmed = map.get("x-trim").and_then(Value::as_bool).unwrap_or(true);
        let needs_text = map
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|m| m > 0);
        if trimmed && needs_text && !map.contains_key("pattern") {
            let all_of = map.entry("allOf").or_insert_with(|| json!([]));
            if let Some(list) = all_of.as_array_mut() {
                list.push(json!({"type": "string", "pattern": NOT_ONLY_SPACE}));
            }
        }
    }
    schema
}

fn components(spec: &Spec) -> Map<String, Value> {
    let mut schemas = Map::new();
    schemas.insert(
        "Detail".into(),
        json!({
            "type": "object", "required": ["detail"], "additionalProperties": false,
            "properties": {"detail": {"type": "string"}}
        }),
    );
    schemas.insert(
        "FieldErrors".into(),
        json!({
            "type": "object", "minProperties": 1,
            "additionalProperties": {"type": "array", "minItems": 1, "items": {"type": "string"}}
        }),
    );
    for resource in &spec.resources {
        let name = &resource.name;
        let representation = embed(&resource.representation.document);
        let base = title_of(&representation, &capitalised(name));
        schemas.insert(name.clone(), titled(representation, &base));
        schemas.insert(
            format!("{name}.page"),
            json!({
                "title": format!("{base} page"),
                "type": "object", "additionalProperties": false,
                "required": ["count", "next", "previous", "results"],
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "next": {"type": ["string", "null"], "format": "uri"},
                    "previous": {"type": ["string", "null"], "format": "uri"},
                    "results": {"type": "array", "items": reference(name)},
                }
            }),
        );
        if let Some(input) = &resource.input {
            let full = refuse_nul(embed(&input.document));
            let title = title_of(&full, &format!("{base} (input)"));
            let form = form_schema(&full);
            // Form and multipart bodies read alike, but each media type has its own
            // component: a generated client tells the body's media type by its model.
            let variants = [
                ("input", "", full),
                ("input.form", ", form", form.clone()),
                ("input.multipart", ", multipart", form),
            ];
            for (suffix, words, schema) in variants {
                let patch = schema::partial(&schema);
                schemas.insert(
                    format!("{name}.{suffix}"),
                    titled(schema, &format!("{title}{words}")),
                );
                schemas.insert(
                    format!("{name}.{}", suffix.replacen("input", "patch", 1)),
                    titled(patch, &format!("{title}, partial{words}")),
                );
            }
        }
    }
    schemas
}

/// A schema's own `title`, or `fallback`.
fn title_of(schema: &Value, fallback: &str) -> String {
    schema
        .get("title")
        .and_then(Value::as_str)
        .map_or_else(|| fallback.to_owned(), str::to_owned)
}

/// `schema` under `title`: client generators name their models by title, so each component
/// gets its own.
fn titled(mut schema: Value, title: &str) -> Value {
    if let Some(map) = schema.as_object_mut() {
        map.insert("title".into(), json!(title));
    }
    schema
}

fn operation(
    route: &Route,
    resource: &Resource,
    action: Action,
    links: Map<String, Value>,
) -> Value {
    let name = &resource.name;
    let mut op = Map::new();
    op.insert("operationId".into(), json!(operation_id(action, name)));
    op.insert(
        "summary".into(),
        json!(format!("{} ({})", route.name, action_name(action))),
    );
    let mut parameters = Vec::new();
    if action == Action::List {
        parameters.extend(scope_parameters(resource));
        // Read leniently, as DRF does: anything that is not a positive (non-negative) integer
        // means the default, so every string is an acceptable value.
        let lenient = json!({"type": "string", "examples": ["10"]});
        parameters.push(query_parameter(
            "limit",
            lenient.clone(),
            "Page size; anything but a positive integer means the default.",
        ));
        parameters.push(query_parameter(
            "offset",
            lenient,
            "Rows to skip; anything but a non-negative integer means 0.",
        ));
        if !resource.ordering.is_empty() {
            let names: Vec<&str> = resource.ordering.iter().map(|(n, _)| n.as_str()).collect();
            let about = format!(
                "Comma-separated fields, `-` for descending: {}.",
                names.join(", ")
            );
            parameters.push(query_parameter(
                "ordering",
                json!({"type": "string"}),
                &about,
            ));
        }
    }
    if action.is_detail() {
        parameters.extend(precondition_parameters(action));
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    let body = match action {
        Action::Create | Action::Update => Some(format!("{name}.input")),
        Action::PartialUpdate => Some(format!("{name}.patch")),
        _ => None,
    };
    if let Some(schema) = &body {
        let content: Map<String, Value> = PARSES
            .iter()
            .map(|media| {
                let variant = match *media {
                    "multipart/form-data" => format!("{schema}.multipart"),
                    "application/x-www-form-urlencoded" => format!("{schema}.form"),
                    _ => schema.clone(),
                };
                (media.to_string(), json!({"schema": reference(&variant)}))
            })
            .collect();
        // An empty body reads as `{}`: it is only refused when the schema requires fields.
        let required = action != Action::PartialUpdate
            && resource
                .input
                .as_ref()
                .is_some_and(|i| i.fields.iter().any(|f| f.required));
        op.insert(
            "requestBody".into(),
            json!({"required": required, "content": content}),
        );
    }
    op.insert(
        "responses".into(),
        responses(resource, action, body.is_some(), links),
    );
    Value::Object(op)
}

fn operation_id(action: Action, resource: &str) -> String {
    format!("{}_{resource}", action_name(action))
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::List => "list",
        Action::Create => "create",
        Action::Retrieve => "retrieve",
        Action::Update => "update",
        Action::PartialUpdate => "partial_update",
        Action::Destroy => "destroy",
    }
}

fn query_parameter(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

/// `search` and every `field__lookup` a resource declares.
fn scope_parameters(resource: &Resource) -> Vec<Value> {
    let mut out = Vec::new();
    if !resource.search.is_empty() {
        out.push(query_parameter(
            "search",
            json!({"type": "string"}),
            "Terms that must each appear, ignoring case, in one of the search fields.",
        ));
    }
    for field in &resource.filters {
        for lookup in &field.lookups {
            // A NUL character in a filter value is refused (400).
            let schema = match (field.kind, lookup) {
                (
                    Kind::Integer,
                    Lookup::Exact | Lookup::Gt | Lookup::Gte | Lookup::Lt | Lookup::Lte,
                ) => json!({"type": "integer"}),
                _ => json!({"type": "string", "pattern": "^[^\\u0000]*$"}),
            };
            let about = format!("{} {}.", field.name, lookup_in_words(*lookup));
            out.push(query_parameter(
                &format!("{}__{}", field.name, lookup.name()),
                schema.clone(),
                &about,
            ));
            if *lookup == Lookup::Exact {
                out.push(query_parameter(&field.name, schema, &about));
            }
        }
    }
    out
}

/// What a lookup keeps, in words: "starts with the value, ignoring case".
fn lookup_in_words(lookup: Lookup) -> &'static str {
    match lookup {
        Lookup::Exact => "equals the value",
        Lookup::IExact => "equals the value, ignoring case",
        Lookup::Contains => "contains the value",
        Lookup::IContains => "contains the value, ignoring case",
        Lookup::StartsWith => "starts with the value",
        Lookup::IStartsWith => "starts with the value, ignoring case",
        Lookup::EndsWith => "ends with the value",
        Lookup::IEndsWith => "ends with the value, ignoring case",
        Lookup::In => "is one of the comma-separated values",
        Lookup::Gt => "is greater than the value",
        Lookup::Gte => "is greater than or equal to the value",
        Lookup::Lt => "is less than the value",
        Lookup::Lte => "is less than or equal to the value",
    }
}

/// A detail operation's `If-Match` and `If-None-Match` (RFC 9110 §13.1.1, §13.1.2).
fn precondition_parameters(action: Action) -> Vec<Value> {
    let header = |name: &str, description: &str| json!({"name": name, "in": "header", "required": false, "schema": {"type": "string"}, "description": description});
    let none_match = if action == Action::Retrieve {
        "Entity tags (weak comparison), or `*`: when one is the object's current ETag, the answer is 304 with no body."
    } else {
        "Entity tags (weak comparison), or `*`: when one is the object's current ETag (`*`: when the object exists), the answer is 412 and nothing changes."
    };
    vec![
        header(
            "If-Match",
            "Entity tags (strong comparison), or `*`: unless one is the object's current ETag (`*`: unless the object exists), the answer is 412 and nothing changes. Checked in the write's own transaction, so of two writers sending the same tag one gets 412.",
        ),
        header("If-None-Match", none_match),
    ]
}

/// The `ETag` a representation comes with: a strong tag of the object's current state (its
/// version, when the resource keeps one).
fn etag_header(resource: &Resource) -> Value {
    let pattern = match resource.version {
        Some(_) => "^\"v-?[0-9]+\"$",
        None => "^\"[0-9a-f]{32}\"$",
    };
    json!({"ETag": {
        "description": "The object's strong entity tag, for If-Match and If-None-Match.",
        "required": true,
        "schema": {"type": "string", "pattern": pattern},
    }})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": json_content(schema)})
}

fn responses(
    resource: &Resource,
    action: Action,
    takes_body: bool,
    links: Map<String, Value>,
) -> Value {
    let name = &resource.name;
    let detail = || reference("Detail");
    let invalid = || json!({"anyOf": [reference("FieldErrors"), reference("Detail")]});
    let mut out = Map::new();
    match action {
        Action::List => {
            out.insert(
                "200".into(),
                response("A page of results.", reference(&format!("{name}.page"))),
            );
        }
        Action::Create => {
            let mut created = response("Created.", reference(name));
            created["headers"] = etag_header(resource);
            if !links.is_empty() {
                created["links"] = Value::Object(links);
            }
            out.insert("201".into(), created);
        }
        Action::Retrieve | Action::Update | Action::PartialUpdate => {
            let mut object = response("The object.", reference(name));
            object["headers"] = etag_header(resource);
            out.insert("200".into(), object);
        }
        Action::Destroy => {
            out.insert("204".into(), json!({"description": "Deleted."}));
        }
    }
    out.insert(
        "400".into(),
        response("Invalid input: errors per field, or a detail.", invalid()),
    );
    if action.is_detail() {
        out.insert(
            "404".into(),
            response(
                "No such object (the list's filters and search, when sent, narrow the objects found).",
                detail(),
            ),
        );
    }
    if action == Action::Retrieve {
        out.insert(
            "304".into(),
            json!({
                "description": "Not modified: If-None-Match names the object's current ETag. No body.",
                "headers": etag_header(resource),
            }),
        );
    }
    if action.is_detail() {
        out.insert(
            "412".into(),
            response(
                "A precondition failed: If-Match does not name the object's current ETag (or there is no object), or If-None-Match does (or is `*` and there is one). Nothing was changed.",
                detail(),
            ),
        );
    }
    out.insert(
        "406".into(),
        response("The Accept header cannot be satisfied.", detail()),
    );
    if takes_body {
        out.insert("413".into(), response("The body is too large.", detail()));
        out.insert("415".into(), response("Unsupported media type.", detail()));
    }
    out.insert(
        "503".into(),
        response("The database is unavailable; retry later.", detail()),
    );
    Value::Object(out)
}

/// From a create's response to every detail operation on the same resource, passing the
/// key from the response body, for stateful testers.
fn links(spec: &Spec, resource_index: usize) -> Map<String, Value> {
    let resource = &spec.resources[resource_index];
    let mut links = Map::new();
    let Some(key_field) = resource.fields.get(resource.key_field).map(|f| &f.name) else {
        return links;
    };
    for route in spec
        .routes
        .iter()
        .filter(|r| r.target == Target::Table(resource_index))
    {
        let Some(param) = &route.key_param else {
            continue;
        };
        for action in route.methods.iter().filter_map(|b| b.action.as_ref()) {
            links.insert(
                format!(
                    "{}{}",
                    capitalised(action_name(*action)),
                    capitalised(&resource.name)
                ),
                json!({
                    "operationId": operation_id(*action, &resource.name),
                    "parameters": {param.as_str(): format!("$response.body#/{key_field}")},
                }),
            );
        }
    }
    links
}

/// `partial_update` → `PartialUpdate`.
fn capitalised(name: &str) -> String {
    name.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compat::email::django_email;

    /// Local parts and domains whose every pairing the pattern and the gateway's rule judge
    /// alike.
    const LOCALS: &[&str] = &[
        "a",
        "first.last",
        "x+tag",
        "!#$%&'*+/=?^_`{}|~-",
        "ſ",
        "\u{212a}elvin",
        ".a",
        "a.",
        "a..b",
        "a b",
        "\"\"",
        "\"a b\"",
        "\"a\\\"b\"",
        "\"a\\\\\"",
        "\"\u{1}\u{7f}\"",
        "\"a\nb\"",
        "\"a\"b\"",
        "\"unterminated",
        "ü",
        "a@b",
    ];
    const DOMAINS: &[&str] = &[
        "example.com",
        "EXAMPLE.COM",
        "a.b-c.de",
        "b.-c",
        "b.c-",
        "b.c",
        "-b.com",
        "b-.com",
        "b..com",
        "example.com.",
        "localhost",
        "LOCALHOST",
        "ſ.com",
        "[127.0.0.1]",
        "[255.255.255.255]",
        "[256.1.1.1]",
        "[01.1.1.1]",
        "[1.1.1]",
        "[::1]",
        "[::]",
        "[1::]",
        "[1:2:3:4:5:6:7:8]",
        "[1:2:3:4:5:6:7::]",
        "[1:2:3:4:5:6:7:8:9]",
        "[1::2::3]",
        "[12345::1]",
        "[fe80::ABCD]",
        "[g::1]",
        "[]",
        "[localhost]",
        "b",
        "",
    ];

    #[test]
    fn the_email_pattern_says_what_the_gateway_accepts() {
        let pattern = email_pattern();
        let schema = json!({"type": "string", "pattern": pattern});
        let documented = jsonschema::validator_for(&schema).expect("the pattern compiles");
        let label = format!("{}.com", "a".repeat(63));
        let long_label = format!("{}.com", "a".repeat(64));
        let tld = format!("a.{}", "b".repeat(63));
        let long_tld = format!("a.{}", "b".repeat(64));
        let extra = [label.as_str(), &long_label, &tld, &long_tld];
        for local in LOCALS {
            for domain in DOMAINS.iter().copied().chain(extra) {
                let address = format!("{local}@{domain}");
                assert_eq!(
                    documented.is_valid(&json!(address)),
                    django_email(&address),
                    "{address:?}"
                );
            }
        }
    }

    #[test]
    fn the_email_pattern_leaves_out_only_what_its_description_names() {
        let schema = json!({"type": "string", "pattern": email_pattern()});
        let documented = jsonschema::validator_for(&schema).expect("the pattern compiles");
        for address in ["a@bücher.de", "a@[::ffff:1.2.3.4]"] {
            assert!(django_email(address) && !documented.is_valid(&json!(address)));
        }
    }
}
