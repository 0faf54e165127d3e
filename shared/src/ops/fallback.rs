//! The `$default` route: unknown paths get `404 itemNotFound`, known paths with a wrong
//! method `405 badMethod`, both in the contract's JSON shape.

use crate::error::ApiError;
use crate::http::{Reply, respond};
use crate::routes::{self, Match};
use lambda_http::{Body, Request, RequestExt, Response};

/// Answers any request no operation owns.
pub fn handle(req: &Request) -> Response<Body> {
    let raw = req.raw_http_path();
    let path = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    let err = match routes::find(req.method().as_str(), path) {
        Match::WrongMethod => ApiError::BadMethod,
        Match::NotFound | Match::Found(..) => ApiError::NotFound("Resource not found."),
    };
    respond(Err::<Reply, _>(err))
}
