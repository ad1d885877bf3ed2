//! Turning results into HTTP responses: content negotiation (`Accept`), JSON rendering the
//! way DRF's `JSONRenderer` writes it, and the headers every response carries. Every answer,
//! error or not, leaves through here.

use bytes::Bytes;
use http::header::{self, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

use crate::compat::drf::escape_line_separators;
use crate::error::{ApiError, UpstreamFault};

/// The route template a response answered, put in its extensions by the gateway for the
/// layers outside it (access log, metrics), which run before the route is known.
#[derive(Debug, Clone)]
pub struct MatchedRoute(pub std::sync::Arc<str>);

impl MatchedRoute {
    /// The route template `response` answered, if it matched a route.
    pub fn of<B>(response: &Response<B>) -> Option<&str> {
        response.extensions().get::<MatchedRoute>().map(|r| &*r.0)
    }
}

/// Why the gateway failed a request (a 5xx of its own making), put in the response's
/// extensions for the access log to write with the request id.
#[derive(Debug, Clone)]
pub struct Fault(pub String);

/// How the client wants JSON written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Render {
    /// `Accept: application/json; indent=N` pretty-prints with N spaces (0..=8).
    pub indent: Option<usize>,
}

/// Picks the representation from `Accept`, as DRF does: the most specific media ranges
/// first; JSON is the only representation, so a header that excludes it is a 406.
pub fn negotiate(accept: Option<&str>) -> Result<Render, ApiError> {
    // No header means anything; a header with nothing in it accepts nothing, as in DRF.
    let accept = accept.map(str::trim).unwrap_or("*/*");
    let mut best: Option<(u8, Render)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let params: Vec<(String, String)> = parts
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| {
                (
                    k.trim().to_ascii_lowercase(),
                    v.trim().trim_matches('"').to_owned(),
                )
            })
            .filter(|(k, _)| k != "q")
            .collect();
        let precedence = match media.as_str() {
            "application/json" if !params.is_empty() => 3,
            "application/json" => 2,
            "application/*" => 1,
            "*/*" => 0,
            _ => continue,
        };
        let indent = params
            .iter()
            .find(|(k, _)| k == "indent")
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .map(|n| n.clamp(0, 8) as usize);
        let render = Render {
            indent: if precedence >= 2 { indent } else { None },
        };
        if best.is_none_or(|(p, _)| precedence > p) {
            best = Some((precedence, render));
        }
    }
    best.map(|(_, r)| r).ok_or(ApiError::NotAcceptable)
}

/// Whether `accept` ranks `text/html` strictly above `application/json` (RFC 9110 §12.5.1:
/// each type gets the quality of the most specific range that matches it): what a browser's
/// address bar sends (`text/html,…,*/*;q=0.8`), and never what a JSON client sends.
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    quality(accept, "text", "html") > quality(accept, "application", "json")
}

/// The quality `accept` gives `kind/subtype`, in thousandths: that of the most specific
/// matching range (0 when none matches).
fn quality(accept: &str, kind: &str, subtype: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let (k, s) = media.split_once('/').unwrap_or((&media, ""));
        let specificity = match (k, s) {
            _ if k == kind && s == subtype => 2,
            (_, "*") if k == kind => 1,
            ("*", "*") => 0,
            _ => continue,
        };
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, v)| thousandths(v.trim()));
        if best.is_none_or(|(sp, _)| specificity > sp) {
            best = Some((specificity, q));
        }
    }
    best.map_or(0, |(_, q)| q)
}

/// A `q` value (`0`, `0.8`, `1.000`) in thousandths; anything else counts as 0.
fn thousandths(q: &str) -> u16 {
    q.parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        .map_or(0, |q| (q * 1000.0).round() as u16)
}

/// Writes `value` as DRF would: compact, or indented with `indent` spaces and `": "`;
/// non-ASCII kept, U+2028 and U+2029 escaped.
pub fn to_json(value: &impl Serialize, render: Render) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    let written = match render.indent {
        None => serde_json::to_writer(&mut out, value),
        Some(n) => {
            let indent = vec![b' '; n];
            let formatter = serde_json::ser::PrettyFormatter::with_indent(&indent);
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            value.serialize(&mut ser)
        }
    };
    written?;
    Ok(escape_line_separators(out))
}

/// Headers every response carries.
fn base(status: StatusCode, allow: Option<&HeaderValue>, body: Bytes) -> Response<Bytes> {
    const COOP: HeaderName = HeaderName::from_static("cross-origin-opener-policy");
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.reserve(8);
    // Static values: no copy and no validation per response.
    headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(COOP, HeaderValue::from_static("same-origin"));
    if let Some(allow) = allow {
        headers.insert(header::ALLOW, allow.clone());
    }
    response
}

/// A JSON response; a value that cannot be written (which a `Value` with
/// arbitrary-precision numbers could be) is a 500, never a substitute body, and its cause
/// goes to the log with the request id.
pub fn json(
    status: StatusCode,
    value: &Value,
    render: Render,
    allow: Option<&HeaderValue>,
) -> Response<Bytes> {
    match to_json(value, render) {
        Ok(body) => json_bytes(status, body.into(), allow),
        Err(e) => {
            const BODY: &str = r#"{"detail":"A server error occurred."}"#;
            let mut response = json_bytes(
                StatusCode::INTERNAL_SERVER_ERROR,
                Bytes::from_static(BODY.as_bytes()),
                allow,
            );
            let cause = format!("the response body could not be written: {e}");
            response.extensions_mut().insert(Fault(cause));
            response
        }
    }
}

