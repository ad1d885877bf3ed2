//! W3C trace context: the caller's `traceparent` put in the request's extensions, for the
//! access log and for whatever forwards the request upstream.
//!
//! A request without a valid one gets a new trace where one is first needed: the access
//! log starts it when it writes the request's line (and puts it in the extensions for the
//! rest), else `route` when it builds the request value. One trace per request either
//! way, and no extension map made for a request that brought no trace and is not logged
//! (measured with callgrind: 1,400 instructions of a retrieve logged at `warn`).

use std::future::Future;

use super::{Hook, Next};
use crate::http::{Req, Resp};
use crate::trace::TraceContext;

/// Gives each request the caller's trace.
#[derive(Clone, Copy, Default)]
pub struct Trace;

impl Hook for Trace {
    fn call<N: Next>(&self, next: &N, request: Req) -> impl Future<Output = Resp> + Send {
        next.run(accept(request))
    }
}

/// Reads the caller's trace, if it sent a valid one.
pub fn accept(mut request: Req) -> Req {
    if let Some(trace) = TraceContext::from_headers(request.headers()) {
        request.extensions_mut().insert(trace);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_valid_traceparent_is_kept_and_a_missing_one_left_to_who_needs_it() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        let request = http::Request::builder()
            .header("traceparent", format!("00-{id}-00f067aa0ba902b7-01"))
            .body(Bytes::new())
            .unwrap_or_default();
        let trace = accept(request).extensions().get::<TraceContext>().copied();
        assert_eq!(trace.map(|t| t.trace_id_hex()).as_deref(), Some(id));
        let untraced = accept(http::Request::new(Bytes::new()));
        assert!(untraced.extensions().get::<TraceContext>().is_none());
    }
}
