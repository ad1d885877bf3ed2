//! Rate limits through real HTTP: exact on one instance (the burst, the 429 and its headers,
//! allowed again after `Retry-After`), clients behind a trusted proxy told apart, one limit
//! held by three instances on one Redis, and a private Redis stopped and started again under
//! each failure choice.

mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Gateway, ScratchSpec, copy_spec, edit, on_both, users_spec};
use serde_json::json;

static NEXT: AtomicUsize = AtomicUsize::new(0);

const LIST: &str = "    methods: { GET: list, POST: create }\n";
const DETAIL: &str =
    "    methods: { GET: retrieve, PUT: update, PATCH: partial_update, DELETE: destroy }\n";

/// The Users API with `extra` appended to its routes.yaml and `rate_limit: NAME` on the
/// routes given.
fn spec(name: &str, extra: &str, list: Option<&str>, detail: Option<&str>) -> ScratchSpec {
    let dir = copy_spec(&users_spec(), name);
    let routes = dir.join("routes.yaml");
    if let Some(limit) = list {
        edit(&routes, LIST, &format!("{LIST}    rate_limit: {limit}\n"));
    }
    if let Some(limit) = detail {
        edit(
            &routes,
            DETAIL,
            &format!("{DETAIL}    rate_limit: {limit}\n"),
        );
    }
    common::add_to_routes(&routes, extra);
    dir
}

/// A Redis key prefix no other test (or run) uses.
fn prefix() -> String {
    format!(
        "specgate-test:{}:{}:{}:",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    )
}

