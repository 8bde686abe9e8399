//! Reading a request body, inside the front that needs it (hyper's `echo` example: the route
//! that wants the body reads it). Each front passes its own [`Limits`] and turns a
//! [`BodyError`] into its own form; nothing here answers a client.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use hyper::body::Body as _;
use hyper::header::{HeaderMap, CONTENT_LENGTH};
use std::time::Duration;

/// Why a body could not be read, as the body says it.
pub type BodyFault = Box<dyn std::error::Error + Send + Sync>;

/// A request body not yet read: the server's `Incoming` as it came (no allocation per
/// request), or any other body boxed, so tests, the emulator and the fuzzer can hand a front
/// any body.
pub struct Body(Inner);

enum Inner {
    Incoming(hyper::body::Incoming),
    Boxed(UnsyncBoxBody<Bytes, BodyFault>),
}

impl Body {
    /// A body of these bytes, all there at once.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Body::boxed(http_body_util::Full::new(bytes.into()))
    }

    /// Any body, boxed.
    pub fn boxed<B>(body: B) -> Body
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BodyFault>,
    {
        Body(Inner::Boxed(body.map_err(Into::into).boxed_unsync()))
    }
}

impl From<hyper::body::Incoming> for Body {
    fn from(body: hyper::body::Incoming) -> Body {
        Body(Inner::Incoming(body))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BodyFault;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BodyFault>>> {
        // Both kinds are Unpin: `Incoming` is, and the boxed one is a pinned box.
        match &mut self.get_mut().0 {
            Inner::Incoming(b) => std::pin::Pin::new(b).poll_frame(cx).map_err(Into::into),
            Inner::Boxed(b) => std::pin::Pin::new(b).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Inner::Incoming(b) => b.is_end_stream(),
            Inner::Boxed(b) => b.is_end_stream(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match &self.0 {
            Inner::Incoming(b) => b.size_hint(),
            Inner::Boxed(b) => b.size_hint(),
        }
    }
}

/// How much a front reads, and how long it waits for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub timeout: Duration,
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("request body over the limit")]
    TooLarge,
    #[error("request body not received in time")]
    Timeout,
    #[error("request body cut short or malformed")]
    Broken,
}

/// The whole body, at most `limits.max_bytes`, within `limits.timeout`.
pub async fn read(headers: &HeaderMap, body: Body, limits: Limits) -> Result<Bytes, BodyError> {
    // A declared length over the limit is refused before a byte of the body is waited for.
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return Err(BodyError::TooLarge);
    }
    // Most requests (every GET) have no body: no read, and no timer to set and clear.
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    tokio::time::timeout(limits.timeout, collect(body, limits.max_bytes))
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

/// The body's data frames, refused as soon as they pass `max` bytes.
async fn collect(mut body: Body, max: usize) -> Result<Bytes, BodyError> {
    let mut all = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Broken)?;
        if let Ok(data) = frame.into_data() {
            if all.len() + data.len() > max {
                return Err(BodyError::TooLarge);
            }
            all.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(all))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::{Body as HttpBody, Frame};
    use std::pin::Pin;
    use std::task::{Context, Poll};

    const LIMITS: Limits = Limits {
        max_bytes: 8,
        timeout: Duration::from_millis(50),
    };

    fn length(n: usize) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_LENGTH, n.into());
        h
    }

    /// A body whose bytes never come (the client sent its head and stopped).
    struct Never;

    impl HttpBody for Never {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
            Poll::Pending
        }
    }

    fn never() -> Body {
        Body::boxed(Never)
    }

    fn full(bytes: &'static [u8]) -> Body {
        Body::full(Bytes::from_static(bytes))
    }

    #[tokio::test]
    async fn reads_within_the_limit_and_refuses_past_it() {
        let body = full(b"a=1&b=2");
        assert_eq!(read(&length(7), body, LIMITS).await.unwrap(), "a=1&b=2");
        let body = full(b"123456789");
        let undeclared = read(&HeaderMap::new(), body, LIMITS).await;
        assert_eq!(undeclared, Err(BodyError::TooLarge));
        // Declared too large: refused on the header alone, without waiting for the body.
        assert_eq!(
            read(&length(9), never(), LIMITS).await,
            Err(BodyError::TooLarge)
        );
    }

    #[tokio::test]
    async fn a_body_that_never_comes_times_out() {
        assert_eq!(
            read(&length(4), never(), LIMITS).await,
            Err(BodyError::Timeout)
        );
    }
}
