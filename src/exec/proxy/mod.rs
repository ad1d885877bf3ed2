//! The proxy executor: a proxied method's request, checked against the contract, forwarded
//! to its upstream over a pooled connection, and the upstream's answer checked on its way
//! back (per route: `enforce` turns a violation into a 502, `report` passes it with a
//! `Specgate-Violations` header, `off` checks nothing). Upstream faults become clear
//! 502/504s in the API's error format.

mod check;
mod client;
mod forward;
mod operation;

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderName, Method, Response};
use serde_json::Value;

pub use check::Checks;
pub use client::Pool;

use crate::admin::Metrics;
use crate::config::Limits;
use crate::contract::{Action, ProxyValidation, Spec, Target};
use crate::error::{ApiError, UpstreamFault};
use crate::http::Body;
use crate::route::ApiRequest;

/// The header that carries a violating response's problems in `report` mode.
pub const VIOLATIONS: HeaderName = HeaderName::from_static("specgate-violations");

/// The largest `Specgate-Violations` value, in bytes.
const VIOLATIONS_MAX: usize = 4096;

/// What a contract's upstreams need on the request path: a pool per upstream (in the
/// contract's order) and the compiled response checks.
pub struct Upstreams {
    /// One pool per upstream, indexed like [`Spec::upstreams`].
    pub pools: Vec<Pool>,
    /// The declared responses of proxied methods.
    pub checks: Checks,
}

impl Upstreams {
    /// Pools and checks for `spec`'s upstreams; `document` is the OpenAPI document built
    /// from `spec`.
    pub fn new(spec: &Spec, document: &Value) -> Result<Upstreams, String> {
        Ok(Upstreams {
            pools: spec.upstreams.iter().map(Pool::new).collect(),
            checks: Checks::compile(spec, document)?,
        })
    }
}

/// One proxied request's surroundings.
pub struct Proxy<'a> {
    /// The contract the request resolved against.
    pub spec: &'a Spec,
    /// Its upstreams.
    pub upstreams: &'a Upstreams,
    /// Request limits (JSON depth of a checked body).
    pub limits: &'a Limits,
    /// Where upstream traffic is counted.
    pub metrics: &'a Metrics,
}

impl Proxy<'_> {
    /// Checks, forwards and checks back one request for the upstream at `upstream`;
    /// `action` is `None` for OPTIONS, which is forwarded unchecked.
    pub async fn run(
        &self,
        action: Option<Action>,
        upstream: usize,
        req: &ApiRequest,
    ) -> Result<Response<Bytes>, ApiError> {
        let route = req.route(self.spec);
        let pool = self.pool(upstream)?;
        let checking = route.validate != ProxyValidation::Off;
        // In report mode an invalid request still goes upstream (the point is to watch, not
        // to change, the traffic); its problems join the response's in the header.
        let mut violations = Vec::new();
        if checking && let Err(e) = self.check_request(action, req) {
            if route.validate == ProxyValidation::Enforce {
                return Err(e);
            }
            self.metrics.request_invalid(&route.template);
            violations.push(format!("request: {} {}", e.status().as_u16(), e.body()));
        }
        let started = Instant::now();
        let sent = pool
            .send(|| forward::request(req, pool.upstream(), route.host))
            .await;
        let response = self.answered(pool, sent, started, req)?;
        let name = &pool.upstream().name;
        let declared = self.upstreams.checks.responses(req.route, &req.method);
        let mut response = forward::response(response);
        if let (true, Some(declared)) = (checking, declared) {
            let wrong = declared.violations(&response, req.method == Method::HEAD);
            if !wrong.is_empty() {
                self.metrics.upstream_violation(name, &route.template);
                tracing::warn!(upstream = %name, route = %route.template, request_id = ?req.headers.get("x-request-id"),
                    "upstream response violates the contract: {}", wrong.join("; "));
                if route.validate == ProxyValidation::Enforce {
                    return Err(ApiError::UpstreamViolation(wrong));
                }
                violations.extend(wrong.into_iter().map(|v| format!("response: {v}")));
            }
        }
        if violations.is_empty() {
            return Ok(response);
        }
        let value = check::header_value(&violations, VIOLATIONS_MAX);
        response.headers_mut().insert(VIOLATIONS, value);
        Ok(response)
    }

    /// Forwards one request that nothing checks (`validate: off`, not mirrored) to the
    /// upstream at `upstream`, and answers with the upstream's head as soon as it arrives,
    /// its body streamed through.
    pub async fn stream(
        &self,
        upstream: usize,
        req: &ApiRequest,
    ) -> Result<Response<Body>, ApiError> {
        let route = req.route(self.spec);
        let pool = self.pool(upstream)?;
        let started = Instant::now();
        let sent = pool
            .send_streamed(|| forward::request(req, pool.upstream(), route.host))
            .await;
        Ok(forward::response(self.answered(pool, sent, started, req)?))
    }

    fn pool(&self, upstream: usize) -> Result<&Pool, ApiError> {
        self.upstreams
            .pools
            .get(upstream)
            .ok_or_else(|| ApiError::Internal(format!("no pool for upstream {upstream}")))
    }

    /// Counts what the upstream answered, or logs and turns its fault into the error.
    fn answered<B>(
        &self,
        pool: &Pool,
        sent: Result<Response<B>, UpstreamFault>,
        started: Instant,
        req: &ApiRequest,
    ) -> Result<Response<B>, ApiError> {
        let name = &pool.upstream().name;
        let elapsed = started.elapsed();
        match sent {
            Ok(response) => {
                self.metrics
                    .upstream_answer(name, response.status().as_u16(), elapsed);
                Ok(response)
            }
            Err(fault) => {
                self.metrics.upstream_fault(name, fault.kind(), elapsed);
                tracing::warn!(upstream = %name, request_id = ?req.headers.get("x-request-id"), "upstream fault: {fault:?}");
                Err(ApiError::Upstream(fault))
            }
        }
    }

    /// The request's checks: a query that is UTF-8, then an imported operation's parameters
    /// and body, or the native checks of a resource-backed action (`None` for OPTIONS:
    /// nothing more to check).
    fn check_request(&self, action: Option<Action>, req: &ApiRequest) -> Result<(), ApiError> {
        req.query.utf8()?;
        let method = if req.method == Method::HEAD {
            Method::GET
        } else {
            req.method.clone()
        };
        let route = req.route(self.spec);
        match (self.spec.operations.get(&(req.route, method)), action) {
            (Some(imported), _) => operation::check(imported, req, self.limits),
            (None, Some(action)) => match route.target {
                Target::Table(resource) => {
                    check::request(&self.spec.resources[resource], action, req, self.limits)
                }
                _ => Ok(()),
            },
            (None, None) => Ok(()),
        }
    }
}