fn metric(gw: &Gateway, line_start: &str) -> f64 {
    let admin = gw.admin.as_deref().expect("an admin listener");
    let text = gw.get_at(admin, "/metrics").text();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

on_both! {
    /// Rate 1 a second, burst 3: three requests at once pass with the remaining count going
    /// down, the fourth gets DRF's 429 with `Retry-After` and both IETF headers, and after
    /// `Retry-After` seconds one passes again. A route without a limit carries no header.
    fn a_burst_passes_then_429_until_retry_after(db) {
        let extra = "rate_limits:\n  tight:\n    rate: 1\n    per: second\n    burst: 3\n";
        let dir = spec("rl-exact", extra, Some("tight"), None);
        let gw = Gateway::start_on(db, &dir, &["--admin-listen", "127.0.0.1:0"]);
        for remaining in [2, 1, 0] {
            let reply = gw.get("/api/users/");
            assert_eq!(reply.status, 200, "{}", reply.text());
            assert_eq!(reply.header("ratelimit-policy"), Some("\"tight\";q=3;w=3"));
            let state = reply.header("ratelimit").expect("a RateLimit header");
            assert!(
                state.starts_with(&format!("\"tight\";r={remaining};t=")),
                "{state}"
            );
        }
        let refused = gw.get("/api/users/");
        assert_eq!(refused.status, 429);
        assert_eq!(
            refused.json(),
            json!({"detail": "Request was throttled. Expected available in 1 second."})
        );
        assert_eq!(refused.header("retry-after"), Some("1"));
        assert_eq!(refused.header("ratelimit"), Some("\"tight\";r=0;t=1"));
        assert_eq!(refused.header("ratelimit-policy"), Some("\"tight\";q=3;w=3"));
        assert_eq!(refused.header("content-type"), Some("application/json"));
        let detail = gw.get("/api/users/1/");
        assert_eq!(detail.header("ratelimit"), None);
        std::thread::sleep(Duration::from_secs(1));
        let again = gw.get("/api/users/");
        assert_eq!(again.status, 200, "{}", again.text());
        assert!(again.header("ratelimit").is_some_and(|v| v.starts_with("\"tight\";r=0;")));
        let limited = "specgate_rate_limit_decisions_total{route=\"/api/users/\",store=\"memory\",result=\"limited\"}";
        let allowed = "specgate_rate_limit_decisions_total{route=\"/api/users/\",store=\"memory\",result=\"allowed\"}";
        assert_eq!(metric(&gw, limited), 1.0);
        assert_eq!(metric(&gw, allowed), 4.0);
        let document = gw.get("/openapi.json").json();
        let throttled = &document["paths"]["/api/users/"]["get"]["responses"]["429"];
        assert!(throttled["headers"]["Retry-After"].is_object(), "{throttled}");
        assert!(document["paths"]["/api/users/{id}/"]["get"]["responses"]["429"].is_null());
        let meta = users_spec().join("tests/fixtures/openapi-3.1-schema.json");
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(meta).expect("vendored")).expect("JSON");
        let validator = jsonschema::validator_for(&meta).expect("compiles");
        let errors: Vec<String> = validator.iter_errors(&document).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    /// Behind a trusted proxy each client in `X-Forwarded-For` has its own count; from an
    /// address that is no trusted proxy the header is ignored. The settings' limit covers
    /// every route, and a wait of two seconds is said in DRF's plural.
    fn forwarded_clients_are_counted_apart(db) {
        let trusted = "rate_limits:\n  each:\n    rate: 30\n    per: minute\n    burst: 1\n\
                       settings:\n  rate_limit: each\n  trusted_proxies: [127.0.0.0/8]\n";
        let dir = spec("rl-forwarded", trusted, None, None);
        let gw = Gateway::start_on(db, &dir, &[]);
        let from = |client: &str| gw.send("GET", "/api/users/1/", &[("X-Forwarded-For", client)], b"");
        assert_eq!(from("203.0.113.1").status, 404);
        let refused = from("203.0.113.1");
        assert_eq!(refused.status, 429);
        assert_eq!(
            refused.json(),
            json!({"detail": "Request was throttled. Expected available in 2 seconds."})
        );
        assert_eq!(refused.header("retry-after"), Some("2"));
        assert_eq!(from("198.51.100.2, 203.0.113.2").status, 404);
        assert_eq!(from("203.0.113.2").status, 429);
        let untrusted = "rate_limits:\n  each:\n    rate: 30\n    per: minute\n    burst: 1\n\
                         settings:\n  rate_limit: each\n  trusted_proxies: [10.0.0.0/8]\n";
        let dir = spec("rl-untrusted", untrusted, None, None);
        let gw = Gateway::start_on(db, &dir, &[]);
        let from = |client: &str| gw.send("GET", "/api/users/", &[("X-Forwarded-For", client)], b"");
        assert_eq!(from("203.0.113.1").status, 200);
        assert_eq!(from("203.0.113.2").status, 429);
    }

    /// Three instances on one Redis share one limit: of 30 requests sent round-robin, as many
    /// pass as the burst plus what the elapsed time gave back, never three bursts.
    fn three_instances_hold_one_limit_on_redis(db) {
        let extra = format!(
            "rate_limits:\n  shared:\n    rate: 30\n    per: minute\n    burst: 10\n    \
             store: redis\n    redis_url: redis://127.0.0.1:6379\n    key_prefix: \"{}\"\n",
            prefix()
        );
        let dir = spec("rl-three", &extra, Some("shared"), None);
        let gateways: Vec<Gateway> = (0..3).map(|_| Gateway::start_on(db, &dir, &[])).collect();
        let start = Instant::now();
        let mut allowed = 0;
        for i in 0..30 {
            let reply = gateways[i % 3].get("/api/users/");
            match reply.status {
                200 => allowed += 1,
                429 => {}
                other => panic!("{other}: {}", reply.text()),
            }
        }
        // One request's share comes back every 2 seconds.
        let elapsed = start.elapsed();
        let given_back = (elapsed.as_secs_f64() / 2.0).ceil() as usize;
        eprintln!("three instances: {allowed} of 30 allowed in {elapsed:?} (burst 10, +1 per 2 s)");
        assert!(allowed >= 10, "{allowed}");
        assert!(allowed <= 10 + given_back, "{allowed} in {elapsed:?}");
    }
}

on_both! {
    /// An edited limit serves after the reload, with new counts: the old burst of one
    /// becomes three.
    fn a_reloaded_limit_serves_at_once(db) {
        let extra = "rate_limits:\n  edited:\n    rate: 1\n    per: hour\n    burst: 1\n";
        let dir = spec("rl-reload", extra, Some("edited"), None);
        let gw = Gateway::start_on(db, &dir, &[]);
        assert_eq!(status(&gw, "/api/users/"), 200);
        assert_eq!(status(&gw, "/api/users/"), 429);
        edit(&dir.join("routes.yaml"), "    burst: 1\n", "    burst: 3\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while gw.get("/api/users/").header("ratelimit-policy") != Some("\"edited\";q=3;w=10800") {
            assert!(Instant::now() < deadline, "the edit was not picked up");
            std::thread::sleep(Duration::from_millis(100));
        }
        // The request that saw the new policy was its first; two more fit, then 429.
        assert_eq!(status(&gw, "/api/users/"), 200);
        assert_eq!(status(&gw, "/api/users/"), 200);
        assert_eq!(status(&gw, "/api/users/"), 429);
    }
}

/// A signed token for `subject` that `examples/secured/` accepts for reads.
fn token(subject: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let claims = json!({"sub": subject, "exp": now + 600, "scope": "users:read"});
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).expect("a secret");
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("signs")
}

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";