/// A response whose JSON body is already written.
pub fn json_bytes(status: StatusCode, body: Bytes, allow: Option<&HeaderValue>) -> Response<Bytes> {
    let mut response = base(status, allow, body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A file the gateway serves itself (the API explorer's page and files), with its media type
/// and caching.
pub fn file(content_type: &'static str, cache: &'static str, body: Bytes) -> Response<Bytes> {
    let mut response = base(StatusCode::OK, None, body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The response for an error.
pub fn error(err: &ApiError, render: Render, allow: Option<&HeaderValue>) -> Response<Bytes> {
    let mut response = json(err.status(), &err.body(), render, allow);
    let headers = response.headers_mut();
    match err {
        ApiError::Unavailable(_)
        | ApiError::Timeout
        | ApiError::Upstream(UpstreamFault::Connect(_) | UpstreamFault::Timeout) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        ApiError::Throttled(wait) => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*wait));
        }
        ApiError::LimitUnavailable => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        ApiError::UpstreamViolation(_) | ApiError::RequestViolation(_) => {
            let problem = HeaderValue::from_static("application/problem+json");
            headers.insert(header::CONTENT_TYPE, problem);
        }
        _ => {}
    }
    if let Some(challenge) = err.challenge().and_then(|c| HeaderValue::from_str(c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// `response` with its representation's `ETag`; a 5xx made while rendering it keeps none.
pub fn tagged(mut response: Response<Bytes>, etag: Option<HeaderValue>) -> Response<Bytes> {
    if let Some(etag) = etag.filter(|_| !response.status().is_server_error()) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// 304: the `ETag` the client's copy has, no body and no Content-Type.
pub fn not_modified(etag: Option<HeaderValue>, allow: Option<&HeaderValue>) -> Response<Bytes> {
    tagged(base(StatusCode::NOT_MODIFIED, allow, Bytes::new()), etag)
}

/// 204: no body, no Content-Type.
pub fn no_content(allow: Option<&HeaderValue>) -> Response<Bytes> {
    base(StatusCode::NO_CONTENT, allow, Bytes::new())
}

/// A redirect to `location` (301, 303 or 308), with an empty body.
pub fn redirect(status: StatusCode, location: &str) -> Response<Bytes> {
    let mut response = base(status, None, Bytes::new());
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accept_picks_json_or_refuses() {
        assert_eq!(negotiate(None).ok(), Some(Render::default()));
        assert_eq!(
            negotiate(Some("application/json; indent=4")).ok(),
            Some(Render { indent: Some(4) })
        );
        assert_eq!(
            negotiate(Some("text/html, application/json;indent=2")).ok(),
            Some(Render { indent: Some(2) })
        );
        assert_eq!(
            negotiate(Some("application/json; indent=99")).ok(),
            Some(Render { indent: Some(8) })
        );
        assert_eq!(
            negotiate(Some("application/*")).ok(),
            Some(Render::default())
        );
        assert!(matches!(
            negotiate(Some("application/xml")),
            Err(ApiError::NotAcceptable)
        ));
        assert!(matches!(negotiate(Some("")), Err(ApiError::NotAcceptable)));
    }

    #[test]
    fn html_is_preferred_only_when_ranked_above_json() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,\
                       image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        assert!(prefers_html(Some(browser)));
        assert!(prefers_html(Some("text/html")));
        assert!(prefers_html(Some("TEXT/HTML")));
        assert!(prefers_html(Some("text/*")));
        assert!(prefers_html(Some("application/json;q=0.5, text/html")));
        for json in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/json, text/html"),
            Some("text/html;q=0.9, application/json"),
            Some("text/html;q=0, */*"),
            Some("application/*, text/html;q=0.5"),
            Some("image/png"),
            Some(""),
        ] {
            assert!(!prefers_html(json), "{json:?}");
        }
    }

    #[test]
    fn json_is_written_like_drf() {
        let value = json!({"a": [1, 2], "b": "é\u{2028}", "c": {}});
        assert_eq!(
            String::from_utf8(to_json(&value, Render::default()).unwrap_or_default())
                .unwrap_or_default(),
            "{\"a\":[1,2],\"b\":\"é\\u2028\",\"c\":{}}"
        );
        let pretty = to_json(&json!({"a": [1]}), Render { indent: Some(4) }).unwrap_or_default();
        let pretty = String::from_utf8(pretty).unwrap_or_default();
        assert_eq!(pretty, "{\n    \"a\": [\n        1\n    ]\n}");
    }

    #[test]
    fn every_response_carries_the_security_headers() {
        let response = no_content(Some(&HeaderValue::from_static("GET, OPTIONS")));
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.headers().get(header::CONTENT_TYPE).is_none());
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(response.headers()[header::ALLOW], "GET, OPTIONS");
        let err = error(
            &ApiError::Unavailable("down".into()),
            Render::default(),
            None,
        );
        assert_eq!(err.headers()[header::RETRY_AFTER], "5");
    }
}
