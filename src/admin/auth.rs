//! The metrics of authentication: results by scheme (`ok`, `missing`, `invalid`,
//! `forbidden`), never by subject, so a metric cannot leak who called or grow with the
//! number of callers. Registered with the gateway's other metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    scheme: String,
    result: &'static str,
}

/// The authentication metric family.
#[derive(Debug)]
pub struct AuthMetrics {
    results: Family<ResultLabels, Counter>,
}

impl AuthMetrics {
    /// Registers the family in `registry`.
    pub fn register(registry: &mut Registry) -> AuthMetrics {
        let metrics = AuthMetrics {
            results: Family::default(),
        };
        registry.register(
            "auth_results",
            "Authentication results, by scheme (`none` when no credentials came) and result (ok, missing, invalid, forbidden)",
            metrics.results.clone(),
        );
        metrics
    }

    /// Counts one result of `scheme`.
    pub fn count(&self, scheme: &str, result: &'static str) {
        self.results
            .get_or_create(&ResultLabels {
                scheme: scheme.to_owned(),
                result,
            })
            .inc();
    }
}
