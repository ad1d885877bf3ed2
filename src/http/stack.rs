//! The layer stack, outermost first. Each cross-cutting concern is one layer (in
//! [`super::layers`]); the gateway, which resolves and executes, is the service at the
//! bottom. New concerns (auth, rate limits) go here, in the order they must see a request.

use std::convert::Infallible;

use tower::util::MapRequestLayer;
use tower::{Service, ServiceBuilder};

use super::layers::{
    HookLayer, access_log, head, method_case, metrics, query_limits, request_id, timeout, trace,
};
use super::{Req, Resp};
use crate::admin::Metrics;
use crate::config::Limits;

/// The stack around `gateway` (the service that resolves and executes: `exec::Gateway`):
///
/// 1. the method upper-cased (Django's reading, which everything after sees);
/// 2. the request id, made or kept, and sent back;
/// 3. the W3C trace context, the caller's or a new one;
/// 4. the access log (and the cause of a gateway fault, with the request id);
/// 5. the request metrics (in flight, count and duration by route, method and status);
/// 6. HEAD answered as GET without the body;
/// 7. the request timeout;
/// 8. the query-string limits;
/// 9. the gateway: contract snapshot, resolve, execute, render.
pub fn build<G>(
    gateway: G,
    limits: &Limits,
    metrics: &'static Metrics,
) -> impl Service<Req, Response = Resp, Error = Infallible, Future: Send> + Clone + Send + 'static
where
    G: Service<Req, Response = Resp, Error = Infallible, Future: Send> + Clone + Send + 'static,
{
    ServiceBuilder::new()
        .layer(MapRequestLayer::new(method_case::upper_case))
        .layer(HookLayer(request_id::RequestId::new()))
        .layer(MapRequestLayer::new(trace::accept))
        .layer(HookLayer(access_log::AccessLog))
        .layer(HookLayer(metrics::RequestMetrics::new(metrics)))
        .layer(HookLayer(head::Head))
        .layer(HookLayer(timeout::Timeout::new(limits.request_timeout)))
        .layer(HookLayer(query_limits::QueryLimits::new(*limits)))
        .service(gateway)
}
