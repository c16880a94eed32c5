//! The OpenAPI 3.1 document of every route, generated from the handlers'
//! annotations, at `/api/openapi.json`, and a browsable page at `/docs`.

use axum::Json;
use axum::Router;
use axum::routing::get;
use nolose_shared::AppState;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_scalar::{Scalar, Servable};

#[derive(OpenApi)]
#[openapi(info(
    title = "No Lose API",
    description = "WhatsApp management backend: auth, instance, sync, send, webhook."
))]
struct Base;

/// The merged document of the common routes and every function's routes.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.merge(nolose_shared::http::CommonApi::openapi());
    doc.merge(nolose_auth::openapi::AuthApi::openapi());
    doc.merge(nolose_instance::InstanceApi::openapi());
    doc.merge(nolose_sync::reads::ReadsApi::openapi());
    doc.merge(nolose_send::SendApi::openapi());
    doc.merge(nolose_sync::SyncApi::openapi());
    doc.merge(nolose_webhook::WebhookApi::openapi());
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    doc
}

pub fn routes() -> Router<AppState> {
    let doc = document();
    let json = doc.clone();
    Router::new()
        .route("/api/openapi.json", get(move || async move { Json(json) }))
        .merge(Scalar::with_url("/docs", doc))
}
