//! The admin listener, through a running gateway: `/metrics` parsed with a Prometheus text
//! parser and checked against the requests this test sent, `/live`, `/ready`, `/contract`,
//! and the trace context in the access log.

mod common;

use std::sync::Arc;

use common::{Gateway, on_both, users_spec};
use openmetrics_parser::{LabelSet, MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde_json::json;

type Scrape = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

/// `/metrics`, parsed as OpenMetrics text (what prometheus-client writes and Prometheus asks
/// for first).
fn scrape(gw: &Gateway) -> Scrape {
    let admin = gw.admin.as_deref().expect("an admin listener");
    let reply = gw.get_at(admin, "/metrics");
    assert_eq!(reply.status, 200);
    // openmetrics-parser refuses a UNIT line on a histogram, which OpenMetrics allows; without
    // those lines it checks all the rest.
    let text: String = reply
        .text()
        .lines()
        .filter(|l| !(l.starts_with("# UNIT ") && l.contains("_duration_")))
        .flat_map(|l| [l, "\n"])
        .collect();
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not OpenMetrics ({e:?}):\n{text}"))
}

/// The value of the one sample of `family` whose labels include `labels` (a histogram's
/// count), or `None` when there is none.
fn value(scrape: &Scrape, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let family = scrape.families.get(family)?;
    let names = Arc::new(family.get_label_names().to_vec());
    let mut found = family.iter_samples().filter(|sample| {
        let set = LabelSet::new(names.clone(), sample).expect("labels");
        labels
            .iter()
            .all(|(name, value)| set.get_label_value(name) == Some(*value))
    });
    let sample = found.next()?;
    assert!(
        found.next().is_none(),
        "more than one sample with {labels:?}"
    );
    match &sample.value {
        OpenMetricsValue::Counter(counter) => Some(counter.value.as_f64()),
        OpenMetricsValue::Gauge(gauge) => Some(gauge.as_f64()),
        OpenMetricsValue::Histogram(histogram) => histogram.count.map(|n| n as f64),
        other => panic!("not a number: {other:?}"),
    }
}

on_both! {
    /// Every counter agrees with what was sent.
    fn metrics_count_what_was_sent(db) {
        let gw = Gateway::start_on(db, &users_spec(), &["--admin-listen", "127.0.0.1:0"]);
        for _ in 0..3 {
            assert_eq!(gw.get("/api/users/").status, 200);
        }
        for _ in 0..2 {
            assert_eq!(gw.get("/api/users/99999/").status, 404);
        }
        assert_eq!(gw.json("POST", "/api/users/", &json!({"username": ""})).status, 400);
        assert_eq!(gw.get("/nowhere/").status, 404);

        let samples = scrape(&gw);
        let requests = |route, method, status| {
            value(
                &samples,
                "specgate_requests",
                &[("route", route), ("method", method), ("status", status)],
            )
        };
        assert_eq!(requests("/api/users/", "GET", "200"), Some(3.0));
        assert_eq!(requests("/api/users/{id}/", "GET", "404"), Some(2.0));
        assert_eq!(requests("/api/users/", "POST", "400"), Some(1.0));
        assert_eq!(requests("unmatched", "GET", "404"), Some(1.0));
        assert_eq!(
            value(
                &samples,
                "specgate_request_validation_failures",
                &[("route", "/api/users/")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &samples,
                "specgate_request_duration_seconds",
                &[("route", "/api/users/"), ("method", "GET")]
            ),
            Some(3.0)
        );
        assert_eq!(value(&samples, "specgate_requests_in_flight", &[]), Some(0.0));
        // 3 pages, 2 misses, and the uniqueness check is not needed for a blank username.
        let statements = value(&samples, "specgate_statement_duration_seconds", &[("outcome", "ok")]);
        assert!(statements.is_some_and(|n| n >= 5.0), "{statements:?}");
        let open = value(&samples, "specgate_db_connections", &[("state", "open")]);
        assert!(open.is_some_and(|n| n >= 1.0), "{open:?}");
        assert_eq!(value(&samples, "specgate_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), Some(1.0));
    }

    /// Liveness, readiness and the loaded contract.
    fn admin_pages_answer(db) {
        let gw = Gateway::start_on(db, &users_spec(), &["--admin-listen", "127.0.0.1:0"]);
        let admin = gw.admin.clone().expect("an admin listener");
        assert_eq!(gw.get_at(&admin, "/live").json(), json!({"status": "live"}));
        assert_eq!(gw.get_at(&admin, "/ready").json(), json!({"status": "ready"}));
        let contract = gw.get_at(&admin, "/contract").json();
        assert_eq!(contract["hash"].as_str().map(str::len), Some(64), "{contract}");
        assert!(contract["loaded_at"].is_string(), "{contract}");
        assert_eq!(gw.get_at(&admin, "/nothing").status, 404);
    }
}
