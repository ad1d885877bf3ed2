//! The metrics of proxied traffic, per upstream: answers by status, durations, faults by
//! kind, and contract violations per route. Registered with the gateway's other metrics.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::{Registry, Unit};

use super::histogram::{DURATION_BUCKETS, Durations};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    upstream: Arc<str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FaultLabels {
    upstream: Arc<str>,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    upstream: Arc<str>,
    route: Arc<str>,
}

fn durations() -> Durations {
    Durations::new(&DURATION_BUCKETS)
}

/// The upstream metric families.
#[derive(Debug)]
pub struct UpstreamMetrics {
    answers: Family<StatusLabels, Counter>,
    durations: Family<UpstreamLabels, Durations, fn() -> Durations>,
    faults: Family<FaultLabels, Counter>,
    violations: Family<RouteLabels, Counter>,
}

impl UpstreamMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> UpstreamMetrics {
        let metrics = UpstreamMetrics {
            answers: Family::default(),
            durations: Family::new_with_constructor(durations as fn() -> Durations),
            faults: Family::default(),
            violations: Family::default(),
        };
        registry.register(
            "upstream_responses",
            "Answers from upstreams, by upstream and status",
            metrics.answers.clone(),
        );
        registry.register_with_unit(
            "upstream_duration",
            "Time upstreams took to answer (or to fail), by upstream",
            Unit::Seconds,
            metrics.durations.clone(),
        );
        registry.register(
            "upstream_faults",
            "Upstream requests that got no usable answer, by upstream and kind (connect, timeout, too_large, protocol)",
            metrics.faults.clone(),
        );
        registry.register(
            "upstream_violations",
            "Upstream answers that violated the contract, by upstream and route template",
            metrics.violations.clone(),
        );
        metrics
    }

    /// Counts an answer and its duration.
    pub fn answer(&self, upstream: &Arc<str>, status: u16, elapsed: Duration) {
        let upstream = upstream.clone();
        self.durations
            .get_or_create(&UpstreamLabels {
                upstream: upstream.clone(),
            })
            .observe(elapsed);
        self.answers
            .get_or_create(&StatusLabels { upstream, status })
            .inc();
    }

    /// Counts a fault and how long it took to happen.
    pub fn fault(&self, upstream: &Arc<str>, kind: &'static str, elapsed: Duration) {
        let upstream = upstream.clone();
        self.durations
            .get_or_create(&UpstreamLabels {
                upstream: upstream.clone(),
            })
            .observe(elapsed);
        self.faults
            .get_or_create(&FaultLabels { upstream, kind })
            .inc();
    }

    /// Counts an answer that violated the contract.
    pub fn violation(&self, upstream: &Arc<str>, route: &Arc<str>) {
        self.violations
            .get_or_create(&RouteLabels {
                upstream: upstream.clone(),
                route: route.clone(),
            })
            .inc();
    }
}
