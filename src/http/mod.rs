//! The HTTP edge: the server (accept loop, TLS, body limits, shutdown) and the stack of
//! layers every request passes through before the gateway resolves it.

pub mod body;
pub mod layers;
pub mod server;
pub mod stack;
pub mod tls;

use bytes::Bytes;

pub use body::Body;

/// A request once its body is read.
pub type Req = http::Request<Bytes>;
/// A response: its body whole, or streamed from an upstream ([`Body`]).
pub type Resp = http::Response<Body>;
