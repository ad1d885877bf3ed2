//! The HTTP edge: the server (accept loop, TLS, body limits, shutdown) and the stack of
//! layers every request passes through before the gateway resolves it.

pub mod layers;
pub mod server;
pub mod stack;
pub mod tls;

use bytes::Bytes;

/// A request once its body is read.
pub type Req = http::Request<Bytes>;
/// A response with its whole body.
pub type Resp = http::Response<Bytes>;
