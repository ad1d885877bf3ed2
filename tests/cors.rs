//! CORS through real HTTP: preflights from allowed origins (exact and by pattern) answered by
//! the gateway, from others left without CORS headers; simple requests' headers; an OPTIONS
//! that is no preflight still DRF's metadata; a route with `cors: off`; the public policy.

mod common;

use common::{Gateway, ScratchSpec, copy_spec, edit, on_both, users_spec};

const DETAIL: &str =
    "    methods: { GET: retrieve, PUT: update, PATCH: partial_update, DELETE: destroy }\n";

const POLICY: &str = "settings:
  cors:
    origins: [https://app.example.com, \"https://*.example.org\"]
    credentials: true
    max_age: 600
    expose_headers: [RateLimit, Retry-After]
";

/// The Users API with `settings` added and `detail` added to the detail route.
fn spec(name: &str, settings: &str, detail: &str) -> ScratchSpec {
    let dir = copy_spec(&users_spec(), name);
    let routes = dir.join("routes.yaml");
    edit(&routes, DETAIL, &format!("{DETAIL}{detail}"));
    common::add_to_routes(&routes, settings);
    dir
}

fn preflight(gw: &Gateway, path: &str, origin: &str) -> common::Reply {
    gw.send(
        "OPTIONS",
        path,
        &[
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type, x-trace"),
        ],
        b"",
    )
}

fn vary(reply: &common::Reply) -> Vec<&str> {
    reply
        .headers
        .iter()
        .filter(|(k, _)| k == "vary")
        .flat_map(|(_, v)| v.split(',').map(str::trim))
        .collect()
}

on_both! {
    /// An allowed origin's preflight gets 204 and every `Access-Control-*` header (methods:
    /// the route's; headers: those asked for); a pattern matches a subdomain; another
    /// origin's preflight gets the metadata answer with no CORS header at all.
    fn preflights_are_answered_for_allowed_origins_only(db) {
        let dir = spec("cors-preflight", POLICY, "");
        let gw = Gateway::start_on(db, &dir, &[]);
        let reply = preflight(&gw, "/api/users/", "https://app.example.com");
        assert_eq!(reply.status, 204, "{}", reply.text());
        assert!(reply.body.is_empty());
        assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.example.com"));
        assert_eq!(reply.header("access-control-allow-methods"), Some("GET, POST, HEAD, OPTIONS"));
        assert_eq!(reply.header("access-control-allow-headers"), Some("content-type, x-trace"));
        assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(reply.header("access-control-max-age"), Some("600"));
        assert!(vary(&reply).contains(&"Origin"), "{:?}", reply.headers);
        let sub = preflight(&gw, "/api/users/1/", "https://a.b.example.org");
        assert_eq!(sub.status, 204);
        assert_eq!(sub.header("access-control-allow-origin"), Some("https://a.b.example.org"));
        assert_eq!(
            sub.header("access-control-allow-methods"),
            Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
        );
        for origin in ["https://evil.test", "https://example.org", "http://app.example.com"] {
            let refused = preflight(&gw, "/api/users/", origin);
            assert_eq!(refused.status, 200, "{origin}");
            assert_eq!(refused.json()["name"], "User List");
            assert!(
                refused.headers.iter().all(|(k, _)| !k.starts_with("access-control-")),
                "{origin}: {:?}",
                refused.headers
            );
        }
    }

    /// A simple request from an allowed origin gets the origin back, credentials and the
    /// exposed headers; from another origin none of them; both say `Vary: Origin`. An
    /// OPTIONS with an `Origin` but no `Access-Control-Request-Method` is no preflight: DRF's
    /// metadata, with the CORS headers of an actual request.
    fn simple_requests_and_plain_options(db) {
        let dir = spec("cors-simple", POLICY, "");
        let gw = Gateway::start_on(db, &dir, &[]);
        let allowed = gw.send("GET", "/api/users/", &[("Origin", "https://app.example.com")], b"");
        assert_eq!(allowed.status, 200);
        assert_eq!(allowed.header("access-control-allow-origin"), Some("https://app.example.com"));
        assert_eq!(allowed.header("access-control-allow-credentials"), Some("true"));
        assert_eq!(allowed.header("access-control-expose-headers"), Some("RateLimit, Retry-After"));
        assert!(vary(&allowed).contains(&"Origin"));
        assert_eq!(allowed.header("access-control-allow-methods"), None);
        let other = gw.send("GET", "/api/users/", &[("Origin", "https://evil.test")], b"");
        assert_eq!(other.status, 200);
        assert_eq!(other.header("access-control-allow-origin"), None);
        assert_eq!(other.header("access-control-allow-credentials"), None);
        assert!(vary(&other).contains(&"Origin"));
        let no_origin = gw.get("/api/users/");
        assert_eq!(no_origin.header("access-control-allow-origin"), None);
        assert!(vary(&no_origin).contains(&"Origin"));
        let options = gw.send("OPTIONS", "/api/users/", &[("Origin", "https://app.example.com")], b"");
        assert_eq!(options.status, 200);
        assert_eq!(options.json()["name"], "User List");
        assert_eq!(options.header("access-control-allow-origin"), Some("https://app.example.com"));
        assert_eq!(options.header("access-control-max-age"), None);
        let missing = gw.send("GET", "/api/users/99/", &[("Origin", "https://app.example.com")], b"");
        assert_eq!(missing.status, 404);
        assert_eq!(missing.header("access-control-allow-origin"), Some("https://app.example.com"));
    }

    /// `cors: off` on a route: no CORS at all there, even for an allowed origin. A public
    /// policy (`"*"`, no credentials) on a route of its own answers `*` and does not vary by
    /// origin; its listed methods and headers replace the defaults.
    fn routes_choose_their_own_policy(db) {
        let dir = spec("cors-off", POLICY, "    cors: off\n");
        let gw = Gateway::start_on(db, &dir, &[]);
        let off = preflight(&gw, "/api/users/1/", "https://app.example.com");
        assert_eq!(off.status, 200);
        assert!(off.headers.iter().all(|(k, _)| !k.starts_with("access-control-")));
        let own = "    cors:\n      origins: [\"*\"]\n      methods: [GET]\n      headers: [X-Trace]\n";
        let dir = spec("cors-public", "", own);
        let gw = Gateway::start_on(db, &dir, &[]);
        let public = preflight(&gw, "/api/users/1/", "https://anyone.test");
        assert_eq!(public.status, 204);
        assert_eq!(public.header("access-control-allow-origin"), Some("*"));
        assert_eq!(public.header("access-control-allow-methods"), Some("GET"));
        assert_eq!(public.header("access-control-allow-headers"), Some("X-Trace"));
        assert_eq!(public.header("access-control-allow-credentials"), None);
        assert!(!vary(&public).contains(&"Origin"), "{:?}", public.headers);
        let simple = gw.send("GET", "/api/users/1/", &[("Origin", "https://anyone.test")], b"");
        assert_eq!(simple.header("access-control-allow-origin"), Some("*"));
        let list = preflight(&gw, "/api/users/", "https://anyone.test");
        assert_eq!(list.status, 200, "no policy on the list route");
        assert_eq!(list.header("access-control-allow-origin"), None);
    }
}

on_both! {
    /// CORS stands before the rate limit: a preflight is never counted, and a 429 carries
    /// the CORS headers, so a script on an allowed origin can read `Retry-After`.
    fn a_throttled_answer_carries_cors_headers(db) {
        let limit = "rate_limits:\n  once:\n    rate: 1\n    per: hour\n    burst: 1\n";
        let dir = spec("cors-429", &format!("{limit}{POLICY}  rate_limit: once\n"), "");
        let gw = Gateway::start_on(db, &dir, &[]);
        let origin = [("Origin", "https://app.example.com")];
        for _ in 0..3 {
            assert_eq!(preflight(&gw, "/api/users/", origin[0].1).status, 204);
        }
        assert_eq!(gw.send("GET", "/api/users/", &origin, b"").status, 200);
        let throttled = gw.send("GET", "/api/users/", &origin, b"");
        assert_eq!(throttled.status, 429);
        assert_eq!(throttled.header("access-control-allow-origin"), Some("https://app.example.com"));
        assert_eq!(throttled.header("access-control-expose-headers"), Some("RateLimit, Retry-After"));
        assert!(throttled.header("retry-after").is_some());
    }
}

/// A policy that cannot work is refused by `specgate check`.
#[test]
fn check_refuses_bad_policies() {
    let settings = "settings:\n  cors:\n    origins: [\"*\", \"ftp://files.test\", \"https://a.test/path\"]\n    credentials: true\n";
    let dir = spec("cors-check", settings, "    cors: sometimes\n");
    let (ok, text) = common::check(&dir, &["--spec-only"], &[]);
    assert!(!ok, "{text}");
    for wanted in [
        "must start with http:// or https://",
        "must be a scheme and a host, with no path",
        "credentials: true cannot go with the origin \"*\"",
        "cors must be a policy or off, not \"sometimes\"",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in {text}");
    }
}
