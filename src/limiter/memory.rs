//! The in-process store: governor's keyed GCRA, one cell per key, with its idle keys
//! dropped now and then so the map does not grow with every address ever seen.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::Decision;
use crate::contract::limits::Limit;

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Every this many decisions, keys whose cells are full again are forgotten.
const SWEEP_EVERY: u64 = 4096;

/// One limit's counts in this process.
pub struct Memory {
    limiter: Keyed,
    interval: Duration,
    burst: u32,
    decisions: AtomicU64,
}

impl Memory {
    /// Counts for `limit`: `burst` at once, one more every `interval`.
    pub fn new(limit: &Limit) -> Memory {
        let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
        // The contract refuses a zero interval; the fastest quota stands in for the
        // impossible rather than a panic.
        let quota = Quota::with_period(limit.interval)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        Memory {
            limiter: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            interval: limit.interval,
            burst: burst.get(),
            decisions: AtomicU64::new(0),
        }
    }

    /// Counts one request of `key`.
    pub fn decide(&self, key: String) -> Decision {
        if self.decisions.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        match self.limiter.check_key(&key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    remaining,
                    reset: self.interval * self.burst.saturating_sub(remaining),
                }
            }
            Err(not_until) => Decision {
                allowed: false,
                remaining: 0,
                reset: not_until.wait_time_from(self.limiter.clock().now()),
            },
        }
    }
}
