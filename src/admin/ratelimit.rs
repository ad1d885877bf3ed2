//! The metrics of rate limits: decisions by route, store and result, and Redis failures by
//! limit. Registered with the gateway's other metrics.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    route: Arc<str>,
    store: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: Arc<str>,
}

/// The rate-limit metric families.
#[derive(Debug)]
pub struct RateLimitMetrics {
    decisions: Family<DecisionLabels, Counter>,
    redis_errors: Family<LimitLabels, Counter>,
}

impl RateLimitMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> RateLimitMetrics {
        let metrics = RateLimitMetrics {
            decisions: Family::default(),
            redis_errors: Family::default(),
        };
        registry.register(
            "rate_limit_decisions",
            "Rate-limit decisions, by route template, store (memory, redis, local: this process standing in for Redis, none: Redis failed and nothing counted) and result (allowed, limited, refused)",
            metrics.decisions.clone(),
        );
        registry.register(
            "rate_limit_redis_errors",
            "Rate-limit decisions Redis failed to make (errors and timeouts), by limit",
            metrics.redis_errors.clone(),
        );
        metrics
    }

    /// Counts one decision.
    pub fn decision(&self, route: &Arc<str>, store: &'static str, result: &'static str) {
        self.decisions
            .get_or_create(&DecisionLabels {
                route: route.clone(),
                store,
                result,
            })
            .inc();
    }

    /// Counts one failure of Redis.
    pub fn redis_error(&self, limit: &Arc<str>) {
        self.redis_errors
            .get_or_create(&LimitLabels {
                limit: limit.clone(),
            })
            .inc();
    }
}
