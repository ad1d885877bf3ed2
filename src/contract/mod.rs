//! The compiled contract: `routes.yaml` and `schemas/`, loaded, cross-checked and compiled
//! once into an immutable [`Spec`] that every request reads.
//!
//! This is the only module that knows YAML. Everything a request needs (route matcher,
//! validators, quoted identifiers, messages) is prepared here, so the request path does no
//! parsing of configuration and compiles no schema. Identifiers are [`ident::Ident`]s, which
//! only this module can make. [`crate::store`] keeps the serving contract and swaps in a reloaded
//! one once it has passed every check.

pub mod cors;
mod env;
mod format;
pub mod ident;
pub mod limits;
mod locate;
pub mod mirror;
pub mod oas;
pub mod policy;
pub mod roots;
pub mod schema;
pub mod security;
pub mod upstream;
mod yaml;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use http::Method;

use crate::plan::{Kind, Lookup};

pub use format::{HostHeader, ProxyValidation, ResponseValidation, UnknownQuery};
pub use schema::{InputField, InputSchema};
pub use upstream::Upstream;

use ident::{Ident, quote};

use format::{MethodDef, ResourceDef, RouteDef, RouteTable};
use locate::Step;

/// A problem with the spec files, with the place it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the spec folder.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Everything the gateway serves, compiled.
pub struct Spec {
    /// Routes in the order they are matched.
    pub routes: Vec<Route>,
    /// Resources, referenced by index from routes.
    pub resources: Vec<Resource>,
    /// Upstreams, referenced by index from proxied methods.
    pub upstreams: Vec<Upstream>,
    /// The upstreams' OpenAPI documents, referenced by index from imported routes.
    pub imports: Vec<oas::Import>,
    /// The request checks of every imported (route index, method).
    pub operations: HashMap<(usize, Method), oas::Operation>,
    /// The mirrored methods (usually none).
    pub mirrors: Vec<mirror::Mirrored>,
    /// What a response that violates its schema does.
    pub response_validation: ResponseValidation,
    /// Base URL for absolute links, instead of the request's scheme and host.
    pub public_url: Option<std::sync::Arc<str>>,
    /// The folder holding `migrations/`.
    pub migrations: PathBuf,
    /// Where the OpenAPI document is served, if anywhere.
    pub openapi_path: Option<String>,
    /// Where readiness is answered, if anywhere.
    pub readiness_path: Option<String>,
    /// Where the API explorer is served, if anywhere (never without the document).
    pub docs_path: Option<String>,
    /// The API's title, for documents.
    pub title: String,
    /// The API's version, for documents.
    pub version: String,
    /// The rate limits and CORS policies, by route.
    pub policies: policy::Policies,
    /// Who may call each route, when `routes.yaml` has a `security:` block.
    pub security: Option<crate::auth::Security>,
}

impl Spec {
    /// Whether anything here is answered from the database: a method served natively, or
    /// mirrored to the native executor. A contract that proxies every route needs none.
    pub fn needs_database(&self) -> bool {
        let native = |r: &Route| {
            matches!(r.target, Target::Table(_)) && r.methods.iter().any(|b| b.via == Via::Native)
        };
        self.routes.iter().any(native) || self.mirrors.iter().any(|m| m.rule.to == Via::Native)
    }

    /// The mirror rule of `method` on the route at `route`, if it is mirrored.
    pub fn mirror(&self, route: usize, method: &Method) -> Option<&mirror::Mirror> {
        self.mirrors
            .iter()
            .find(|m| m.route == route && m.method == method)
            .map(|m| &m.rule)
    }
}

/// What a method on a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A page of the collection.
    List,
    /// Insert one row from the body.
    Create,
    /// One row by key.
    Retrieve,
    /// Replace the writable fields of one row (required fields required).
    Update,
    /// Change the given fields of one row.
    PartialUpdate,
    /// Delete one row.
    Destroy,
}

