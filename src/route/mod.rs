//! Resolving a request: the one place that reads the HTTP request. Everything after it
//! works on [`ApiRequest`], the typed value built here once: route match, key, query,
//! negotiated rendering, media type, base URL, preconditions and body.

pub mod precondition;
pub mod router;

use bytes::Bytes;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode, Uri};

use crate::contract::{Action, Route, Spec, Target, Via};
use crate::docs;
use crate::error::ApiError;
use crate::intake::query::Query;
use crate::listen::{Peer, Secure};
use crate::respond::{self, Render};
use crate::trace::TraceContext;
use precondition::Precondition;
use router::Resolution;

/// The methods the special endpoints (the OpenAPI document, the readiness probe) answer.
pub const SPECIAL_ALLOW: &str = "GET, HEAD, OPTIONS";

/// A request for a route, parsed once.
#[derive(Debug)]
pub struct ApiRequest {
    /// The method, upper-cased.
    pub method: Method,
    /// Index of the matched route in the contract's routes.
    pub route: usize,
    /// The decoded key segment, when the route has one.
    pub key: Option<String>,
    /// The decoded `{param}` segments of an imported route, in path order.
    pub params: Vec<String>,
    /// The decoded query parameters.
    pub query: Query,
    /// How the client wants JSON written (from `Accept`).
    pub render: Render,
    /// The body's `Content-Type`, as sent (the header value itself: no copy).
    pub content_type: Option<HeaderValue>,
    /// Scheme and authority for links (`public_url`, else the request's `Host`).
    pub base: BaseUrl,
    /// The request target as sent (its path is the links' path).
    pub uri: Uri,
    /// The body, already read within the size limit.
    pub body: Bytes,
    /// The request's W3C trace (the caller's, or the one the edge started), for whatever
    /// forwards it upstream.
    pub trace: TraceContext,
    /// `If-Match` and `If-None-Match`, for the gateway's own detail routes (a proxy
    /// forwards the fields untouched in `headers`).
    pub precondition: Precondition,
    /// The request's headers, moved here whole for a proxy to forward.
    pub headers: HeaderMap,
    /// The client's address, when the server knows it (for `Forwarded`).
    pub peer: Option<std::net::SocketAddr>,
    /// Whether the request came over TLS (for `Forwarded`'s `proto`).
    pub secure: bool,
}

/// What a request asks for, once resolved against the contract.
#[derive(Debug)]
pub enum Intent {
    /// The readiness probe (GET or HEAD).
    Ready,
    /// The OpenAPI document (GET or HEAD).
    Document(Render),
    /// The API explorer's page or one of its files (GET or HEAD).
    Docs(docs::Want),
    /// A browser's GET or HEAD of a route (`Accept` prefers HTML): sent to the explorer at
    /// the operation of the route at this index.
    Explore(usize, Method),
    /// OPTIONS on a special endpoint: only its `Allow`.
    SpecialOptions,
    /// The path without its trailing slash: redirect to it.
    Redirect(StatusCode, String),
    /// OPTIONS on a route: its metadata.
    Options(ApiRequest),
    /// An action of a route, served by the gateway.
    Act(Action, ApiRequest),
    /// A method proxied to the upstream at this index, checked with this action's schemas
    /// (`None`: OPTIONS on a proxied route, forwarded unchecked).
    Proxy(Option<Action>, usize, ApiRequest),
}

/// A request refused while resolving: the error, how to render it, and the route's `Allow`.
#[derive(Debug)]
pub struct Refusal {
    /// Why.
    pub error: ApiError,
    /// The negotiated rendering, when negotiation got that far.
    pub render: Render,
    /// The matched route's `Allow` header, when a route matched.
    pub allow: Option<HeaderValue>,
    /// The matched route's index, when one matched (for logs and metrics).
    pub route: Option<usize>,
}

impl Refusal {
    fn bare(error: ApiError) -> Refusal {
        Refusal {
            error,
            render: Render::default(),
            allow: None,
            route: None,
        }
    }
}

/// A special endpoint's intent for `method`: `intent` for GET and HEAD, its `Allow` for
/// OPTIONS, 405 with that `Allow` for anything else.
fn special(method: &Method, render: Render, intent: Intent) -> Result<Intent, Refusal> {
    match *method {
        Method::GET | Method::HEAD => Ok(intent),
        Method::OPTIONS => Ok(Intent::SpecialOptions),
        ref other => Err(Refusal {
            render,
            allow: Some(HeaderValue::from_static(SPECIAL_ALLOW)),
            ..Refusal::bare(ApiError::MethodNotAllowed(other.to_string()))
        }),
    }
}

