//! The local server's bound on requests in flight (API.md, Limits): one
//! semaphore shared by every route; a request that finds it exhausted is
//! answered 503 `unavailable` with `Retry-After: 1` at once — shed, never
//! queued, so overload cannot grow memory or latency without bound.

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;

use crate::error::ApiError;

/// Wraps the finished `router`: at most `max` requests are handled at once.
pub fn limit_in_flight(router: Router, max: usize) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                saturated()
            }))
            .layer(LoadShedLayer::new())
            .layer(GlobalConcurrencyLimitLayer::new(max)),
    )
}

/// The same 503 + `Retry-After` as a saturated password hasher: one
/// mapping in `ApiError`, not a header set by hand here.
fn saturated() -> Response {
    ApiError::Busy {
        retry_after_secs: 1,
    }
    .into_response()
}
