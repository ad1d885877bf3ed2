//! HEAD: answered as GET, then sent without the body but with the body's length.

use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderValue};

use super::{Hook, Inner};
use crate::http::{Answer, Req};

/// Empties the body of answers to HEAD.
#[derive(Clone, Copy, Default)]
pub struct Head;

impl Hook for Head {
    fn call<S: Inner>(&self, inner: &mut S, request: Req) -> Answer {
        let head = request.method() == Method::HEAD;
        let answer = inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if head {
                let length = response.body().len();
                *response.body_mut() = Bytes::new();
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
            }
            Ok(response)
        })
    }
}
