//! Mirror mode through running gateways: `examples/mirror/` in front of a real upstream (a
//! second specgate on its own database) with the native executor as the mirror, and a
//! gateway whose mirror is a slow scripted upstream (the primary must not wait for it, and
//! a full queue skips and counts).

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Db, Gateway, copy_spec, edit, on_both, users_spec};
use serde_json::{Value, json};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/mirror")
}

/// The admin listener's `/mirror` once the mirror compared `n` requests (or after 15 s).
fn mirror_after(gw: &Gateway, n: u64) -> Value {
    let admin = gw.admin.clone().expect("an admin listener");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let report = gw.get_at(&admin, "/mirror").json();
        if report["compared"].as_u64() >= Some(n) || Instant::now() > deadline {
            return report;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// The value of one sample of `/metrics` (0 when absent).
fn metric(gw: &Gateway, sample: &str) -> f64 {
    let admin = gw.admin.clone().expect("an admin listener");
    let text = gw.get_at(&admin, "/metrics").text();
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn mirrored_gateway(db: Db, upstream: &str, extra: &[&str]) -> Gateway {
    let url = format!("http://{upstream}");
    let mut args = vec!["--admin-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    Gateway::start_with_env(db, &example(), &args, &[("UPSTREAM_URL", &url)])
}

on_both! {
    fn the_same_answers_compare_equal_and_a_difference_is_shown_and_counted(db) {
        let upstream = Gateway::users_on(db);
        let gw = mirrored_gateway(db, &upstream.addr, &[]);
        for i in 0..3 {
            let body = json!({"username": format!("user{i}"), "email": format!("u{i}@example.org")});
            let r = gw.json("POST", "/api/users/", &body);
            assert_eq!(r.status, 201, "{}", r.text());
        }
        let duplicate = gw.json("POST", "/api/users/", &json!({"username": "user0", "email": "x@example.org"}));
        assert_eq!(duplicate.status, 400);
        assert_eq!(gw.json("PATCH", "/api/users/2/", &json!({"first_name": "Grace"})).status, 200);
        assert_eq!(gw.get("/api/users/?limit=1&offset=1").status, 200);
        assert_eq!(gw.get("/api/users/2/").json()["first_name"], "Grace");
        assert_eq!(gw.get("/api/users/99/").status, 404);
        assert_eq!(gw.send("DELETE", "/api/users/3/", &[], b"").status, 204);
        // HEAD and OPTIONS are not mirrored.
        assert_eq!(gw.send("HEAD", "/api/users/", &[], b"").status, 200);
        let report = mirror_after(&gw, 9);
        assert_eq!(report["compared"], 9, "{report}");
        assert_eq!(report["differed"], 0, "{report}");
        assert_eq!(report["differences"], json!([]));
        // The mirror really wrote on its own database.
        assert_eq!(gw.sql("SELECT first_name FROM users_user WHERE id = 2"), "Grace");

        // A user only the primary has: the list and its count differ now.
        let r = upstream.json("POST", "/api/users/", &json!({"username": "only", "email": "o@example.org"}));
        assert_eq!(r.status, 201);
        let primary = gw.get("/api/users/");
        assert_eq!(primary.json()["count"], 3, "the client gets the primary's answer");
        let report = mirror_after(&gw, 10);
        assert_eq!(report["differed"], 1, "{report}");
        let entry = &report["differences"][0];
        assert_eq!(entry["route"], "/api/users/");
        assert_eq!(entry["request"]["method"], "GET");
        assert_eq!(entry["request"]["path"], "/api/users/");
        assert_eq!(entry["primary"]["status"], 200);
        assert_eq!(entry["primary"]["body"]["count"], 3);
        assert_eq!(entry["mirrored"]["body"]["count"], 2);
        let differences: Vec<String> = serde_json::from_value(entry["differences"].clone()).unwrap_or_default();
        assert!(differences.contains(&"$.count: 3 vs 2".to_owned()), "{differences:?}");
        let list = "{route=\"/api/users/\",primary=\"legacy\",mirror=\"native\"}";
        let detail = "{route=\"/api/users/{id}/\",primary=\"legacy\",mirror=\"native\"}";
        assert_eq!(metric(&gw, &format!("specgate_mirror_compared_total{list}")), 6.0);
        assert_eq!(metric(&gw, &format!("specgate_mirror_compared_total{detail}")), 4.0);
        assert_eq!(metric(&gw, &format!("specgate_mirror_differences_total{list}")), 1.0);
        assert_eq!(metric(&gw, &format!("specgate_mirror_differences_total{detail}")), 0.0);
        assert_eq!(metric(&gw, &format!("specgate_mirror_skipped_total{list}")), 0.0);
    }
}

/// An HTTP/1.1 server that answers every request after `wait` with an empty JSON list page.
struct Slow {
    addr: String,
    stop: Arc<AtomicBool>,
}

impl Slow {
    fn start(wait: Duration) -> Slow {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("addr").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        thread::spawn(move || answer_slowly(stream, wait));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Slow { addr, stop }
    }
}

impl Drop for Slow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer_slowly(mut stream: TcpStream, wait: Duration) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if common::read_request(&mut stream).is_none() {
        return;
    }
    thread::sleep(wait);
    let body = r#"{"count":0,"next":null,"previous":null,"results":[]}"#;
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
}

/// The Users API served natively, its list mirrored to `${MIRROR_URL}`.
fn mirrored_to_upstream(name: &str) -> common::ScratchSpec {
    let spec = copy_spec(&users_spec(), name);
    let routes = spec.join("routes.yaml");
    edit(
        &routes,
        "resources:",
        "upstreams:\n  next:\n    url: ${MIRROR_URL}\n    response_timeout_ms: 5000\n\nresources:",
    );
    edit(
        &routes,
        "    methods: { GET: list, POST: create }",
        "    methods: { GET: list, POST: create }\n    mirror: { to: next, ignore: [$.results] }",
    );
    spec
}

#[test]
fn a_slow_mirror_does_not_slow_the_primary_and_a_full_queue_skips_and_counts() {
    let slow = Slow::start(Duration::from_millis(800));
    let spec = mirrored_to_upstream("mirror-slow");
    let url = format!("http://{}", slow.addr);
    let gw = Gateway::start_with_env(
        Db::Sqlite,
        &spec,
        &["--admin-listen", "127.0.0.1:0", "--mirror-queue", "1"],
        &[("MIRROR_URL", &url)],
    );
    let mut slowest = Duration::ZERO;
    for _ in 0..6 {
        let started = Instant::now();
        let r = gw.get("/api/users/");
        slowest = slowest.max(started.elapsed());
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert!(
        slowest < Duration::from_millis(700),
        "the primary waited for the mirror: {slowest:?}"
    );
    // One at the mirror, one waiting; the others found the queue full.
    let report = mirror_after(&gw, 2);
    assert_eq!(report["compared"], 2, "{report}");
    assert_eq!(report["skipped"], 4, "{report}");
    assert_eq!(report["differed"], 0, "{report}");
    let list = "{route=\"/api/users/\",primary=\"native\",mirror=\"next\"}";
    assert_eq!(
        metric(&gw, &format!("specgate_mirror_skipped_total{list}")),
        4.0
    );
    assert_eq!(
        metric(&gw, &format!("specgate_mirror_compared_total{list}")),
        2.0
    );
}

fn check(dir: &Path) -> (bool, String) {
    common::check(
        dir,
        &["--spec-only"],
        &[("MIRROR_URL", "http://127.0.0.1:9")],
    )
}

#[test]
fn check_reports_mirror_mistakes_with_their_lines() {
    let spec = mirrored_to_upstream("mirror-check");
    let (ok, text) = check(&spec);
    assert!(ok, "{text}");
    let routes = spec.join("routes.yaml");
    edit(
        &routes,
        "mirror: { to: next, ignore: [$.results] }",
        "mirror: { to: nowhere, ignore: [results, \"$[x]\"] }",
    );
    let line = std::fs::read_to_string(&routes)
        .unwrap_or_default()
        .lines()
        .position(|l| l.contains("to: nowhere"))
        .map_or(0, |i| i + 1);
    let (ok, text) = check(&spec);
    assert!(!ok);
    for message in [
        "GET: unknown mirror target \"nowhere\"",
        "POST: ignore path \"results\": must start with $",
        "GET: ignore path \"$[x]\"",
    ] {
        assert!(
            text.contains(&format!("routes.yaml:{line}: {message}")),
            "{message:?} at line {line} in:\n{text}"
        );
    }
}
