//! An upstream's OpenAPI document as its route table, through HTTP. `examples/openapi/` in
//! front of a second specgate serving the Users API (a real service); the pets fixture
//! (OpenAPI 3.1, JSON, two path parameters, a header parameter, `2XX` and `default`
//! responses) in front of a scripted upstream that answers whatever a test sets, and records
//! what reached it.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{Db, Gateway};
use serde_json::{Value, json};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/openapi")
}

fn pets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/oas-pets")
}

/// The gateway on `spec` with `UPSTREAM_URL` (and more) set.
fn front(spec: &Path, upstream: &str, env: &[(&str, &str)]) -> Gateway {
    let url = format!("http://{upstream}");
    let mut all = vec![("UPSTREAM_URL", url.as_str())];
    all.extend_from_slice(env);
    Gateway::start_with_env(Db::Sqlite, spec, &[], &all)
}

/// What the scripted upstream answers: status, content type, body.
type Answer = (u16, &'static str, String);

/// A scripted HTTP/1.1 upstream: answers every request with the answer set last, and keeps
/// each request's line and headers.
struct Scripted {
    addr: String,
    answer: Arc<Mutex<Answer>>,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Scripted {
    fn start(answer: Answer) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.set_nonblocking(true).expect("non-blocking");
        let scripted = Scripted {
            addr: listener.local_addr().expect("addr").to_string(),
            answer: Arc::new(Mutex::new(answer)),
            seen: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (answer, seen, stop) = (
            scripted.answer.clone(),
            scripted.seen.clone(),
            scripted.stop.clone(),
        );
        thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (answer, seen) = (answer.clone(), seen.clone());
                        thread::spawn(move || serve(stream, &answer, &seen));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        scripted
    }

    fn set(&self, answer: Answer) {
        if let Ok(mut a) = self.answer.lock() {
            *a = answer;
        }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut stream: TcpStream, answer: &Mutex<Answer>, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    loop {
        let Some(common::ReadRequest {
            head,
            complete: true,
            ..
        }) = common::read_request(&mut stream)
        else {
            return;
        };
        if let Ok(mut seen) = seen.lock() {
            seen.push(head);
        }
        let Ok((status, media, body)) = answer.lock().map(|a| a.clone()) else {
            return;
        };
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {media}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn violations(reply: &common::Reply) -> Vec<String> {
    serde_json::from_value(reply.json()["violations"].clone()).unwrap_or_default()
}

#[test]
fn the_example_proxies_the_users_api_and_refuses_what_its_document_forbids() {
    let upstream = Gateway::users_on(Db::Sqlite);
    let gateway = front(&example(), &upstream.addr, &[]);

    // Valid requests pass, with the upstream's own answer.
    let created = gateway.json(
        "POST",
        "/api/users/",
        &json!({"username": "ada", "email": "ada@example.org", "first_name": "Ada"}),
    );
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_i64().unwrap_or_default();
    let direct = upstream.get(&format!("/api/users/{id}/"));
    let proxied = gateway.get(&format!("/api/users/{id}/"));
    assert_eq!(proxied.status, 200, "{}", proxied.text());
    assert_eq!(proxied.body, direct.body);
    let page = gateway.get("/api/users/?limit=5&ordering=-id");
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.json()["count"], 1);
    let patched = gateway.json(
        "PATCH",
        &format!("/api/users/{id}/"),
        &json!({"phone_number": null}),
    );
    assert_eq!(patched.status, 200, "{}", patched.text());
    // The upstream's 404 is declared (4XX/404), so it passes.
    assert_eq!(gateway.get("/api/users/999/").status, 404);

    // Invalid parameters and bodies are 400 problems naming each violation, and never reach
    // the upstream (which would have answered otherwise).
    let bad_id = gateway.get("/api/users/abc/");
    assert_eq!(bad_id.status, 400, "{}", bad_id.text());
    assert_eq!(
        bad_id.header("content-type"),
        Some("application/problem+json")
    );
    let named = violations(&bad_id);
    assert!(
        named.iter().any(|v| v.starts_with("path parameter \"id\"")),
        "{named:?}"
    );
    let bad_query = gateway.get("/api/users/?limit=0&ordering=password");
    assert_eq!(bad_query.status, 400);
    let named = violations(&bad_query);
    assert!(named.iter().any(|v| v.contains("\"limit\"")), "{named:?}");
    assert!(
        named.iter().any(|v| v.contains("\"ordering\"")),
        "{named:?}"
    );
    let bad_body = gateway.json(
        "POST",
        "/api/users/",
        &json!({"username": "x y", "phone_number": 5}),
    );
    assert_eq!(bad_body.status, 400);
    let named = violations(&bad_body);
    assert!(named.iter().any(|v| v.contains("email")), "{named:?}");
    assert!(
        named.iter().any(|v| v.starts_with("body/phone_number")),
        "{named:?}"
    );
    assert!(
        named.iter().any(|v| v.starts_with("body/username")),
        "{named:?}"
    );
    let nothing = gateway.send("POST", "/api/users/", &[], b"");
    assert_eq!(nothing.status, 400);
    assert_eq!(violations(&nothing), ["body: a request body is required"]);
    // The upstream still has the one user: none of the refused writes got there.
    assert_eq!(upstream.get("/api/users/").json()["count"], 1);

    // The gateway's own document lists the imported operations.
    let document = gateway.get("/openapi.json").json();
    assert!(
        document["paths"]["/api/users/{id}/"]["patch"].is_object(),
        "{document}"
    );
    assert_eq!(
        document["paths"]["/api/users/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["$ref"],
        "#/components/schemas/users.UserInput"
    );
    assert!(document["components"]["schemas"]["users.User"].is_object());
}

fn pet() -> String {
    json!({"id": 7, "name": "Rex", "kind": "dog"}).to_string()
}

#[test]
fn two_path_parameters_headers_ranges_and_default_are_checked_both_ways() {
    let upstream = Scripted::start((200, "application/json", pet()));
    let gateway = front(&pets(), &upstream.addr, &[]);
    let tenant = [("X-Tenant", "acme")];

    let ok = gateway.send(
        "GET",
        "/owners/ann/pets/7?fields=name&fields=kind",
        &tenant,
        b"",
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(
        ok.json(),
        serde_json::from_str::<Value>(&pet()).unwrap_or_default()
    );
    assert_eq!(upstream.requests().len(), 1);
    assert!(upstream.requests()[0].starts_with("GET /owners/ann/pets/7?fields=name&fields=kind "));

    // Refused before the upstream: bad path parameters, a missing header, a bad array item.
    for (path, headers, named) in [
        (
            "/owners/Ann/pets/0",
            &tenant[..],
            vec!["\"owner\"", "\"petId\""],
        ),
        ("/owners/ann/pets/x", &tenant[..], vec!["\"petId\""]),
        (
            "/owners/ann/pets/7",
            &[][..],
            vec!["header parameter \"X-Tenant\": required"],
        ),
        (
            "/owners/ann/pets/7?fields=age",
            &tenant[..],
            vec!["query parameter \"fields\"/0"],
        ),
    ] {
        let reply = gateway.send("GET", path, headers, b"");
        assert_eq!(reply.status, 400, "{path}: {}", reply.text());
        let found = violations(&reply);
        for name in named {
            assert!(
                found.iter().any(|v| v.contains(name)),
                "{path}: {name} in {found:?}"
            );
        }
    }
    let missing = gateway.get("/pets");
    assert_eq!(
        violations(&missing),
        ["query parameter \"limit\": required"]
    );
    let put = gateway.json("PUT", "/owners/ann/pets/7", &json!({"id": 7}));
    assert_eq!(put.status, 400);
    assert!(
        violations(&put)[0].contains("name"),
        "{:?}",
        violations(&put)
    );
    assert_eq!(
        upstream.requests().len(),
        1,
        "nothing invalid was forwarded"
    );

    // Responses against the schema of their status: exact, 4XX range, default.
    upstream.set((200, "application/json", json!({"id": 0}).to_string()));
    let broken = gateway.send("GET", "/owners/ann/pets/7", &tenant, b"");
    assert_eq!(broken.status, 502, "{}", broken.text());
    assert!(violations(&broken).len() >= 2, "{:?}", violations(&broken));
    upstream.set((
        404,
        "application/problem+json",
        json!({"message": "no"}).to_string(),
    ));
    assert_eq!(
        gateway
            .send("GET", "/owners/ann/pets/7", &tenant, b"")
            .status,
        404
    );
    upstream.set((
        404,
        "application/problem+json",
        json!({"msg": "no"}).to_string(),
    ));
    assert_eq!(
        gateway
            .send("GET", "/owners/ann/pets/7", &tenant, b"")
            .status,
        502
    );
    upstream.set((500, "text/plain", "down".to_owned()));
    assert_eq!(
        gateway
            .send("GET", "/owners/ann/pets/7", &tenant, b"")
            .status,
        502,
        "500 is not declared for GET"
    );
    upstream.set((
        409,
        "application/json",
        json!({"message": "taken"}).to_string(),
    ));
    let conflict = gateway.json(
        "PUT",
        "/owners/ann/pets/7",
        &json!({"id": 7, "name": "Rex"}),
    );
    assert_eq!(
        conflict.status,
        409,
        "default covers it: {}",
        conflict.text()
    );
    upstream.set((201, "application/json", "[]".to_owned()));
    assert_eq!(gateway.get("/pets?limit=3").status, 201, "2XX covers 201");

    // The gateway's own document lists them.
    let document = gateway.get("/openapi.json").json();
    assert!(document["paths"]["/owners/{owner}/pets/{petId}"]["put"].is_object());
}

#[test]
fn report_mode_passes_violations_with_a_header() {
    let upstream = Scripted::start((200, "application/json", json!({"id": "x"}).to_string()));
    let gateway = front(&pets(), &upstream.addr, &[("VALIDATE", "report")]);
    let reply = gateway.send("GET", "/owners/ann/pets/7", &[("X-Tenant", "acme")], b"");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"id": "x"}));
    assert!(
        reply
            .header("specgate-violations")
            .is_some_and(|v| v.contains("/id"))
    );
    // Requests are still checked, and forwarded: the problem is named, nothing refused.
    let reply = gateway.send("GET", "/owners/ann/pets/7", &[], b"");
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("specgate-violations")
            .is_some_and(|v| v.contains("request: 400")),
        "{:?}",
        reply.header("specgate-violations")
    );
}

#[test]
fn check_reports_remote_and_dangling_refs_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("specgate-oas-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(
        dir.join("routes.yaml"),
        "upstreams:\n  api:\n    url: http://127.0.0.1:9\n    openapi: api.yaml\n",
    )
    .expect("writes");
    std::fs::write(
        dir.join("api.yaml"),
        "openapi: 3.0.0\ninfo: { title: t, version: '1' }\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          description: x\n          content:\n            application/json:\n              schema: { $ref: 'https://example.org/a.json' }\n  /b:\n    get:\n      responses:\n        '200': { $ref: '#/components/responses/Nope' }\n",
    )
    .expect("writes");
    let out = Command::new(env!("CARGO_BIN_EXE_specgate"))
        .args(["check", "--spec"])
        .arg(&dir)
        .args(["--database-url", "sqlite::memory:"])
        .output()
        .expect("runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("api.yaml:11: remote $ref"), "{text}");
    assert!(
        text.contains("api.yaml:15: $ref \"#/components/responses/Nope\" points at nothing"),
        "{text}"
    );
}

#[test]
fn an_edited_document_is_reloaded_like_the_route_table() {
    let dir = std::env::temp_dir().join(format!("specgate-oas-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    for file in ["routes.yaml", "pets.json"] {
        std::fs::copy(pets().join(file), dir.join(file)).expect("copies");
    }
    let upstream = Scripted::start((200, "application/json", "[]".to_owned()));
    let gateway = front(&dir, &upstream.addr, &[]);
    assert_eq!(gateway.get("/pets?limit=3").status, 200);
    common::edit(&dir.join("pets.json"), "\"/pets\"", "\"/animals\"");
    let mut moved = false;
    for _ in 0..100 {
        if gateway.get("/animals?limit=3").status == 200 {
            moved = true;
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    drop(gateway);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(moved, "the edited document was not reloaded");
}
