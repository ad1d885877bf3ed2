//! Rate limits: the route's limit (or the settings' default) counts the request under the
//! caller's key (the authenticated subject or API key, else the client's address) and
//! either lets it on, with the `RateLimit` and `RateLimit-Policy` headers
//! (draft-ietf-httpapi-ratelimit-headers) on its answer, or answers 429 with `Retry-After`
//! and DRF's throttle message. With no limit on the route, one lookup and nothing else.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Response};

use super::routing::Routed;
use super::{Hook, Next};
use crate::admin::Metrics;
use crate::admin::metrics::UNMATCHED;
use crate::auth::Caller;
use crate::contract::limits::{Cidr, KeyBy, Limit};
use crate::error::ApiError;
use crate::http::{Body, Req, Resp};
use crate::limiter::{Decision, Outcome};
use crate::listen::Peer;
use crate::respond::{self, Render};
use crate::store::Contract;

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Applies the route's rate limit.
pub struct RateLimit {
    metrics: &'static Metrics,
}

impl RateLimit {
    /// Counts decisions and Redis failures in `metrics`.
    pub fn new(metrics: &'static Metrics) -> RateLimit {
        RateLimit { metrics }
    }
}

impl Hook for RateLimit {
    async fn call<N: Next>(&self, next: &N, request: Req) -> Resp {
        let Some((contract, index, route)) = applicable(&request) else {
            return next.run(request).await;
        };
        let (Some(limit), Some(limiter)) = (
            contract.spec.policies.limits.get(index),
            contract.limiters.get(index),
        ) else {
            return next.run(request).await;
        };
        let key = key_of(limit, &request, &contract.spec.policies.trusted_proxies);
        let label = route_label(&contract, route);
        match limiter.decide(key, self.metrics).await {
            Outcome::Decided { decision, store } if decision.allowed => {
                self.metrics.rate_limit_decision(&label, store, "allowed");
                let mut response = next.run(request).await;
                headers(&mut response, limit, &decision);
                response
            }
            Outcome::Decided { decision, store } => {
                self.metrics.rate_limit_decision(&label, store, "limited");
                let wait = seconds(decision.reset).max(1);
                let mut response =
                    respond::error(&ApiError::Throttled(wait), Render::default(), None);
                headers(&mut response, limit, &decision);
                response.map(Body::from)
            }
            Outcome::Uncounted => {
                self.metrics.rate_limit_decision(&label, "none", "allowed");
                next.run(request).await
            }
            Outcome::Refused => {
                self.metrics.rate_limit_decision(&label, "none", "refused");
                respond::error(&ApiError::LimitUnavailable, Render::default(), None).map(Body::from)
            }
        }
    }
}

/// The request's contract, the index of its limit and its route, when a limit applies.
fn applicable(request: &Req) -> Option<(Arc<Contract>, usize, Option<usize>)> {
    let routed = request.extensions().get::<Routed>()?;
    let index = routed.contract.spec.policies.limit(routed.route)?;
    Some((routed.contract.clone(), index, routed.route))
}

fn route_label(contract: &Contract, route: Option<usize>) -> Arc<str> {
    route
        .and_then(|r| contract.spec.routes.get(r))
        .map_or_else(|| UNMATCHED.into(), |r| r.template.clone())
}

/// Whole seconds, rounded up.
fn seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// `RateLimit-Policy` and `RateLimit: "name";r=REMAINING;t=SECONDS`.
fn headers<B>(response: &mut Response<B>, limit: &Limit, decision: &Decision) {
    let state = format!(
        "{};r={};t={}",
        limit.quoted,
        decision.remaining,
        seconds(decision.reset)
    );
    let headers = response.headers_mut();
    headers.insert(RATELIMIT_POLICY, limit.policy.clone());
    if let Ok(value) = HeaderValue::from_str(&state) {
        headers.insert(RATELIMIT, value);
    }
}

