//! The route table's file format, exactly as people write it in `routes.yaml`.
//!
//! These types only describe the text: every unknown key is rejected here, and every
//! reference between them (a route's resource, a field's column, a schema file) is checked
//! later, in [`super::compile`].

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::Deserialize;

/// The whole `routes.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTable {
    /// Gateway-wide settings.
    #[serde(default)]
    pub settings: SettingsDef,
    /// Services the gateway proxies to, by name.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamDef>,
    /// Resources by name: a table and its representation.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceDef>,
    /// The routes, matched in order (before the operations of upstreams' OpenAPI documents).
    #[serde(default)]
    pub routes: Vec<RouteDef>,
    /// Named rate limits, which routes (or `settings.rate_limit`) apply by name.
    #[serde(default)]
    pub rate_limits: BTreeMap<String, super::limits::LimitDef>,
    /// Who may call: authentication schemes and what each route requires.
    pub security: Option<super::security::SecurityDef>,
}

/// Settings that belong with the contract rather than with one deployment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsDef {
    /// What a response that violates its schema does: `enforce` (500), `log` or `off`.
    #[serde(default)]
    pub response_validation: ResponseValidation,
    /// Scheme and host used for absolute links (`next`, `previous`) instead of the request's.
    pub public_url: Option<String>,
    /// Where the OpenAPI document is served; `null` switches it off.
    #[serde(default = "default_openapi_path")]
    pub openapi_path: Option<String>,
    /// Where readiness is answered (200 when the database answers, else 503); `null`
    /// switches it off.
    #[serde(default = "default_readiness_path")]
    pub readiness_path: Option<String>,
    /// Where the API explorer (Swagger UI on the OpenAPI document) is served; `null`
    /// switches it off (so does `openapi_path: null`: it shows that document).
    #[serde(default = "default_docs_path")]
    pub docs_path: Option<String>,
    /// The API's title in the OpenAPI document (`info.title`); the crate's name by default.
    #[serde(default = "default_title")]
    pub title: String,
    /// The API's version in the OpenAPI document (`info.version`); the crate's version by
    /// default.
    #[serde(default = "default_version")]
    pub version: String,
    // Rate limits and CORS (contract/policy.rs).
    /// The limit of every route that names none (and of requests matching no route).
    pub rate_limit: Option<String>,
    /// Addresses or networks of proxies whose `X-Forwarded-For` names the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The CORS policy of every route that has none of its own.
    pub cors: Option<super::cors::CorsDef>,
}

impl Default for SettingsDef {
    fn default() -> Self {
        SettingsDef {
            response_validation: ResponseValidation::default(),
            public_url: None,
            openapi_path: default_openapi_path(),
            readiness_path: default_readiness_path(),
            docs_path: default_docs_path(),
            title: default_title(),
            version: default_version(),
            rate_limit: None,
            trusted_proxies: Vec::new(),
            cors: None,
        }
    }
}

fn default_openapi_path() -> Option<String> {
    Some("/openapi.json".to_owned())
}

fn default_readiness_path() -> Option<String> {
    Some("/ready".to_owned())
}

fn default_docs_path() -> Option<String> {
    Some("/docs".to_owned())
}

/// The gateway's own name: a document whose contract names no title still says who made it.
fn default_title() -> String {
    env!("CARGO_PKG_NAME").to_owned()
}

/// The gateway's own version, for a contract that names none.
fn default_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// How strictly response bodies are checked against their schemas.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseValidation {
    /// A violation is logged and answered with a 500.
    #[default]
    Enforce,
    /// A violation is logged; the response goes out unchanged.
    Log,
    /// Responses are not checked.
    Off,
}

