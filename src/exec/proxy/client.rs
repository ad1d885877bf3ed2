//! The pooled HTTP client of one upstream (hyper-util's, HTTP/1.1 or HTTP/2): sends a
//! request, reads the answer (or streams it, when nothing checks it) within the upstream's
//! time and size limits, retries an idempotent request once when it could not be sent, and
//! names each fault.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::contract::Upstream;
use crate::error::UpstreamFault as Fault;
use crate::http::Body;
use crate::http::body::BoxError;

/// The connection pool to one upstream, with its limits.
#[derive(Clone)]
pub struct Pool {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    upstream: Upstream,
}

impl Pool {
    /// A pool for `upstream` (no connection is opened until the first request). An https
    /// upstream is reached over TLS with its roots, HTTP/2 offered by ALPN when it is asked
    /// for.
    pub fn new(upstream: &Upstream) -> Pool {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(upstream.connect_timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = HttpsConnectorBuilder::new()
            .with_tls_config(upstream.tls.as_ref().clone())
            .https_or_http()
            .enable_http1();
        let connector = if upstream.http2 {
            connector.enable_http2().wrap_connector(http)
        } else {
            connector.wrap_connector(http)
        };
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

    /// Sends the request `make` builds and reads the whole answer, within the response
    /// timeout. `make` runs again for the one retry, so the happy path copies nothing.
    pub async fn send(&self, make: impl Fn() -> Request<Bytes>) -> Result<Response<Bytes>, Fault> {
        let limit = self.upstream.response_timeout;
        match tokio::time::timeout(limit, self.exchange(make)).await {
            Ok(result) => result,
            Err(_) => Err(Fault::Timeout),
        }
    }

    /// Sends the request `make` builds and answers with the upstream's head as soon as it
    /// arrives, its body passed on as it comes, still within the response timeout and the
    /// size limit: past either, the body breaks off (the head is gone already) and the
    /// fault is logged.
    pub async fn send_streamed(
        &self,
        make: impl Fn() -> Request<Bytes>,
    ) -> Result<Response<Body>, Fault> {
        let deadline = tokio::time::Instant::now() + self.upstream.response_timeout;
        let response = tokio::time::timeout_at(deadline, self.head(make))
            .await
            .map_err(|_| Fault::Timeout)??;
        let (parts, body) = response.into_parts();
        let max = self.upstream.max_response_body;
        if body.size_hint().lower() > u64::try_from(max).unwrap_or(u64::MAX) {
            return Err(Fault::TooLarge(max));
        }
        let body = Bounded {
            body: Limited::new(body, max),
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            upstream: self.upstream.name.clone(),
        };
        Ok(Response::from_parts(parts, Body::streamed(body)))
    }

    /// The upstream's head, after one retry when an idempotent request could not connect.
    async fn head(&self, make: impl Fn() -> Request<Bytes>) -> Result<Response<Incoming>, Fault> {
        let request = make();
        let retry = self.upstream.retry && is_idempotent(request.method());
        match self.client.request(request.map(Full::new)).await {
            Err(e) if retry && e.is_connect() => {
                tracing::debug!(upstream = %self.upstream.name, "retrying once: {e}");
                self.client.request(make().map(Full::new)).await
            }
            first => first,
        }
        .map_err(|e| classify(&e))
    }

    async fn exchange(&self, make: impl Fn() -> Request<Bytes>) -> Result<Response<Bytes>, Fault> {
        let (parts, body) = self.head(make).await?.into_parts();
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

/// A streamed upstream body within the upstream's limits: its size, and the response
/// timeout counted from the request (as for a whole body).
struct Bounded {
    body: Limited<Incoming>,
    deadline: Pin<Box<tokio::time::Sleep>>,
    upstream: Arc<str>,
}

impl HttpBody for Bounded {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        let fault = match polled {
            Poll::Ready(Some(Err(e))) => e,
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                "the body did not arrive within the response timeout".into()
            }
            other => return other,
        };
        tracing::warn!(upstream = %this.upstream, "upstream body broke off while streamed: {fault}");
        Poll::Ready(Some(Err(fault)))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
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
