//! Proxy routes: specgate in front of a service it does not own. The upstream is either
//! the Users API served by another specgate (a real service, whose answers the proxied ones
//! must equal byte for byte), or a scripted HTTP server in this file that answers whatever a
//! test makes it answer: bodies that break the schema, garbage, resets, silence.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Db, Gateway, ScratchSpec, copy_spec, edit, users_spec};
use serde_json::{Value, json};

/// What the scripted upstream does with each request.
#[derive(Clone)]
enum Behaviour {
    /// Answers with this status, content type and body.
    Answer(u16, &'static str, String),
    /// Waits this long, then answers 200 with a valid user.
    Slow(Duration),
    /// Writes bytes that are not HTTP, then closes.
    Garbage,
    /// Closes the connection without a byte.
    Reset,
    /// Answers 200 with a valid user in two chunks (chunked encoding), the second only
    /// once the gate opens (waiting up to 10 s).
    Gated(Arc<AtomicBool>),
}

/// A scripted HTTP/1.1 upstream on a loopback port, one thread per connection.
struct Scripted {
    addr: String,
    behaviour: Arc<Mutex<Behaviour>>,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

fn valid_user(id: i64) -> String {
    json!({
        "id": id, "roles": [], "last_login": null, "username": "ada", "first_name": "Ada",
        "last_name": "Lovelace", "is_active": true, "date_joined": "2024-01-01T00:00:00Z",
        "phone_number": null, "email": "ada@example.org"
    })
    .to_string()
}

impl Scripted {
    fn start(behaviour: Behaviour) -> Scripted {
        Scripted::on("127.0.0.1:0", behaviour)
    }

