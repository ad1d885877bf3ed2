//! The cross-cutting concerns, one layer per file, stacked in [`super::stack`].
//!
//! A concern is a [`Hook`]: one method from the request and the rest of the stack (a
//! [`Next`]) to the answer. [`Layered`] puts a hook in front of the rest. Hooks and the
//! stack are generic, so a request's whole passage through the stack is one future, each
//! layer's a field of the one outside it: no box and no dynamic call between layers. The
//! request travels by value into the service at the bottom, whose large future (every
//! executor's state) is boxed there, so the stack's own future stays small to move.

pub mod access_log;
pub mod auth;
pub mod cors;
pub mod head;
pub mod method_case;
pub mod metrics;
pub mod query_limits;
pub mod rate_limit;
pub mod request_id;
pub mod routing;
pub mod timeout;
pub mod trace;

use std::future::Future;

use super::{Req, Resp};

/// The rest of the stack, as a hook sees it: something that answers requests. The service
/// at the bottom is any `Fn(Req) -> impl Future<Output = Resp>`. Layers never fail: each
/// answers.
pub trait Next: Send + Sync + 'static {
    /// Answers `request`.
    fn run(&self, request: Req) -> impl Future<Output = Resp> + Send;
}

impl<F, A> Next for F
where
    F: Fn(Req) -> A + Send + Sync + 'static,
    A: Future<Output = Resp> + Send,
{
    fn run(&self, request: Req) -> impl Future<Output = Resp> + Send {
        self(request)
    }
}

/// One cross-cutting concern around the rest of the stack.
pub trait Hook: Send + Sync + 'static {
    /// Answers `request`, calling `next` if and when it should.
    fn call<N: Next>(&self, next: &N, request: Req) -> impl Future<Output = Resp> + Send;
}

/// A hook in front of the rest of the stack.
pub struct Layered<H, N> {
    hook: H,
    next: N,
}

impl<H: Hook, N: Next> Layered<H, N> {
    /// `hook` around `next`.
    pub fn new(hook: H, next: N) -> Layered<H, N> {
        Layered { hook, next }
    }
}

impl<H: Hook, N: Next> Next for Layered<H, N> {
    fn run(&self, request: Req) -> impl Future<Output = Resp> + Send {
        self.hook.call(&self.next, request)
    }
}