/// One resource: a table, its representation and what clients may do with it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDef {
    /// The table's name.
    pub table: String,
    /// The integer primary-key column; detail routes look rows up by it.
    #[serde(default = "default_key")]
    pub key: String,
    /// Schema file (under `schemas/`) of one object as responses show it.
    pub representation: String,
    /// Schema file of what clients send on create and update.
    pub input: Option<String>,
    /// Properties that are not columns of the table but lists of related ids.
    #[serde(default)]
    pub relations: BTreeMap<String, RelationDef>,
    /// Unique fields and the message a duplicate gets.
    #[serde(default)]
    pub unique: BTreeMap<String, String>,
    /// Fields that `?search=` looks into.
    #[serde(default)]
    pub search: Vec<String>,
    /// Filterable fields and their lookups (`exact`, `icontains`, ...), in the order their
    /// errors are reported.
    #[serde(default)]
    pub filters: IndexMap<String, Vec<String>>,
    /// Messages for bad filter values, keyed `nul` (a NUL character) and `invalid` (a value
    /// that does not parse as the field's type).
    #[serde(default)]
    pub filter_messages: BTreeMap<String, String>,
    /// Fields a client may order by with `?ordering=`.
    #[serde(default)]
    pub ordering: Vec<String>,
    /// Order when the client asks for none (`-field` for descending); the key breaks ties.
    #[serde(default)]
    pub default_ordering: Vec<String>,
    /// Default page size of the list.
    #[serde(default = "default_page_size")]
    pub page_size: u64,
    /// Largest `limit` a client may ask for.
    pub max_page_size: Option<u64>,
    /// What a query parameter the resource does not know gets.
    #[serde(default)]
    pub unknown_query: UnknownQuery,
    /// An integer column the gateway increments in every update of a row (creates take
    /// its default): the `ETag` is then `"v<n>"`, and `If-Match` is checked in the write's
    /// own statement (`AND version IN (…)`).
    pub version: Option<String>,
}

/// What a resource's routes do with query parameters they do not read: a filter, lookup or
/// ordering field the resource does not offer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownQuery {
    /// Silently ignored, as DRF and django-filter do.
    #[default]
    Ignore,
    /// A 400 naming each one, so a typo never lists everything.
    Reject,
}

fn default_key() -> String {
    "id".to_owned()
}

fn default_page_size() -> u64 {
    10
}

/// A many-to-many relation rendered as the ascending list of related ids.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationDef {
    /// The join table.
    pub through: String,
    /// Its column pointing at this resource's key.
    pub source: String,
    /// Its column holding the related id.
    pub target: String,
}

/// One path and the actions its methods run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDef {
    /// Path template, e.g. `/api/things/{id}/`; a `{param}` segment is the resource's key.
    pub path: String,
    /// Name of the resource the actions work on.
    pub resource: String,
    /// Human name, shown by OPTIONS.
    pub name: Option<String>,
    /// Description, shown by OPTIONS.
    #[serde(default)]
    pub description: String,
    /// HTTP method → action (`list`, `create`, `retrieve`, `update`, `partial_update`,
    /// `destroy`), or `{ action, upstream }` to proxy that one method.
    pub methods: BTreeMap<String, MethodDef>,
    /// The upstream every method of the route is proxied to (unless a method names its own).
    pub upstream: Option<String>,
    /// How a proxied method's traffic is checked against the schemas.
    #[serde(default)]
    pub validate: ProxyValidation,
    /// The `Host` a proxied request carries: the client's (default) or the upstream's.
    #[serde(default)]
    pub host: HostHeader,
    /// Where every method's traffic is mirrored and compared (unless a method names its
    /// own).
    pub mirror: Option<MirrorDef>,
    // Rate limits and CORS (contract/policy.rs).
    /// The route's limit by name, or `off` (default: `settings.rate_limit`).
    pub rate_limit: Option<String>,
    /// The route's CORS policy, or `off` (default: `settings.cors`).
    pub cors: Option<super::cors::RouteCorsDef>,
    /// What a caller needs (`public`, or schemes and scopes); the `security:` block's
    /// `default` when absent.
    pub security: Option<super::security::RequirementDef>,
}

/// What a method of a route does: an action served natively (or by the route's upstream), or
/// an action proxied to a named upstream.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum MethodDef {
    /// `GET: list`.
    Action(String),
    /// `POST: { action: create, upstream: legacy }`.
    Bound(BoundDef),
}

