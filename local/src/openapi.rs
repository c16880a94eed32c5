//! The OpenAPI 3.1 document of every route, generated from the handlers'
//! annotations, at `/api/openapi.json`, and a browsable page at `/docs`.

use axum::Json;
use axum::Router;
use axum::routing::get;
use nolose_shared::AppState;
use utoipa::OpenApi;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Response, ResponseBuilder};
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
    document_local_limits(&mut doc);
    doc
}

/// What the local server answers on every route besides each handler's own
/// statuses (API.md "Limits and hostile input"): 503 with `Retry-After`
/// beyond `MAX_IN_FLIGHT`, and 400 for a body nested deeper than 128 levels.
fn document_local_limits(doc: &mut utoipa::openapi::OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            if operation.request_body.is_some() {
                responses.entry("400".into()).or_insert_with(|| {
                    error_response("bad_request: not JSON, or nested deeper than 128 levels")
                });
            }
            responses.entry("503".into()).or_insert_with(|| {
                error_response("unavailable: more than MAX_IN_FLIGHT requests in flight (local mode), with Retry-After: 1")
            });
        }
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build(),
    )
}

pub fn routes() -> Router<AppState> {
    let doc = document();
    let json = doc.clone();
    Router::new()
        .route("/api/openapi.json", get(move || async move { Json(json) }))
        .merge(Scalar::with_url("/docs", doc))
}
