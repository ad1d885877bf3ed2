//! Request metrics: in-flight requests, and each answered request counted and timed by its
//! route template (from the response's [`MatchedRoute`]), method and status.

use std::time::Instant;

use super::{Hook, Next};
use crate::admin::Metrics;
use crate::admin::metrics::UNMATCHED;
use crate::http::{Req, Resp};
use crate::respond::MatchedRoute;

/// Counts and times requests.
#[derive(Clone)]
pub struct RequestMetrics {
    metrics: &'static Metrics,
}

impl RequestMetrics {
    /// Records into `metrics` (the process's, which lives as long as it does: a request
    /// copies the reference rather than counting an owner every thread shares).
    pub fn new(metrics: &'static Metrics) -> RequestMetrics {
        RequestMetrics { metrics }
    }
}

impl Hook for RequestMetrics {
    async fn call<N: Next>(&self, next: &N, request: Req) -> Resp {
        let started = Instant::now();
        let in_flight = self.metrics.in_flight();
        let method = request.method().clone();
        let response = next.run(request).await;
        let route = MatchedRoute::of(&response).unwrap_or(UNMATCHED);
        let status = response.status().as_u16();
        self.metrics
            .request(route, &method, status, started.elapsed());
        drop(in_flight);
        response
    }
}