fn secured(db: common::Db, redis_url: &str) -> Gateway {
    let spec = users_spec().join("examples/secured");
    let env = [
        ("JWT_SECRET", SECRET),
        ("RATE_LIMIT", "2"),
        ("REDIS_URL", redis_url),
    ];
    Gateway::start_with_env(db, &spec, &[], &env)
}

fn read_as(gw: &Gateway, token: &str) -> common::Reply {
    gw.send(
        "GET",
        "/api/users/",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    )
}

on_both! {
    /// `examples/secured/`: each token subject has its own `${RATE_LIMIT}` a minute, in
    /// memory without `REDIS_URL`, and shared by two instances with it.
    fn the_secured_example_limits_each_subject(db) {
        // Subjects of their own, so a count left in Redis by an earlier run cannot interfere.
        let alice = token(&format!("alice-{}", prefix()));
        let bob = token(&format!("bob-{}", prefix()));
        let gw = secured(db, "");
        assert_eq!(read_as(&gw, &alice).status, 200);
        let second = read_as(&gw, &alice);
        assert_eq!(second.header("ratelimit-policy"), Some("\"per_subject\";q=2;w=60"));
        assert_eq!(read_as(&gw, &alice).status, 429);
        assert_eq!(read_as(&gw, &bob).status, 200);
        assert_eq!(gw.get("/api/users/").status, 401, "no token: refused before any count");
        let shared = [secured(db, "redis://127.0.0.1:6379"), secured(db, "redis://127.0.0.1:6379")];
        assert_eq!(read_as(&shared[0], &alice).status, 200);
        assert_eq!(read_as(&shared[1], &alice).status, 200);
        assert_eq!(read_as(&shared[0], &alice).status, 429);
        assert_eq!(read_as(&shared[1], &alice).status, 429);
        assert_eq!(read_as(&shared[1], &bob).status, 200);
    }
}

on_both! {
    /// A limit keyed by a token claim (`claim:tenant`): two subjects of one tenant share one
    /// count, another tenant has its own.
    fn a_limit_keyed_by_a_claim_counts_per_claim_value(db) {
        let spec = users_spec().join("examples/secured");
        let dir = common::copy_spec(&spec, "rl-claim");
        common::edit(&dir.join("routes.yaml"), "key: claim:sub", "key: claim:tenant");
        std::fs::copy(spec.join("api-keys.yaml"), dir.join("api-keys.yaml")).expect("copies");
        let env = [("JWT_SECRET", SECRET), ("RATE_LIMIT", "2"), ("REDIS_URL", "")];
        let gw = Gateway::start_with_env(db, &dir, &[], &env);
        let tenant = format!("acme-{}", prefix());
        let as_member = |sub: &str, tenant: &str| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let claims = json!({"sub": sub, "tenant": tenant, "exp": now + 600, "scope": "users:read"});
            let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).expect("a secret");
            let token = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key)
                .expect("signs");
            read_as(&gw, &token).status
        };
        assert_eq!(as_member("alice", &tenant), 200);
        assert_eq!(as_member("bob", &tenant), 200);
        assert_eq!(as_member("carol", &tenant), 429, "the tenant's two are used up");
        assert_eq!(as_member("alice", "other"), 200, "another tenant counts apart");
    }
}

/// A private Redis on a free loopback port, stopped when dropped.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> PrivateRedis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = PrivateRedis { port, child: None };
        redis.restart();
        redis
    }

    fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--port", &self.port.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `probe` until it gives `want`, for up to ten seconds.
fn eventually(want: u16, probe: impl Fn() -> u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = probe();
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "still {got}, not {want}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn failure_spec(name: &str, redis: &PrivateRedis, choices: (&str, &str)) -> ScratchSpec {
    let limit = |name: &str, choice: &str| {
        format!(
            "  {name}:\n    rate: 1\n    per: minute\n    burst: 2\n    store: redis\n    \
             redis_url: {}\n    key_prefix: \"{}\"\n    on_redis_failure: {choice}\n",
            redis.url(),
            prefix()
        )
    };
    let extra = format!(
        "rate_limits:\n{}{}",
        limit("list", choices.0),
        limit("detail", choices.1)
    );
    spec(name, &extra, Some("list"), Some("detail"))
}

