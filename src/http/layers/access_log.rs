//! The access log: one line per request with its method, path, route, status, duration,
//! request id, trace id and the authenticated caller (subject or key name, and scheme), written when the response is ready; before it, for a response the gateway
//! is at fault for, the cause, at error level.

use std::time::Instant;

use tracing::Level;

use super::{Hook, Next, request_id};
use crate::auth::Caller;
use crate::http::{Req, Resp};
use crate::respond::{Fault, MatchedRoute};
use crate::trace::TraceContext;

/// The parts of the request the info line writes.
struct Line {
    method: http::Method,
    path: http::Uri,
    trace: TraceContext,
}

/// Logs each request once it is answered.
#[derive(Clone, Copy, Default)]
pub struct AccessLog;

impl Hook for AccessLog {
    async fn call<N: Next>(&self, next: &N, mut request: Req) -> Resp {
        let started = Instant::now();
        let id = request.headers().get(request_id::HEADER).cloned();
        // What only the info line needs is taken only when that line will be written; a
        // request without the caller's trace gets its own here, passed on to the rest.
        let line = tracing::enabled!(Level::INFO).then(|| Line {
            method: request.method().clone(),
            path: request.uri().clone(),
            trace: *request
                .extensions_mut()
                .get_or_insert_with(TraceContext::start),
        });
        let response = next.run(request).await;
        let route = MatchedRoute::of(&response).unwrap_or_default();
        let id = id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if let Some(Fault(cause)) = response.extensions().get::<Fault>() {
            tracing::error!(request_id = %id, route = %route, "{cause}");
        }
        if let Some(line) = line {
            let trace_id = line.trace.trace_id_hex();
            let caller = response.extensions().get::<Caller>();
            // Absent (not even the field's name) when nobody was authenticated.
            let who = caller.and_then(Caller::identity);
            let scheme = caller.map(|c| c.scheme.as_str());
            tracing::info!(
                request_id = %id,
                trace_id = %trace_id,
                method = %line.method,
                path = %line.path.path(),
                route = %route,
                status = response.status().as_u16(),
                caller = who,
                scheme = scheme,
                micros = started.elapsed().as_micros() as u64,
                "request"
            );
        }
        response
    }
}
