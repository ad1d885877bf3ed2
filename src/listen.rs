//! Accepting connections for a listener: at most so many at once (the rest wait in the
//! backlog), until shutdown. The API's server and the admin listener share it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection that was let in, and its place among the limited ones (freed on drop).
pub struct Client {
    /// The connection.
    pub stream: TcpStream,
    /// Who connected.
    pub peer: SocketAddr,
    /// Held while the connection is served.
    pub permit: OwnedSemaphorePermit,
}

/// Waits for a free place, then for a connection; `None` once `shutdown` completes. A
/// failed accept (out of file descriptors, say) is logged and retried after a pause.
pub async fn next(
    listener: &TcpListener,
    places: &Arc<Semaphore>,
    shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    name: &str,
) -> Option<Client> {
    let permit = tokio::select! {
        permit = places.clone().acquire_owned() => permit.ok()?,
        () = shutdown.as_mut() => return None,
    };
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => return Some(Client { stream, peer, permit }),
                Err(e) => {
                    tracing::warn!("{name}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = shutdown.as_mut() => return None,
        }
    }
}

/// The client's address, put in each request's extensions by the server (for `Forwarded`).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Put in each request's extensions by the server when its connection is TLS, so the links
/// the gateway writes say `https`.
#[derive(Debug, Clone, Copy)]
pub struct Secure;
