//! The admin listener: metrics, liveness, readiness and the contract's status, on a port of
//! their own so that probes and scrapes neither mix with API traffic nor show in its
//! metrics. It knows nothing of the rest of the crate: what it reports comes from
//! [`Metrics`] and the callbacks in [`Admin`].
//!
//! | path        | answer                                                          |
//! |-------------|-----------------------------------------------------------------|
//! | `/metrics`  | [`Metrics::render`], OpenMetrics text                           |
//! | `/live`     | 200 `{"status":"live"}` while the process runs                  |
//! | `/ready`    | 200 `{"status":"ready"}`, or 503 `{"status":"unavailable",...}` |
//! | `/contract` | 200, the contract status callback's JSON                        |
//! | `/mirror`   | 200, the mirror's last differences (the callback's JSON)        |
//!
//! GET and HEAD only (405 otherwise); any other path is a 404.

mod auth;
pub mod histogram;
pub mod metrics;
mod mirror;
mod ratelimit;
mod upstream;

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::listen::{self, Client};

pub use metrics::{InFlight, Metrics, Reload};
pub use mirror::MirrorLabels;

/// Whether the gateway can serve: `Err` says why not. Called once per `/ready` request.
pub type ReadinessCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// The contract's status as JSON (which contract is loaded, when, the last reload).
pub type ContractStatus = Arc<dyn Fn() -> Value + Send + Sync>;

/// The mirror's recent differences as JSON.
pub type MirrorReport = Arc<dyn Fn() -> Value + Send + Sync>;

/// How long `/ready` waits for the readiness check before calling the gateway unavailable.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a client may take to send a request's head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How many admin connections are served at once; more wait in the backlog.
const MAX_CONNECTIONS: usize = 64;

/// How long shutdown waits for admin requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The `Retry-After` of a 503 from `/ready`, in seconds (as the API's own 503s have it).
const RETRY_AFTER: &str = "5";

const JSON: &str = "application/json";

/// What the admin listener reports: the metrics and two callbacks into the gateway.
#[derive(Clone)]
pub struct Admin {
    metrics: Arc<Metrics>,
    ready: ReadinessCheck,
    contract: ContractStatus,
    mirror: Option<MirrorReport>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// An admin for `metrics`, asking `ready` on each `/ready` and `contract` on each
    /// `/contract` request.
    pub fn new<R, F, C>(metrics: Arc<Metrics>, ready: R, contract: C) -> Admin
    where
        R: Fn() -> F + Send + Sync + 'static,
        F: Future<Output = Result<(), String>> + Send + 'static,
        C: Fn() -> Value + Send + Sync + 'static,
    {
        Admin {
            metrics,
            ready: Arc::new(move || Box::pin(ready())),
            contract: Arc::new(contract),
            mirror: None,
        }
    }

    /// This admin, answering `/mirror` with `report`'s JSON (without it, `/mirror` says
    /// that nothing is mirrored).
    pub fn with_mirror(mut self, report: impl Fn() -> Value + Send + Sync + 'static) -> Admin {
        self.mirror = Some(Arc::new(report));
        self
    }

