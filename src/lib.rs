//! specgate: an API gateway whose behaviour is its contract.
//!
//! A request flows one way through the stages, each a module:
//!
//! ```text
//! server ─▶ request (router, query, body) ─▶ validate ─▶ plan ─▶ sql ─▶ db ─▶ respond
//!              ▲                                                              │
//!              └────────── spec: routes.yaml + schemas/, compiled once ───────┘
//! ```
//!
//! - [`spec`] loads and cross-checks `routes.yaml` and `schemas/` (the only YAML reader).
//! - [`server`] accepts connections and reads bodies (the only hyper user).
//! - [`gateway`] runs one request through the stages.
//! - [`request`] matches routes and parses query strings.
//! - [`intake`] reads request bodies (JSON, urlencoded, multipart) into one JSON value.
//! - [`compat`] holds every rule imitated from Python, Django or DRF (a leaf).
//! - [`validate`] checks bodies against schemas with DRF's field semantics.
//! - [`plan`] and [`sql`] are pure: a typed plan, then SQL text with bound values.
//! - [`db`] is the only module doing database IO.
//! - [`respond`] and [`error`] render every answer.
//! - [`metadata`] answers OPTIONS from the schemas.
//! - [`openapi`] derives the OpenAPI 3.1 document from the same compiled spec.
//! - [`admin`] holds the Prometheus metrics and serves them, liveness, readiness and the
//!   contract's status on the admin listener.
//! - [`trace`] reads and writes W3C `traceparent` headers.
//!
//! Nothing here names a resource, table, column or message of any particular API.

pub mod admin;
pub mod compat;
pub mod config;
pub mod db;
pub mod error;
pub mod exec;
pub mod http;
pub mod intake;
pub mod metadata;
pub mod openapi;
pub mod plan;
pub mod respond;
pub mod route;
pub mod spec;
pub mod sql;
pub mod store;
pub mod trace;
pub mod validate;