    fn on(addr: &str, behaviour: Behaviour) -> Scripted {
        let listener = TcpListener::bind(addr).expect("binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("addr").to_string();
        let scripted = Scripted {
            addr,
            behaviour: Arc::new(Mutex::new(behaviour)),
            seen: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (behaviour, seen, stop) = (
            scripted.behaviour.clone(),
            scripted.seen.clone(),
            scripted.stop.clone(),
        );
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let behaviour = behaviour.lock().map(|b| b.clone());
                        let seen = seen.clone();
                        if let Ok(behaviour) = behaviour {
                            thread::spawn(move || serve(stream, &behaviour, &seen));
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        scripted
    }

    fn set(&self, behaviour: Behaviour) {
        if let Ok(mut b) = self.behaviour.lock() {
            *b = behaviour;
        }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops accepting and closes the port (connections are then refused).
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut stream: TcpStream, behaviour: &Behaviour, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some(request) = common::read_request(&mut stream) else {
        return;
    };
    if let Ok(mut seen) = seen.lock() {
        seen.push(String::from_utf8_lossy(&request.data).into_owned());
    }
    let answer = |status: u16, media: &str, body: &str| {
        format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {media}\r\nContent-Length: {}\r\nConnection: close\r\nX-Upstream: scripted\r\n\r\n{body}",
            body.len()
        )
    };
    let bytes = match behaviour {
        Behaviour::Answer(status, media, body) => answer(*status, media, body),
        Behaviour::Slow(wait) => {
            thread::sleep(*wait);
            answer(200, "application/json", &valid_user(1))
        }
        Behaviour::Garbage => "this is not HTTP at all\r\n\r\n".to_owned(),
        Behaviour::Reset => return,
        Behaviour::Gated(gate) => return gated(stream, gate),
    };
    let _ = stream.write_all(bytes.as_bytes());
}

/// [`Behaviour::Gated`]'s answer: the head and the first half of the body, then the rest
/// once `gate` opens.
fn gated(mut stream: TcpStream, gate: &AtomicBool) {
    let body = valid_user(1);
    let (first, second) = body.split_at(body.len() / 2);
    let chunk = |part: &str| format!("{:x}\r\n{part}\r\n", part.len());
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let _ = stream.write_all(format!("{head}{}", chunk(first)).as_bytes());
    let _ = stream.flush();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gate.load(Ordering::SeqCst) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let _ = stream.write_all(format!("{}0\r\n\r\n", chunk(second)).as_bytes());
}

/// The Users API's spec with both routes proxied to `${UPSTREAM_URL}` in `mode`.
fn proxied_spec(mode: &str, name: &str) -> ScratchSpec {
    let spec = copy_spec(&users_spec(), name);
    let routes = spec.join("routes.yaml");
    edit(
        &routes,
        "resources:",
        "upstreams:\n  legacy:\n    url: ${UPSTREAM_URL}\n    response_timeout_ms: 700\n    connect_timeout_ms: 300\n\nresources:",
    );
    edit(
        &routes,
        "    methods: { GET: list, POST: create }",
        &format!(
            "    methods: {{ GET: list, POST: create }}\n    upstream: legacy\n    validate: {mode}"
        ),
    );
    edit(
        &routes,
        "    methods: { GET: retrieve,",
        &format!("    upstream: legacy\n    validate: {mode}\n    methods: {{ GET: retrieve,"),
    );
    spec
}

fn proxy(spec: &Path, upstream: &str) -> Gateway {
    let url = format!("http://{upstream}");
    Gateway::start_with_env(Db::Sqlite, spec, &[], &[("UPSTREAM_URL", &url)])
}

/// Every key of a JSON object, in order.
fn keys(value: &Value) -> Vec<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn proxied_answers_are_the_upstreams_own_with_links_pointing_at_the_gateway() {
    let upstream = Gateway::users_on(Db::Sqlite);
    let spec = proxied_spec("enforce", "proxy-same");
    let gw = proxy(&spec, &upstream.addr);
    for i in 0..12 {
        let body = json!({"username": format!("user{i}"), "email": format!("u{i}@example.org")});
        let r = gw.json("POST", "/api/users/", &body);
        assert_eq!(r.status, 201, "{}", r.text());
    }
    for path in [
        "/api/users/",
        "/api/users/?limit=5&offset=5",
        "/api/users/3/",
        "/api/users/?username__icontains=USER1",
        "/api/users/999/",
    ] {
        let direct = upstream.get(path);
        let proxied = gw.get(path);
        assert_eq!(proxied.status, direct.status, "{path}");
        let direct = direct.text().replace(&upstream.addr, &gw.addr);
        assert_eq!(proxied.text(), direct, "{path}");
    }
    let page = gw.get("/api/users/?limit=5").json();
    let next = page["next"].as_str().unwrap_or_default();
    assert!(next.starts_with(&format!("http://{}/", gw.addr)), "{next}");
    assert_eq!(keys(&page), ["count", "next", "previous", "results"]);
    let r = gw.json("PATCH", "/api/users/3/", &json!({"first_name": "Grace"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(upstream.get("/api/users/3/").json()["first_name"], "Grace");
    assert_eq!(gw.send("DELETE", "/api/users/3/", &[], b"").status, 204);
    assert_eq!(upstream.get("/api/users/3/").status, 404);
    let head = gw.send("HEAD", "/api/users/4/", &[], b"");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let options = gw.send("OPTIONS", "/api/users/", &[], b"");
    assert_eq!(options.status, 200);
    assert_eq!(options.json()["name"], "User List");
}

#[test]
fn invalid_requests_get_the_native_400_and_never_reach_the_upstream() {
    let upstream = Scripted::start(Behaviour::Answer(201, "application/json", valid_user(1)));
    let spec = proxied_spec("enforce", "proxy-invalid");
    let gw = proxy(&spec, &upstream.addr);
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "", "email": "nope"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"username": ["This field may not be blank."], "email": ["Enter a valid email address."]})
    );
    assert_eq!(gw.get("/api/users/abc/").status, 404);
    let r = gw.get("/api/users/?username__in=a%00b");
    assert_eq!(r.status, 400, "{}", r.text());
    let r = gw.get("/api/users/?search=%ff%fe");
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["detail"],
        "The query string is not valid UTF-8 once percent-decoded."
    );
    assert!(upstream.requests().is_empty(), "{:?}", upstream.requests());
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "ada", "email": "ada@example.org"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(upstream.requests().len(), 1);
}

#[test]
fn report_mode_forwards_an_invalid_request_and_names_its_problems() {
    let upstream = Scripted::start(Behaviour::Answer(201, "application/json", valid_user(1)));
    let spec = proxied_spec("report", "proxy-report-request");
    let gw = proxy(&spec, &upstream.addr);
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "", "email": "nope"}),
    );
    assert_eq!(
        (r.status, r.json()),
        (
            201,
            serde_json::from_str(&valid_user(1)).unwrap_or_default()
        )
    );
    assert_eq!(upstream.requests().len(), 1, "the upstream saw it");
    let header = r.header("specgate-violations").unwrap_or_default();
    let listed: Vec<String> = serde_json::from_str(header).unwrap_or_default();
    assert_eq!(listed.len(), 1, "{header}");
    assert!(listed[0].starts_with("request: 400 "), "{header}");
    assert!(
        listed[0].contains("Enter a valid email address."),
        "{header}"
    );
    // A query that is not UTF-8 goes upstream as sent, named in the header.
    let r = gw.get("/api/users/?search=%ff%fe");
    let header = r.header("specgate-violations").unwrap_or_default();
    assert!(header.contains("not valid UTF-8"), "{header}");
    let seen = upstream.requests();
    assert_eq!(seen.len(), 2, "the upstream saw it");
    assert!(
        seen[1].starts_with("GET /api/users/?search=%ff%fe "),
        "{seen:?}"
    );
}

#[test]
fn forwarded_requests_carry_forwarding_headers_ids_and_no_hop_by_hop_headers() {
    let upstream = Scripted::start(Behaviour::Answer(200, "application/json", valid_user(7)));
    let spec = proxied_spec("enforce", "proxy-headers");
    let gw = proxy(&spec, &upstream.addr);
    let r = gw.send(
        "GET",
        "/api/users/7/?x=1",
        &[
            ("X-Request-Id", "req-123"),
            ("Connection", "close, X-Drop-Me"),
            ("X-Drop-Me", "1"),
            ("Keep-Alive", "timeout=5"),
            ("X-Forwarded-For", "203.0.113.9"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-upstream"), Some("scripted"));
    assert_eq!(r.header("x-request-id"), Some("req-123"));
    let seen = upstream.requests();
    let request = seen
        .first()
        .map(String::as_str)
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        request.starts_with("get /api/users/7/?x=1 http/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("host: {}\r\n", gw.addr)),
        "{request}"
    );
    assert!(request.contains("x-request-id: req-123\r\n"), "{request}");
    assert!(
        request.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\r\n"),
        "{request}"
    );
    assert!(request.contains("x-forwarded-proto: http\r\n"), "{request}");
    assert!(
        request.contains(&format!("x-forwarded-host: {}\r\n", gw.addr)),
        "{request}"
    );
    assert!(
        request.contains(&format!(
            "forwarded: for=127.0.0.1;proto=http;host=\"{}\"\r\n",
            gw.addr
        )),
        "{request}"
    );
    assert!(
        request.contains("traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{request}"
    );
    assert!(
        !request.contains("00f067aa0ba902b7"),
        "a new span id: {request}"
    );
    assert!(!request.contains("x-drop-me"), "{request}");
    assert!(!request.contains("keep-alive"), "{request}");
}

#[test]
fn a_response_breaking_the_schema_is_a_502_in_enforce_mode_and_reported_in_report_mode() {
    let bad = json!({"id": "seven", "username": 5}).to_string();
    let upstream = Scripted::start(Behaviour::Answer(200, "application/json", bad.clone()));
    let enforce_spec = proxied_spec("enforce", "proxy-enforce");
    let report_spec = proxied_spec("report", "proxy-report");
    let off_spec = proxied_spec("off", "proxy-off");
    let enforce = proxy(&enforce_spec, &upstream.addr);
    let report = proxy(&report_spec, &upstream.addr);
    let off = proxy(&off_spec, &upstream.addr);

    let r = enforce.get("/api/users/7/");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    let problem = r.json();
    assert_eq!(problem["status"], 502);
    let violations = problem["violations"].to_string();
    assert!(violations.contains("/id"), "{violations}");
    assert!(violations.contains("/username"), "{violations}");

    let r = report.get("/api/users/7/");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), bad, "the upstream's body, untouched");
    let header = r.header("specgate-violations").unwrap_or_default();
    let listed: Vec<String> = serde_json::from_str(header).unwrap_or_default();
    assert!(listed.iter().any(|v| v.contains("/id")), "{header}");

    let r = off.get("/api/users/7/");
    assert_eq!((r.status, r.text()), (200, bad.clone()));
    assert_eq!(r.header("specgate-violations"), None);

    // A status the operation does not declare is a violation too; so is a body that is not
    // JSON where JSON is declared.
    upstream.set(Behaviour::Answer(418, "application/json", "{}".into()));
    let r = enforce.get("/api/users/7/");
    assert_eq!(r.status, 502);
    assert!(
        r.text().contains("status 418 is not declared"),
        "{}",
        r.text()
    );
    let r = report.get("/api/users/7/");
    assert_eq!((r.status, r.text().as_str()), (418, "{}"));
    upstream.set(Behaviour::Answer(200, "text/html", "<p>hi</p>".into()));
    assert_eq!(enforce.get("/api/users/7/").status, 502);

    let metrics_spec = proxied_spec("enforce", "proxy-metrics");
    let watched = Gateway::start_with_env(
        Db::Sqlite,
        &metrics_spec,
        &["--admin-listen", "127.0.0.1:0"],
        &[("UPSTREAM_URL", &format!("http://{}", upstream.addr))],
    );
    assert_eq!(watched.get("/api/users/7/").status, 502);
    let admin = watched.admin.clone().unwrap_or_default();
    let metrics = watched.get_at(&admin, "/metrics").text();
    assert!(
        metrics.contains(
            "specgate_upstream_violations_total{upstream=\"legacy\",route=\"/api/users/{id}/\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("specgate_upstream_responses_total{upstream=\"legacy\",status=\"200\"} 1"),
        "{metrics}"
    );
}

#[test]
fn upstream_faults_are_clear_502s_and_504s_and_the_proxy_recovers_without_a_restart() {
    let upstream = Scripted::start(Behaviour::Answer(200, "application/json", valid_user(1)));
    let addr = upstream.addr.clone();
    let spec = proxied_spec("enforce", "proxy-faults");
    let gw = proxy(&spec, &addr);
    assert_eq!(gw.get("/api/users/1/").status, 200);

    upstream.set(Behaviour::Slow(Duration::from_millis(1500)));
    let started = Instant::now();
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(started.elapsed() < Duration::from_millis(1400));
    assert_eq!(
        r.json(),
        json!({"detail": "The upstream service did not answer in time."})
    );
    assert_eq!(r.header("retry-after"), Some("5"));

    upstream.set(Behaviour::Garbage);
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"detail": "The upstream service's answer is broken."})
    );

    upstream.set(Behaviour::Reset);
    assert_eq!(gw.get("/api/users/1/").status, 502);

    upstream.stop();
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"detail": "The upstream service is unreachable; try again shortly."})
    );
    assert_eq!(r.header("retry-after"), Some("5"));

    let back = Scripted::on(
        &addr,
        Behaviour::Answer(200, "application/json", valid_user(1)),
    );
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 200, "{}", r.text());
    drop(back);
}

