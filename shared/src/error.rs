//! [`ApiError`]: the one error type at the HTTP boundary. Each variant knows
//! its status and its `code`; causes are logged, never sent to the client.

use std::borrow::Cow;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::password::HashError;
use crate::domain::ParseError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    #[error("{detail}")]
    Unauthorized {
        code: &'static str,
        detail: &'static str,
    },
    #[error("{detail}")]
    NotFound {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{detail}")]
    Validation {
        code: &'static str,
        detail: Cow<'static, str>,
    },
    #[error("too many attempts, retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("upstream error")]
    Upstream(#[source] anyhow::Error),
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// 503 of our own making: a bounded resource is full, retry shortly.
    #[error("The server is busy, please retry in {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The body of every error response.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    #[schema(example = "human readable sentence")]
    pub detail: String,
    #[schema(example = "snake_case_code")]
    pub code: String,
}

impl ApiError {
    pub fn unauthorized() -> Self {
        Self::Unauthorized {
            code: "unauthorized",
            detail: "Not authenticated",
        }
    }

    pub fn not_found() -> Self {
        Self::NotFound {
            code: "not_found",
            detail: "Not found".into(),
        }
    }

    pub fn validation(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::Validation {
            code: "validation_error",
            detail: detail.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Validation { code, .. } => code,
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::TooManyAttempts { .. } => "too_many_attempts",
            Self::Upstream(_) => "upstream_error",
            Self::Unavailable(_) | Self::Busy { .. } => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// What the client reads: never a cause, an upstream body or a secret.
    fn detail(&self) -> String {
        match self {
            Self::Upstream(_) => "The WhatsApp gateway answered with an error".into(),
            Self::Unavailable(_) => "A backing service is unavailable, please retry".into(),
            Self::Internal(_) => "internal error".into(),
            other => other.to_string(),
        }
    }

    /// The `Retry-After` of the answer, in seconds.
    fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyAttempts { retry_after_secs } | Self::Busy { retry_after_secs } => {
                Some((*retry_after_secs).max(1))
            }
            _ => None,
        }
    }

    fn log(&self) {
        match self {
            Self::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "internal error")
            }
            Self::Unavailable(cause) => tracing::warn!(error = format!("{cause:#}"), "unavailable"),
            Self::Upstream(cause) => tracing::warn!(error = format!("{cause:#}"), "upstream error"),
            _ => {}
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            detail: self.detail(),
            code: self.code().to_owned(),
        };
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        Self::Validation {
            code: e.code,
            detail: e.detail.into(),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::Busy {
                retry_after_secs: 1,
            },
            HashError::Failed(cause) => Self::Internal(cause.context("password hashing")),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict => Self::Conflict {
                code: "conflict",
                detail: "Conflict with the current state".into(),
            },
            StoreError::Unavailable(cause) => Self::Unavailable(cause.context("store")),
            StoreError::Backend(cause) => Self::Internal(cause.context("store")),
        }
    }
}
