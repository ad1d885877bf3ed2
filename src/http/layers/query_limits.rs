//! Query-string limits: too long is 414, too many parameters 400, before anything parses it.

use std::convert::Infallible;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use crate::config::Limits;
use crate::error::ApiError;
use crate::http::{Answer, Req, Resp};
use crate::respond::{self, Render};

/// Adds the query limits.
#[derive(Clone, Copy)]
pub struct QueryLimitsLayer {
    limits: Limits,
}

impl QueryLimitsLayer {
    /// Enforces `limits.max_query_bytes` and `limits.max_query_params`.
    pub fn new(limits: Limits) -> QueryLimitsLayer {
        QueryLimitsLayer { limits }
    }
}

impl<S> Layer<S> for QueryLimitsLayer {
    type Service = QueryLimits<S>;
    fn layer(&self, inner: S) -> QueryLimits<S> {
        QueryLimits {
            inner,
            limits: self.limits,
        }
    }
}

/// Refuses queries beyond the limits.
#[derive(Clone)]
pub struct QueryLimits<S> {
    inner: S,
    limits: Limits,
}

/// The limit `raw` breaks, if any.
fn check(raw: &str, limits: &Limits) -> Option<ApiError> {
    if raw.len() > limits.max_query_bytes {
        return Some(ApiError::QueryTooLong);
    }
    let params = raw.split('&').filter(|p| !p.is_empty()).count();
    (params > limits.max_query_params).then_some(ApiError::TooManyParameters)
}

impl<S> Service<Req> for QueryLimits<S>
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
        let raw = request.uri().query().unwrap_or_default();
        if let Some(error) = check(raw, &self.limits) {
            let response = respond::error(&error, Render::default(), None);
            return Box::pin(async move { Ok(response) });
        }
        Box::pin(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_counted_on_the_raw_query() {
        let limits = Limits {
            max_query_bytes: 10,
            max_query_params: 2,
            ..Limits::default()
        };
        assert!(check("a=1&b=2", &limits).is_none());
        assert!(check("a=1&&b=2&", &limits).is_none());
        assert!(matches!(
            check("a=1&b=2&c", &limits),
            Some(ApiError::TooManyParameters)
        ));
        assert!(matches!(
            check("a=12345678901", &limits),
            Some(ApiError::QueryTooLong)
        ));
    }
}
