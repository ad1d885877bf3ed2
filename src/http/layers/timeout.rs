//! The request timeout: a request that takes longer than `request-timeout-ms` once read is
//! answered 503 with `Retry-After`, and its work is dropped.

use std::time::Duration;

use super::{Hook, Inner, request_id};
use crate::error::ApiError;
use crate::http::{Answer, Req};
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
    fn call<S: Inner>(&self, inner: &mut S, request: Req) -> Answer {
        let id = request.headers().get(request_id::HEADER).cloned();
        let limit = self.limit;
        let answer = inner.call(request);
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
