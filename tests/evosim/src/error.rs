//! The two error shapes the simulator speaks: Evolution's own envelope
//! (`{status, error, response:{message}}`, EVOLUTION.md §1.3) on the emulated
//! API, and a plain `{"error": "..."}` on the control API, so a test can never
//! mistake a simulator complaint for an Evolution answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answered exactly as Evolution's Express error handler writes it.
#[derive(Debug, Clone)]
pub struct EvoError {
    pub status: StatusCode,
    /// `response.message`: an array for most exceptions, a string for 401 and 500s.
    pub message: Value,
}

impl EvoError {
    fn new(status: StatusCode, message: Value) -> Self {
        Self { status, message }
    }

    /// 400 with `message: ["..."]` (the variadic exception constructors).
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!([msg.into()]))
    }

    /// 400 with an arbitrary single message value (e.g. the `exists:false` object).
    pub fn bad_request_value(value: Value) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!([value]))
    }

    /// 400 from JSON-schema validation: an array nested in an array.
    pub fn schema(messages: Vec<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, json!([messages]))
    }

    /// 401: the only error whose message is a plain string.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, json!("Unauthorized"))
    }

    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, json!([msg.into()]))
    }

    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, json!([msg.into()]))
    }

    /// The guard's answer for an unknown instance name.
    pub fn instance_missing(name: &str) -> Self {
        Self::not_found(format!("The \"{name}\" instance does not exist"))
    }

    /// A thrown JS error (TypeError, Baileys `Boom`): 500 with the message string.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, json!(msg.into()))
    }

    /// Any status with Evolution's generic phrase, used by fault injection.
    pub fn with_status(status: StatusCode) -> Self {
        let phrase = status.canonical_reason().unwrap_or("Error");
        Self::new(status, json!(phrase))
    }

    /// Express' catch-all for a path or method no router handles.
    pub fn no_route(method: &str, path: &str) -> Self {
        Self::not_found(format!("Cannot {method} {path}"))
    }
}

impl IntoResponse for EvoError {
    fn into_response(self) -> Response {
        let phrase = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({
            "status": self.status.as_u16(),
            "error": phrase,
            "response": { "message": self.message },
        });
        (self.status, Json(body)).into_response()
    }
}

/// Why a control operation (HTTP `/_sim/...` or the in-process handle) failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// No instance with that name.
    UnknownInstance(String),
    /// Something else the operation refers to does not exist (message, delivery).
    NotFound(String),
    /// The request makes no sense in the current state (e.g. scanning an `open` instance).
    Conflict(String),
    /// The request itself is malformed.
    Invalid(String),
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownInstance(name) => write!(f, "instance {name:?} does not exist"),
            Self::NotFound(what) | Self::Conflict(what) | Self::Invalid(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for SimError {}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::UnknownInstance(_) | Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}
