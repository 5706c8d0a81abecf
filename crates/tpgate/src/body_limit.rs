//! Request body limit that, unlike poem's `SizeLimit`, lets body-less
//! requests (GET, no Content-Length) through, and also bounds chunked bodies.
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result, http::StatusCode};
use problem::Problem;

pub struct BodyLimit(pub usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            limit: self.0,
        }
    }
}

pub struct BodyLimitEndpoint<E> {
    inner: E,
    limit: usize,
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

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        let declared = req
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        match declared {
            Some(len) if len > self.limit => return Ok(too_large(self.limit)),
            Some(_) => {}
            None if req.headers().contains_key("transfer-encoding") => {
                // Chunked: read at most `limit` bytes before handing it on.
                match req.take_body().into_bytes_limit(self.limit).await {
                    Ok(bytes) => req.set_body(bytes),
                    Err(_) => return Ok(too_large(self.limit)),
                }
            }
            None => {}
        }
        self.inner.call(req).await.map(IntoResponse::into_response)
    }
}
