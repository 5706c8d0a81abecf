//! One log line per request, without what must not be logged: the query
//! string is dropped (it carries `auth_code`, the onboarding `visit`, push
//! signatures) and an onboarding link's token in the path is replaced, so a
//! verbose filter never writes a credential to the logs. (poem's `Tracing`
//! middleware logs the full URI, and takes the client address from
//! `X-Forwarded-For` whoever sent it.)
use std::{borrow::Cow, time::Instant};

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing::Instrument as _;

/// The path as logged: onboarding link tokens replaced by `:token`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix("/onboard/") {
        Some(rest) if rest != "complete" => {
            let tail = rest.split_once('/').map_or("", |(_, tail)| tail);
            if tail.is_empty() {
                Cow::Borrowed("/onboard/:token")
            } else {
                Cow::Owned(format!(
                    "/onboard/:token/{}",
                    tail.chars().take(32).collect::<String>()
                ))
            }
        }
        _ => Cow::Owned(path.chars().take(256).collect()),
    }
}

#[derive(Default, Clone, Copy)]
pub struct RequestLog;

impl<E: Endpoint> Middleware<E> for RequestLog {
    type Output = RequestLogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestLogEndpoint { inner: ep }
    }
}

pub struct RequestLogEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for RequestLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = %loggable_path(req.uri().path()),
            peer = %req.remote_addr(),
        );
        async move {
            let started = Instant::now();
            let result = self.inner.call(req).await;
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            match result {
                Ok(resp) => {
                    let resp = resp.into_response();
                    tracing::info!(status = resp.status().as_u16(), latency_ms, "response");
                    Ok(resp)
                }
                Err(err) => {
                    tracing::info!(status = err.status().as_u16(), latency_ms, "error response");
                    Err(err)
                }
            }
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/onboard/abc123secret"), "/onboard/:token");
        assert_eq!(
            loggable_path("/onboard/abc123secret/authorize"),
            "/onboard/:token/authorize"
        );
        assert_eq!(loggable_path("/onboard/complete"), "/onboard/complete");
        assert_eq!(
            loggable_path("/v1/apps/wx1/wxa/sec/order/get_order"),
            "/v1/apps/wx1/wxa/sec/order/get_order"
        );
        assert_eq!(loggable_path(&"/x".repeat(500)).len(), 256);
    }
}
