//! Every request body is read through this, whatever its protocol and
//! headers: at most `limit` bytes are ever buffered (HTTP/2 bodies without
//! a length and HTTP/1.1 chunked ones included), and the whole body must
//! arrive within the read timeout. Handlers then see the buffered bytes.
//! Over the limit → 413, too slow → 408, both problem+json.
use std::time::Duration;

use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response, Result, error::ReadBodyError,
    http::StatusCode,
};
use problem::Problem;

#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    limit: usize,
    read_timeout: Duration,
}

impl BodyLimit {
    pub fn new(limit: usize, read_timeout: Duration) -> Self {
        Self {
            limit,
            read_timeout,
        }
    }
}

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            limits: *self,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limits: BodyLimit,
}

fn too_large(limit: usize) -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload-too-large",
        "Payload too large",
    )
    .with_detail(format!("request bodies are limited to {limit} bytes"))
    .into_response()
}

fn too_slow(timeout: Duration) -> Response {
    Problem::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "Request body too slow",
    )
    .with_detail(format!(
        "the request body must arrive within {} s",
        timeout.as_secs()
    ))
    .into_response()
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let BodyLimit {
            limit,
            read_timeout,
        } = self.limits;
        // A declared length over the limit is refused before reading a byte.
        let declared = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit as u64) {
            return Ok(too_large(limit));
        }
        let body = req.take_body();
        match tokio::time::timeout(read_timeout, body.into_bytes_limit(limit)).await {
            Ok(Ok(bytes)) => req.set_body(bytes),
            Ok(Err(ReadBodyError::PayloadTooLarge)) => return Ok(too_large(limit)),
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Ok(too_slow(read_timeout)),
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