#[test]
fn an_oversized_answer_is_cut_at_the_limit() {
    let huge = format!("{{\"id\": 1, \"pad\": \"{}\"}}", "x".repeat(64 * 1024));
    let upstream = Scripted::start(Behaviour::Answer(200, "application/json", huge));
    let spec = proxied_spec("off", "proxy-huge");
    edit(
        &spec.join("routes.yaml"),
        "    response_timeout_ms: 700",
        "    response_timeout_ms: 700\n    max_response_body: 1024",
    );
    let gw = proxy(&spec, &upstream.addr);
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 502, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"detail": "The upstream service's answer is too large."})
    );
}

/// The shipped example, as a new user runs it: examples/proxy in front of the Users API,
/// its address from `UPSTREAM_URL`.
#[test]
fn the_shipped_proxy_example_serves_the_api_of_its_upstream() {
    let upstream = Gateway::users_on(Db::Sqlite);
    let example = users_spec().join("examples/proxy");
    let gw = proxy(&example, &upstream.addr);
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "grace", "email": "grace@example.org"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap_or_default();
    assert_eq!(
        upstream.get(&format!("/api/users/{id}/")).json()["username"],
        "grace"
    );
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "", "email": "x"}),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(upstream.get("/api/users/").json()["count"], 1);
}

