//! The pooled HTTP client of one upstream (hyper-util's, HTTP/1.1 or HTTP/2): sends a
//! request, reads the answer within the upstream's time and size limits, retries an
//! idempotent request once when it could not be sent, and names each fault.

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::contract::Upstream;
use crate::error::UpstreamFault as Fault;

/// The connection pool to one upstream, with its limits.
#[derive(Clone)]
pub struct Pool {
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: Upstream,
}

impl Pool {
    /// A pool for `upstream` (no connection is opened until the first request).
    pub fn new(upstream: &Upstream) -> Pool {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(upstream.connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(upstream.pool_size)
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .http2_only(upstream.http2)
            .build(connector);
        Pool {
            client,
            upstream: upstream.clone(),
        }
    }

    /// The upstream this pool reaches.
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// Sends `request` and reads the whole answer, within the response timeout.
    pub async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, Fault> {
        let limit = self.upstream.response_timeout;
        match tokio::time::timeout(limit, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(Fault::Timeout),
        }
    }

    async fn exchange(&self, request: Request<Bytes>) -> Result<Response<Bytes>, Fault> {
        let retry = self.upstream.retry && is_idempotent(request.method());
        let (parts, body) = request.into_parts();
        let again = retry.then(|| (parts.clone(), body.clone()));
        let first = self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await;
        let response = match (first, again) {
            (Err(e), Some((parts, body))) if e.is_connect() => {
                tracing::debug!(upstream = %self.upstream.name, "retrying once: {e}");
                self.client
                    .request(Request::from_parts(parts, Full::new(body)))
                    .await
            }
            (first, _) => first,
        }
        .map_err(|e| classify(&e))?;
        let (parts, body) = response.into_parts();
        let max = self.upstream.max_response_body;
        match Limited::new(body, max).collect().await {
            Ok(collected) => Ok(Response::from_parts(parts, collected.to_bytes())),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                Err(Fault::TooLarge(max))
            }
            Err(e) => Err(Fault::Protocol(format!("the body broke off: {e}"))),
        }
    }
}

/// Methods that may be sent twice (RFC 9110 §9.2.2).
fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// The client's error as a fault, with its whole chain of causes for the log.
fn classify(e: &hyper_util::client::legacy::Error) -> Fault {
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        cause.push_str(": ");
        cause.push_str(&inner.to_string());
        source = inner.source();
    }
    if e.is_connect() {
        Fault::Connect(cause)
    } else {
        Fault::Protocol(cause)
    }
}
