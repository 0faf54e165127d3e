//! HTTP glue shared by every function: routing by the route table, body parsing with the
//! contract's leniency, and the one mapping from [`ApiError`] to a response.

use crate::error::ApiError;
use crate::routes::{self, Match};
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

/// A parsed request, owned, handed to an operation. Its `Debug` shows neither headers (tokens,
/// session ids) nor the body (passwords, codes).
pub struct Ctx {
    /// Path parameters in template order.
    pub params: Vec<(&'static str, String)>,
    /// Query-string parameters, decoded, in order (a name may repeat).
    pub query: Vec<(String, String)>,
    /// Request headers.
    pub headers: HeaderMap,
    /// Raw body.
    pub body: Vec<u8>,
    /// Base of `Location` headers (scheme, host and any stage prefix).
    pub base_url: String,
    /// Normalised path.
    pub path: String,
    /// API Gateway's request id (empty when unknown).
    pub request_id: String,
    /// The client's address as API Gateway saw it (empty when unknown).
    pub source_ip: String,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("path", &self.path)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// What an operation answers on success. Its `Debug` shows the status only (bodies carry
/// tokens, codes and key URIs).
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// JSON body; `None` = empty body.
    pub body: Option<Value>,
    /// Extra headers.
    pub headers: Vec<(header::HeaderName, String)>,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
            headers: Vec::new(),
        }
    }

    /// An empty reply (204, 202).
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            headers: Vec::new(),
        }
    }

    /// A reply with a typed JSON body.
    pub fn body<T: Serialize>(status: StatusCode, body: &T) -> Self {
        match serde_json::to_value(body) {
            Ok(v) => Self::json(status, v),
            Err(_) => Self::json(
                StatusCode::INTERNAL_SERVER_ERROR,
                error_body(&ApiError::Internal(anyhow::anyhow!("response"))),
            ),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

impl Ctx {
    /// Routes `req` for `operation`: 404/405 in the contract's shape when the path or method
    /// belongs to no route of this operation.
    ///
    /// # Errors
    /// `404` / `405`.
    pub fn from_request(
        operation: &str,
        req: &Request,
        public_base: Option<&str>,
    ) -> Result<Self, ApiError> {
        let raw = req.raw_http_path();
        let raw_path = if raw.is_empty() {
            req.uri().path().to_string()
        } else {
            raw.to_string()
        };
        let params = match routes::find(req.method().as_str(), &raw_path) {
            Match::Found(route, params) if route.operation == operation => {
                params.into_iter().map(|(k, v)| (k, decode(v))).collect()
            }
            Match::WrongMethod => return Err(ApiError::BadMethod),
            Match::Found(..) | Match::NotFound => {
                return Err(ApiError::NotFound("Resource not found."));
            }
        };
        let query = query_params(req);
        let headers = req.headers().clone();
        let base_url = match public_base {
            Some(b) => b.to_string(),
            None => derive_base(&headers, &raw_path),
        };
        let body = match req.body() {
            Body::Empty => Vec::new(),
            Body::Text(t) => t.as_bytes().to_vec(),
            Body::Binary(b) => b.clone(),
            _ => Vec::new(),
        };
        let (request_id, source_ip) = origin(req);
        Ok(Self {
            params,
            query,
            headers,
            body,
            base_url,
            path: routes::normalize(&raw_path).to_string(),
            request_id,
            source_ip,
        })
    }

    /// A path parameter (always present for a matched route).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// A path parameter that only some of the operation's routes have.
    pub fn param_opt(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query-string parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The absolute URL of `path` on this API, for `Location` headers.
    pub fn location(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// `X-Auth-Token`.
    pub fn auth_token(&self) -> Option<&str> {
        self.header("x-auth-token")
    }

    fn is_json(&self) -> bool {
        self.header("content-type").is_some_and(|ct| {
            let mime = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
    }

    /// The body as the operation's request type (required).
    ///
    /// # Errors
    /// `415` when not JSON, `400` when missing, malformed or not an object.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        self.body_opt()?
            .ok_or(ApiError::BadRequest("A JSON request body is required."))
    }

    /// The body as the operation's request type, or `None` when there is no body.
    ///
    /// # Errors
    /// `415` when not JSON, `400` when malformed or not an object.
    pub fn body_opt<T: DeserializeOwned>(&self) -> Result<Option<T>, ApiError> {
        let Some(m) = self.json_object()? else {
            return Ok(None);
        };
        // Request types are made of `wire::Field`s, which accept anything: this fails only
        // for a type that demands a field.
        T::deserialize(Value::Object(m))
            .map(Some)
            .map_err(|_| ApiError::BadRequest("Malformed JSON request body."))
    }

    fn json_object(&self) -> Result<Option<Map<String, Value>>, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            if self.header("content-type").is_some() && !self.is_json() {
                return Err(ApiError::BadMediaType);
            }
            return Ok(None);
        }
        if !self.is_json() {
            return Err(ApiError::BadMediaType);
        }
        match serde_json::from_slice::<Value>(&self.body) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(_) => Err(ApiError::BadRequest(
                "The request body must be a JSON object.",
            )),
            Err(_) => Err(ApiError::BadRequest("Malformed JSON request body.")),
        }
    }
}

/// API Gateway's request id and the client's source address, from the request context.
fn origin(req: &Request) -> (String, String) {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => (
            c.request_id.clone().unwrap_or_default(),
            c.http.source_ip.clone().unwrap_or_default(),
        ),
        Some(RequestContext::ApiGatewayV1(c)) => (
            c.request_id.clone().unwrap_or_default(),
            c.identity.source_ip.clone().unwrap_or_default(),
        ),
        _ => (String::new(), String::new()),
    }
}

/// The query string as the event carries it (API Gateway v1 and v2 both give it parsed), else
/// as parsed from the URI.
fn query_params(req: &Request) -> Vec<(String, String)> {
    if let Some(q) = req.query_string_parameters_ref().filter(|q| !q.is_empty()) {
        return q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(&k.replace('+', " ")), decode(&v.replace('+', " ")))
        })
        .collect()
}