impl Action {
    fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "list" => Action::List,
            "create" => Action::Create,
            "retrieve" => Action::Retrieve,
            "update" => Action::Update,
            "partial_update" => Action::PartialUpdate,
            "destroy" => Action::Destroy,
            _ => return None,
        })
    }

    /// Whether the action addresses one row through the path's key.
    pub fn is_detail(self) -> bool {
        !matches!(self, Action::List | Action::Create)
    }

    /// Whether the action reads a request body.
    pub fn takes_body(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::PartialUpdate
        )
    }
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Must equal this text.
    Literal(String),
    /// Captures the resource's key.
    Key,
    /// Captures a named path parameter of an imported operation (any non-empty segment).
    Param(String),
}

/// What a route's requests are executed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Generic CRUD over a resource's table: the index into [`Spec::resources`].
    Table(usize),
    /// The operations of an upstream's OpenAPI document: the index into [`Spec::imports`].
    Import(usize),
}

/// Who answers one method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The gateway's own executor for the route's target.
    Native,
    /// The upstream at this index into [`Spec::upstreams`], with the action's schemas
    /// checking both ways.
    Upstream(usize),
}

/// A method of a route: the action whose schemas apply, and who answers it.
#[derive(Debug, Clone)]
pub struct Binding {
    /// The HTTP method.
    pub method: Method,
    /// The action whose schemas apply (`None` for an imported operation, whose checks come
    /// from its document, see [`Spec::operations`]).
    pub action: Option<Action>,
    /// Who answers.
    pub via: Via,
}

/// A compiled route.
pub struct Route {
    /// The template as written, for logs, metrics labels and documents (shared, so a
    /// response can carry it without a copy).
    pub template: std::sync::Arc<str>,
    /// The name of the key parameter in the template (`id` in `{id}`), if it has one.
    pub key_param: Option<String>,
    /// The template split on `/` (the leading empty segment dropped).
    pub segments: Vec<Segment>,
    /// What serves the route.
    pub target: Target,
    /// Name shown by OPTIONS.
    pub name: String,
    /// Description shown by OPTIONS.
    pub description: String,
    /// Methods and their actions, in the canonical order of the `Allow` header.
    pub methods: Vec<Binding>,
    /// The `Allow` header: the methods, then HEAD when GET is served, then OPTIONS.
    pub allow: http::HeaderValue,
    /// How proxied methods are checked against the schemas.
    pub validate: ProxyValidation,
    /// The `Host` proxied requests carry.
    pub host: HostHeader,
}

impl Route {
    /// The binding of `method`; HEAD runs GET's.
    pub fn binding(&self, method: &Method) -> Option<&Binding> {
        let wanted = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.methods.iter().find(|b| b.method == wanted)
    }

    /// Whether every method is proxied (OPTIONS then goes upstream too).
    pub fn is_proxied(&self) -> bool {
        !self.methods.is_empty() && self.methods.iter().all(|b| b.via != Via::Native)
    }
}

/// Where a representation field's value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A column of the resource's table.
    Column(Ident),
    /// Ids from a join table.
    Relation {
        /// The join table.
        through: Ident,
        /// Its column holding this resource's key.
        source: Ident,
        /// Its column holding the related id.
        target: Ident,
    },
}

/// One field of a representation, in response order.
#[derive(Debug, Clone)]
pub struct Field {
    /// The JSON key.
    pub name: String,
    /// The JSON key quoted, as the SQL alias the field is selected under.
    pub alias: Ident,
    /// How the value is stored and rendered.
    pub kind: Kind,
    /// Whether `null` is a possible value.
    pub nullable: bool,
    /// Where the value comes from.
    pub source: Source,
}

/// A field a unique constraint covers, with the message a duplicate gets.
#[derive(Debug, Clone)]
pub struct Unique {
    /// The JSON key.
    pub field: String,
    /// The quoted column.
    pub column: Ident,
    /// The message, e.g. "thing with this code already exists.".
    pub message: String,
}

/// A field clients may filter on, with the lookups allowed.
#[derive(Debug, Clone)]
pub struct FilterField {
    /// The JSON key, which is the parameter's prefix.
    pub name: String,
    /// The quoted column.
    pub column: Ident,
    /// How the column is stored (values are parsed accordingly).
    pub kind: Kind,
    /// Lookups allowed.
    pub lookups: Vec<Lookup>,
    /// The query parameters that set these filters, in the order they are read:
    /// `name__lookup` for each lookup, and the bare `name` right after `name__exact`. Built
    /// once here so that a request does not format them.
    pub params: Vec<(Lookup, String)>,
}

