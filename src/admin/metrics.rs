//! The gateway's Prometheus metrics: one registry, the few calls the request path and the
//! database make to record into it, and its text exposition for the admin listener.
//!
//! Recording is cheap: label sets are small structs of `&'static str`, numbers and one
//! `Arc<str>` route label that is interned once per route template (never allocated per
//! request); metrics with a fixed label set are looked up once, at construction.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use http::Method;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::histogram::{DURATION_BUCKETS, Durations};
use super::mirror::MirrorLabels;

/// The Content-Type of [`Metrics::render`]'s text: OpenMetrics 1.0, which is what
/// prometheus-client writes and what Prometheus asks for first.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The route label of a request that matched no route (a 404 outside every route).
pub const UNMATCHED: &str = "unmatched";

/// The route label that stands for every route past [`MAX_ROUTES`].
const OVERFLOW: &str = "other";

/// How many distinct route labels are kept. Route labels are meant to be templates, a
/// handful per contract; this bound keeps a caller that passed request paths by mistake
/// from growing the registry without end.
const MAX_ROUTES: usize = 1024;

/// What became of a contract reload: the label of `specgate_contract_reloads_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reload {
    /// The new contract compiled and now answers requests.
    Swapped,
    /// The files had not changed; nothing was swapped.
    Unchanged,
    /// The files changed while they were read; the next reload reads them again.
    Superseded,
    /// The new contract had problems; the old one goes on answering.
    Refused,
}

