//! The metrics of mirror mode, per route template: requests compared, the ones whose two
//! answers differed, and the ones skipped because the mirror queue was full. Registered
//! with the gateway's other metrics.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

/// The mirror metric families.
#[derive(Debug)]
pub struct MirrorMetrics {
    compared: Family<RouteLabels, Counter>,
    differences: Family<RouteLabels, Counter>,
    skipped: Family<RouteLabels, Counter>,
}

impl MirrorMetrics {
    /// Registers the families in `registry`.
    pub fn register(registry: &mut Registry) -> MirrorMetrics {
        let metrics = MirrorMetrics {
            compared: Family::default(),
            differences: Family::default(),
            skipped: Family::default(),
        };
        registry.register(
            "mirror_compared",
            "Mirrored requests whose two answers were compared, by route template",
            metrics.compared.clone(),
        );
        registry.register(
            "mirror_differences",
            "Mirrored requests whose mirror answered differently from the primary, by route template",
            metrics.differences.clone(),
        );
        registry.register(
            "mirror_skipped",
            "Requests not mirrored because the mirror queue was full, by route template",
            metrics.skipped.clone(),
        );
        metrics
    }

    fn labels(route: &Arc<str>) -> RouteLabels {
        RouteLabels {
            route: route.clone(),
        }
    }

    /// Counts a comparison, and a difference when `differed`.
    pub fn compared(&self, route: &Arc<str>, differed: bool) {
        self.compared.get_or_create(&Self::labels(route)).inc();
        if differed {
            self.differences.get_or_create(&Self::labels(route)).inc();
        }
    }

    /// Counts a request the full queue made skip.
    pub fn skipped(&self, route: &Arc<str>) {
        self.skipped.get_or_create(&Self::labels(route)).inc();
    }
}
