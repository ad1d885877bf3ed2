//! A response body as the server sends it: whole bytes (every answer the gateway makes, and
//! every upstream answer it checks or mirrors), or an upstream's body passed on as it
//! arrives (a proxied answer that nothing reads: `validate: off`, not mirrored).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// What a streamed body's failure is (the connection to the client then breaks off).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body: whole, or streamed from an upstream.
pub enum Body {
    /// The whole body, known before the head is sent.
    Full(Full<Bytes>),
    /// Frames as they arrive from an upstream.
    Streamed(UnsyncBoxBody<Bytes, BoxError>),
}

impl Body {
    /// No bytes.
    pub fn empty() -> Body {
        Body::Full(Full::new(Bytes::new()))
    }

    /// A body passed on frame by frame.
    pub fn streamed<B>(body: B) -> Body
    where
        B: HttpBody<Data = Bytes, Error = BoxError> + Send + 'static,
    {
        Body::Streamed(body.boxed_unsync())
    }

    /// The length, when it is known before sending (always, for a whole body).
    pub fn exact_len(&self) -> Option<u64> {
        self.size_hint().exact()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::Full(Full::new(bytes))
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.get_mut() {
            Body::Full(full) => Pin::new(full)
                .poll_frame(cx)
                .map_err(|never| match never {}),
            Body::Streamed(streamed) => Pin::new(streamed).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(full) => full.is_end_stream(),
            Body::Streamed(streamed) => streamed.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(full) => full.size_hint(),
            Body::Streamed(streamed) => streamed.size_hint(),
        }
    }
}