/// `http2: true` speaks HTTP/2 (prior knowledge) to the upstream; `host: upstream` sends the
/// upstream's own authority, so its links point at it.
#[test]
fn an_upstream_can_be_reached_over_http2_with_its_own_host() {
    let upstream = Gateway::users_on(Db::Sqlite);
    let spec = proxied_spec("enforce", "proxy-h2");
    let routes = spec.join("routes.yaml");
    edit(
        &routes,
        "    connect_timeout_ms: 300",
        "    connect_timeout_ms: 300\n    http2: true",
    );
    edit(
        &routes,
        "    upstream: legacy\n    validate: enforce\n    methods: { GET: retrieve,",
        "    upstream: legacy\n    validate: enforce\n    host: upstream\n    methods: { GET: retrieve,",
    );
    let gw = proxy(&spec, &upstream.addr);
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "h2", "email": "h2@example.org"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap_or_default();
    let r = gw.get(&format!("/api/users/{id}/"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["username"], "h2");
    let page = gw.get("/api/users/?limit=1").json();
    assert_eq!(page["count"], 1);
}

#[test]
fn host_upstream_sends_the_upstreams_own_authority() {
    let upstream = Scripted::start(Behaviour::Answer(200, "application/json", valid_user(7)));
    let spec = proxied_spec("enforce", "proxy-host");
    edit(
        &spec.join("routes.yaml"),
        "    upstream: legacy\n    validate: enforce\n    methods: { GET: retrieve,",
        "    upstream: legacy\n    validate: enforce\n    host: upstream\n    methods: { GET: retrieve,",
    );
    let gw = proxy(&spec, &upstream.addr);
    assert_eq!(gw.get("/api/users/7/").status, 200);
    let seen = upstream.requests().join("").to_ascii_lowercase();
    assert!(
        seen.contains(&format!("host: {}\r\n", upstream.addr)),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("x-forwarded-host: {}\r\n", gw.addr)),
        "{seen}"
    );
}

