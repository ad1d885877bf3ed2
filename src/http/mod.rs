//! The HTTP edge: the server (accept loop, body limits, shutdown) and the stack of tower
//! layers every request passes through before the gateway resolves it.

pub mod layers;
pub mod server;
pub mod stack;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// A request once its body is read.
pub type Req = http::Request<Bytes>;
/// A response with its whole body.
pub type Resp = http::Response<Bytes>;
/// The future a layer's service returns: layers never fail, they answer.
pub type Answer = Pin<Box<dyn Future<Output = Result<Resp, Infallible>> + Send>>;
