//! Request metrics: in-flight requests, and each answered request counted and timed by its
//! route template (from the response's [`MatchedRoute`]), method and status.

use std::time::Instant;

use super::{Hook, Inner};
use crate::admin::Metrics;
use crate::admin::metrics::UNMATCHED;
use crate::http::{Answer, Req};
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
    fn call<S: Inner>(&self, inner: &mut S, request: Req) -> Answer {
        let started = Instant::now();
        let in_flight = self.metrics.in_flight();
        let method = request.method().clone();
        let metrics = self.metrics;
        let answer = inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            let route = MatchedRoute::of(&response).unwrap_or(UNMATCHED);
            let status = response.status().as_u16();
            metrics.request(route, &method, status, started.elapsed());
            drop(in_flight);
            Ok(response)
        })
    }
}