/// A spec that proxies every route, started with no database named, opens none: no SQLite
/// file appears beside it, it is ready, `check` needs none, and a reload that would serve
/// a route natively is refused (saying why) while the proxy goes on.
#[test]
fn a_spec_that_proxies_every_route_runs_without_a_database() {
    let upstream = Gateway::users_on(Db::Sqlite);
    let spec = proxied_spec("enforce", "no-database");
    let url = format!("http://{}", upstream.addr);
    let env = [("UPSTREAM_URL", url.as_str())];
    let gw = Gateway::start_without_database(&spec, &["--admin-listen", "127.0.0.1:0"], &env);
    let r = gw.json(
        "POST",
        "/api/users/",
        &json!({"username": "ada", "email": "ada@example.org"}),
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(gw.get("/api/users/").json()["count"], 1);
    assert_eq!(gw.get("/ready").status, 200);
    let admin = gw.admin.as_deref().unwrap_or_default();
    assert_eq!(gw.get_at(admin, "/ready").status, 200);
    let files: Vec<_> = std::fs::read_dir(&*spec)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !files.iter().any(|f| f.to_string_lossy().contains("sqlite")),
        "a database file was made: {files:?}"
    );
    let (ok, out) = common::check(&spec, &[], &env);
    assert!(ok, "{out}");
    assert!(out.contains("no database is needed"), "{out}");

    // The detail route served natively: refused, and it is still proxied.
    edit(
        &spec.join("routes.yaml"),
        "    upstream: legacy\n    validate: enforce\n    methods: { GET: retrieve,",
        "    methods: { GET: retrieve,",
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let status = gw.get_at(admin, "/contract").json();
        if status["last_reload"]["result"] == "refused" || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status["last_reload"]["result"], "refused", "{status}");
    assert!(
        status.to_string().contains("started without one"),
        "the refusal says why: {status}"
    );
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(upstream.get("/api/users/1/").json()["username"], "ada");
}

