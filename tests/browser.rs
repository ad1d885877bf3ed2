//! CORS as a real browser enforces it: headless Chromium loads a page from one origin (a
//! small server of this test) whose script calls the gateway on another: a simple GET and a
//! preflighted PUT (JSON with a custom header). From an allowed origin both get through and
//! the script reads exactly the exposed headers; from any other origin the browser blocks
//! both. Skipped (a line on stderr) when `chromium` is not installed, unless
//! `SPECGATE_TEST_BROWSER=required`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use common::{Gateway, ScratchSpec, copy_spec, on_both, users_spec};

/// The variable that, set to `required`, makes a missing Chromium a failure (CI sets it).
const BROWSER_REQUIRED: &str = "SPECGATE_TEST_BROWSER";

/// Whether Chromium can run here (else the test is skipped, or fails when required).
fn chromium_available(test: &str) -> bool {
    let found = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var(BROWSER_REQUIRED).is_ok_and(|v| v == "required");
    assert!(
        found || !required,
        "{test}: chromium is not installed and {BROWSER_REQUIRED}=required"
    );
    if !found {
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped, chromium is not installed"
        );
    }
    found
}

/// The page: its script calls `api` and writes what it could see into `<pre id="out">`.
fn page(api: &str) -> String {
    format!(
        r#"<html><body><pre id="out">pending</pre><script>
const api = "{api}";
async function attempt(name, request) {{
  try {{
    const r = await request;
    const rl = r.headers.get("RateLimit") ? "readable" : "hidden";
    const rid = r.headers.get("X-Request-Id") ? "readable" : "hidden";
    return `${{name}} ${{r.status}} ratelimit=${{rl}} request-id=${{rid}}`;
  }} catch (e) {{
    return `${{name}} blocked`;
  }}
}}
(async () => {{
  const get = await attempt("get", fetch(api + "/api/users/"));
  const put = await attempt("put", fetch(api + "/api/users/1/", {{
    method: "PUT",
    headers: {{ "Content-Type": "application/json", "X-Trace": "1" }},
    body: "{{}}",
  }}));
  document.getElementById("out").textContent = get + "\n" + put;
}})();
</script></body></html>"#
    )
}

/// Serves `body` as HTML to every request on `listener`, on a thread of its own.
fn serve(listener: TcpListener, body: String) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
}

/// The Users API allowing `origin`, with a limit whose `RateLimit` header is exposed.
fn spec(origin: &str) -> ScratchSpec {
    let dir = copy_spec(&users_spec(), "browser");
    let routes = dir.join("routes.yaml");
    let extra = format!(
        "\nrate_limits:\n  page:\n    rate: 100\n    per: second\n\
         settings:\n  rate_limit: page\n  cors:\n    origins: [\"{origin}\"]\n    \
         expose_headers: [RateLimit]\n"
    );
    common::add_to_routes(&routes, &extra);
    dir
}

/// What the page's script wrote, once Chromium has run it.
fn run_page(page_url: &str) -> String {
    let profile = std::env::temp_dir().join(format!(
        "specgate-chromium-{}-{}",
        std::process::id(),
        page_url.rsplit(':').next().unwrap_or_default()
    ));
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=10000", "--dump-dom", page_url])
        .output()
        .expect("chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    dom.split("<pre id=\"out\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_else(|| panic!("no result in {dom}"))
        .to_owned()
}

fn page_server(api: &Gateway) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    serve(listener, page(&format!("http://{}", api.addr)));
    origin
}

on_both! {
    /// From the allowed origin, the GET and the preflighted PUT reach the gateway (200, and
    /// 404 for a missing user) and the script reads `RateLimit` (exposed) but not
    /// `X-Request-Id` (not exposed).
    fn a_browser_on_an_allowed_origin_gets_through(db) {
        if !chromium_available("a_browser_on_an_allowed_origin_gets_through") {
            return;
        }
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let origin = format!("http://{}", listener.local_addr().expect("an address"));
        let dir = spec(&origin);
        let gw = Gateway::start_on(db, &dir, &[]);
        serve(listener, page(&format!("http://{}", gw.addr)));
        assert_eq!(
            run_page(&format!("{origin}/")),
            "get 200 ratelimit=readable request-id=hidden\nput 404 ratelimit=readable request-id=hidden"
        );
    }

    /// From an origin the policy does not name, the browser blocks both calls.
    fn a_browser_on_another_origin_is_blocked(db) {
        if !chromium_available("a_browser_on_another_origin_is_blocked") {
            return;
        }
        let dir = spec("https://app.example.com");
        let gw = Gateway::start_on(db, &dir, &[]);
        let origin = page_server(&gw);
        assert_eq!(run_page(&format!("{origin}/")), "get blocked\nput blocked");
    }
}