/// The query parameters of one filter lookup: `name__lookup`, and the bare `name` for
/// `exact`.
pub fn filter_params(name: &str, lookup: Lookup) -> Vec<String> {
    let mut names = vec![format!("{name}__{}", lookup.name())];
    if lookup == Lookup::Exact {
        names.push(name.to_owned());
    }
    names
}

/// A compiled resource.
pub struct Resource {
    /// Its name in `routes.yaml`.
    pub name: String,
    /// The quoted table.
    pub table: Ident,
    /// The quoted key column.
    pub key: Ident,
    /// Index of the key in [`Resource::fields`].
    pub key_field: usize,
    /// The representation's fields, in response order.
    pub fields: Vec<Field>,
    /// The representation's schema, for response validation and documents.
    pub representation: schema::Compiled,
    /// What clients may write, when the resource accepts writes.
    pub input: Option<InputSchema>,
    /// Unique fields, in input order.
    pub unique: Vec<Unique>,
    /// Columns `?search=` looks into.
    pub search: Vec<Ident>,
    /// Filterable fields and their lookups.
    pub filters: Vec<FilterField>,
    /// Messages for bad filter values (`nul`, `invalid`).
    pub filter_messages: BTreeMap<String, String>,
    /// Fields `?ordering=` accepts: (name, quoted column).
    pub ordering: Vec<(String, Ident)>,
    /// Default page size.
    pub page_size: u64,
    /// Largest page a client may ask for.
    pub max_page_size: Option<u64>,
    /// What a query parameter the resource does not read gets.
    pub unknown_query: UnknownQuery,
    /// The order when none is asked for: (quoted column, descending).
    pub default_ordering: Vec<(Ident, bool)>,
    /// The quoted version column, when the resource declares one (`version:`): its value
    /// is the `ETag`, and every update increments it.
    pub version: Option<Ident>,
    /// The representation as a SQL projection, per dialect, built once by
    /// `sql::select_list`.
    pub projection: [std::sync::OnceLock<String>; 2],
    /// The table's column types, read from the database once per contract (by the check a
    /// reload makes, or by the first write), for the values a column would round or cut.
    pub columns: std::sync::OnceLock<crate::plan::Columns>,
}

/// Collects problems with their locations in one file.
struct Report<'a> {
    file: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn at(&mut self, path: &[Step<'_>], message: impl Into<String>) {
        let line = locate::line_of(self.text, path);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            message: message.into(),
        });
    }
}

