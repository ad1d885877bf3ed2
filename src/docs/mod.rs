//! The API explorer: Swagger UI on the served OpenAPI document, at `settings.docs_path`
//! (`/docs`). Its files are vendored under `assets/swagger-ui/dist/` (`assets/fetch` copies
//! them from the pinned npm package) and built into the binary, so the page needs nothing
//! but the gateway: no CDN, no internet. The page and its start script are ours; the files
//! live under a path named after their content's hash, so they can be cached for good.

use std::sync::LazyLock;

use bytes::Bytes;
use http::Response;
use http::header::{self, HeaderValue};
use sha2::{Digest, Sha256};

use crate::respond;

/// One file the explorer's page loads.
#[derive(Debug)]
pub struct Asset {
    /// Its name, the last segment of its path.
    pub name: &'static str,
    /// Its media type.
    pub content_type: &'static str,
    /// Its bytes, in the binary.
    pub body: &'static [u8],
}

/// Every file the page loads; nothing else is served under the docs path.
static ASSETS: [Asset; 4] = [
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../assets/swagger-ui/dist/swagger-ui-bundle.js"),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../assets/swagger-ui/dist/swagger-ui.css"),
    },
    Asset {
        name: "favicon-32x32.png",
        content_type: "image/png",
        body: include_bytes!("../../assets/swagger-ui/dist/favicon-32x32.png"),
    },
    Asset {
        name: "init.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("init.js"),
    },
];

/// The page's policy: only the gateway's own scripts, styles and requests (Swagger UI's
/// CSS draws its icons from `data:` images).
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                      img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
                      form-action 'none'; frame-ancestors 'none'";

/// The versioned files never change under their path: a year, and `immutable`.
const FOREVER: &str = "public, max-age=31536000, immutable";

/// The page names the files' current path, so it is checked each time.
const REVALIDATE: &str = "no-cache";

/// The first 16 hex digits of the SHA-256 of every file: the segment the files live under.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in &ASSETS {
        hash.update(asset.name.as_bytes());
        hash.update(asset.body);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// What a path under the docs path asks for.
#[derive(Debug)]
pub enum Want {
    /// The page itself.
    Page,
    /// The docs path with a trailing slash: redirected to the page.
    Slash,
    /// One of the page's files.
    Asset(&'static Asset),
    /// Anything else under the docs path.
    Missing,
}

/// What `path` asks of the explorer at `docs`, if it is the explorer's at all.
pub fn want(docs: &str, path: &str) -> Option<Want> {
    let rest = path.strip_prefix(docs)?;
    if rest.is_empty() {
        return Some(Want::Page);
    }
    let rest = rest.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Want::Slash);
    }
    let asset = rest
        .strip_prefix(VERSION.as_str())
        .and_then(|name| name.strip_prefix('/'))
        .and_then(|name| ASSETS.iter().find(|a| a.name == name));
    Some(asset.map_or(Want::Missing, Want::Asset))
}

/// The page for the document at `openapi`, titled `title`, served at `docs`.
pub fn page(docs: &str, openapi: &str, title: &str) -> Response<Bytes> {
    let files = format!("{}/{}", escape(docs), *VERSION);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · API explorer</title>\n\
         <link rel=\"icon\" type=\"image/png\" href=\"{files}/favicon-32x32.png\">\n\
         <link rel=\"stylesheet\" href=\"{files}/swagger-ui.css\">\n</head>\n<body>\n\
         <div id=\"swagger-ui\" data-openapi=\"{openapi}\"></div>\n\
         <script src=\"{files}/swagger-ui-bundle.js\"></script>\n\
         <script src=\"{files}/init.js\"></script>\n</body>\n</html>\n",
        title = escape(title),
        openapi = escape(openapi),
    );
    let mut response = respond::file("text/html; charset=utf-8", REVALIDATE, html.into());
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    response
}

/// One of the page's files.
pub fn asset(asset: &'static Asset) -> Response<Bytes> {
    respond::file(asset.content_type, FOREVER, Bytes::from_static(asset.body))
}

/// Where the explorer shows one operation: Swagger UI's deep link, `#/{tag}/{operationId}`
/// (spaces as `%20`, as Swagger UI writes them).
pub fn deep_link(docs: &str, tag: &str, operation: &str) -> String {
    format!("{docs}#/{}/{}", fragment(tag), fragment(operation))
}

/// `text` for a URL fragment: what a fragment may hold as it is, the rest percent-encoded.
fn fragment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.trim().bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `text` for an HTML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_the_docs_path() {
        assert!(matches!(want("/docs", "/docs"), Some(Want::Page)));
        assert!(matches!(want("/docs", "/docs/"), Some(Want::Slash)));
        let css = format!("/docs/{}/swagger-ui.css", *VERSION);
        assert!(matches!(want("/docs", &css), Some(Want::Asset(a)) if a.name == "swagger-ui.css"));
        assert!(matches!(
            want("/docs", "/docs/swagger-ui.css"),
            Some(Want::Missing)
        ));
        let other = format!("/docs/{}/index.html", *VERSION);
        assert!(matches!(want("/docs", &other), Some(Want::Missing)));
        assert!(want("/docs", "/docsx").is_none());
        assert!(want("/docs", "/api/things/").is_none());
    }

    #[test]
    fn deep_links_are_swagger_ui_s() {
        assert_eq!(
            deep_link("/docs", "default", "list_things"),
            "/docs#/default/list_things"
        );
        assert_eq!(deep_link("/d", "User List", "a/b"), "/d#/User%20List/a%2Fb");
    }

    #[test]
    fn the_page_escapes_what_the_contract_names() {
        let page = page("/docs", "/openapi.json?a=1&b=\"2\"", "<Things>");
        let html = String::from_utf8_lossy(page.body());
        assert!(html.contains("data-openapi=\"/openapi.json?a=1&amp;b=&quot;2&quot;\""));
        assert!(html.contains("<title>&lt;Things&gt; · API explorer</title>"));
        assert!(!html.contains("<script>"), "no inline script: {html}");
    }
}
