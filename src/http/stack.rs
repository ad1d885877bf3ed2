//! The layer stack, outermost first. Each cross-cutting concern is one layer (in
//! [`super::layers`]); the gateway, which resolves and executes, is the service at the
//! bottom. New concerns (auth, rate limits) go here, in the order they must see a request.

use std::sync::Arc;

use super::layers::{
    Layered, Next, access_log, auth, cors, head, method_case, metrics, query_limits, rate_limit,
    request_id, routing, timeout, trace,
};
use crate::admin::Metrics;
use crate::config::Limits;
use crate::store::ContractStore;

/// The stack around `gateway` (the service that resolves and executes: `exec::Gateway`'s
/// `answer`), one future per request:
///
/// 1. the method upper-cased (Django's reading, which everything after sees);
/// 2. the request id, made or kept, and sent back;
/// 3. the W3C trace context, the caller's or a new one;
/// 4. the access log (and the cause of a gateway fault, with the request id);
/// 5. the request metrics (in flight, count and duration by route, method and status);
/// 6. HEAD answered as GET without the body;
/// 7. the request timeout;
/// 8. the query-string limits;
/// 9. routing: the contract snapshot and the matched route, for the per-route layers below;
/// 10. CORS: preflights answered, `Access-Control-Allow-Origin` on the rest (also on the
///     refusals below);
/// 11. auth: the route's requirement (401/403, or the caller and its identity headers);
/// 12. the rate limit, keyed by that caller (else the address): 429 over it, the
///     `RateLimit` headers under it;
/// 13. the gateway: resolve on that snapshot, execute, render.
pub fn build(
    gateway: impl Next,
    store: Arc<ContractStore>,
    limits: &Limits,
    metrics: &'static Metrics,
) -> impl Next {
    let stack = Layered::new(rate_limit::RateLimit::new(metrics), gateway);
    let stack = Layered::new(auth::Auth::new(metrics), stack);
    let stack = Layered::new(cors::Cors, stack);
    let stack = Layered::new(routing::Routing::new(store), stack);
    let stack = Layered::new(query_limits::QueryLimits::new(*limits), stack);
    let stack = Layered::new(timeout::Timeout::new(limits.request_timeout), stack);
    let stack = Layered::new(head::Head, stack);
    let stack = Layered::new(metrics::RequestMetrics::new(metrics), stack);
    let stack = Layered::new(access_log::AccessLog, stack);
    let stack = Layered::new(trace::Trace, stack);
    let stack = Layered::new(request_id::RequestId::new(), stack);
    Layered::new(method_case::MethodCase, stack)
}
