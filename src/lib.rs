//! specgate: an API gateway whose behaviour is its contract.
//!
//! A request flows one way; each stage takes the previous one's value whole:
//!
//! ```text
//! bytes ─▶ http ─────────────────────────▶ route ──────▶ exec ───────────────────▶ respond
//!          server · layer stack:           ApiRequest    crud/{list, retrieve,
//!          request id · trace · log ·      (parsed       create, update, destroy}:
//!          metrics · HEAD · timeout ·       once)        intake → validate → plan
//!          query limits · routing ·                       → sql → db
//!          CORS · auth · rate limit
//!                  ▲                           ▲              ▲
//!                  └──── store: one contract snapshot per request (contract, openapi) ──┘
//! ```
//!
//! - [`http`]: the server (the only user of hyper's server side for the API) and the layer
//!   stack, one concern per file in `http/layers/`.
//! - [`route`]: reads the HTTP request once into [`route::ApiRequest`]; nothing after it
//!   touches `http::Request`.
//! - [`exec`]: the service at the bottom of the stack; dispatches on the route's
//!   [`contract::Target`], renders outcomes and errors in one place. `exec/crud/` has one file
//!   per action; `exec/proxy/` forwards to upstreams; `exec/mirror/` replays mirrored
//!   requests on their mirror, off the request path, and compares the answers.
//! - [`intake`]: the query string, the list grammar (filters, search, ordering), the body.
//! - [`validate`]: bodies against the input schema, responses against the representation.
//! - [`plan`] and [`sql`]: pure; a typed operation, then SQL text with bound parameters.
//! - [`db`]: the only module doing database IO (PostgreSQL or SQLite, chosen once).
//! - [`respond`] and [`error`]: every answer's rendering and the one error type of the
//!   request path.
//! - [`contract`]: compiles `routes.yaml` and `schemas/` (the only YAML reader); quoted SQL
//!   identifiers ([`contract::ident::Ident`]) can be made only there.
//! - [`store`]: the serving contract behind an atomic pointer, and its reloads (SIGHUP,
//!   file changes), each checked like `specgate check` before it is swapped in.
//! - [`admin`]: Prometheus metrics and the admin listener (`/metrics`, `/live`, `/ready`,
//!   `/contract`, `/mirror`); [`trace`]: W3C `traceparent`.
//! - [`limiter`]: the rate limiters of a contract (in memory, or shared through Redis), which
//!   the rate-limit layer asks.
//! - [`auth`]: the compiled `security:` block (JWT and API-key schemes, each route's
//!   requirement) and the check of a request's credentials; the auth layer runs it.
//! - [`listen`]: accepting connections up to a limit, for both listeners.
//! - [`compat`]: every rule imitated from Python, Django or DRF, and nothing else (a leaf).
//! - [`indexes`]: `specgate check`'s report of the declared filters, searches and orderings
//!   that the database would answer by reading or sorting a whole table.
//! - [`metadata`] (OPTIONS) and [`openapi`] (the OpenAPI 3.1 document) derive from the
//!   compiled contract; [`docs`]: the API explorer (Swagger UI, built into the binary) on
//!   that document; [`config`]: the CLI and settings (clap).
//!
//! Nothing here names a resource, table, column or message of any particular API.

pub mod admin;
pub mod auth;
pub mod compat;
pub mod config;
pub mod contract;
pub mod db;
pub mod docs;
pub mod error;
pub mod exec;
pub mod http;
pub mod indexes;
pub mod intake;
pub mod limiter;
pub mod listen;
pub mod metadata;
pub mod openapi;
pub mod plan;
pub mod respond;
pub mod route;
pub mod sql;
pub mod store;
pub mod trace;
pub mod validate;
