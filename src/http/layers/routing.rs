//! The contract snapshot and the matched route, taken once per request before the per-route
//! layers (auth, rate limits, CORS), so they see the policies of the route the gateway will
//! answer with, on the same snapshot: a reload between two layers cannot give a request one
//! contract's auth and another's route.

use std::sync::Arc;

use super::{Hook, Next};
use crate::http::{Req, Resp};
use crate::route::router::{self, Resolution};
use crate::store::{Contract, ContractStore};

/// A request's contract and the index of the route its path matches (none for the special
/// paths, a redirect or an unknown path). Put in the request's extensions by [`Routing`];
/// the gateway at the bottom resolves on `contract`.
#[derive(Clone)]
pub struct Routed {
    /// The snapshot the whole request is answered on.
    pub contract: Arc<Contract>,
    /// The matched route's index in `contract.spec.routes` (matched only when the contract
    /// has per-route policies).
    pub route: Option<usize>,
}

impl Routed {
    /// `contract`, with the route `path` matches in it. A contract without per-route
    /// policies (no `security:`, no limit, no CORS) has nothing to match for: the route is
    /// left to the gateway's own resolution, once.
    pub fn new(contract: Arc<Contract>, path: &str) -> Routed {
        let spec = &contract.spec;
        let needed = spec.security.is_some() || spec.policies.any();
        let route = match needed.then(|| router::resolve(&spec.routes, path)) {
            Some(Resolution::Matched { route, .. }) => Some(route),
            _ => None,
        };
        Routed { contract, route }
    }
}

/// Takes the snapshot and matches the route.
pub struct Routing {
    store: Arc<ContractStore>,
}

impl Routing {
    /// Snapshots of `store`.
    pub fn new(store: Arc<ContractStore>) -> Routing {
        Routing { store }
    }
}

impl Hook for Routing {
    async fn call<N: Next>(&self, next: &N, mut request: Req) -> Resp {
        let routed = Routed::new(self.store.snapshot(), request.uri().path());
        request.extensions_mut().insert(routed);
        next.run(request).await
    }
}
