//! The cross-cutting concerns, one tower layer per file, stacked in [`super::stack`].
//!
//! A concern that wraps the inner call is a [`Hook`]: one method from the request and the
//! inner service to the answer. [`HookLayer`] turns a hook into a tower `Layer` whose
//! service is [`Hooked`], so the `Layer`/`Service` plumbing is written once, here.

pub mod access_log;
pub mod head;
pub mod method_case;
pub mod metrics;
pub mod query_limits;
pub mod request_id;
pub mod timeout;
pub mod trace;

use std::convert::Infallible;
use std::task::{Context, Poll};

use tower::{Layer, Service};

use super::{Answer, Req, Resp};

/// The services a hook may wrap: the rest of the stack.
pub trait Inner:
    Service<Req, Response = Resp, Error = Infallible, Future: Send> + Send + 'static
{
}

impl<S> Inner for S where
    S: Service<Req, Response = Resp, Error = Infallible, Future: Send> + Send + 'static
{
}

/// One cross-cutting concern around the inner call.
pub trait Hook: Clone + Send + Sync + 'static {
    /// Answers `request`, calling `inner` (already ready) if and when it should.
    fn call<S: Inner>(&self, inner: &mut S, request: Req) -> Answer;
}

/// The tower layer of a hook.
#[derive(Clone)]
pub struct HookLayer<H>(pub H);

impl<S, H: Hook> Layer<S> for HookLayer<H> {
    type Service = Hooked<S, H>;
    fn layer(&self, inner: S) -> Hooked<S, H> {
        Hooked {
            inner,
            hook: self.0.clone(),
        }
    }
}

/// The inner service with a hook around it.
#[derive(Clone)]
pub struct Hooked<S, H> {
    inner: S,
    hook: H,
}

impl<S: Inner, H: Hook> Service<Req> for Hooked<S, H> {
    type Response = Resp;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Answer {
        self.hook.call(&mut self.inner, request)
    }
}
