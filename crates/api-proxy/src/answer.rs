//! [`Answer`]: a proxied call's success response: WeChat's JSON as WeChat
//! sent it, documented as the typed model `T`, with the rate-limit headers
//! and, for a replayed idempotent write, `Idempotent-Replayed: true`.
use std::marker::PhantomData;

use bytes::Bytes;
use poem::{IntoResponse, Response, http::StatusCode};
use poem_openapi::{
    ApiResponse,
    registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry},
    types::Type,
};

pub struct Answer<T> {
    pub(crate) status: StatusCode,
    /// WeChat's JSON as it sent it (or a stored problem's).
    pub(crate) body: Bytes,
    /// problem+json for a replayed error, else JSON.
    pub(crate) content_type: &'static str,
    pub(crate) headers: Vec<(&'static str, String)>,
    _model: PhantomData<fn() -> T>,
}

impl<T> Answer<T> {
    pub(crate) fn new(status: StatusCode, body: Bytes, content_type: &'static str) -> Self {
        Self {
            status,
            body,
            content_type,
            headers: Vec::new(),
            _model: PhantomData,
        }
    }

    /// WeChat's answer as sent (for tpgate's own calls through the gate).
    pub(crate) fn body(&self) -> &[u8] {
        &self.body
    }

    pub(crate) fn with_headers(mut self, headers: Vec<(&'static str, String)>) -> Self {
        self.headers.extend(headers);
        self
    }
}

impl<T: Send> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        let body = self.body;
        let mut resp = Response::builder()
            .status(self.status)
            .content_type(self.content_type)
            .body(body);
        for (name, value) in self.headers {
            if let Ok(value) = value.parse() {
                resp.headers_mut().insert(name, value);
            }
        }
        resp
    }
}

fn header(name: &str, description: &str) -> MetaHeader {
    MetaHeader {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        required: false,
        deprecated: false,
        schema: String::schema_ref(),
    }
}

impl<T: Type + Send> ApiResponse for Answer<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "WeChat's answer (errcode 0), as WeChat sent it",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: "application/json; charset=utf-8",
                    schema: T::schema_ref(),
                }],
                headers: vec![
                    header(
                        "RateLimit-Policy",
                        "The limits that applied (draft-ietf-httpapi-ratelimit-headers): `\"name\";q=LIMIT;w=WINDOW_SECONDS`",
                    ),
                    header(
                        "RateLimit",
                        "What is left of each limit: `\"name\";r=REMAINING;t=SECONDS_TO_RESET`",
                    ),
                    header(
                        "Idempotent-Replayed",
                        "`true` when this is the stored answer to an earlier request with the same Idempotency-Key",
                    ),
                ],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
