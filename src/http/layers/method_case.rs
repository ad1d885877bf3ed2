//! Methods are read upper-cased, as Django does (`get` is GET; `brew` is BREW), so every
//! later stage, the access log included, sees the method the gateway acts on.

use std::future::Future;

use http::Method;

use super::{Hook, Next};
use crate::http::{Req, Resp};

/// Upper-cases each request's method.
#[derive(Clone, Copy, Default)]
pub struct MethodCase;

impl Hook for MethodCase {
    fn call<N: Next>(&self, next: &N, request: Req) -> impl Future<Output = Resp> + Send {
        next.run(upper_case(request))
    }
}

/// Upper-cases the request's method when it has lower-case letters (no allocation
/// otherwise).
pub fn upper_case(mut request: Req) -> Req {
    let method = request.method().as_str();
    if method.bytes().any(|b| b.is_ascii_lowercase())
        && let Ok(upper) = Method::from_bytes(method.to_ascii_uppercase().as_bytes())
    {
        *request.method_mut() = upper;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn methods_are_upper_cased() {
        let request = |m: &str| {
            http::Request::builder()
                .method(m)
                .body(Bytes::new())
                .unwrap_or_default()
        };
        assert_eq!(upper_case(request("get")).method(), Method::GET);
        assert_eq!(upper_case(request("bRew")).method().as_str(), "BREW");
        assert_eq!(upper_case(request("PATCH")).method(), Method::PATCH);
    }
}
