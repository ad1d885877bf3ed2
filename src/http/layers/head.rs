//! HEAD: answered as GET, then sent without the body but with the body's length.

use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Method;
use http::header::{self, HeaderValue};
use tower::{Layer, Service};

use crate::http::{Answer, Req, Resp};

/// Adds HEAD handling.
#[derive(Clone, Copy, Default)]
pub struct HeadLayer;

impl<S> Layer<S> for HeadLayer {
    type Service = Head<S>;
    fn layer(&self, inner: S) -> Head<S> {
        Head { inner }
    }
}

/// Empties the body of answers to HEAD.
#[derive(Clone)]
pub struct Head<S> {
    inner: S,
}

impl<S> Service<Req> for Head<S>
where
    S: Service<Req, Response = Resp, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Resp;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Answer {
        let head = request.method() == Method::HEAD;
        let answer = self.inner.call(request);
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
