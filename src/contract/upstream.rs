//! Upstreams: the services proxied routes forward to, compiled from `upstreams:` in
//! `routes.yaml` (their URL checked once, here, so the request path never parses one, and
//! an https upstream's roots read once).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use rustls::ClientConfig;

use super::roots::{Roots, client_config};

use super::format::UpstreamDef;

/// A compiled upstream.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Its name in the route table, for logs and metrics labels (shared: a label costs no
    /// copy).
    pub name: std::sync::Arc<str>,
    /// `http` or `https`.
    pub scheme: Scheme,
    /// Host and port.
    pub authority: Authority,
    /// A path prefix put before the client's path (empty, or `/prefix` without a trailing
    /// slash).
    pub prefix: String,
    /// How long a connection may take to open.
    pub connect_timeout: Duration,
    /// How long the upstream may take to send its whole answer.
    pub response_timeout: Duration,
    /// Idle connections kept per upstream.
    pub pool_size: usize,
    /// Largest response body accepted.
    pub max_response_body: usize,
    /// Whether an idempotent request that could not be sent is tried again once.
    pub retry: bool,
    /// HTTP/2 (with prior knowledge, or offered by ALPN over https) instead of HTTP/1.1.
    pub http2: bool,
    /// The client's TLS settings: for `https`, the roots its certificate must chain to
    /// (host names checked); for `http`, never used, so they trust nothing.
    pub tls: Arc<ClientConfig>,
}

/// Compiles one upstream (`dir`: the spec folder, for its `ca` file); the error says what
/// is wrong with it.
pub fn compile(name: &str, def: &UpstreamDef, dir: &Path) -> Result<Upstream, String> {
    let uri: http::Uri = def
        .url
        .parse()
        .map_err(|e| format!("url {:?} is not a URL: {e}", def.url))?;
    let scheme = match uri.scheme().map(Scheme::as_str) {
        Some("http") => Scheme::HTTP,
        Some("https") => Scheme::HTTPS,
        _ => {
            return Err(format!(
                "url {:?} must start with http:// or https://",
                def.url
            ));
        }
    };
    let Some(authority) = uri.authority().cloned() else {
        return Err(format!("url {:?} has no host", def.url));
    };
    if uri.query().is_some() {
        return Err(format!("url {:?} must not have a query", def.url));
    }
    if def.connect_timeout_ms == 0 || def.response_timeout_ms == 0 {
        return Err("timeouts must be at least 1 ms".to_owned());
    }
    if def.max_response_body == 0 {
        return Err("max_response_body must be at least 1 byte".to_owned());
    }
    let tls = match (scheme == Scheme::HTTPS, &def.ca) {
        (true, ca) => client_config(Roots::of(ca.as_deref().map(|ca| dir.join(ca))))?,
        (false, Some(_)) => return Err("ca applies to https:// upstreams only".to_owned()),
        (false, None) => client_config(Roots::Nothing)?,
    };
    Ok(Upstream {
        name: name.into(),
        scheme,
        authority,
        prefix: uri.path().trim_end_matches('/').to_owned(),
        connect_timeout: Duration::from_millis(def.connect_timeout_ms),
        response_timeout: Duration::from_millis(def.response_timeout_ms),
        pool_size: def.pool_size,
        max_response_body: def.max_response_body,
        retry: def.retry,
        http2: def.http2,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(url: &str) -> UpstreamDef {
        serde_yaml::from_str(&format!("url: {url:?}")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn compile(name: &str, def: &UpstreamDef) -> Result<Upstream, String> {
        super::compile(name, def, Path::new("."))
    }

    #[test]
    fn urls_split_into_authority_and_prefix() {
        let up =
            compile("u", &def("http://127.0.0.1:8080/base/")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(up.authority.as_str(), "127.0.0.1:8080");
        assert_eq!(up.prefix, "/base");
        let bare = compile("u", &def("http://localhost:9")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bare.prefix, "");
    }

    #[test]
    fn other_schemes_and_queries_are_refused() {
        for bad in ["ftp://x", "x:1", "http://x/?a=1", ""] {
            assert!(compile("u", &def(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn https_takes_roots_and_http_refuses_them() {
        let https = compile("u", &def("https://example.org")).map(|u| u.scheme);
        assert_eq!(https, Ok(Scheme::HTTPS));
        let with_ca = |url: &str| -> UpstreamDef {
            serde_yaml::from_str(&format!("url: {url:?}\nca: missing.pem"))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let plain = compile("u", &with_ca("http://x")).map(|u| u.scheme);
        assert_eq!(
            plain,
            Err("ca applies to https:// upstreams only".to_owned())
        );
        let missing = compile("u", &with_ca("https://x")).map(|u| u.scheme);
        assert!(missing.is_err_and(|e| e.starts_with("ca ./missing.pem cannot be read")));
    }
}
