//! The request timeout: a request that takes longer than `request-timeout-ms` once read is
//! answered 503 with `Retry-After`, and its work is dropped.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use tower::{Layer, Service};

use super::request_id;
use crate::error::ApiError;
use crate::http::{Answer, Req, Resp};
use crate::respond::{self, Render};

/// Adds the request timeout.
#[derive(Clone, Copy)]
pub struct TimeoutLayer {
    limit: Duration,
}

impl TimeoutLayer {
    /// Requests get `limit` each.
    pub fn new(limit: Duration) -> TimeoutLayer {
        TimeoutLayer { limit }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            limit: self.limit,
        }
    }
}

/// Answers 503 when the inner service takes too long.
#[derive(Clone)]
pub struct Timeout<S> {
    inner: S,
    limit: Duration,
}

impl<S> Service<Req> for Timeout<S>
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
        let id = request.headers().get(request_id::HEADER).cloned();
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, answer).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::error!(
                        request_id = ?id,
                        "request exceeded the request timeout of {limit:?}"
                    );
                    Ok(respond::error(&ApiError::Timeout, Render::default(), None))
                }
            }
        })
    }
}