fn decode(v: &str) -> String {
    urlencoding::decode(v)
        .map(|c| c.into_owned())
        .unwrap_or_else(|_| v.to_string())
}

fn derive_base(headers: &HeaderMap, raw_path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let local =
        host.starts_with("127.0.0.1") || host.starts_with("localhost") || host.starts_with("[::1]");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or(if local { "http" } else { "https" });
    let prefix = raw_path
        .find("/v2.0/")
        .and_then(|i| raw_path.get(..i))
        .unwrap_or("");
    format!("{proto}://{host}{prefix}")
}

/// The contract's error body.
pub fn error_body(e: &ApiError) -> Value {
    json!({ e.key(): { "code": e.status().as_u16(), "message": e.public_message() } })
}

/// Builds the response for an operation's result. Internal causes are logged here, once.
pub fn respond(result: Result<Reply, ApiError>) -> Response<Body> {
    let reply = match result {
        Ok(r) => r,
        Err(e) => {
            match &e {
                ApiError::Internal(cause) => tracing::error!(error = ?cause, "request failed"),
                ApiError::Unavailable(cause) => {
                    tracing::error!(error = ?cause, "dependency failed");
                    crate::services::metrics::count(
                        crate::clock::Clock::now_ms(&crate::clock::SystemClock),
                        "AwsFaults",
                        &[],
                    );
                }
                other => tracing::info!(
                    status = other.status().as_u16(),
                    reason = other.public_message(),
                    "request rejected"
                ),
            }
            let mut r = Reply::json(e.status(), error_body(&e));
            match e {
                ApiError::OverLimit { retry_after_secs } => r
                    .headers
                    .push((header::RETRY_AFTER, retry_after_secs.max(1).to_string())),
                ApiError::Unavailable(_) => r.headers.push((header::RETRY_AFTER, "1".into())),
                _ => {}
            }
            r
        }
    };
    let mut builder = Response::builder()
        .status(reply.status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store");
    for (k, v) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            builder = builder.header(k, v);
        }
    }
    let body = match reply.body {
        Some(v) => Body::Text(v.to_string()),
        None => Body::Empty,
    };
    builder.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Body::Text(
            error_body(&ApiError::Internal(anyhow::anyhow!("response"))).to_string(),
        ));
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}
