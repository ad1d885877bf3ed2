//! W3C trace context: the caller's `traceparent`, or a new trace, put in the request's
//! extensions for the access log and for whatever forwards the request upstream.

use std::future::Future;

use super::{Hook, Next};
use crate::http::{Req, Resp};
use crate::trace::TraceContext;

/// Gives each request its trace.
#[derive(Clone, Copy, Default)]
pub struct Trace;

impl Hook for Trace {
    fn call<N: Next>(&self, next: &N, request: Req) -> impl Future<Output = Resp> + Send {
        next.run(accept(request))
    }
}

/// Reads (or starts) the request's trace.
pub fn accept(mut request: Req) -> Req {
    let trace = TraceContext::from_headers(request.headers()).unwrap_or_else(TraceContext::start);
    request.extensions_mut().insert(trace);
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_valid_traceparent_is_kept_and_a_missing_one_started() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let request = http::Request::builder()
            .header("traceparent", format!("00-{id}-00f067aa0ba902b7-01"))
            .body(Bytes::new())
            .unwrap_or_default();
        let trace = accept(request).extensions().get::<TraceContext>().copied();
        assert_eq!(trace.map(|t| t.trace_id_hex()).as_deref(), Some(id));
        let fresh = accept(http::Request::new(Bytes::new()));
        let fresh = fresh
            .extensions()
            .get::<TraceContext>()
            .map(|t| t.trace_id_hex());
        assert!(fresh.is_some_and(|t| t.len() == 32 && t != id));
    }
}
