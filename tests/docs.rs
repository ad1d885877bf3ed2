//! The API explorer at `/docs`: over HTTP (the page, its files and their headers, the
//! setting, a browser's `Accept` sent to it while JSON clients see no change) and in headless
//! Chromium driven by Playwright (`tests/browser/docs.mjs`: every operation listed, "Try it
//! out" on the list, the rendered response, a screenshot kept under `target/artefacts/`, and
//! no request leaving the gateway). The browser test is skipped (a line on stderr) when
//! chromium, node or `tests/browser/node_modules` (`npm ci` there) is missing, unless
//! `SPECGATE_TEST_BROWSER=required`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Gateway, copy_spec, on_both, users_spec};
use serde_json::{Value, json};

/// The variable that, set to `required`, makes a missing browser a failure (CI sets it).
const BROWSER_REQUIRED: &str = "SPECGATE_TEST_BROWSER";

/// What a browser's address bar sends.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,\
                              image/avif,image/webp,image/apng,*/*;q=0.8";

/// The Playwright script's folder.
fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// Whether chromium, node and Playwright are here (else the test is skipped, or fails when
/// required).
fn browser_available(test: &str) -> bool {
    let runs = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let playwright = browser_dir().join("node_modules/playwright-core/package.json");
    let missing: Vec<&str> = [
        ("chromium", runs("chromium")),
        ("node", runs("node")),
        ("tests/browser/node_modules (npm ci)", playwright.exists()),
    ]
    .into_iter()
    .filter_map(|(what, here)| (!here).then_some(what))
    .collect();
    let required = std::env::var(BROWSER_REQUIRED).is_ok_and(|v| v == "required");
    assert!(
        missing.is_empty() || !required,
        "{test}: missing {missing:?} and {BROWSER_REQUIRED}=required"
    );
    if !missing.is_empty() {
        let _ = writeln!(std::io::stderr(), "{test}: skipped, missing {missing:?}");
    }
    missing.is_empty()
}

/// `target/artefacts/`, next to the binary's `debug/` (CI keeps `target/`).
fn artefacts() -> PathBuf {
    let binary = Path::new(env!("CARGO_BIN_EXE_specgate"));
    let target = binary
        .parent()
        .and_then(Path::parent)
        .expect("the binary is under target/");
    let dir = target.join("artefacts");
    std::fs::create_dir_all(&dir).expect("creates target/artefacts");
    dir
}

/// Runs the Playwright script against `gw`; what it saw.
fn explore(gw: &Gateway, screenshot: &Path) -> Value {
    let out = Command::new("node")
        .arg(browser_dir().join("docs.mjs"))
        .arg(format!("http://{}", gw.addr))
        .arg(screenshot)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "docs.mjs failed: {stdout}\n{stderr}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"))
}

/// Creates a user over HTTP.
fn seed(gw: &Gateway, username: &str) {
    let body = json!({"username": username, "email": format!("{username}@example.com")});
    assert_eq!(gw.json("POST", "/api/users/", &body).status, 201);
}

/// A copy of the Users API with these lines added to its `settings:`.
fn with_settings(name: &str, lines: &str) -> common::ScratchSpec {
    let dir = copy_spec(&users_spec(), name);
    common::add_to_routes(&dir.join("routes.yaml"), &format!("settings:\n{lines}"));
    dir
}

on_both! {
    /// Chromium opens /docs: the explorer lists exactly the document's operations (the six
    /// of the Users API among them); "Try it out" then "Execute" on the list calls the
    /// gateway at its own address and renders 200 with the seeded users; the page loads
    /// with no request to anything but the gateway and no script error; a browser's visit
    /// to `/api/users/1/` lands on the explorer with that operation open. The screenshots
    /// are `target/artefacts/docs-<db>.png` (the operations), `…-try-it-out.png` (the
    /// whole page after "Execute") and `…-response.png` (the rendered response).
    fn the_explorer_runs_in_a_browser(db) {
        if !browser_available(module_path!()) {
            return;
        }
        let gw = Gateway::users_on(db);
        for name in ["ada", "grace", "edsger"] {
            seed(&gw, name);
        }
        let name = format!("docs-{}", format!("{db:?}").to_lowercase());
        let shot = artefacts().join(format!("{name}.png"));
        let tried = artefacts().join(format!("{name}-try-it-out.png"));
        let response = artefacts().join(format!("{name}-response.png"));
        for stale in [&shot, &tried, &response] {
            let _ = std::fs::remove_file(stale);
        }
        let seen = explore(&gw, &shot);
        assert_eq!(seen["failure"], Value::Null, "{seen:#}");
        assert_eq!(seen["docs_status"], 200);
        assert_eq!(seen["offsite"], json!([]), "requests left the gateway: {seen:#}");
        assert_eq!(seen["errors"], json!([]), "{seen:#}");
        assert!(seen["csp"].as_str().is_some_and(|c| c.contains("script-src 'self'")));
        assert!(seen["title"].as_str().is_some_and(|t| t.starts_with("User Management API")));
        let mut listed: Vec<&str> = names(&seen["operations"]);
        let mut documented: Vec<&str> = names(&seen["documented"]);
        listed.sort_unstable();
        documented.sort_unstable();
        assert_eq!(listed, documented);
        for op in [
            "GET /api/users/",
            "POST /api/users/",
            "GET /api/users/{id}/",
            "PUT /api/users/{id}/",
            "PATCH /api/users/{id}/",
            "DELETE /api/users/{id}/",
        ] {
            assert!(listed.contains(&op), "{op} missing from {listed:?}");
        }
        assert_eq!(seen["list_status"], "200");
        assert_eq!(seen["list_url"], format!("http://{}/api/users/", gw.addr));
        let body: Value = serde_json::from_str(seen["list_body"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("the rendered body is not JSON ({e}): {seen:#}"));
        assert_eq!(body["count"], 3);
        assert_eq!(body["results"][0]["username"], "ada");
        assert_eq!(
            seen["visit_url"],
            format!("http://{}/docs#/default/retrieve_users", gw.addr)
        );
        assert_eq!(seen["visit_open"], 1);
        for file in [&shot, &tried, &response] {
            let png = std::fs::read(file).expect("the screenshot was written");
            assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{} bytes", png.len());
        }
    }

    /// The page and its files: media types, caching, the page's policy, HEAD, OPTIONS and
    /// 405 as on the other special paths, `/docs/` redirected, anything else under /docs a
    /// 404 in the API's format.
    fn the_page_and_its_files_are_served_from_the_binary(db) {
        let gw = Gateway::users_on(db);
        let page = gw.get("/docs");
        assert_eq!(page.status, 200);
        assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(page.header("cache-control"), Some("no-cache"));
        let policy = page.header("content-security-policy").unwrap_or_default();
        assert!(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"));
        let html = page.text();
        assert!(html.contains("data-openapi=\"/openapi.json\""), "{html}");
        assert!(!html.contains("<script>"), "no inline script: {html}");
        let files: Vec<&str> = html
            .split(['"', '\''])
            .filter(|s| s.starts_with("/docs/"))
            .collect();
        assert_eq!(files.len(), 4, "{files:?}");
        for (file, media) in files.iter().zip([
            "image/png",
            "text/css; charset=utf-8",
            "text/javascript; charset=utf-8",
            "text/javascript; charset=utf-8",
        ]) {
            let got = gw.get(file);
            assert_eq!(got.status, 200, "{file}");
            assert_eq!(got.header("content-type"), Some(media), "{file}");
            assert_eq!(
                got.header("cache-control"),
                Some("public, max-age=31536000, immutable"),
                "{file}"
            );
            assert!(!got.body.is_empty(), "{file}");
            let head = gw.send("HEAD", file, &[], b"");
            assert_eq!(head.status, 200);
            assert!(head.body.is_empty());
            assert_eq!(
                head.header("content-length"),
                Some(got.body.len().to_string().as_str())
            );
        }
        let bundle = files.iter().find(|f| f.ends_with("swagger-ui-bundle.js")).copied();
        let bundle = gw.get(bundle.unwrap_or_default());
        assert!(bundle.body.len() > 1_000_000, "the whole bundle: {}", bundle.body.len());
        let options = gw.send("OPTIONS", "/docs", &[], b"");
        assert_eq!(options.status, 204);
        assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
        let post = gw.send("POST", "/docs", &[], b"");
        assert_eq!(post.status, 405);
        assert_eq!(post.json(), json!({"detail": "Method \"POST\" not allowed."}));
        let slash = gw.get("/docs/");
        assert_eq!(slash.status, 301);
        assert_eq!(slash.header("location"), Some("/docs"));
        for missing in ["/docs/swagger-ui.css", "/docs/0000000000000000/init.js", "/docs/x/y"] {
            let got = gw.get(missing);
            assert_eq!(got.status, 404, "{missing}");
            assert_eq!(got.json(), json!({"detail": "Not found."}));
        }
    }

    /// A browser's GET (or HEAD) of an API path is sent to the explorer at that operation
    /// (303); JSON clients, `*/*`, no `Accept`, a `?format=json`, other methods and OPTIONS
    /// see exactly what they saw before.
    fn a_browser_is_sent_to_the_operation(db) {
        let gw = Gateway::users_on(db);
        seed(&gw, "ada");
        for (path, method, fragment) in [
            ("/api/users/", "GET", "list_users"),
            ("/api/users/1/", "GET", "retrieve_users"),
            ("/api/users/?username=ada&limit=2", "GET", "list_users"),
            ("/api/users/1/", "HEAD", "retrieve_users"),
        ] {
            for accept in [BROWSER_ACCEPT, "text/html", "text/*"] {
                let got = gw.send(method, path, &[("Accept", accept)], b"");
                assert_eq!(got.status, 303, "{method} {path} {accept}");
                let location = format!("/docs#/default/{fragment}");
                assert_eq!(got.header("location"), Some(location.as_str()));
                assert_eq!(got.header("vary"), Some("Accept"));
            }
        }
        let json_list = gw.get("/api/users/").text();
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/json, text/html"),
            Some("text/html;q=0.5, application/json"),
        ] {
            let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
            let got = gw.send("GET", "/api/users/", &headers, b"");
            assert_eq!(got.status, 200, "{accept:?}");
            assert_eq!(got.text(), json_list, "{accept:?}");
        }
        let forced = gw.send("GET", "/api/users/?format=json", &[("Accept", BROWSER_ACCEPT)], b"");
        assert_eq!(forced.status, 200);
        assert_eq!(forced.json()["count"], 1);
        let options = gw.send("OPTIONS", "/api/users/", &[("Accept", BROWSER_ACCEPT)], b"");
        assert_eq!(options.status, 200);
        assert_eq!(options.json()["name"], "User List");
        let body = br#"{"username": "grace", "email": "grace@example.com"}"#;
        let headers = [("Accept", "text/html"), ("Content-Type", "application/json")];
        let post = gw.send("POST", "/api/users/", &headers, body);
        assert_eq!(post.status, 406);
        assert_eq!(gw.get("/api/users/").json()["count"], 1, "406 before anything is written");
        assert_eq!(gw.send("GET", "/nowhere/", &[("Accept", "text/html")], b"").status, 404);
    }

    /// `docs_path` moves the explorer (its files and the browser's redirects follow it);
    /// `docs_path: null`, or the document switched off, turn it off: /docs is a 404 and a
    /// browser gets JSON (or the 406 for `text/html` alone) as before.
    fn the_setting_moves_or_removes_the_explorer(db) {
        let dir = with_settings("docs-moved", "  docs_path: /api/explorer\n");
        let gw = Gateway::start_on(db, &dir, &[]);
        assert_eq!(gw.get("/docs").status, 404);
        let page = gw.get("/api/explorer");
        assert_eq!(page.status, 200);
        assert!(page.text().contains("src=\"/api/explorer/"), "{}", page.text());
        let got = gw.send("GET", "/api/users/", &[("Accept", "text/html")], b"");
        assert_eq!(got.header("location"), Some("/api/explorer#/default/list_users"));
        drop(gw);

        for (name, lines) in [
            ("docs-off", "  docs_path: null\n"),
            ("docs-no-document", "  openapi_path: null\n"),
        ] {
            let dir = with_settings(name, lines);
            let gw = Gateway::start_on(db, &dir, &[]);
            assert_eq!(gw.get("/docs").status, 404, "{name}");
            let browser = gw.send("GET", "/api/users/", &[("Accept", BROWSER_ACCEPT)], b"");
            assert_eq!(browser.status, 200, "{name}");
            assert_eq!(browser.json()["count"], 0);
            let html = gw.send("GET", "/api/users/", &[("Accept", "text/html")], b"");
            assert_eq!(html.status, 406, "{name}");
        }
    }
}

/// `specgate check` refuses a `docs_path` the explorer's files could not live under, with
/// its line.
#[test]
fn check_refuses_a_docs_path_without_its_slash() {
    for path in ["docs", "/docs/"] {
        let dir = with_settings("docs-bad", &format!("  docs_path: {path}\n"));
        let (ok, out) = common::check(&dir, &["--spec-only"], &[]);
        assert!(!ok, "{path}: {out}");
        assert!(
            out.contains("routes.yaml:27: docs_path must start with / and not end with /"),
            "{path}: {out}"
        );
    }
}

/// The texts of a JSON array of strings.
fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}
