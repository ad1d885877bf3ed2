//! The rate limiters of one contract: one per named limit, in this process (`memory.rs`,
//! governor's keyed GCRA) or in Redis (`shared.rs`, one server-side script per decision),
//! each deciding for one caller's key. The layer in `http/layers/rate_limit.rs` picks the
//! route's limiter, builds the key and writes the answer's headers.

mod memory;
mod shared;

use std::time::Duration;

use crate::admin::Metrics;
use crate::contract::limits::{Limit, Store};

pub use memory::Memory;
pub use shared::Shared;

/// One decision of a store for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// Requests still allowed at once after this one.
    pub remaining: u32,
    /// Until the quota is whole again (allowed), or until the next request is (refused).
    pub reset: Duration,
}

/// What a limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A store counted it; `store` names which, for metrics (`memory`, `redis`, or `local`
    /// when this process's limit stood in for Redis).
    Decided {
        /// The decision.
        decision: Decision,
        /// Which store made it.
        store: &'static str,
    },
    /// Redis could not be asked, and the limit lets requests through uncounted.
    Uncounted,
    /// Redis could not be asked, and the limit refuses requests.
    Refused,
}

/// The limiter of one limit.
pub enum Limiter {
    /// Counts in this process.
    Memory(Memory),
    /// Counts in Redis (with this process's limit as a stand-in, when so configured).
    Shared(Box<Shared>),
}

impl Limiter {
    /// Decides for `key`, counting Redis failures in `metrics`.
    pub async fn decide(&self, key: String, metrics: &Metrics) -> Outcome {
        match self {
            Limiter::Memory(memory) => Outcome::Decided {
                decision: memory.decide(key),
                store: "memory",
            },
            Limiter::Shared(shared) => shared.decide(key, metrics).await,
        }
    }
}

/// The limiters of a contract, by the index of their limit in `Policies::limits`.
#[derive(Default)]
pub struct Limiters(Vec<Limiter>);

impl Limiters {
    /// One limiter per limit; the error names a limit whose Redis URL cannot be used.
    pub fn new(limits: &[Limit]) -> Result<Limiters, String> {
        limits
            .iter()
            .map(|limit| match &limit.store {
                Store::Memory => Ok(Limiter::Memory(Memory::new(limit))),
                Store::Redis {
                    url,
                    prefix,
                    on_failure,
                } => Shared::new(limit, url, prefix, *on_failure)
                    .map(|s| Limiter::Shared(Box::new(s)))
                    .map_err(|e| format!("rate_limits: {}: {e}", limit.name)),
            })
            .collect::<Result<_, _>>()
            .map(Limiters)
    }

    /// The limiter of the limit at `index`.
    pub fn get(&self, index: usize) -> Option<&Limiter> {
        self.0.get(index)
    }
}