impl Reload {
    fn label(self) -> &'static str {
        match self {
            Reload::Swapped => "swapped",
            Reload::Unchanged => "unchanged",
            Reload::Superseded => "superseded",
            Reload::Refused => "refused",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<str>,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteMethodLabels {
    route: Arc<str>,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

type HistogramFamily<L> = Family<L, Durations, fn() -> Durations>;

fn duration_histogram() -> Durations {
    Durations::new(&DURATION_BUCKETS)
}

fn histogram_family<L: Clone + std::hash::Hash + Eq>() -> HistogramFamily<L> {
    Family::new_with_constructor(duration_histogram)
}

/// The handles a worker thread has used, by route label, then by (metrics instance, method,
/// status). Bounded like the labels themselves: routes are capped, methods and statuses few.
type HandleCache =
    HashMap<Arc<str>, HashMap<(u64, &'static str, u16), (Counter, Durations), Quick>, Quick>;

/// The hasher of [`HandleCache`]: FxHash's multiply-rotate, a few instructions per word
/// where the standard SipHash takes a few hundred per request's two lookups. Its keys are
/// route templates of the contract and labels of the gateway's own making, never text a
/// client chose, so a hash that could be flooded does no harm here.
#[derive(Clone, Copy, Default)]
struct Quick;

impl std::hash::BuildHasher for Quick {
    type Hasher = QuickHasher;
    fn build_hasher(&self) -> QuickHasher {
        QuickHasher(0)
    }
}

/// The running hash of [`Quick`].
struct QuickHasher(u64);

impl QuickHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for QuickHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let mut tail = [0; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(tail));
    }
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }
    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

thread_local! {
    static HANDLES: RefCell<HandleCache> = const { RefCell::new(HashMap::with_hasher(Quick)) };
}

/// Tells [`Metrics`] instances apart in [`HANDLES`].
static INSTANCES: AtomicU64 = AtomicU64::new(0);

/// The gateway's metrics. `Send + Sync`; share it as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    /// This instance's key in [`HANDLES`].
    id: u64,
    registry: Registry,
    routes: RouteLabelSet,
    requests: Family<RequestLabels, Counter>,
    durations: HistogramFamily<RouteMethodLabels>,
    in_flight: Gauge,
    request_invalid: Family<RouteLabels, Counter>,
    response_invalid: Family<RouteLabels, Counter>,
    statement_ok: Durations,
    statement_error: Durations,
    connections_open: Gauge,
    connections_busy: Gauge,
    /// Reads the pool's connection counts when the metrics are rendered.
    pool: std::sync::OnceLock<PoolProbe>,
    reloads_swapped: Counter,
    reloads_unchanged: Counter,
    reloads_superseded: Counter,
    reloads_refused: Counter,
    /// Proxied traffic, per upstream.
    upstream: super::upstream::UpstreamMetrics,
    /// Mirror comparisons, per route.
    mirror: super::mirror::MirrorMetrics,
    /// Rate-limit decisions and Redis failures.
    rate_limit: super::ratelimit::RateLimitMetrics,
    /// Authentication results, per scheme.
    auth: super::auth::AuthMetrics,
}

/// A reading of the pool: connections open, and busy.
struct PoolProbe(Box<dyn Fn() -> (i64, i64) + Send + Sync>);

impl std::fmt::Debug for PoolProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolProbe")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric, with the fixed label sets already present at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("specgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let durations = histogram_family::<RouteMethodLabels>();
        registry.register_with_unit(
            "request_duration",
            "Time to answer HTTP requests, by route template and method",
            Unit::Seconds,
            durations.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "requests_in_flight",
            "HTTP requests being answered now",
            in_flight.clone(),
        );
        let request_invalid = Family::<RouteLabels, Counter>::default();
        registry.register(
            "request_validation_failures",
            "Request bodies or parameters refused by the contract's schemas, by route template",
            request_invalid.clone(),
        );
        let response_invalid = Family::<RouteLabels, Counter>::default();
        registry.register(
            "response_validation_failures",
            "Responses that violated their representation schema, by route template",
            response_invalid.clone(),
        );
        let statements = histogram_family::<OutcomeLabels>();
        registry.register_with_unit(
            "statement_duration",
            "Time each database statement took, by outcome (ok, error)",
            Unit::Seconds,
            statements.clone(),
        );
        let connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_connections",
            "Database connections of the pool, by state (open, busy)",
            connections.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "contract_reloads",
            "Contract reloads, by result (swapped, unchanged, refused)",
            reloads.clone(),
        );
        let build = Family::<VersionLabels, Gauge>::default();
        registry.register(
            "build_info",
            "Always 1; the label says which specgate version runs",
            build.clone(),
        );
        build
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        let outcome = |outcome| statements.get_or_create(&OutcomeLabels { outcome }).clone();
        let state = |state| connections.get_or_create(&StateLabels { state }).clone();
        let result = |result: Reload| {
            reloads
                .get_or_create(&ResultLabels {
                    result: result.label(),
                })
                .clone()
        };
        let upstream = super::upstream::UpstreamMetrics::register(&mut registry);
        let mirror = super::mirror::MirrorMetrics::register(&mut registry);
        let rate_limit = super::ratelimit::RateLimitMetrics::register(&mut registry);
        let auth = super::auth::AuthMetrics::register(&mut registry);
        Metrics {
            rate_limit,
            auth,
            upstream,
            mirror,
            id: INSTANCES.fetch_add(1, Ordering::Relaxed),
            statement_ok: outcome("ok"),
            statement_error: outcome("error"),
            connections_open: state("open"),
            connections_busy: state("busy"),
            pool: std::sync::OnceLock::new(),
            reloads_swapped: result(Reload::Swapped),
            reloads_unchanged: result(Reload::Unchanged),
            reloads_superseded: result(Reload::Superseded),
            reloads_refused: result(Reload::Refused),
            registry,
            routes: RouteLabelSet::default(),
            requests,
            durations,
            in_flight,
            request_invalid,
            response_invalid,
        }
    }

    /// Counts a request as in flight until the returned guard is dropped.
    pub fn in_flight(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// Records an answered request. `route` is the route's template (such as
    /// `/things/{id}/`) or [`UNMATCHED`], never the request's path: each distinct
    /// value is a time series.
    pub fn request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_label(method);
        HANDLES.with(|cache| {
            let mut cache = cache.borrow_mut();
            let key = (self.id, method, status);
            if let Some((counter, durations)) = cache.get(route).and_then(|by| by.get(&key)) {
                counter.inc();
                durations.observe(elapsed);
                return;
            }
            let (label, handles) = self.handles(route, method, status);
            handles.0.inc();
            handles.1.observe(elapsed);
            cache
                .entry(label)
                .or_insert_with(|| HashMap::with_hasher(Quick))
                .insert(key, handles);
        });
    }

    /// The counter and histogram of one route, method and status, from the families (a
    /// read lock and a hash of the whole label set, on a lock every thread shares: which is
    /// why [`Metrics::request`] keeps them per worker thread once found).
    fn handles(
        &self,
        route: &str,
        method: &'static str,
        status: u16,
    ) -> (Arc<str>, (Counter, Durations)) {
        let label = self.routes.label(route);
        let counter = self
            .requests
            .get_or_create(&RequestLabels {
                route: label.clone(),
                method,
                status,
            })
            .clone();
        let durations = self
            .durations
            .get_or_create(&RouteMethodLabels {
                route: label.clone(),
                method,
            })
            .clone();
        (label, (counter, durations))
    }

    /// Counts a request whose body or parameters the schemas refused.
    pub fn request_invalid(&self, route: &str) {
        let route = self.routes.label(route);
        self.request_invalid
            .get_or_create(&RouteLabels { route })
            .inc();
    }

    /// Counts a response that violated its representation schema.
    pub fn response_invalid(&self, route: &str) {
        let route = self.routes.label(route);
        self.response_invalid
            .get_or_create(&RouteLabels { route })
            .inc();
    }

    /// Records how long one database statement took, and whether it succeeded.
    pub fn statement(&self, elapsed: Duration, ok: bool) {
        let histogram = if ok {
            &self.statement_ok
        } else {
            &self.statement_error
        };
        histogram.observe(elapsed);
    }

    /// Sets the pool's connection counts: `open` in all, `busy` of them lent out.
    pub fn connections(&self, open: i64, busy: i64) {
        self.connections_open.set(open);
        self.connections_busy.set(busy);
    }

    /// Counts an upstream's answer (by status) and how long it took.
    pub fn upstream_answer(&self, upstream: &Arc<str>, status: u16, elapsed: Duration) {
        self.upstream.answer(upstream, status, elapsed);
    }

    /// Counts an upstream request that got no usable answer, by kind.
    pub fn upstream_fault(&self, upstream: &Arc<str>, kind: &'static str, elapsed: Duration) {
        self.upstream.fault(upstream, kind, elapsed);
    }

    /// Counts an upstream answer that violated the contract of `route`.
    pub fn upstream_violation(&self, upstream: &Arc<str>, route: &Arc<str>) {
        self.upstream.violation(upstream, route);
    }

    /// Counts a mirrored request whose answers were compared (and differed, when
    /// `differed`), by its route and sides.
    pub fn mirror_compared(&self, labels: &MirrorLabels, differed: bool) {
        self.mirror.compared(labels, differed);
    }

    /// Counts a request not mirrored because the queue was full, by its route and sides.
    pub fn mirror_skipped(&self, labels: &MirrorLabels) {
        self.mirror.skipped(labels);
    }

    /// Counts a rate-limit decision on `route` (a template, or [`UNMATCHED`]) by store and
    /// result.
    pub fn rate_limit_decision(&self, route: &Arc<str>, store: &'static str, result: &'static str) {
        self.rate_limit.decision(route, store, result);
    }

    /// Counts a decision the Redis store of `limit` failed to make.
    pub fn rate_limit_redis_error(&self, limit: &Arc<str>) {
        self.rate_limit.redis_error(limit);
    }

    /// Counts an authentication result of `scheme` (`ok`, `missing`, `invalid`,
    /// `forbidden`).
    pub fn auth(&self, scheme: &str, result: &'static str) {
        self.auth.count(scheme, result);
    }

    /// Counts a contract reload by what became of it.
    pub fn reload(&self, result: Reload) {
        let counter = match result {
            Reload::Swapped => &self.reloads_swapped,
            Reload::Unchanged => &self.reloads_unchanged,
            Reload::Superseded => &self.reloads_superseded,
            Reload::Refused => &self.reloads_refused,
        };
        counter.inc();
    }

    /// Has the connection gauges read from `probe` each time the metrics are rendered (the
    /// first probe set stays).
    pub fn probe_connections(&self, probe: impl Fn() -> (i64, i64) + Send + Sync + 'static) {
        let _ = self.pool.set(PoolProbe(Box::new(probe)));
    }

    /// Every metric in the OpenMetrics text format (see [`CONTENT_TYPE`]).
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        if let Some(probe) = self.pool.get() {
            let (open, busy) = (probe.0)();
            self.connections(open, busy);
        }
        let mut text = String::with_capacity(8 * 1024);
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A request counted in `specgate_requests_in_flight`; dropping it counts the request out.
#[derive(Debug)]
#[must_use = "the request counts as in flight only while the guard lives"]
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The method label: the standard methods by name, any other as `OTHER` (clients choose
/// methods, and each label value is a time series).
fn method_label(method: &Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "TRACE" => "TRACE",
        "CONNECT" => "CONNECT",
        _ => "OTHER",
    }
}

