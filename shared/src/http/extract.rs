//! Body and query extractors whose rejections speak API.md: wrong content
//! type or malformed JSON → 400, a body over the limit → 413, a field of the
//! wrong shape → 422 naming it. All as `{"detail","code"}`.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body that must be present.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// A JSON body that may be absent: an empty body (whatever its content type,
/// the frontend sends `application/json` with nothing) is `None`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

/// Query parameters; a bad one is a 422 naming it.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match OptionalJson::<T>::from_request(req, state).await?.0 {
            Some(value) => Ok(Self(value)),
            None => Err(ApiError::BadRequest(
                "request body: a JSON object is required".into(),
            )),
        }
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type_ok = json_or_absent(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: super::CLIENT_BODY_LIMIT,
                }
            } else {
                ApiError::BadRequest("request body could not be read".into())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if !content_type_ok {
            return Err(ApiError::BadRequest(
                "Content-Type must be application/json".into(),
            ));
        }
        parse(&bytes).map(|v| Self(Some(v)))
    }
}

fn json_or_absent(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Syntax errors and nesting beyond 128 levels are the client's malformed
/// JSON (400); data errors are a field of the wrong shape (422, naming the
/// field as serde names it).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if super::too_deep(bytes) {
        return Err(ApiError::BadRequest(
            "request body nests deeper than 128 levels".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::validation(strip_position(&e.to_string())),
            Category::Syntax | Category::Eof | Category::Io => {
                ApiError::BadRequest("request body is not valid JSON".into())
            }
        }
    })
}

/// serde_json appends " at line 1 column 17"; the client does not need it.
fn strip_position(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| ApiError::validation(format!("query: {}", e.body_text())))
    }
}
