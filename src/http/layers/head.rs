//! HEAD: answered as GET, then sent without the body but with the body's length (a 304
//! has neither).

use http::Method;
use http::header::{self, HeaderValue};

use super::{Hook, Next};
use crate::http::{Body, Req, Resp};

/// Empties the body of answers to HEAD.
#[derive(Clone, Copy, Default)]
pub struct Head;

impl Hook for Head {
    async fn call<N: Next>(&self, next: &N, request: Req) -> Resp {
        let head = request.method() == Method::HEAD;
        let mut response = next.run(request).await;
        // A 304 says nothing of the length of the body it stands for.
        if head && response.status() != http::StatusCode::NOT_MODIFIED {
            // A streamed body's length is not known; its Content-Length, if any, stays.
            let length = response.body().exact_len();
            *response.body_mut() = Body::empty();
            if let Some(length) = length {
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            }
        }
        response
    }
}