fn status(gw: &Gateway, path: &str) -> u16 {
    gw.get(path).status
}

on_both! {
    /// Redis stopped mid-test: `deny` answers 503 with `Retry-After`, `local` counts in the
    /// process (its own burst, then 429); the errors are counted. Redis back: the shared
    /// count serves again.
    fn redis_down_denies_or_counts_locally_then_recovers(db) {
        let mut redis = PrivateRedis::start();
        let dir = failure_spec("rl-down", &redis, ("deny", "local"));
        let gw = Gateway::start_on(db, &dir, &["--admin-listen", "127.0.0.1:0"]);
        assert_eq!(status(&gw, "/api/users/"), 200);
        assert_eq!(status(&gw, "/api/users/"), 200);
        assert_eq!(status(&gw, "/api/users/"), 429);
        assert_eq!(status(&gw, "/api/users/1/"), 404);
        redis.stop();
        let refused = gw.get("/api/users/");
        assert_eq!(refused.status, 503, "{}", refused.text());
        assert_eq!(
            refused.json(),
            json!({"detail": "Service temporarily unavailable, try again later."})
        );
        assert_eq!(refused.header("retry-after"), Some("1"));
        // The local stand-in starts with a whole burst of its own.
        assert_eq!(status(&gw, "/api/users/1/"), 404);
        assert_eq!(status(&gw, "/api/users/1/"), 404);
        let local = gw.get("/api/users/1/");
        assert_eq!(local.status, 429, "{}", local.text());
        assert!(local.header("ratelimit").is_some_and(|v| v.starts_with("\"detail\";r=0;")));
        let errors = "specgate_rate_limit_redis_errors_total{limit=\"list\"}";
        assert!(metric(&gw, errors) >= 1.0);
        let by_local = "specgate_rate_limit_decisions_total{route=\"/api/users/{id}/\",store=\"local\",result=\"limited\"}";
        assert_eq!(metric(&gw, by_local), 1.0);
        // Back (empty: it kept nothing): the shared count answers again.
        redis.restart();
        eventually(200, || status(&gw, "/api/users/"));
        assert_eq!(status(&gw, "/api/users/"), 200);
        assert_eq!(status(&gw, "/api/users/"), 429);
        eventually(404, || status(&gw, "/api/users/1/"));
    }

    /// `allow` lets requests through uncounted while Redis is down, without `RateLimit`
    /// headers (nothing counted them); Redis back, they are counted again.
    fn redis_down_allows_then_recovers(db) {
        let mut redis = PrivateRedis::start();
        let dir = failure_spec("rl-allow", &redis, ("allow", "allow"));
        let gw = Gateway::start_on(db, &dir, &[]);
        assert_eq!(status(&gw, "/api/users/"), 200);
        redis.stop();
        for _ in 0..5 {
            let reply = gw.get("/api/users/");
            assert_eq!(reply.status, 200);
            assert_eq!(reply.header("ratelimit"), None);
        }
        redis.restart();
        eventually(429, || {
            let reply = gw.get("/api/users/");
            if reply.status == 200 && reply.header("ratelimit").is_none() {
                return 0;
            }
            reply.status
        });
    }
}

/// A limit that cannot work is refused by `specgate check`, each problem at its line.
#[test]
fn check_refuses_bad_limits() {
    let extra = "rate_limits:\n  broken:\n    rate: 0\n    per: minute\n  \
                 nokey:\n    rate: 1\n    per: second\n    key: \"claim:\"\n  \
                 noredis:\n    rate: 1\n    per: second\n    store: redis\n\
                 settings:\n  rate_limit: missing\n  trusted_proxies: [10.0.0.0/40]\n";
    let dir = spec("rl-check", extra, None, Some("nowhere"));
    let (ok, text) = common::check(&dir, &["--spec-only"], &[]);
    assert!(!ok, "{text}");
    for wanted in [
        "rate must be at least 1",
        "name the claim, as in claim:tenant",
        "store: redis needs redis_url",
        "unknown rate limit \"missing\"",
        "unknown rate limit \"nowhere\"",
        "is not an address or a network",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in {text}");
    }
    assert!(text.contains("routes.yaml:"), "{text}");
}
