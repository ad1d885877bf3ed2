//! Request ids: tower-http's `SetRequestId`/`PropagateRequestId` with ids made here, so every
//! log line and every response (`X-Request-Id`) of one request carry the same id. A client's
//! own `X-Request-Id` is kept, so ids can follow a request across services.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// The header the id travels in.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Makes ids: 16 hex digits, a counter seeded with the start time, so ids do not repeat
/// across restarts.
#[derive(Clone)]
pub struct Ids {
    next: Arc<AtomicU64>,
}

impl Ids {
    /// A new sequence.
    pub fn new() -> Ids {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or_default();
        Ids {
            next: Arc::new(AtomicU64::new(seed << 16)),
        }
    }
}

impl Default for Ids {
    fn default() -> Self {
        Ids::new()
    }
}

impl MakeRequestId for Ids {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = format!("{:016x}", self.next.fetch_add(1, Ordering::Relaxed));
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}
