//! The metrics of mirror mode, per route template and per pair of sides (the primary and
//! the mirror, each `native` or an upstream's name): requests compared, the ones whose two
//! answers differed, and the ones skipped because the mirror queue was full. Registered
//! with the gateway's other metrics.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// A mirrored method's route and its two sides.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MirrorLabels {
    /// The route template.
    pub route: Arc<str>,
    /// Who answers the client: `native` or an upstream's name.
    pub primary: Arc<str>,
    /// Who the request is replayed on.
    pub mirror: Arc<str>,
}

/// The mirror metric families.
#[derive(Debug)]
pub struct MirrorMetrics {
    compared: Family<MirrorLabels, Counter>,
    differences: Family<MirrorLabels, Counter>,
    skipped: Family<MirrorLabels, Counter>,
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
            "Mirrored requests whose two answers were compared, by route template, primary and mirror",
            metrics.compared.clone(),
        );
        registry.register(
            "mirror_differences",
            "Mirrored requests whose mirror answered differently from the primary, by route template, primary and mirror",
            metrics.differences.clone(),
        );
        registry.register(
            "mirror_skipped",
            "Requests not mirrored because the mirror queue was full, by route template, primary and mirror",
            metrics.skipped.clone(),
        );
        metrics
    }

    /// Counts a comparison, and a difference when `differed`.
    pub fn compared(&self, labels: &MirrorLabels, differed: bool) {
        self.compared.get_or_create(labels).inc();
        if differed {
            self.differences.get_or_create(labels).inc();
        }
    }

    /// Counts a request the full queue made skip.
    pub fn skipped(&self, labels: &MirrorLabels) {
        self.skipped.get_or_create(labels).inc();
    }
}
