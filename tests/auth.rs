//! Per-route authentication and authorization, through real HTTP: the auth matrix (no
//! token, malformed, bad signature, `alg: none`, HS/RS confusion, expired, not yet valid,
//! wrong audience and issuer, scopes), API keys in a header and in the query (and one
//! removed on reload), a JWKS URL rotated to a new `kid`, the identity headers an upstream
//! gets, and the metrics.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{Gateway, on_both};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

const SECRET: &str = "a-test-secret-of-at-least-32-bytes!!";
const ISSUER: &str = "https://issuer.test";
const AUDIENCE: &str = "users-api";
/// The API key of the reader in the key file.
const GOOD_KEY: &str = "good-key";

fn keys_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys")
}

fn key(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(name)).expect("a test key")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Claims that pass, with `scope`; `edit` changes them.
fn claims(scope: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut claims = json!({
        "sub": "user-42",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 600,
        "iat": now(),
        "scope": scope,
    });
    edit(&mut claims);
    claims
}

fn sign(alg: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    encode(&header, claims, key).expect("signs")
}

fn hs(claims: &Value) -> String {
    let key = EncodingKey::from_secret(SECRET.as_bytes()).expect("a secret");
    sign(Algorithm::HS256, &key, None, claims)
}

fn rs(file: &str, kid: Option<&str>, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(&key(file)).expect("an RSA key");
    sign(Algorithm::RS256, &key, kid, claims)
}

/// A token whose header says `alg: none`, unsigned.
fn unsigned(claims: &Value) -> String {
    use base64::Engine;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}

/// An HS256 token signed with the RSA public key's PEM text as the secret (the classic
/// algorithm confusion).
fn confused(claims: &Value) -> String {
    let key = EncodingKey::from_secret(&key("rsa.pub.pem")).expect("a secret");
    sign(Algorithm::HS256, &key, None, claims)
}

/// A tiny HTTP server on loopback answering every request with `body` (as JSON), and
/// keeping each request's head.
struct Served {
    port: u16,
    body: Arc<Mutex<String>>,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Served {
    fn start(body: &str) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("an address").port();
        let body = Arc::new(Mutex::new(body.to_owned()));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (answer, seen) = (body.clone(), heads.clone());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let Some(request) = common::read_request(&mut stream) else {
                    continue;
                };
                seen.lock().map(|mut h| h.push(request.head)).ok();
                let text = answer.lock().map(|b| b.clone()).unwrap_or_default();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        Served { port, body, heads }
    }

    fn set(&self, body: &str) {
        if let Ok(mut b) = self.body.lock() {
            *b = body.to_owned();
        }
    }

    fn last_head(&self) -> String {
        self.heads
            .lock()
            .ok()
            .and_then(|h| h.last().cloned())
            .unwrap_or_default()
    }

    fn count(&self) -> usize {
        self.heads.lock().map(|h| h.len()).unwrap_or(0)
    }
}

/// The JWKS of the RSA public key in `file`, under `kid`.
fn jwks(file: &str, kid: &str) -> String {
    let private = EncodingKey::from_rsa_pem(&key(file)).expect("an RSA key");
    let mut jwk =
        jsonwebtoken::jwk::Jwk::from_encoding_key(&private, Algorithm::RS256).expect("a JWK");
    jwk.common.key_id = Some(kid.to_owned());
    json!({ "keys": [jwk] }).to_string()
}

const SECURITY: &str = r#"
upstreams:
  recorder:
    url: ${TEST_RECORDER_URL}

security:
  schemes:
    bearer:
      jwt:
        algorithms: [HS256, RS256, ES256, EdDSA]
        secret: ${TEST_JWT_SECRET}
        public_key: [keys/rsa.pub.pem, keys/ec.pub.pem, keys/ed.pub.pem]
        issuer: https://issuer.test
        audience: users-api
        leeway_s: 0
    rotating:
      jwt:
        algorithms: [RS256]
        jwks_url: ${TEST_JWKS_URL}
        issuer: https://issuer.test
        audience: users-api
    keys:
      api_key: { header: X-API-Key, file: api-keys.yaml }
    querykey:
      api_key: { query: api_key, file: api-keys.yaml }
  default:
    schemes: [bearer, rotating, keys, querykey]
    scopes:
      GET: [users:read]
      POST: [users:write]
      PUT: [users:write]
      PATCH: [users:write]
      DELETE: [users:write]
  forward: { subject: X-Auth-Subject, scopes: X-Auth-Scopes, key_name: X-Auth-Key }