    /// The metrics this admin renders.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The answer to one admin request.
    async fn answer(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        let Some(endpoint) = Endpoint::at(path) else {
            return json(StatusCode::NOT_FOUND, &json!({"detail": "Not found."}));
        };
        if method != Method::GET && method != Method::HEAD {
            let detail = format!("Method \"{method}\" not allowed.");
            let mut response = json(StatusCode::METHOD_NOT_ALLOWED, &json!({"detail": detail}));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match endpoint {
            Endpoint::Metrics => self.metrics_text(),
            Endpoint::Live => json(StatusCode::OK, &json!({"status": "live"})),
            Endpoint::Ready => self.readiness(READY_TIMEOUT).await,
            Endpoint::Contract => json(StatusCode::OK, &(self.contract)()),
            Endpoint::Mirror => match &self.mirror {
                Some(report) => json(StatusCode::OK, &report()),
                None => json(
                    StatusCode::OK,
                    &json!({"mirrored": false, "differences": []}),
                ),
            },
        }
    }

    fn metrics_text(&self) -> Response<Full<Bytes>> {
        match self.metrics.render() {
            Ok(text) => with_type(StatusCode::OK, metrics::CONTENT_TYPE, Bytes::from(text)),
            Err(e) => {
                tracing::error!("the metrics could not be rendered: {e}");
                internal_error()
            }
        }
    }

    /// `/ready`: the readiness check's answer, if it comes within `limit`.
    async fn readiness(&self, limit: Duration) -> Response<Full<Bytes>> {
        let detail = match tokio::time::timeout(limit, (self.ready)()).await {
            Ok(Ok(())) => return json(StatusCode::OK, &json!({"status": "ready"})),
            Ok(Err(detail)) => detail,
            Err(_) => format!("the readiness check did not answer within {limit:?}"),
        };
        let body = json!({"status": "unavailable", "detail": detail});
        let mut response = json(StatusCode::SERVICE_UNAVAILABLE, &body);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        response
    }
}

/// The paths the admin listener answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Metrics,
    Live,
    Ready,
    Contract,
    Mirror,
}

impl Endpoint {
    fn at(path: &str) -> Option<Endpoint> {
        match path {
            "/metrics" => Some(Endpoint::Metrics),
            "/live" => Some(Endpoint::Live),
            "/ready" => Some(Endpoint::Ready),
            "/contract" => Some(Endpoint::Contract),
            "/mirror" => Some(Endpoint::Mirror),
            _ => None,
        }
    }
}

/// Serves `admin` over HTTP/1.1 on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (for a few seconds at most).
pub async fn serve(listener: TcpListener, admin: Admin, shutdown: impl Future<Output = ()>) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    while let Some(Client {
        stream,
        peer,
        permit,
    }) = listen::next(&listener, &connections, &mut shutdown, "admin").await
    {
        let admin = admin.clone();
        let service = service_fn(move |request: Request<Incoming>| {
            let admin = admin.clone();
            async move {
                let response = admin.answer(request.method(), request.uri().path()).await;
                Ok::<_, Infallible>(response)
            }
        });
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "admin connection ended: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("admin shutdown grace period over; closing remaining connections");
    }
}

/// A response with `body` of `content_type`, never cached (each answer is of the moment).
fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    match serde_json::to_vec(body) {
        Ok(bytes) => with_type(status, JSON, Bytes::from(bytes)),
        Err(e) => {
            tracing::error!("an admin answer could not be written as JSON: {e}");
            internal_error()
        }
    }
}

