//! Query-string limits: too long is 414, too many parameters 400, before anything parses it.

use super::{Hook, Next};
use crate::config::Limits;
use crate::error::ApiError;
use crate::http::{Body, Req, Resp};
use crate::respond::{self, Render};

/// Refuses queries beyond the limits.
#[derive(Clone, Copy)]
pub struct QueryLimits {
    limits: Limits,
}

impl QueryLimits {
    /// Enforces `limits.max_query_bytes` and `limits.max_query_params`.
    pub fn new(limits: Limits) -> QueryLimits {
        QueryLimits { limits }
    }
}

/// The limit `raw` breaks, if any.
fn check(raw: &str, limits: &Limits) -> Option<ApiError> {
    if raw.len() > limits.max_query_bytes {
        return Some(ApiError::QueryTooLong);
    }
    let params = raw.split('&').filter(|p| !p.is_empty()).count();
    (params > limits.max_query_params).then_some(ApiError::TooManyParameters)
}

impl Hook for QueryLimits {
    async fn call<N: Next>(&self, next: &N, request: Req) -> Resp {
        let raw = request.uri().query().unwrap_or_default();
        if let Some(error) = check(raw, &self.limits) {
            return respond::error(&error, Render::default(), None).map(Body::from);
        }
        next.run(request).await
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
