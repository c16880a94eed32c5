//! [`app`]: the finished router of an entry point. Adds the health routes,
//! JSON 404/405 fallbacks, request ids, tracing, CORS and the body limit, so
//! a Lambda and the local server answer every request the same way.

use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use super::AppState;
use crate::error::ApiError;

/// 1 MiB for client routes (API.md); the webhook raises its own to 4 MiB.
pub const CLIENT_BODY_LIMIT: usize = 1024 * 1024;
pub const WEBHOOK_BODY_LIMIT: usize = 4 * 1024 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `routes` (one function's, or all of them merged in local mode).
pub fn app(routes: Router<AppState>, state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(Any)
        .allow_headers(Any)
        .expose_headers([REQUEST_ID, HeaderName::from_static("retry-after")])
        .max_age(Duration::from_secs(600));
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
        let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
        // The path only: query strings may carry a name or a token.
        tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
    });
    routes
        .route("/api/health", get(health))
        .route("/api/health/ready", get(ready))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(CLIENT_BODY_LIMIT))
        .with_state(state)
        .layer(cors)
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses((status = 200, description = "`{\"status\":\"ok\"}`")))]
pub async fn health() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the store answers (and, in local mode, the job queue answers
/// and the sync worker runs).
#[utoipa::path(get, path = "/api/health/ready", tag = "health",
    responses((status = 200, description = "every check answered"), (status = 503, description = "a check failed")))]
pub async fn ready(State(state): State<AppState>) -> impl IntoResponse {
    let mut checks = serde_json::Map::new();
    let store_ok = state.store.ping().await.is_ok();
    checks.insert("store".into(), status_word(store_ok).into());
    let mut all_ok = store_ok;
    for (name, check) in state.readiness.iter() {
        let ok = check().await;
        all_ok &= ok;
        checks.insert((*name).into(), status_word(ok).into());
    }
    let code = if all_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({ "status": status_word(all_ok), "checks": checks })),
    )
}

fn status_word(ok: bool) -> &'static str {
    if ok { "ok" } else { "unavailable" }
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The OpenAPI description of the routes every function answers.
#[derive(utoipa::OpenApi)]
#[openapi(paths(health, ready), components(schemas(crate::error::ErrorBody)))]
pub struct CommonApi;