fn internal_error() -> Response<Full<Bytes>> {
    with_type(
        StatusCode::INTERNAL_SERVER_ERROR,
        JSON,
        Bytes::from_static(br#"{"detail":"A server error occurred."}"#),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;

    /// A parsed HTTP/1.1 response.
    struct Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn json(&self) -> Value {
            serde_json::from_str(&self.body).expect("a JSON body")
        }
    }

    /// A running admin server and the means to stop it.
    struct Server {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Server {
        async fn start(admin: Admin) -> Server {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("an address");
            let (stop, stopped) = oneshot::channel::<()>();
            let task = tokio::spawn(serve(listener, admin, async {
                let _ = stopped.await;
            }));
            Server {
                addr,
                stop: Some(stop),
                task,
            }
        }

        /// Sends `method path` on a new connection (closed after it) and reads the answer.
        async fn send(&self, method: &str, path: &str) -> Answer {
            let mut stream = tokio::net::TcpStream::connect(self.addr)
                .await
                .expect("connect");
            let request =
                format!("{method} {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut raw = Vec::new();
            tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
                .await
                .expect("an answer in time")
                .expect("read");
            parse_answer(&String::from_utf8(raw).expect("UTF-8"))
        }

        async fn get(&self, path: &str) -> Answer {
            self.send("GET", path).await
        }

        async fn stop(mut self) {
            if let Some(stop) = self.stop.take() {
                let _ = stop.send(());
            }
            tokio::time::timeout(Duration::from_secs(10), &mut self.task)
                .await
                .expect("the server stops")
                .expect("the server task ends cleanly");
        }
    }

    fn parse_answer(raw: &str) -> Answer {
        let (head, body) = raw.split_once("\r\n\r\n").expect("a head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("a status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Answer {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn admin_with(ready: Result<(), String>) -> Admin {
        Admin::new(
            Arc::new(Metrics::new()),
            move || {
                let ready = ready.clone();
                async move { ready }
            },
            || json!({"contract": "routes.yaml", "loaded": 3}),
        )
    }

    type Exposition = openmetrics_parser::MetricsExposition<
        openmetrics_parser::OpenMetricsType,
        openmetrics_parser::OpenMetricsValue,
    >;

    /// The value of the one sample of `family` whose labels include `labels`.
    fn sample<'a>(
        exposition: &'a Exposition,
        family: &str,
        labels: &[(&str, &str)],
    ) -> &'a openmetrics_parser::OpenMetricsValue {
        let family = exposition
            .families
            .get(family)
            .unwrap_or_else(|| panic!("no family {family}"));
        let names = Arc::new(family.get_label_names().to_vec());
        let mut found = family.iter_samples().filter(|sample| {
            let set = openmetrics_parser::LabelSet::new(names.clone(), sample).expect("labels");
            labels
                .iter()
                .all(|(name, value)| set.get_label_value(name) == Some(*value))
        });
        let sample = found
            .next()
            .unwrap_or_else(|| panic!("no {} sample with {labels:?}", family.family_name));
        assert!(
            found.next().is_none(),
            "more than one sample with {labels:?}"
        );
        &sample.value
    }

    fn number(value: &openmetrics_parser::OpenMetricsValue) -> f64 {
        match value {
            openmetrics_parser::OpenMetricsValue::Counter(counter) => counter.value.as_f64(),
            openmetrics_parser::OpenMetricsValue::Gauge(gauge) => gauge.as_f64(),
            other => panic!("not a number: {other:?}"),
        }
    }

    #[tokio::test]
    async fn metrics_count_what_was_recorded() {
        let admin = admin_with(Ok(()));
        let metrics = admin.metrics().clone();
        for _ in 0..7 {
            metrics.request("/things/{id}/", &Method::GET, 200, Duration::from_millis(2));
        }
        for _ in 0..2 {
            metrics.request("/things/", &Method::POST, 400, Duration::from_millis(1));
            metrics.request_invalid("/things/");
        }
        metrics.request(metrics::UNMATCHED, &Method::GET, 404, Duration::ZERO);
        metrics.statement(Duration::from_millis(3), true);
        let _busy = metrics.in_flight();
        let server = Server::start(admin).await;
        let answer = server.get("/metrics").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("content-type"), Some(metrics::CONTENT_TYPE));
        // openmetrics-parser refuses a UNIT line on a histogram, which OpenMetrics allows
        // (its own examples have them); without those lines it checks all the rest.
        let body: String = answer
            .body
            .lines()
            .filter(|line| !line.starts_with("# UNIT specgate_") || !line.contains("_duration_"))
            .flat_map(|line| [line, "\n"])
            .collect();
        let scrape =
            openmetrics_parser::openmetrics::parse_openmetrics(&body).expect("OpenMetrics");
        let requests =
            |labels: &[(&str, &str)]| number(sample(&scrape, "specgate_requests", labels));
        let things = [
            ("route", "/things/{id}/"),
            ("method", "GET"),
            ("status", "200"),
        ];
        assert_eq!(requests(&things), 7.0);
        let create = [("route", "/things/"), ("method", "POST"), ("status", "400")];
        assert_eq!(requests(&create), 2.0);
        assert_eq!(requests(&[("route", "unmatched"), ("status", "404")]), 1.0);
        let things_get = [("route", "/things/{id}/"), ("method", "GET")];
        let openmetrics_parser::OpenMetricsValue::Histogram(durations) =
            sample(&scrape, "specgate_request_duration_seconds", &things_get)
        else {
            panic!("the durations are not a histogram");
        };
        assert_eq!(durations.count, Some(7));
        let sum = durations.sum.map(|s| s.as_f64()).unwrap_or_default();
        assert!((sum - 0.014).abs() < 1e-9, "{sum}");
        let below = |bound: f64| {
            durations
                .buckets
                .iter()
                .find(|b| b.upper_bound == bound)
                .map(|b| b.count.as_f64())
        };
        assert_eq!(below(0.001), Some(0.0));
        assert_eq!(below(0.0025), Some(7.0));
        assert_eq!(below(f64::INFINITY), Some(7.0));
        let invalid = sample(
            &scrape,
            "specgate_request_validation_failures",
            &[("route", "/things/")],
        );
        assert_eq!(number(invalid), 2.0);
        let in_flight = sample(&scrape, "specgate_requests_in_flight", &[]);
        assert_eq!(number(in_flight), 1.0);
        let version = [("version", env!("CARGO_PKG_VERSION"))];
        assert_eq!(
            number(sample(&scrape, "specgate_build_info", &version)),
            1.0
        );
        let reloads = sample(
            &scrape,
            "specgate_contract_reloads",
            &[("result", "refused")],
        );
        assert_eq!(number(reloads), 0.0);
        server.stop().await;
    }

    #[tokio::test]
    async fn live_ready_and_contract() {
        let server = Server::start(admin_with(Ok(()))).await;
        let live = server.get("/live").await;
        assert_eq!((live.status, live.json()), (200, json!({"status": "live"})));
        assert_eq!(live.header("content-type"), Some("application/json"));
        assert_eq!(live.header("cache-control"), Some("no-store"));
        let ready = server.get("/ready").await;
        assert_eq!(
            (ready.status, ready.json()),
            (200, json!({"status": "ready"}))
        );
        let contract = server.get("/contract?verbose=1").await;
        assert_eq!(
            (contract.status, contract.json()),
            (200, json!({"contract": "routes.yaml", "loaded": 3}))
        );
        server.stop().await;
    }

    #[tokio::test]
    async fn unready_is_503_with_the_reason() {
        let server = Server::start(admin_with(Err("the database is down".into()))).await;
        let ready = server.get("/ready").await;
        assert_eq!(ready.status, 503);
        assert_eq!(
            ready.json(),
            json!({"status": "unavailable", "detail": "the database is down"})
        );
        assert_eq!(ready.header("retry-after"), Some(RETRY_AFTER));
        let live = server.get("/live").await;
        assert_eq!(live.status, 200, "live even when not ready");
        server.stop().await;
    }

    #[tokio::test]
    async fn a_hanging_readiness_check_is_unavailable() {
        let admin = Admin::new(
            Arc::new(Metrics::new()),
            std::future::pending::<Result<(), String>>,
            || Value::Null,
        );
        let response = admin.readiness(Duration::from_millis(20)).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn other_paths_and_methods() {
        let server = Server::start(admin_with(Ok(()))).await;
        for path in ["/", "/metrics/", "/readyz", "/things/"] {
            let answer = server.get(path).await;
            assert_eq!(answer.status, 404, "{path}");
            assert_eq!(answer.json(), json!({"detail": "Not found."}));
        }
        for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
            let answer = server.send(method, "/metrics").await;
            assert_eq!(answer.status, 405, "{method}");
            assert_eq!(answer.header("allow"), Some("GET, HEAD"));
            assert_eq!(
                answer.json(),
                json!({"detail": format!("Method \"{method}\" not allowed.")})
            );
        }
        assert_eq!(server.send("POST", "/nowhere").await.status, 404);
        server.stop().await;
    }

    #[tokio::test]
    async fn head_has_the_headers_without_a_body() {
        let server = Server::start(admin_with(Ok(()))).await;
        let get = server.get("/live").await;
        let head = server.send("HEAD", "/live").await;
        assert_eq!(head.status, 200);
        assert_eq!(head.body, "");
        assert_eq!(head.header("content-length"), get.header("content-length"));
        assert_eq!(head.header("content-type"), Some("application/json"));
        server.stop().await;
    }

    #[tokio::test]
    async fn shutdown_stops_accepting() {
        let server = Server::start(admin_with(Ok(()))).await;
        let addr = server.addr;
        server.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
