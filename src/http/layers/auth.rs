//! Authentication and authorization, per route: the credentials a route's requirement
//! accepts are checked ([`crate::auth`]); a refused request is answered here (401 or 403
//! with `WWW-Authenticate`, in DRF's words), an accepted one goes on with its [`Caller`] in
//! the request's extensions (and, for the access log, the response's) and its identity in
//! the configured upstream headers. A client's own copies of those headers are always
//! removed, so an upstream can trust them.

use std::sync::Arc;

use http::HeaderValue;

use super::routing::Routed;
use super::{Hook, Next};
use crate::admin::Metrics;
use crate::auth::Caller;
use crate::auth::{Denied, Forward, Presented};
use crate::error::ApiError;
use crate::http::{Body, Req, Resp};
use crate::respond::{self, Render};

/// The auth layer.
pub struct Auth {
    metrics: &'static Metrics,
}

impl Auth {
    /// Counting its results in `metrics`.
    pub fn new(metrics: &'static Metrics) -> Auth {
        Auth { metrics }
    }
}

impl Hook for Auth {
    async fn call<N: Next>(&self, next: &N, mut request: Req) -> Resp {
        // Without a `security:` block there is nothing to do: one check, no copy.
        let Some((contract, route)) = request
            .extensions()
            .get::<Routed>()
            .filter(|r| r.contract.spec.security.is_some())
            .map(|r| (Arc::clone(&r.contract), r.route))
        else {
            return next.run(request).await;
        };
        let Some(security) = contract.spec.security.as_ref() else {
            return next.run(request).await;
        };
        for name in security.forward.names() {
            request.headers_mut().remove(name);
        }
        let Some(route) = route else {
            return next.run(request).await;
        };
        let presented = Presented {
            headers: request.headers(),
            uri: request.uri(),
        };
        let checked = security.check(route, request.method(), &presented).await;
        match checked {
            Ok(None) => next.run(request).await,
            Ok(Some(caller)) => {
                self.metrics.auth(&caller.scheme, "ok");
                forward(&security.forward, &caller, request.headers_mut());
                request.extensions_mut().insert(caller.clone());
                let mut response = next.run(request).await;
                response.extensions_mut().insert(caller);
                response
            }
            Err(denied) => self.refuse(denied),
        }
    }
}

impl Auth {
    fn refuse(&self, denied: Denied) -> Resp {
        let (error, caller) = match denied {
            Denied::Missing { challenge } => {
                self.metrics.auth("none", "missing");
                (ApiError::NotAuthenticated(challenge), None)
            }
            Denied::Invalid {
                scheme,
                challenge,
                why,
            } => {
                self.metrics.auth(&scheme, "invalid");
                tracing::debug!(%scheme, "credentials refused: {why}");
                (ApiError::BadCredentials(challenge), None)
            }
            Denied::Forbidden { caller, challenge } => {
                self.metrics.auth(&caller.scheme, "forbidden");
                (ApiError::Forbidden(challenge), Some(*caller))
            }
        };
        let mut response = respond::error(&error, Render::default(), None);
        if let Some(caller) = caller {
            response.extensions_mut().insert(caller);
        }
        response.map(Body::from)
    }
}

/// Writes the caller's identity into the configured headers.
fn forward(forward: &Forward, caller: &Caller, headers: &mut http::HeaderMap) {
    let scopes = caller.scopes.join(" ");
    let values = [
        (&forward.scheme, Some(caller.scheme.as_str())),
        (&forward.subject, caller.subject.as_deref()),
        (&forward.scopes, Some(scopes.as_str())),
        (&forward.key_name, caller.key_name.as_deref()),
    ];
    for (name, value) in values {
        if let (Some(name), Some(value)) = (name, value)
            && let Ok(value) = HeaderValue::from_str(value)
        {
            headers.insert(name.clone(), value);
        }
    }
}