"#;

const ROUTES: &str = r#"
  - path: /api/echo/
    resource: users
    upstream: recorder
    validate: off
    methods: { GET: list }
  - path: /api/open/
    resource: users
    security: public
    methods: { GET: list }
"#;

/// The Users API with a `security:` block, an API-key file and the test keys, with a
/// recorder upstream and a JWKS server; both servers come back.
fn secured_spec(name: &str) -> (common::ScratchSpec, Served, Served) {
    let dir = common::copy_spec(&common::users_spec(), name);
    let routes = dir.join("routes.yaml");
    let text = std::fs::read_to_string(&routes).expect("reads");
    std::fs::write(&routes, format!("{SECURITY}\n{text}{ROUTES}")).expect("writes");
    std::fs::create_dir_all(dir.join("keys")).expect("mkdir");
    for file in ["rsa.pub.pem", "ec.pub.pem", "ed.pub.pem"] {
        std::fs::copy(keys_dir().join(file), dir.join("keys").join(file)).expect("copies");
    }
    write_keys(
        &dir,
        &[
            ("reader", GOOD_KEY, "[users:read]"),
            ("writer", "write-key", "[users:read, users:write]"),
        ],
    );
    let recorder = Served::start(r#"{"count":0,"next":null,"previous":null,"results":[]}"#);
    let jwks_server = Served::start(&jwks("rsa2.pem", "k1"));
    (dir, recorder, jwks_server)
}

fn write_keys(dir: &Path, keys: &[(&str, &str, &str)]) {
    let mut text = String::from("keys:\n");
    for (name, key, scopes) in keys {
        text.push_str(&format!(
            "  - {{ name: {name}, sha256: {}, scopes: {scopes} }}\n",
            sha256_hex(key)
        ));
    }
    std::fs::write(dir.join("api-keys.yaml"), text).expect("writes");
}

fn start(db: common::Db, dir: &Path, recorder: &Served, jwks: &Served) -> Gateway {
    let recorder_url = format!("http://127.0.0.1:{}", recorder.port);
    let jwks_url = format!("http://127.0.0.1:{}/jwks.json", jwks.port);
    Gateway::start_with_env(
        db,
        dir,
        &["--admin-listen", "127.0.0.1:0"],
        &[
            ("TEST_JWT_SECRET", SECRET),
            ("TEST_RECORDER_URL", &recorder_url),
            ("TEST_JWKS_URL", &jwks_url),
        ],
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// GET /api/users/ with `Authorization: Bearer token`.
fn list_with(gw: &Gateway, token: &str) -> common::Reply {
    gw.send(
        "GET",
        "/api/users/",
        &[("Authorization", &bearer(token))],
        b"",
    )
}

fn assert_401(r: &common::Reply, detail: &str, challenge: &str) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json(), json!({ "detail": detail }));
    let header = r.header("www-authenticate").unwrap_or_default();
    assert!(header.starts_with(challenge), "{header}");
}

const BAD: &str = "Incorrect authentication credentials.";

on_both! {
    /// The bearer-token matrix: each refusal is a 401 in DRF's words with an RFC 6750
    /// challenge; a token without the method's scope is a 403; the right scope passes, for
    /// every accepted algorithm.
    fn the_jwt_matrix(db) {
        let (dir, recorder, jwks) = secured_spec("auth-jwt");
        let gw = start(db, &dir, &recorder, &jwks);
        let none = gw.get("/api/users/");
        assert_401(&none, "Authentication credentials were not provided.", "Bearer realm=\"api\"");
        assert!(!none.header("www-authenticate").unwrap_or_default().contains("error="));

        let read = claims("users:read", |_| {});
        let refused: Vec<(&str, String, &str)> = vec![
            ("malformed", "not.a.jwt".into(), "malformed"),
            ("garbage", "abc".into(), "malformed"),
            ("bad signature", {
                let other = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes").expect("a secret");
                sign(Algorithm::HS256, &other, None, &read)
            }, "signature"),
            ("alg none", unsigned(&read), "none is not accepted"),
            ("HS/RS confusion", confused(&read), "signature"),
            ("wrong key", rs("rsa3.pem", None, &read), "signature"),
            ("expired", hs(&claims("users:read", |c| c["exp"] = json!(now() - 10))), "expired"),
            ("not yet valid", hs(&claims("users:read", |c| c["nbf"] = json!(now() + 600))), "not valid yet"),
            ("wrong audience", hs(&claims("users:read", |c| c["aud"] = json!("other"))), "audience"),
            ("wrong issuer", hs(&claims("users:read", |c| c["iss"] = json!("https://evil.test"))), "issuer"),
            ("no exp", hs(&claims("users:read", |c| { c.as_object_mut().map(|o| o.remove("exp")); })), "exp"),
        ];
        for (case, token, why) in refused {
            let r = list_with(&gw, &token);
            assert_eq!(r.status, 401, "{case}");
            assert_401(&r, BAD, "Bearer realm=\"api\", error=\"invalid_token\"");
            let header = r.header("www-authenticate").unwrap_or_default();
            assert!(header.contains(why), "{case}: {header}");
        }

        let ok = list_with(&gw, &hs(&read));
        assert_eq!(ok.status, 200, "{}", ok.text());
        let ec = EncodingKey::from_ec_pem(&key("ec.pem")).expect("an EC key");
        assert_eq!(list_with(&gw, &sign(Algorithm::ES256, &ec, None, &read)).status, 200);
        let ed = EncodingKey::from_ed_pem(&key("ed.pem")).expect("an Ed25519 key");
        assert_eq!(list_with(&gw, &sign(Algorithm::EdDSA, &ed, None, &read)).status, 200);
        assert_eq!(list_with(&gw, &rs("rsa.pem", None, &read)).status, 200);

        // Scopes per method: reading is not writing.
        let body = br#"{"username": "scoped", "email": "scoped@example.com"}"#;
        let post = |token: &str| {
            gw.send(
                "POST",
                "/api/users/",
                &[("Authorization", &bearer(token)), ("Content-Type", "application/json")],
                body,
            )
        };
        let r = post(&hs(&read));
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(r.json(), json!({"detail": "You do not have permission to perform this action."}));
        assert!(r.header("www-authenticate").unwrap_or_default().contains("insufficient_scope"));
        assert_eq!(gw.sql("SELECT count(*) FROM users_user WHERE username = 'scoped'"), "0");
        let writer = hs(&claims("users:read users:write", |_| {}));
        assert_eq!(post(&writer).status, 201);
        // Scopes as an array work too.
        let array = hs(&claims("", |c| c["scope"] = json!(["users:read"])));
        assert_eq!(list_with(&gw, &array).status, 200);

        // A public route needs nothing; an unknown path is still a 404.
        assert_eq!(gw.get("/api/open/").status, 200);
        assert_eq!(gw.get("/api/nowhere/").status, 404);

        // Results are counted by scheme, never by subject.
        let admin = gw.admin.clone().unwrap_or_default();
        let metrics = gw.get_at(&admin, "/metrics").text();
        assert!(metrics.contains("specgate_auth_results_total{scheme=\"bearer\",result=\"ok\"}"), "{metrics}");
        assert!(metrics.contains("result=\"invalid\""), "{metrics}");
        assert!(metrics.contains("result=\"forbidden\""), "{metrics}");
        assert!(!metrics.contains("user-42"));
    }
}

on_both! {
    /// API keys, in a header or in the query: a good key passes with its scopes, an unknown
    /// one is a 401, and a key removed from the file stops working on reload.
    fn api_keys_and_their_removal_on_reload(db) {
        let (dir, recorder, jwks) = secured_spec("auth-keys");
        let gw = start(db, &dir, &recorder, &jwks);
        let with = |key: &str| gw.send("GET", "/api/users/", &[("X-API-Key", key)], b"");
        assert_eq!(with(GOOD_KEY).status, 200);
        assert_eq!(gw.get(&format!("/api/users/?api_key={GOOD_KEY}")).status, 200);
        let r = with("guess");
        assert_401(&r, BAD, "ApiKey realm=\"api\", header=\"x-api-key\"");
        assert_eq!(gw.get("/api/users/?api_key=guess").status, 401);
        // The hash is not the key.
        assert_eq!(with(&sha256_hex(GOOD_KEY)).status, 401);
        // The reader's key may not write.
        let r = gw.send(
            "POST",
            "/api/users/",
            &[("X-API-Key", GOOD_KEY), ("Content-Type", "application/json")],
            br#"{"username": "k", "email": "k@example.com"}"#,
        );
        assert_eq!(r.status, 403);

        write_keys(&dir, &[("writer", "write-key", "[users:read, users:write]")]);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while with(GOOD_KEY).status != 401 {
            assert!(std::time::Instant::now() < deadline, "the removed key still works");
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(with("write-key").status, 200);
    }
}

/// The access log names the caller (subject or key name) and the scheme, and leaves both out
/// for a public request.
#[test]
fn the_access_log_names_the_caller() {
    let (dir, recorder, jwks) = secured_spec("auth-log");
    let recorder_url = format!("http://127.0.0.1:{}", recorder.port);
    let jwks_url = format!("http://127.0.0.1:{}/jwks.json", jwks.port);
    let (gw, log) = Gateway::start_logged_with_env(
        common::Db::Sqlite,
        &dir,
        &["--log-format", "json", "--log", "info"],
        &[
            ("TEST_JWT_SECRET", SECRET),
            ("TEST_RECORDER_URL", &recorder_url),
            ("TEST_JWKS_URL", &jwks_url),
        ],
    );
    assert_eq!(
        list_with(&gw, &hs(&claims("users:read", |_| {}))).status,
        200
    );
    assert_eq!(
        gw.send("GET", "/api/users/", &[("X-API-Key", GOOD_KEY)], b"")
            .status,
        200
    );
    assert_eq!(gw.get("/api/open/").status, 200);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "request")
            .collect();
        if lines.len() >= 3 || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let fields = |i: usize| lines[i]["fields"].clone();
    assert_eq!(fields(0)["caller"], "user-42");
    assert_eq!(fields(0)["scheme"], "bearer");
    assert_eq!(fields(1)["caller"], "reader");
    assert_eq!(fields(1)["scheme"], "keys");
    assert!(fields(2).get("caller").is_none(), "{}", fields(2));
}

/// The identity goes upstream in the configured headers, and a client's own copies of those
/// headers never do.
#[test]
fn the_caller_s_identity_goes_upstream_and_forged_copies_do_not() {
    let (dir, recorder, jwks) = secured_spec("auth-forward");
    let gw = start(common::Db::Sqlite, &dir, &recorder, &jwks);
    let token = hs(&claims("users:read extra", |_| {}));
    let r = gw.send(
        "GET",
        "/api/echo/",
        &[
            ("Authorization", &bearer(&token)),
            ("X-Auth-Subject", "admin"),
            ("X-Auth-Key", "forged"),
        ],
        b"",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let head = recorder.last_head().to_ascii_lowercase();
    assert!(head.contains("x-auth-subject: user-42\r\n"), "{head}");
    assert!(
        head.contains("x-auth-scopes: users:read extra\r\n"),
        "{head}"
    );
    assert!(
        !head.contains("admin") && !head.contains("forged"),
        "{head}"
    );
    let r = gw.send("GET", "/api/echo/", &[("X-API-Key", GOOD_KEY)], b"");
    assert_eq!(r.status, 200);
    let head = recorder.last_head().to_ascii_lowercase();
    assert!(head.contains("x-auth-key: reader\r\n"), "{head}");
    assert!(!head.contains("x-auth-subject"), "{head}");
}

/// A JWKS URL: keys are fetched when needed; a token with a new `kid` makes the gateway
/// fetch again (no sooner than 5 s after the last fetch), so a rotated key works without a
/// restart, and a made-up `kid` does not flood the key server.
#[test]
fn a_rotated_jwks_key_is_fetched_by_its_kid() {
    let (dir, recorder, jwks) = secured_spec("auth-jwks");
    let gw = start(common::Db::Sqlite, &dir, &recorder, &jwks);
    let read = claims("users:read", |_| {});
    // rsa2 is only in the JWKS (the `bearer` scheme's PEM key is rsa).
    assert_eq!(
        list_with(&gw, &rs("rsa2.pem", Some("k1"), &read)).status,
        200
    );
    assert_eq!(jwks.count(), 1);
    // Cached: no new fetch.
    assert_eq!(
        list_with(&gw, &rs("rsa2.pem", Some("k1"), &read)).status,
        200
    );
    assert_eq!(jwks.count(), 1);
    // Rotation: the server now has k2 (rsa3) too. Made-up kids within 5 s of the last
    // fetch do not make the gateway fetch; after that, k2 is fetched and accepted.
    jwks.set(&jwks_of_both());
    for _ in 0..5 {
        assert_eq!(
            list_with(&gw, &rs("rsa3.pem", Some("made-up"), &read)).status,
            401
        );
    }
    assert!(jwks.count() <= 2, "fetched {} times", jwks.count());
    std::thread::sleep(Duration::from_millis(5200));
    assert_eq!(
        list_with(&gw, &rs("rsa3.pem", Some("k2"), &read)).status,
        200
    );
    assert!(jwks.count() <= 3, "fetched {} times", jwks.count());
    // The old key still works.
    assert_eq!(
        list_with(&gw, &rs("rsa2.pem", Some("k1"), &read)).status,
        200
    );
}

fn jwks_of_both() -> String {
    let one: Value = serde_json::from_str(&jwks("rsa2.pem", "k1")).unwrap_or_default();
    let two: Value = serde_json::from_str(&jwks("rsa3.pem", "k2")).unwrap_or_default();
    json!({"keys": [one["keys"][0], two["keys"][0]]}).to_string()
}

/// `check` refuses a scheme that cannot work, with its line.
#[test]
fn check_reports_security_mistakes_with_their_lines() {
    let (dir, _recorder, _jwks) = secured_spec("auth-check");
    common::edit(
        &dir.join("routes.yaml"),
        "schemes: [bearer, rotating, keys, querykey]",
        "schemes: [bearer, nosuch]",
    );
    common::edit(
        &dir.join("routes.yaml"),
        "algorithms: [RS256]",
        "algorithms: [RS999]",
    );
    let (ok, text) = common::check(
        &dir,
        &["--spec-only"],
        &[
            ("TEST_JWT_SECRET", SECRET),
            ("TEST_RECORDER_URL", "http://127.0.0.1:9"),
            ("TEST_JWKS_URL", "http://127.0.0.1:9/jwks.json"),
        ],
    );
    assert!(!ok);
    assert!(text.contains("unknown scheme \"nosuch\""), "{text}");
    assert!(text.contains("unknown algorithm \"RS999\""), "{text}");
    assert!(text.contains("routes.yaml:"), "{text}");
}

/// `examples/secured/` as a new user would try it: a token with `users:read` lists, one
/// without a token is refused, the demo keys read and write.
#[test]
fn the_secured_example_serves_with_tokens_and_keys() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/secured");
    let secret = "an-example-secret-of-32-bytes-or-more";
    let gw = Gateway::start_with_env(common::Db::Sqlite, &spec, &[], &[("JWT_SECRET", secret)]);
    assert_eq!(gw.get("/api/users/").status, 401);
    let key = EncodingKey::from_secret(secret.as_bytes()).expect("a secret");
    let token = sign(
        Algorithm::HS256,
        &key,
        None,
        &json!({"sub": "ada", "exp": now() + 60, "scope": "users:read"}),
    );
    assert_eq!(list_with(&gw, &token).status, 200);
    let create = |key: &str| {
        gw.send(
            "POST",
            "/api/users/",
            &[("X-API-Key", key), ("Content-Type", "application/json")],
            br#"{"username": "ex", "email": "ex@example.com"}"#,
        )
    };
    assert_eq!(create("demo-reader-key").status, 403);
    assert_eq!(create("demo-writer-key").status, 201);
}

/// The served document declares the schemes and, per operation, which of them it accepts
/// with the method's scopes, and its 401 and 403; a public route has none.
#[test]
fn the_document_declares_the_schemes_and_each_operation_s_requirement() {
    let (dir, recorder, jwks) = secured_spec("auth-document");
    let gw = start(common::Db::Sqlite, &dir, &recorder, &jwks);
    let doc = gw.get("/openapi.json").json();
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(
        schemes["bearer"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    assert_eq!(
        schemes["keys"],
        json!({"type": "apiKey", "in": "header", "name": "x-api-key"})
    );
    assert_eq!(
        schemes["querykey"],
        json!({"type": "apiKey", "in": "query", "name": "api_key"})
    );
    let list = &doc["paths"]["/api/users/"]["get"];
    assert_eq!(list["security"][0], json!({"bearer": ["users:read"]}));
    assert_eq!(list["security"].as_array().map(Vec::len), Some(4));
    assert!(list["responses"]["401"].is_object() && list["responses"]["403"].is_object());
    let create = &doc["paths"]["/api/users/"]["post"];
    assert_eq!(create["security"][2], json!({"keys": ["users:write"]}));
    let open = &doc["paths"]["/api/open/"]["get"];
    assert!(open.get("security").is_none() && open["responses"].get("401").is_none());
}