/// Loads and compiles the spec in `dir`: `routes.yaml`, `schemas/`, `migrations/`.
pub fn load(dir: &Path) -> Result<Spec, Vec<Problem>> {
    let file = "routes.yaml";
    let text = std::fs::read_to_string(dir.join(file)).map_err(|e| {
        vec![Problem {
            file: file.into(),
            line: None,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let text = env::interpolate(&text, |name| std::env::var(name).ok()).map_err(|unset| {
        unset
            .into_iter()
            .map(|u| Problem {
                file: file.into(),
                line: Some(u.line),
                message: u.message,
            })
            .collect::<Vec<_>>()
    })?;
    let table: RouteTable = serde_yaml::from_str(&text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        vec![Problem {
            file: file.into(),
            line,
            message: yaml::plain(&e.to_string()),
        }]
    })?;
    let mut report = Report {
        file,
        text: &text,
        problems: Vec::new(),
    };
    let schemas = dir.join("schemas");
    let mut resources = Vec::new();
    let mut index = HashMap::new();
    for (name, def) in &table.resources {
        match compile_resource(name, def, &schemas, &mut report) {
            Some(resource) => {
                index.insert(name.clone(), resources.len());
                resources.push(resource);
            }
            None => continue,
        }
    }
    let mut upstreams = Vec::new();
    let mut upstream_index = HashMap::new();
    for (name, def) in &table.upstreams {
        match upstream::compile(name, def, dir) {
            Ok(up) => {
                upstream_index.insert(name.clone(), upstreams.len());
                upstreams.push(up);
            }
            Err(message) => report.at(&[Step::Key("upstreams"), Step::Key(name)], message),
        }
    }
    let names = Names {
        resources: &index,
        upstreams: &upstream_index,
        defs: &table.resources,
    };
    let mut routes = Vec::new();
    let mut mirrors = Vec::new();
    for (i, def) in table.routes.iter().enumerate() {
        if let Some(route) = compile_route(i, def, &names, &mut report) {
            compile_mirrors(
                i,
                def,
                &route,
                routes.len(),
                &names,
                &mut report,
                &mut mirrors,
            );
            routes.push(route);
        }
    }
    let mut imports = Vec::new();
    let mut operations = HashMap::new();
    for (name, def) in &table.upstreams {
        let (Some(file), Some(&up)) = (&def.openapi, upstream_index.get(name)) else {
            continue;
        };
        let at = [
            Step::Key("upstreams"),
            Step::Key(name),
            Step::Key("openapi"),
        ];
        let mut imported = oas::Imported {
            routes: &mut routes,
            operations: &mut operations,
            imports: imports.len(),
        };
        match oas::import(dir, file, name, up, def.validate, &mut imported) {
            Ok(import) => imports.push(import),
            Err(problems) if problems.is_empty() => {}
            Err(problems) => {
                report.at(&at, format!("{file}: the OpenAPI document has problems"));
                report.problems.extend(problems);
            }
        }
    }
    // Also what an empty (or half-written) routes.yaml reads as, now that both keys may be
    // left out: refused, never served as a gateway that answers 404 to everything.
    if routes.is_empty() && report.problems.is_empty() {
        report.problems.push(Problem {
            file: file.into(),
            line: None,
            message: "no routes: write `routes:`, or give an upstream an `openapi:` document"
                .into(),
        });
    }
    if let Some(url) = &table.settings.public_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        report.at(
            &[Step::Key("settings"), Step::Key("public_url")],
            "public_url must start with http:// or https://",
        );
    }
    let policies = policy::compile(&table, &mut report);
    let security = table.security.as_ref().and_then(|def| {
        let own: Vec<_> = (0..routes.len())
            .map(|i| table.routes.get(i).and_then(|r| r.security.as_ref()))
            .collect();
        security::compile(def, &own, dir)
            .map_err(|problems| {
                for (at, message) in problems {
                    report.at(&at.steps(), message);
                }
            })
            .ok()
    });
    if table.security.is_none() {
        for (i, route) in table.routes.iter().enumerate() {
            if route.security.is_some() {
                let at = [Step::Key("routes"), Step::Item(i), Step::Key("security")];
                report.at(&at, "a route's `security:` needs the top-level `security:` block that names the schemes");
            }
        }
    }
    if let Some(path) = table.settings.docs_path.as_deref()
        && !path.is_empty()
        && (!path.starts_with('/') || path.ends_with('/'))
    {
        report.at(
            &[Step::Key("settings"), Step::Key("docs_path")],
            "docs_path must start with / and not end with / (the explorer's files are under it)",
        );
    }
    if !report.problems.is_empty() {
        return Err(report.problems);
    }
    let openapi_path = table.settings.openapi_path.filter(|p| !p.is_empty());
    Ok(Spec {
        policies,
        security,
        routes,
        resources,
        upstreams,
        imports,
        operations,
        mirrors,
        response_validation: table.settings.response_validation,
        public_url: table
            .settings
            .public_url
            .map(|u| u.trim_end_matches('/').into()),
        migrations: dir.join("migrations"),
        readiness_path: table.settings.readiness_path.filter(|p| !p.is_empty()),
        docs_path: table
            .settings
            .docs_path
            .filter(|p| !p.is_empty() && openapi_path.is_some()),
        openapi_path,
        title: table.settings.title,
        version: table.settings.version,
    })
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

fn check_identifier(report: &mut Report<'_>, path: &[Step<'_>], name: &str) {
    if !is_identifier(name) {
        report.at(
            path,
            format!("{name:?} is not a plain SQL identifier (letters, digits, _; at most 63)"),
        );
    }
}

fn compile_resource(
    name: &str,
    def: &ResourceDef,
    schemas: &Path,
    report: &mut Report<'_>,
) -> Option<Resource> {
    let here = |key: &'static str| [Step::Key("resources"), Step::Key(name), Step::Key(key)];
    check_identifier(report, &here("table"), &def.table);
    check_identifier(report, &here("key"), &def.key);
    let representation = match schema::load(schemas, &def.representation) {
        Ok(compiled) => compiled,
        Err(message) => {
            report.at(&here("representation"), message);
            return None;
        }
    };
    let fields = representation_fields(name, def, &representation, report);
    let key_field = fields
        .iter()
        .position(|f| matches!(&f.source, Source::Column(c) if *c == quote(&def.key)));
    if key_field.is_none() {
        report.at(
            &here("key"),
            format!(
                "key {:?} is not a property of {}",
                def.key, def.representation
            ),
        );
    }
    let input = def.input.as_ref().and_then(|file| {
        match schema::load_input(schemas, file, &|prop| column_kind(&fields, prop)) {
            Ok(input) => Some(input),
            Err(message) => {
                report.at(&here("input"), message);
                None
            }
        }
    });
    for (relation, rel) in &def.relations {
        let path = [
            Step::Key("resources"),
            Step::Key(name),
            Step::Key("relations"),
            Step::Key(relation),
        ];
        for ident in [&rel.through, &rel.source, &rel.target] {
            check_identifier(report, &path, ident);
        }
    }
    let unique = compile_unique(name, def, &fields, input.as_ref(), report);
    check_field_lists(name, def, &fields, report);
    let default_ordering = def
        .default_ordering
        .iter()
        .filter_map(|entry| {
            let (field, desc) = entry
                .strip_prefix('-')
                .map_or((entry.as_str(), false), |f| (f, true));
            match fields.iter().find(|f| f.name == field).map(|f| &f.source) {
                Some(Source::Column(column)) => Some((column.clone(), desc)),
                _ => {
                    report.at(
                        &here("default_ordering"),
                        format!(
                            "default_ordering names {field:?}, which is not a column field of {}",
                            def.representation
                        ),
                    );
                    None
                }
            }
        })
        .collect();
    let filters = compile_filters(name, def, &fields, report);
    let columns_of = |names: &[String]| -> Vec<(String, Ident)> {
        names
            .iter()
            .filter_map(|n| column_kind(&fields, n).map(|(_, c)| (n.clone(), c)))
            .collect()
    };
    let search = columns_of(&def.search)
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    let ordering = columns_of(&def.ordering);
    if def.page_size == 0 {
        report.at(&here("page_size"), "page_size must be at least 1");
    }
    if let Some(version) = &def.version {
        check_identifier(report, &here("version"), version);
        let written = input.as_ref().and_then(|i| {
            i.fields
                .iter()
                .find(|f| f.column == quote(version))
                .map(|f| f.name.clone())
        });
        if let Some(field) = written {
            report.at(
                &here("version"),
                format!("the version column {version:?} is written by the gateway alone, but the input schema's field {field:?} writes it"),
            );
        }
    }
    Some(Resource {
        name: name.to_owned(),
        table: quote(&def.table),
        key: quote(&def.key),
        key_field: key_field.unwrap_or_default(),
        fields,
        representation,
        input,
        unique,
        search,
        filters,
        filter_messages: def.filter_messages.clone(),
        ordering,
        page_size: def.page_size,
        max_page_size: def.max_page_size,
        unknown_query: def.unknown_query,
        default_ordering,
        version: def.version.as_deref().map(quote),
        projection: Default::default(),
        columns: Default::default(),
    })
}

fn column_kind(fields: &[Field], property: &str) -> Option<(Kind, Ident)> {
    fields
        .iter()
        .find(|f| f.name == property)
        .and_then(|f| match &f.source {
            Source::Column(column) => Some((f.kind, column.clone())),
            Source::Relation { .. } => None,
        })
}

fn representation_fields(
    name: &str,
    def: &ResourceDef,
    representation: &schema::Compiled,
    report: &mut Report<'_>,
) -> Vec<Field> {
    let mut fields = Vec::new();
    let here = [
        Step::Key("resources"),
        Step::Key(name),
        Step::Key("representation"),
    ];
    for (prop, (kind, nullable)) in representation.properties() {
        let source = match def.relations.get(&prop) {
            Some(rel) => {
                if kind != Kind::IdList {
                    report.at(
                        &here,
                        format!(
                            "relation {prop:?} must be an array of integers in {}",
                            def.representation
                        ),
                    );
                }
                Source::Relation {
                    through: quote(&rel.through),
                    source: quote(&rel.source),
                    target: quote(&rel.target),
                }
            }
            None if kind == Kind::IdList => {
                report.at(&here, format!("property {prop:?} is an array but no relation under `relations` says where it comes from"));
                continue;
            }
            None => {
                check_identifier(report, &here, &prop);
                Source::Column(quote(&prop))
            }
        };
        fields.push(Field {
            alias: quote(&prop),
            name: prop,
            kind,
            nullable,
            source,
        });
    }
    if let Err(message) = representation.shape_problems() {
        report.at(&here, message);
    }
    for relation in def.relations.keys() {
        if !fields.iter().any(|f| &f.name == relation) {
            let path = [
                Step::Key("resources"),
                Step::Key(name),
                Step::Key("relations"),
                Step::Key(relation),
            ];
            report.at(
                &path,
                format!(
                    "relation {relation:?} is not a property of {}",
                    def.representation
                ),
            );
        }
    }
    fields
}

fn compile_unique(
    name: &str,
    def: &ResourceDef,
    fields: &[Field],
    input: Option<&InputSchema>,
    report: &mut Report<'_>,
) -> Vec<Unique> {
    let mut unique: Vec<Unique> = Vec::new();
    for (field, message) in &def.unique {
        let path = [
            Step::Key("resources"),
            Step::Key(name),
            Step::Key("unique"),
            Step::Key(field),
        ];
        match column_kind(fields, field) {
            Some((_, column)) => unique.push(Unique {
                field: field.clone(),
                column,
                message: message.clone(),
            }),
            None => report.at(
                &path,
                format!(
                    "unique field {field:?} is not a column property of {}",
                    def.representation
                ),
            ),
        }
    }
    let position = |field: &str| {
        input
            .and_then(|i| i.fields.iter().position(|f| f.name == field))
            .unwrap_or(usize::MAX)
    };
    unique.sort_by_key(|u| position(&u.field));
    unique
}

fn compile_filters(
    name: &str,
    def: &ResourceDef,
    fields: &[Field],
    report: &mut Report<'_>,
) -> Vec<FilterField> {
    let mut filters = Vec::new();
    for (field, lookups) in &def.filters {
        let Some((kind, column)) = column_kind(fields, field) else {
            continue;
        };
        let path = [
            Step::Key("resources"),
            Step::Key(name),
            Step::Key("filters"),
            Step::Key(field),
        ];
        if kind == Kind::Json {
            report.at(
                &path,
                format!("{field:?} is an object: it cannot be filtered on"),
            );
            continue;
        }
        let mut parsed = Vec::new();
        for lookup in lookups {
            match Lookup::parse(lookup) {
                Some(l) if l.on_text() && !matches!(kind, Kind::Text | Kind::Date | Kind::Uuid) => {
                    report.at(
                        &path,
                        format!("lookup {lookup:?} compares text, and {field:?} is not text (each database writes its values as text differently): use exact, in, gt, gte, lt or lte"),
                    );
                }
                Some(l) => parsed.push(l),
                None => {
                    report.at(&path, format!("unknown lookup {lookup:?} on {field:?}"));
                }
            }
        }
        let params = parsed
            .iter()
            .flat_map(|&lookup| {
                filter_params(field, lookup)
                    .into_iter()
                    .map(move |name| (lookup, name))
            })
            .collect();
        filters.push(FilterField {
            name: field.clone(),
            column,
            kind,
            lookups: parsed,
            params,
        });
    }
    for key in def.filter_messages.keys() {
        if key != "nul" && key != "invalid" {
            let path = [
                Step::Key("resources"),
                Step::Key(name),
                Step::Key("filter_messages"),
                Step::Key(key),
            ];
            report.at(
                &path,
                format!("unknown filter message {key:?} (nul, invalid)"),
            );
        }
    }
    filters
}

fn check_field_lists(name: &str, def: &ResourceDef, fields: &[Field], report: &mut Report<'_>) {
    let mut lists: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    lists.insert("search", def.search.iter().collect());
    lists.insert("filters", def.filters.keys().collect());
    lists.insert("ordering", def.ordering.iter().collect());
    for (list, names) in lists {
        for field in names {
            let path = [
                Step::Key("resources"),
                Step::Key(name),
                Step::Key(list),
                Step::Key(field),
            ];
            match column_kind(fields, field) {
                None => report.at(
                    &path,
                    format!(
                        "{list} names {field:?}, which is not a column property of {}",
                        def.representation
                    ),
                ),
                Some((kind, _))
                    if list == "search"
                        && !matches!(kind, Kind::Text | Kind::Date | Kind::Uuid) =>
                {
                    report.at(&path, format!("search looks into text, and {field:?} is not text (each database writes its values as text differently)"));
                }
                Some((Kind::Json, _)) if list == "ordering" => {
                    report.at(&path, format!("{field:?} is an object: the databases order JSON differently, so it cannot be an ordering field"));
                }
                Some(_) => {}
            }
        }
    }
}

const METHOD_ORDER: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What route compilation looks names up in.
struct Names<'a> {
    resources: &'a HashMap<String, usize>,
    upstreams: &'a HashMap<String, usize>,
    defs: &'a BTreeMap<String, ResourceDef>,
}

fn compile_route(
    i: usize,
    def: &RouteDef,
    names: &Names<'_>,
    report: &mut Report<'_>,
) -> Option<Route> {
    let here = |key: &'static str| [Step::Key("routes"), Step::Item(i), Step::Key(key)];
    let Some(&resource) = names.resources.get(&def.resource) else {
        report.at(
            &here("resource"),
            format!("unknown resource {:?}", def.resource),
        );
        return None;
    };
    let segments = parse_template(&def.path);
    let Some(segments) = segments else {
        report.at(&here("path"), format!("path {:?} must start with / and use only literal segments and one {{key}} parameter", def.path));
        return None;
    };
    let route_upstream = match &def.upstream {
        None => None,
        Some(name) => match names.upstreams.get(name) {
            Some(&up) => Some(up),
            None => {
                report.at(&here("upstream"), format!("unknown upstream {name:?}"));
                return None;
            }
        },
    };
    let has_key = segments.contains(&Segment::Key);
    let mut methods = Vec::new();
    for (method, bound) in &def.methods {
        let path = [
            Step::Key("routes"),
            Step::Item(i),
            Step::Key("methods"),
            Step::Key(method),
        ];
        if let Some(binding) =
            compile_binding(method, bound, route_upstream, has_key, def, names, |m| {
                report.at(&path, m)
            })
        {
            methods.push(binding);
        }
    }
    methods.sort_by_key(|b| METHOD_ORDER.iter().position(|o| *o == b.method.as_str()));
    let mut allow: Vec<&str> = methods.iter().map(|b| b.method.as_str()).collect();
    if methods.iter().any(|b| b.method == Method::GET) {
        allow.push("HEAD");
    }
    allow.push("OPTIONS");
    let key_param = def
        .path
        .split('/')
        .find(|s| s.starts_with('{') && s.ends_with('}'))
        .map(|s| s.trim_matches(['{', '}']).to_owned());
    Some(Route {
        template: def.path.as_str().into(),
        key_param,
        segments,
        target: Target::Table(resource),
        name: def.name.clone().unwrap_or_else(|| def.resource.clone()),
        description: def.description.clone(),
        // Method names are tokens, which a header value always holds.
        allow: http::HeaderValue::from_str(&allow.join(", "))
            .unwrap_or_else(|_| http::HeaderValue::from_static("OPTIONS")),
        methods,
        validate: def.validate,
        host: def.host,
    })
}

/// The mirror rules of route `i` (compiled as `route`, at `index` among the routes), each
/// problem reported at its `mirror:`.
fn compile_mirrors(
    i: usize,
    def: &RouteDef,
    route: &Route,
    index: usize,
    names: &Names<'_>,
    report: &mut Report<'_>,
    mirrors: &mut Vec<mirror::Mirrored>,
) {
    for binding in &route.methods {
        let method = binding.method.as_str();
        let Some(declared) = mirror::declared(def, method) else {
            continue;
        };
        let own = def.methods.get(method).and_then(|m| m.mirror()).is_some();
        match mirror::compile(declared, binding.via, names.upstreams) {
            Ok(rule) => mirrors.push(mirror::Mirrored {
                route: index,
                method: binding.method.clone(),
                rule,
            }),
            Err(problems) => {
                let mut path = vec![Step::Key("routes"), Step::Item(i)];
                if own {
                    path.extend([Step::Key("methods"), Step::Key(method)]);
                }
                path.push(Step::Key("mirror"));
                for problem in problems {
                    report.at(&path, format!("{method}: {problem}"));
                }
            }
        }
    }
}

/// One method of a route: its action checked against the path and the resource, and who
/// answers it (the method's own upstream, else the route's, else the gateway).
fn compile_binding(
    method: &str,
    bound: &MethodDef,
    route_upstream: Option<usize>,
    has_key: bool,
    def: &RouteDef,
    names: &Names<'_>,
    mut problem: impl FnMut(String),
) -> Option<Binding> {
    if !METHOD_ORDER.contains(&method) {
        problem(format!(
            "method {method:?} must be one of {}",
            METHOD_ORDER.join(", ")
        ));
        return None;
    }
    let Some(action) = Action::parse(bound.action()) else {
        problem(format!(
            "unknown action {:?} (list, create, retrieve, update, partial_update, destroy)",
            bound.action()
        ));
        return None;
    };
    if action.is_detail() != has_key {
        let wants = if action.is_detail() {
            "needs a {key} segment in the path"
        } else {
            "needs a path without a {key} segment"
        };
        problem(format!("action {action:?} {wants}"));
    }
    if action.takes_body()
        && names
            .defs
            .get(&def.resource)
            .is_some_and(|r| r.input.is_none())
    {
        problem(format!(
            "action {action:?} needs an `input` schema on resource {:?}",
            def.resource
        ));
    }
    let via = match bound.upstream() {
        Some("native") => Via::Native,
        Some(name) => match names.upstreams.get(name) {
            Some(&up) => Via::Upstream(up),
            None => {
                problem(format!("unknown upstream {name:?}"));
                return None;
            }
        },
        None => route_upstream.map_or(Via::Native, Via::Upstream),
    };
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    Some(Binding {
        method,
        action: Some(action),
        via,
    })
}

fn parse_template(path: &str) -> Option<Vec<Segment>> {
    let rest = path.strip_prefix('/')?;
    let mut keys = 0;
    let segments: Vec<Segment> = rest
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') && s.len() > 2 {
                keys += 1;
                Segment::Key
            } else {
                Segment::Literal(s.to_owned())
            }
        })
        .collect();
    let literal_ok = segments.iter().all(|s| match s {
        Segment::Literal(text) => !text.contains(['{', '}']),
        Segment::Key | Segment::Param(_) => true,
    });
    (keys <= 1 && literal_ok).then_some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_literals_and_one_key() {
        assert_eq!(
            parse_template("/api/things/{id}/"),
            Some(vec![
                Segment::Literal("api".into()),
                Segment::Literal("things".into()),
                Segment::Key,
                Segment::Literal(String::new()),
            ])
        );
        assert_eq!(parse_template("api/"), None);
        assert_eq!(parse_template("/{a}/{b}/"), None);
        assert_eq!(parse_template("/x{a}/"), None);
    }

    #[test]
    fn identifiers_are_plain() {
        assert!(is_identifier("users_user"));
        assert!(!is_identifier("things; drop"));
        assert!(!is_identifier("1abc"));
    }
}