/// The route labels seen so far, each allocated once and then shared.
#[derive(Debug)]
struct RouteLabelSet {
    known: RwLock<HashSet<Arc<str>>>,
    overflow: Arc<str>,
    warned: AtomicBool,
}

impl Default for RouteLabelSet {
    fn default() -> Self {
        RouteLabelSet {
            known: RwLock::default(),
            overflow: Arc::from(OVERFLOW),
            warned: AtomicBool::new(false),
        }
    }
}

impl RouteLabelSet {
    /// The shared label for `route`: the one already known, a new one while fewer than
    /// [`MAX_ROUTES`] are, else the overflow label.
    fn label(&self, route: &str) -> Arc<str> {
        let known = self.known.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(label) = known.get(route) {
            return label.clone();
        }
        drop(known);
        let mut known = self.known.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(label) = known.get(route) {
            return label.clone();
        }
        if known.len() >= MAX_ROUTES {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "more than {MAX_ROUTES} route labels; further routes are counted as \
                     {OVERFLOW:?}"
                );
            }
            return self.overflow.clone();
        }
        let label: Arc<str> = Arc::from(route);
        known.insert(label.clone());
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample lines of `text` whose name is `name`, as (labels, value).
    fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (series_name, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                (series_name == name).then_some((labels, value))
            })
            .collect()
    }

    fn render(metrics: &Metrics) -> String {
        metrics.render().expect("the registry encodes")
    }

    #[test]
    fn fixed_label_sets_are_there_from_the_start() {
        let text = render(&Metrics::new());
        for result in ["swapped", "unchanged", "refused", "superseded"] {
            let label = format!("result=\"{result}\"");
            assert!(
                samples(&text, "specgate_contract_reloads_total").contains(&(&label, "0")),
                "{result} missing in\n{text}"
            );
        }
        let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
        assert_eq!(
            samples(&text, "specgate_build_info"),
            vec![(version.as_str(), "1")]
        );
        assert_eq!(
            samples(&text, "specgate_requests_in_flight"),
            vec![("", "0")]
        );
        assert!(text.trim_end().ends_with("# EOF"));
    }

    #[test]
    fn requests_are_counted_per_route_method_and_status() {
        let metrics = Metrics::new();
        let ms = Duration::from_millis(1);
        for _ in 0..3 {
            metrics.request("/things/{id}/", &Method::GET, 200, ms);
        }
        metrics.request("/things/{id}/", &Method::GET, 404, ms);
        metrics.request("/things/", &Method::POST, 201, ms);
        let text = render(&metrics);
        let mut counts = samples(&text, "specgate_requests_total");
        counts.sort();
        assert_eq!(
            counts,
            vec![
                (r#"route="/things/",method="POST",status="201""#, "1"),
                (r#"route="/things/{id}/",method="GET",status="200""#, "3"),
                (r#"route="/things/{id}/",method="GET",status="404""#, "1"),
            ]
        );
    }

    #[test]
    fn durations_land_in_their_buckets() {
        let metrics = Metrics::new();
        metrics.request("/r/", &Method::GET, 200, Duration::from_micros(50));
        metrics.request("/r/", &Method::GET, 200, Duration::from_millis(3));
        metrics.request("/r/", &Method::GET, 200, Duration::from_secs(60));
        let text = render(&metrics);
        assert!(text.contains("# TYPE specgate_request_duration_seconds histogram"));
        assert!(text.contains("# UNIT specgate_request_duration_seconds seconds"));
        let buckets = samples(&text, "specgate_request_duration_seconds_bucket");
        let bucket = |le: &str| {
            let labels = format!(r#"le="{le}",route="/r/",method="GET""#);
            buckets
                .iter()
                .find(|(l, _)| *l == labels)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no bucket {le} in\n{text}"))
        };
        assert_eq!(bucket("0.0001"), "1");
        assert_eq!(bucket("0.0025"), "1");
        assert_eq!(bucket("0.005"), "2");
        assert_eq!(bucket("30.0"), "2");
        assert_eq!(bucket("+Inf"), "3");
        assert_eq!(
            samples(&text, "specgate_request_duration_seconds_count"),
            vec![(r#"route="/r/",method="GET""#, "3")]
        );
    }

    #[test]
    fn unusual_methods_share_one_label() {
        let metrics = Metrics::new();
        let brew = Method::from_bytes(b"BREW").expect("a token");
        let purge = Method::from_bytes(b"PURGE").expect("a token");
        metrics.request(UNMATCHED, &brew, 405, Duration::ZERO);
        metrics.request(UNMATCHED, &purge, 405, Duration::ZERO);
        let text = render(&metrics);
        assert_eq!(
            samples(&text, "specgate_requests_total"),
            vec![(r#"route="unmatched",method="OTHER",status="405""#, "2")]
        );
    }

    #[test]
    fn in_flight_follows_the_guards() {
        let metrics = Metrics::new();
        let first = metrics.in_flight();
        let second = metrics.in_flight();
        assert_eq!(
            samples(&render(&metrics), "specgate_requests_in_flight"),
            vec![("", "2")]
        );
        drop(first);
        assert_eq!(
            samples(&render(&metrics), "specgate_requests_in_flight"),
            vec![("", "1")]
        );
        drop(second);
        assert_eq!(
            samples(&render(&metrics), "specgate_requests_in_flight"),
            vec![("", "0")]
        );
    }

    #[test]
    fn validation_statements_connections_and_reloads() {
        let metrics = Metrics::new();
        metrics.request_invalid("/a/");
        metrics.request_invalid("/a/");
        metrics.response_invalid("/b/");
        metrics.statement(Duration::from_millis(2), true);
        metrics.statement(Duration::from_millis(2), true);
        metrics.statement(Duration::from_millis(7), false);
        metrics.connections(4, 1);
        metrics.reload(Reload::Swapped);
        metrics.reload(Reload::Refused);
        metrics.reload(Reload::Refused);
        let text = render(&metrics);
        assert_eq!(
            samples(&text, "specgate_request_validation_failures_total"),
            vec![(r#"route="/a/""#, "2")]
        );
        assert_eq!(
            samples(&text, "specgate_response_validation_failures_total"),
            vec![(r#"route="/b/""#, "1")]
        );
        let mut statements = samples(&text, "specgate_statement_duration_seconds_count");
        statements.sort();
        assert_eq!(
            statements,
            vec![(r#"outcome="error""#, "1"), (r#"outcome="ok""#, "2")]
        );
        let mut connections = samples(&text, "specgate_db_connections");
        connections.sort();
        assert_eq!(
            connections,
            vec![(r#"state="busy""#, "1"), (r#"state="open""#, "4")]
        );
        let mut reloads = samples(&text, "specgate_contract_reloads_total");
        reloads.sort();
        assert_eq!(
            reloads,
            vec![
                (r#"result="refused""#, "2"),
                (r#"result="superseded""#, "0"),
                (r#"result="swapped""#, "1"),
                (r#"result="unchanged""#, "0"),
            ]
        );
    }

    #[test]
    fn route_labels_are_shared_and_bounded() {
        let routes = RouteLabelSet::default();
        let first = routes.label("/things/{id}/");
        let again = routes.label("/things/{id}/");
        assert!(Arc::ptr_eq(&first, &again), "interned once");
        for n in 1..MAX_ROUTES {
            routes.label(&format!("/r{n}/"));
        }
        assert_eq!(&*routes.label("/one-too-many/"), OVERFLOW);
        assert_eq!(&*routes.label("/things/{id}/"), "/things/{id}/");
    }

    #[test]
    fn label_values_are_escaped() {
        let metrics = Metrics::new();
        metrics.request_invalid("/q\"uote\\/");
        let text = render(&metrics);
        assert_eq!(
            samples(&text, "specgate_request_validation_failures_total"),
            vec![(r#"route="/q\"uote\\/""#, "1")]
        );
    }
}
