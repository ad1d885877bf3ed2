//! CORS: the route's policy (or the settings'). A preflight from an allowed origin is
//! answered here, 204 with the `Access-Control-*` headers; a preflight from any other
//! origin goes on without them (an OPTIONS that is not a preflight gets the API's metadata,
//! as always). Other requests from an allowed origin get `Access-Control-Allow-Origin` on
//! their answer, and `Vary: Origin` on every answer the policy's origins change. With no
//! policy on the route, one lookup and nothing else.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_HEADERS, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use http::{HeaderMap, HeaderValue, Method};

use super::routing::Routed;
use super::{Hook, Next};
use crate::contract::cors::Cors as Policy;
use crate::http::{Body, Req, Resp};
use crate::respond;

/// Methods a preflight allows on a request that matched no route, when the policy names
/// none.
const ANY_METHOD: HeaderValue =
    HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");

/// Applies the route's CORS policy.
pub struct Cors;

impl Hook for Cors {
    async fn call<N: Next>(&self, next: &N, request: Req) -> Resp {
        let Some(routed) = request.extensions().get::<Routed>() else {
            return next.run(request).await;
        };
        if routed.contract.spec.policies.cors(routed.route).is_none() {
            return next.run(request).await;
        }
        let routed = routed.clone();
        let Some(policy) = routed.contract.spec.policies.cors(routed.route) else {
            return next.run(request).await;
        };
        let Some(origin) = request.headers().get(ORIGIN).cloned() else {
            let mut response = next.run(request).await;
            vary(response.headers_mut(), policy, "Origin");
            return response;
        };
        let allowed = policy.allows(origin.as_bytes());
        if is_preflight(&request) {
            if !allowed {
                let mut response = next.run(request).await;
                vary(response.headers_mut(), policy, "Origin");
                return response;
            }
            let methods = routed
                .route
                .and_then(|r| routed.contract.spec.routes.get(r))
                .map_or(ANY_METHOD, |r| r.allow.clone());
            return preflight(policy, origin, request.headers(), methods);
        }
        let mut response = next.run(request).await;
        let headers = response.headers_mut();
        if allowed {
            allow_origin(headers, policy, origin);
            if let Some(expose) = &policy.expose {
                headers.insert(ACCESS_CONTROL_EXPOSE_HEADERS, expose.clone());
            }
        }
        vary(headers, policy, "Origin");
        response
    }
}

/// An OPTIONS asking whether a method may be sent (the Fetch standard's CORS preflight).
fn is_preflight(request: &Req) -> bool {
    request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

/// The 204 answer to an allowed preflight.
fn preflight(
    policy: &Policy,
    origin: HeaderValue,
    asked: &HeaderMap,
    methods: HeaderValue,
) -> Resp {
    let mut response = respond::no_content(None);
    let headers = response.headers_mut();
    allow_origin(headers, policy, origin);
    let methods = policy.methods.clone().unwrap_or(methods);
    headers.insert(ACCESS_CONTROL_ALLOW_METHODS, methods);
    match (&policy.headers, asked.get(ACCESS_CONTROL_REQUEST_HEADERS)) {
        (Some(allowed), _) => {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, allowed.clone());
        }
        (None, Some(requested)) => {
            headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, requested.clone());
            vary(headers, policy, "Access-Control-Request-Headers");
        }
        (None, None) => {}
    }
    if let Some(max_age) = &policy.max_age {
        headers.insert(ACCESS_CONTROL_MAX_AGE, max_age.clone());
    }
    vary(headers, policy, "Origin");
    response.map(Body::from)
}

fn allow_origin(headers: &mut HeaderMap, policy: &Policy, origin: HeaderValue) {
    let value = if policy.is_public() {
        HeaderValue::from_static("*")
    } else {
        origin
    };
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    if policy.credentials {
        headers.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// Adds `name` to `Vary`, unless the answer is the same for every origin.
fn vary(headers: &mut HeaderMap, policy: &Policy, name: &'static str) {
    if !policy.is_public() {
        headers.append(VARY, HeaderValue::from_static(name));
    }
}
