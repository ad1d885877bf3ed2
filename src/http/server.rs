//! The HTTP server: hyper-util's accept loop (HTTP/1.1 and HTTP/2 on one port, plain or
//! over TLS), body reading with a size limit and a deadline, and graceful shutdown. The only module that
//! knows hyper's server side; each read request goes to the layer stack.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::Body;
use super::layers::Next;
use crate::config::Limits;
use crate::error::ApiError;
use crate::listen::{self, Client, Peer, Secure};
use crate::respond::{self, Render};

/// Serves `stack` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (up to the grace period); over TLS when `tls` is given. The stack lives as long as
/// the process: each request copies a reference to it rather than counting one more owner
/// from every worker thread.
pub async fn serve(
    listener: TcpListener,
    stack: &'static impl Next,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    // At most `max_clients` connections are served at once; the others wait in the backlog.
    let clients = Arc::new(tokio::sync::Semaphore::new(limits.max_clients));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    while let Some(Client {
        stream,
        peer,
        permit,
    }) = listen::next(&listener, &clients, &mut shutdown, "api").await
    {
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let Some(acceptor) = &tls else {
            let io = TokioIo::new(stream);
            let served = connection(&builder, io, stack, limits, peer, None, watcher);
            tokio::spawn(finish(served, peer, permit));
            continue;
        };
        // The handshake runs on the connection's task, so a slow client holds up no other;
        // it has as long as a request head would.
        let (accepting, builder) = (acceptor.accept(stream), builder.clone());
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(limits.header_timeout, accepting).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let io = TokioIo::new(stream);
            let served = connection(&builder, io, stack, limits, peer, Some(Secure), watcher);
            finish(served, peer, permit).await;
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing in-flight requests");
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
}

/// One client's connection to `stack`, watched for graceful shutdown. The client's address
/// goes in each request's extensions, for the proxy's `Forwarded`, and [`Secure`] when it
/// came over TLS.
fn connection<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: TokioIo<I>,
    stack: &'static impl Next,
    limits: Limits,
    peer: SocketAddr,
    secure: Option<Secure>,
    watcher: Watcher,
) -> impl Future<Output = Result<(), ConnectionError>> + Send + 'static
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        if let Some(secure) = secure {
            request.extensions_mut().insert(secure);
        }
        answer(stack, request, limits)
    });
    watcher.watch(builder.serve_connection(io, service).into_owned())
}

/// hyper's error for a connection that ended badly.
type ConnectionError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a connection to its end, holding its client place until then.
async fn finish(
    connection: impl Future<Output = Result<(), ConnectionError>>,
    peer: SocketAddr,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    if let Err(e) = connection.await {
        tracing::debug!(%peer, "connection ended: {e}");
    }
    drop(permit);
}

/// Reads the body within its limits, then hands the request to the stack.
async fn answer(
    stack: &impl Next,
    request: Request<Incoming>,
    limits: Limits,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = request.into_parts();
    let reading = Limited::new(body, limits.max_body).collect();
    let bytes = match tokio::time::timeout(limits.body_timeout, reading).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            return Ok(refuse(&ApiError::PayloadTooLarge));
        }
        Ok(Err(e)) => {
            return Ok(refuse(&ApiError::Parse(format!(
                "The request body could not be read: {e}"
            ))));
        }
        Err(_) => return Ok(refuse(&ApiError::BodyTimeout)),
    };
    Ok(stack.run(Request::from_parts(parts, bytes)).await)
}

fn refuse(error: &ApiError) -> Response<Body> {
    respond::error(error, Render::default(), None).map(Body::from)
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
