//! What crosses the proxy: the upstream request built from the client's (its path and query
//! under the upstream's prefix, hop-by-hop headers removed, `Forwarded` and `X-Forwarded-*`
//! added, the trace continued), and the client response built from the upstream's.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{PathAndQuery, Uri};
use http::{Method, Request, Response};

use crate::contract::{HostHeader, Upstream};
use crate::route::ApiRequest;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), besides the
/// ones a `Connection` header names.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
];

/// The request to send upstream. HEAD is sent as GET, so the answer's body can be checked
/// and its length told (the HEAD layer drops the body).
pub fn request(req: &ApiRequest, upstream: &Upstream, host: HostHeader) -> Request<Bytes> {
    let mut headers = req.headers.clone();
    strip_hop_by_hop(&mut headers);
    headers.remove(header::UPGRADE);
    headers.remove(header::CONTENT_LENGTH);
    let client_host = headers
        .get(header::HOST)
        .cloned()
        .or_else(|| authority_of(&req.uri));
    add_forwarded(&mut headers, req, client_host.as_ref());
    match (host, client_host) {
        (HostHeader::Client, Some(client)) => {
            headers.insert(header::HOST, client);
        }
        _ => {
            if let Ok(own) = HeaderValue::from_str(upstream.authority.as_str()) {
                headers.insert(header::HOST, own);
            }
        }
    }
    headers.insert(TRACEPARENT, req.trace.child().header_value());
    let method = if req.method == Method::HEAD {
        Method::GET
    } else {
        req.method.clone()
    };
    let mut request = Request::new(req.body.clone());
    *request.method_mut() = method;
    *request.uri_mut() = target(req, upstream);
    *request.headers_mut() = headers;
    request
}

/// The client response from the upstream's: status, headers minus hop-by-hop ones, body.
pub fn response<B>(upstream: Response<B>) -> Response<B> {
    let (mut parts, body) = upstream.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body)
}

/// `http://upstream/prefix` + the client's path and query, exactly as sent.
fn target(req: &ApiRequest, upstream: &Upstream) -> Uri {
    let path = req.uri.path_and_query().map_or("/", PathAndQuery::as_str);
    let mut builder = Uri::builder()
        .scheme(upstream.scheme.clone())
        .authority(upstream.authority.clone());
    builder = if upstream.prefix.is_empty() {
        builder.path_and_query(path)
    } else {
        builder.path_and_query(format!("{}{path}", upstream.prefix))
    };
    // Every part was parsed as a URI part already, so this holds; the fallback only keeps a
    // broken invariant from panicking.
    builder.build().unwrap_or_else(|_| Uri::from_static("/"))
}

/// Removes the connection's own headers, and those its `Connection` header lists.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

/// `Forwarded` (RFC 7239) and the `X-Forwarded-*` trio, each appended to what earlier
/// proxies wrote.
fn add_forwarded(headers: &mut HeaderMap, req: &ApiRequest, host: Option<&HeaderValue>) {
    let host = host.and_then(|h| h.to_str().ok());
    let mut element = String::new();
    if let Some(peer) = req.peer {
        let ip = peer.ip();
        append(headers, X_FORWARDED_FOR, &ip.to_string());
        element = if ip.is_ipv6() {
            format!("for=\"[{ip}]\"")
        } else {
            format!("for={ip}")
        };
    }
    if !element.is_empty() {
        element.push(';');
    }
    let proto = if req.secure { "https" } else { "http" };
    element.push_str("proto=");
    element.push_str(proto);
    if let Some(host) = host {
        element.push_str(&format!(";host=\"{}\"", host.replace(['"', '\\'], "")));
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(X_FORWARDED_HOST, value);
        }
    }
    headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    append(headers, header::FORWARDED, &element);
}

/// Appends `value` to a comma-separated header, or sets it.
fn append(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    let joined = match headers.get(&name).and_then(|v| v.to_str().ok()) {
        Some(before) if !before.is_empty() => format!("{before}, {value}"),
        _ => value.to_owned(),
    };
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert(name, value);
    }
}

fn authority_of(uri: &Uri) -> Option<HeaderValue> {
    uri.authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_headers_and_the_ones_they_name_are_removed() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("te", "trailers"),
            ("accept", "application/json"),
        ] {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        strip_hop_by_hop(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["accept"]);
    }

    #[test]
    fn forwarding_headers_append_to_earlier_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert(X_FORWARDED_FOR, HeaderValue::from_static("203.0.113.7"));
        append(&mut headers, X_FORWARDED_FOR, "127.0.0.1");
        assert_eq!(headers[&X_FORWARDED_FOR], "203.0.113.7, 127.0.0.1");
    }
}