/// A method bound to an action and, optionally, an upstream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundDef {
    /// The action whose schemas apply.
    pub action: String,
    /// The upstream serving it; `native` (or absent) serves it from the database.
    pub upstream: Option<String>,
    /// Where this method's traffic is mirrored, instead of the route's `mirror`.
    pub mirror: Option<MirrorDef>,
}

impl MethodDef {
    /// The action's name.
    pub fn action(&self) -> &str {
        match self {
            MethodDef::Action(action) => action,
            MethodDef::Bound(bound) => &bound.action,
        }
    }

    /// The upstream the method itself names, if any.
    pub fn upstream(&self) -> Option<&str> {
        match self {
            MethodDef::Action(_) => None,
            MethodDef::Bound(bound) => bound.upstream.as_deref(),
        }
    }

    /// The mirror the method itself declares, if any.
    pub fn mirror(&self) -> Option<&MirrorDef> {
        match self {
            MethodDef::Action(_) => None,
            MethodDef::Bound(bound) => bound.mirror.as_ref(),
        }
    }
}

/// How proxied traffic is checked against the route's schemas.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyValidation {
    /// Invalid requests get a 400 without reaching the upstream; a response that violates its
    /// schema becomes a 502 naming the violations.
    #[default]
    Enforce,
    /// Nothing is refused: an invalid request is forwarded and a violating response passes
    /// unchanged, both with a `Specgate-Violations` header naming the problems.
    Report,
    /// Nothing is checked: the route is a plain reverse proxy.
    Off,
}

/// The `Host` header a proxied request carries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HostHeader {
    /// The client's, so the links an upstream builds point at the gateway.
    #[default]
    Client,
    /// The upstream's own authority.
    Upstream,
}

/// A service the gateway proxies to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamDef {
    /// Base URL (`http://host:port` or `https://host:port`, optionally with a path prefix).
    pub url: String,
    /// How long a connection may take to open, in milliseconds.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// How long the upstream may take to answer (head and body), in milliseconds.
    #[serde(default = "default_response_timeout_ms")]
    pub response_timeout_ms: u64,
    /// Idle connections kept open to the upstream.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Largest response body read from the upstream, in bytes; a larger one is a 502.
    #[serde(default = "default_max_response_body")]
    pub max_response_body: usize,
    /// Whether an idempotent request that could not be sent (connection refused or reset
    /// before an answer) is tried once more on a new connection.
    #[serde(default = "default_retry")]
    pub retry: bool,
    /// Speak HTTP/2 (prior knowledge, or ALPN over https) to the upstream instead of
    /// HTTP/1.1.
    #[serde(default)]
    pub http2: bool,
    /// For an `https://` upstream: a PEM file (relative to the spec folder) of the roots its
    /// certificate must chain to; without it, the system's roots.
    pub ca: Option<String>,
    /// An OpenAPI 3.0/3.1 document (a file in the spec folder) whose every operation becomes
    /// a route proxied to this upstream, so a service with a spec needs no route written.
    pub openapi: Option<String>,
    /// How the routes imported from `openapi` are checked (`enforce`, `report`, `off`).
    #[serde(default)]
    pub validate: ProxyValidation,
}

fn default_connect_timeout_ms() -> u64 {
    2_000
}

fn default_response_timeout_ms() -> u64 {
    25_000
}

fn default_pool_size() -> usize {
    32
}

fn default_max_response_body() -> usize {
    10 * 1024 * 1024
}

fn default_retry() -> bool {
    true
}

/// Mirror mode: after the primary answered, the same request goes to a second target and
/// the two answers are compared (for migrations: the legacy service first, the native
/// executor as the mirror, until the mirror's answers are the legacy ones).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorDef {
    /// The mirror target: `native` (the gateway's own executor on its own database) or an
    /// upstream's name.
    pub to: String,
    /// JSON paths of noise ignored in both bodies: `$.id`, `$.results[*].date_joined`,
    /// `$.items[0]`, `$['odd key']`.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Whether all-digit path segments of URLs in the bodies (`.../users/12/`) are compared
    /// as one placeholder, as ids that differ between the two databases.
    #[serde(default)]
    pub ids_in_urls: bool,
}