/// Resolves `request` against `spec`: the special endpoints, the route, negotiation, the
/// action. Takes the request whole: nothing after this reads HTTP.
pub fn resolve(spec: &Spec, request: Request<Bytes>) -> Result<Intent, Refusal> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    if spec.readiness_path.as_deref() == Some(path) {
        return special(&parts.method, Render::default(), Intent::Ready);
    }
    if spec.openapi_path.as_deref() == Some(path) {
        let render = negotiate(&parts.headers).map_err(|error| Refusal {
            allow: Some(HeaderValue::from_static(SPECIAL_ALLOW)),
            ..Refusal::bare(error)
        })?;
        return special(&parts.method, render, Intent::Document(render));
    }
    if let Some(want) = spec.docs_path.as_deref().and_then(|d| docs::want(d, path)) {
        return special(&parts.method, Render::default(), Intent::Docs(want));
    }
    let (index, key, params, format) = match router::resolve(&spec.routes, path) {
        Resolution::Matched {
            route,
            key,
            params,
            format,
        } => (route, key, params, format),
        Resolution::AddSlash => {
            let (status, location) = redirect(&parts.method, path, parts.uri.query());
            return Ok(Intent::Redirect(status, location));
        }
        Resolution::NotFound => return Err(Refusal::bare(ApiError::NotFound)),
    };
    let route = &spec.routes[index];
    let refuse = |error, render| Refusal {
        error,
        render,
        allow: Some(route.allow.clone()),
        route: Some(index),
    };
    let query = Query::parse(parts.uri.query());
    // An imported operation's upstream negotiates its own media types and formats; the
    // gateway renders only its own errors for it.
    let imported = matches!(route.target, Target::Import(_));
    // DRF's `?format=` override: only `json` is served; any other format is not found.
    let format = format.as_deref().or(query.last("format"));
    if !imported && format.is_none() && wants_explorer(spec, route, &parts.method, &parts.headers) {
        return Ok(Intent::Explore(index, parts.method));
    }
    let render = match negotiate(&parts.headers) {
        Err(_) if imported => Render::default(),
        other => other.map_err(|e| refuse(e, Render::default()))?,
    };
    if !imported && format.is_some_and(|f| f != "json") {
        return Err(refuse(ApiError::NotFound, render));
    }
    let binding = match parts.method {
        Method::OPTIONS => None,
        ref method => match route.binding(method) {
            Some(binding) => Some((binding.action, binding.via)),
            None => {
                let e = ApiError::MethodNotAllowed(method.to_string());
                return Err(refuse(e, render));
            }
        },
    };
    let request = ApiRequest {
        base: base_url(spec, &parts),
        content_type: parts.headers.get(header::CONTENT_TYPE).cloned(),
        trace: parts
            .extensions
            .get::<TraceContext>()
            .copied()
            .unwrap_or_else(TraceContext::start),
        peer: parts.extensions.get::<Peer>().map(|p| p.0),
        secure: parts.extensions.get::<Secure>().is_some(),
        precondition: Precondition::parse(&parts.headers),
        method: parts.method,
        uri: parts.uri,
        headers: parts.headers,
        route: index,
        key,
        params,
        query,
        render,
        body,
    };
    let intent = match binding {
        Some((Some(action), Via::Native)) => Intent::Act(action, request),
        Some((None, Via::Native)) => {
            let e = ApiError::Internal("a native method without an action".into());
            return Err(refuse(e, request.render));
        }
        Some((action, Via::Upstream(up))) => Intent::Proxy(action, up, request),
        None => match route.methods.first().map(|b| b.via) {
            Some(Via::Upstream(up)) if route.is_proxied() => Intent::Proxy(None, up, request),
            _ => Intent::Options(request),
        },
    };
    // The gateway's own routes refuse a query that is not UTF-8; a proxied one leaves it to
    // its `validate:` mode (refused, reported or forwarded), as for any invalid request.
    if let Intent::Act(_, req) | Intent::Options(req) = &intent {
        req.query.utf8().map_err(|e| refuse(e, render))?;
    }
    Ok(intent)
}

/// Where links point, kept as the request gave it; written out only when a link is made.
#[derive(Debug, Clone)]
pub enum BaseUrl {
    /// The configured `public_url`.
    Public(Arc<str>),
    /// `http://` (`https://` when `secure`: the connection is TLS) and the request's `Host`
    /// (or the URI's authority, or `localhost`).
    Host {
        /// The request's `Host`.
        host: Option<HeaderValue>,
        /// Whether the request came over TLS.
        secure: bool,
    },
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BaseUrl::Public(url) => f.write_str(url),
            BaseUrl::Host { host, secure } => {
                let host = host.as_ref().and_then(|h| h.to_str().ok());
                let scheme = if *secure { "https" } else { "http" };
                write!(f, "{scheme}://{}", host.unwrap_or("localhost"))
            }
        }
    }
}

impl ApiRequest {
    /// The body's media type as text, if sent (bytes that are not UTF-8 replaced, so a
    /// garbled header still gets its 415).
    pub fn content_type(&self) -> Option<Cow<'_, str>> {
        self.content_type
            .as_ref()
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
    }

    /// The matched route.
    pub fn route<'a>(&self, spec: &'a Spec) -> &'a Route {
        &spec.routes[self.route]
    }
}

/// Whether a GET or HEAD goes to the explorer instead: one is served, the route answers
/// GET, and `Accept` ranks HTML above JSON (a browser's address bar). A `?format=` keeps
/// JSON, as in DRF.
fn wants_explorer(spec: &Spec, route: &Route, method: &Method, headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    spec.docs_path.is_some()
        && matches!(*method, Method::GET | Method::HEAD)
        && route.binding(method).is_some()
        && respond::prefers_html(accept)
}

/// The representation the request's `Accept` asks for.
fn negotiate(headers: &HeaderMap) -> Result<Render, ApiError> {
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    respond::negotiate(accept)
}

/// Where links point: the configured public URL, else the request's own host, with the
/// scheme of its connection.
fn base_url(spec: &Spec, parts: &http::request::Parts) -> BaseUrl {
    if let Some(url) = &spec.public_url {
        return BaseUrl::Public(url.clone());
    }
    let host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let secure = parts.extensions.get::<Secure>().is_some();
    BaseUrl::Host { host, secure }
}

/// The redirect to the path with its trailing slash: 301 for GET/HEAD, 308 otherwise (so
/// the method and body are kept).
fn redirect(method: &Method, path: &str, query: Option<&str>) -> (StatusCode, String) {
    let mut location = format!("{path}/");
    if let Some(q) = query {
        location.push('?');
        location.push_str(q);
    }
    let status = if matches!(*method, Method::GET | Method::HEAD) {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::PERMANENT_REDIRECT
    };
    (status, location)
}
