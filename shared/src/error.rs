//! The one error type of the API and its mapping to the contract's error keys.

use lambda_http::http::StatusCode;

/// Everything a request can fail with. `public_message` is what clients see.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 `badRequest`.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// 401 `unauthorized`.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403 `forbidden`.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// 403 `userDisabled`.
    #[error("user disabled")]
    UserDisabled,
    /// 404 `itemNotFound`.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// 405 `badMethod`.
    #[error("method not allowed")]
    BadMethod,
    /// 409 `conflict`.
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// 413 `overLimit`, with a `Retry-After` header.
    #[error("over limit")]
    OverLimit {
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// 415 `badMediaType`.
    #[error("unsupported media type")]
    BadMediaType,
    /// 503 `serviceUnavailable`: a fault of DynamoDB, SNS or KMS. Nothing was lost.
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 500 `identityFault`: a bug. The cause goes to the log only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::UserDisabled => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadMethod => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::OverLimit { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The contract's error key (§6).
    pub fn key(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "badRequest",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::UserDisabled => "userDisabled",
            Self::NotFound(_) => "itemNotFound",
            Self::BadMethod => "badMethod",
            Self::Conflict(_) => "conflict",
            Self::OverLimit { .. } => "overLimit",
            Self::BadMediaType => "badMediaType",
            Self::Unavailable(_) => "serviceUnavailable",
            Self::Internal(_) => "identityFault",
        }
    }

    /// Client-safe message; never the internal cause.
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::BadRequest(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(m) => m,
            Self::UserDisabled => "User is disabled.",
            Self::BadMethod => "Method not allowed for this resource.",
            Self::OverLimit { .. } => "Too many requests. Try again later.",
            Self::BadMediaType => "Request body must be application/json.",
            Self::Unavailable(_) => "Service temporarily unavailable. Try again later.",
            Self::Internal(_) => "Internal error.",
        }
    }

    /// 503 for a fault of an AWS service.
    pub fn unavailable(e: impl Into<anyhow::Error>) -> Self {
        Self::Unavailable(e.into())
    }
}

impl From<crate::store::StoreError> for ApiError {
    /// The one mapping of store failures: a refused request is a bug here (500); a conflict,
    /// a throttle or an outage is a fault there (503, retry later).
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Rejected(cause) => Self::Internal(cause),
            other => Self::Unavailable(anyhow::Error::new(other)),
        }
    }
}

/// Shorthands for common errors.
pub mod errs {
    use super::ApiError;
    /// Caller lacks authority over the target.
    pub const FORBIDDEN: ApiError = ApiError::Forbidden("Not authorized.");
    /// Unknown user.
    pub const NO_USER: ApiError = ApiError::NotFound("User not found.");
    /// The PIN / code answer of the contract.
    pub const BAD_PIN: ApiError =
        ApiError::BadRequest("The PIN provided is either invalid or expired");
}