/// Sends `GET path` on a connection of its own, and reads what arrives within `wait`.
fn first_bytes(addr: &str, path: &str, wait: Duration) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("sends");
    let _ = stream.set_read_timeout(Some(wait));
    let mut got = vec![0; 4096];
    let n = std::io::Read::read(&mut stream, &mut got).unwrap_or(0);
    got.truncate(n);
    (stream, got)
}

/// Reads the rest of a response (up to 10 s).
fn rest(mut stream: TcpStream, mut got: Vec<u8>) -> String {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = std::io::Read::read_to_end(&mut stream, &mut got);
    String::from_utf8_lossy(&got).into_owned()
}

/// With `validate: off` nothing reads an answer, so it is streamed: the client has the
/// head and the first half of the body while the upstream still holds the rest. A checked
/// route buffers the same answer, and sends nothing until it has all of it.
#[test]
fn unchecked_answers_are_streamed_and_checked_ones_buffered() {
    let body = valid_user(1);
    let half = &body[..body.len() / 2];
    for (mode, streamed) in [("off", true), ("enforce", false)] {
        let gate = Arc::new(AtomicBool::new(false));
        let upstream = Scripted::start(Behaviour::Gated(gate.clone()));
        let spec = proxied_spec(mode, &format!("stream-{mode}"));
        edit(
            &spec.join("routes.yaml"),
            "response_timeout_ms: 700",
            "response_timeout_ms: 10000",
        );
        let gw = proxy(&spec, &upstream.addr);
        let wait = if streamed {
            Duration::from_secs(10)
        } else {
            Duration::from_millis(500)
        };
        let (stream, mut got) = first_bytes(&gw.addr, "/api/users/1/", wait);
        let early = String::from_utf8_lossy(&got).into_owned();
        if streamed {
            // The first chunk may come in more than one read.
            while !String::from_utf8_lossy(&got).contains(half) {
                let mut more = vec![0; 4096];
                let n = std::io::Read::read(&mut &stream, &mut more).unwrap_or(0);
                assert!(
                    n > 0,
                    "{mode}: the first half did not come: {:?}",
                    String::from_utf8_lossy(&got)
                );
                got.extend_from_slice(&more[..n]);
            }
            assert!(early.starts_with("HTTP/1.1 200"), "{mode}: {early}");
        } else {
            assert!(
                early.is_empty(),
                "{mode}: sent before the whole answer was in: {early}"
            );
        }
        gate.store(true, Ordering::SeqCst);
        let whole = rest(stream, got);
        assert!(whole.starts_with("HTTP/1.1 200"), "{mode}: {whole}");
        let (_, tail) = whole.split_once("\r\n\r\n").unwrap_or_default();
        let joined: String = if streamed {
            // Chunked: the chunks' data, in order.
            tail.split("\r\n").skip(1).step_by(2).collect()
        } else {
            tail.to_owned()
        };
        assert_eq!(joined, body, "{mode}: {whole}");
    }
}