/// The caller's key under `limit`: a tag and the identity, so an address never collides
/// with a subject.
fn key_of(limit: &Limit, request: &Req, trusted: &[Cidr]) -> String {
    let caller = request.extensions().get::<Caller>();
    let identity = match &limit.key {
        KeyBy::Address => None,
        KeyBy::ApiKey => caller.and_then(|c| c.key_name.as_deref()),
        KeyBy::Subject => caller.and_then(Caller::identity),
        KeyBy::Claim(name) => caller.and_then(|c| c.claim(name)),
    };
    match (identity, client_address(request, trusted)) {
        (Some(identity), _) => format!("id:{identity}"),
        (None, Some(address)) => format!("ip:{address}"),
        (None, None) => "ip:unknown".to_owned(),
    }
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not one (the leftmost when all are).
pub fn client_address(request: &Req, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer = request.extensions().get::<Peer>()?.0.ip();
    let is_trusted = |addr: IpAddr| trusted.iter().any(|c| c.contains(addr));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let mut client = peer;
    for value in request.headers().get_all(X_FORWARDED_FOR).iter().rev() {
        let Ok(text) = value.to_str() else {
            return Some(client);
        };
        for hop in text.rsplit(',') {
            let Ok(addr) = hop.trim().parse::<IpAddr>() else {
                return Some(client);
            };
            client = addr;
            if !is_trusted(addr) {
                return Some(addr);
            }
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Req {
        let mut builder = http::Request::builder();
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        let mut request = builder.body(bytes::Bytes::new()).unwrap();
        request
            .extensions_mut()
            .insert(Peer(format!("{peer}:1234").parse().unwrap()));
        request
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_proxies() {
        let trusted = [Cidr::parse("10.0.0.0/8").unwrap()];
        let at = |peer, fwd: &[&str]| client_address(&request(peer, fwd), &trusted).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(at("192.0.2.1", &["203.0.113.9"]), ip("192.0.2.1"));
        assert_eq!(at("10.0.0.1", &["203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(
            at("10.0.0.1", &["198.51.100.7, 203.0.113.9, 10.0.0.2"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            at("10.0.0.1", &["198.51.100.7", "10.0.0.2"]),
            ip("198.51.100.7")
        );
        assert_eq!(at("10.0.0.1", &["10.0.0.3"]), ip("10.0.0.3"));
        assert_eq!(at("10.0.0.1", &["junk, 10.0.0.3"]), ip("10.0.0.3"));
        assert_eq!(at("10.0.0.1", &[]), ip("10.0.0.1"));
    }

    #[test]
    fn keys_are_the_caller_else_the_address() {
        let limit = |key: &str| {
            let yaml = format!("rate: 1\nper: second\nkey: {key}\n");
            let def = serde_yaml_def(&yaml);
            crate::contract::limits::compile("l", &def).unwrap()
        };
        let mut authenticated = request("192.0.2.7", &[]);
        authenticated.extensions_mut().insert(Caller {
            scheme: "jwt".into(),
            subject: Some("alice".into()),
            key_name: None,
            scopes: Vec::new(),
            claims: vec![("tenant".into(), "acme".into()), ("org".into(), "7".into())],
        });
        let anonymous = request("192.0.2.7", &[]);
        assert_eq!(
            key_of(&limit("claim:tenant"), &authenticated, &[]),
            "id:acme"
        );
        assert_eq!(key_of(&limit("claim:org"), &authenticated, &[]), "id:7");
        assert_eq!(
            key_of(&limit("claim:team"), &authenticated, &[]),
            "ip:192.0.2.7"
        );
        assert_eq!(key_of(&limit("subject"), &authenticated, &[]), "id:alice");
        assert_eq!(key_of(&limit("claim:sub"), &authenticated, &[]), "id:alice");
        assert_eq!(
            key_of(&limit("api_key"), &authenticated, &[]),
            "ip:192.0.2.7"
        );
        assert_eq!(
            key_of(&limit("address"), &authenticated, &[]),
            "ip:192.0.2.7"
        );
        assert_eq!(key_of(&limit("subject"), &anonymous, &[]), "ip:192.0.2.7");
    }

    fn serde_yaml_def(yaml: &str) -> crate::contract::limits::LimitDef {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn waits_round_up() {
        assert_eq!(seconds(Duration::from_millis(1)), 1);
        assert_eq!(seconds(Duration::from_secs(2)), 2);
        assert_eq!(seconds(Duration::ZERO), 0);
    }
}
