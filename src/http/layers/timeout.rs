//! The request timeout: a request that takes longer than `request-timeout-ms` once read is
//! answered 503 with `Retry-After`, and its work is dropped.

use std::time::Duration;

use super::{Hook, Next, request_id};
use crate::error::ApiError;
use crate::http::{Body, Req, Resp};
use crate::respond::{self, Render};

/// Answers 503 when the inner service takes too long.
#[derive(Clone, Copy)]
pub struct Timeout {
    limit: Duration,
}

impl Timeout {
    /// Requests get `limit` each.
    pub fn new(limit: Duration) -> Timeout {
        Timeout { limit }
    }
}

impl Hook for Timeout {
    async fn call<N: Next>(&self, next: &N, request: Req) -> Resp {
        let id = request.headers().get(request_id::HEADER).cloned();
        let limit = self.limit;
        match tokio::time::timeout(limit, next.run(request)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::error!(
                    request_id = ?id,
                    "request exceeded the request timeout of {limit:?}"
                );
                respond::error(&ApiError::Timeout, Render::default(), None).map(Body::from)
            }
        }
    }
}