/// A streamed answer is still held to the upstream's size limit: one that declares more
/// than it is a clean 502; one that only turns out larger (chunked) breaks off where it
/// passes it, never sending the end of the body.
#[test]
fn a_streamed_answer_over_the_size_limit_is_cut() {
    let gate = Arc::new(AtomicBool::new(true));
    let upstream = Scripted::start(Behaviour::Gated(gate));
    let spec = proxied_spec("off", "stream-limit");
    edit(
        &spec.join("routes.yaml"),
        "    response_timeout_ms: 700",
        "    response_timeout_ms: 5000\n    max_response_body: 100",
    );
    let gw = proxy(&spec, &upstream.addr);
    let (stream, got) = first_bytes(&gw.addr, "/api/users/1/", Duration::from_secs(10));
    let whole = rest(stream, got);
    assert!(whole.starts_with("HTTP/1.1 200"), "{whole}");
    assert!(
        !whole.ends_with("0\r\n\r\n"),
        "the body was not cut: {whole}"
    );
    assert!(!whole.contains(&valid_user(1)), "{whole}");

    upstream.set(Behaviour::Answer(200, "application/json", "x".repeat(101)));
    let r = gw.get("/api/users/1/");
    assert_eq!(r.status, 502, "{}", r.text());
}

/// A proxied route leaves conditional requests to the upstream: `If-Match` and
/// `If-None-Match` go up as sent, and its `ETag`, 304 and 412 come back as it answered.
#[test]
fn conditional_headers_pass_through_untouched_both_ways() {
    let scripted = Scripted::start(Behaviour::Answer(200, "application/json", valid_user(1)));
    let spec = proxied_spec("enforce", "proxy-conditional-scripted");
    let gw = proxy(&spec, &scripted.addr);
    let sent = [
        ("If-Match", "\"a,b\", W/\"c\""),
        ("If-None-Match", "W/\"d\", *"),
        ("If-Modified-Since", "Tue, 01 Dec 2026 10:00:00 GMT"),
        ("If-Unmodified-Since", "Mon, 30 Nov 2026 10:00:00 GMT"),
    ];
    let r = gw.send("GET", "/api/users/1/", &sent, b"");
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = scripted.requests().concat().to_ascii_lowercase();
    for (name, value) in sent {
        let line = format!(
            "{}: {}\r\n",
            name.to_ascii_lowercase(),
            value.to_ascii_lowercase()
        );
        assert!(seen.contains(&line), "{line:?} not in {seen}");
    }

    // In front of a real Users API: its tags, its 304 and its 412 come back as they are.
    let upstream = Gateway::users_on(Db::Sqlite);
    let spec = proxied_spec("enforce", "proxy-conditional");
    let gw = proxy(&spec, &upstream.addr);
    let body = json!({"username": "ada", "email": "ada@example.org"});
    let created = gw.json("POST", "/api/users/", &body);
    assert_eq!(created.status, 201, "{}", created.text());
    let tag = created
        .header("etag")
        .expect("the upstream's ETag")
        .to_owned();
    assert_eq!(
        upstream.get("/api/users/1/").header("etag"),
        Some(tag.as_str())
    );
    let r = gw.send("GET", "/api/users/1/", &[("If-None-Match", &tag)], b"");
    assert_eq!(r.status, 304, "{}", r.text());
    assert_eq!(r.header("etag"), Some(tag.as_str()));
    assert!(r.body.is_empty());
    let put = br#"{"username": "ada", "email": "ada@example.org", "first_name": "A"}"#;
    let stale = [
        ("Content-Type", "application/json"),
        ("If-Match", "\"stale\""),
    ];
    let r = gw.send("PUT", "/api/users/1/", &stale, put);
    assert_eq!(r.status, 412, "{}", r.text());
    let current = [
        ("Content-Type", "application/json"),
        ("If-Match", tag.as_str()),
    ];
    let r = gw.send("PUT", "/api/users/1/", &current, put);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_ne!(r.header("etag"), Some(tag.as_str()));
    assert_eq!(
        upstream.get("/api/users/1/").header("etag"),
        r.header("etag")
    );
}
