//! Request metrics: in-flight requests, and each answered request counted and timed by its
//! route template (from the response's [`MatchedRoute`]), method and status.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};

use crate::admin::Metrics;
use crate::admin::metrics::UNMATCHED;
use crate::http::{Answer, Req, Resp};
use crate::respond::MatchedRoute;

/// Adds the request metrics.
#[derive(Clone)]
pub struct MetricsLayer {
    metrics: Arc<Metrics>,
}

impl MetricsLayer {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> MetricsLayer {
        MetricsLayer { metrics }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = RequestMetrics<S>;
    fn layer(&self, inner: S) -> RequestMetrics<S> {
        RequestMetrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// Counts and times requests.
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> Service<Req> for RequestMetrics<S>
where
    S: Service<Req, Response = Resp, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Answer {
        let started = Instant::now();
        let in_flight = self.metrics.in_flight();
        let method = request.method().clone();
        let metrics = self.metrics.clone();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            let route = response
                .extensions()
                .get::<MatchedRoute>()
                .map_or(UNMATCHED, |r| &*r.0);
            let status = response.status().as_u16();
            metrics.request(route, &method, status, started.elapsed());
            drop(in_flight);
            Ok(response)
        })
    }
}
