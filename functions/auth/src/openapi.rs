//! The OpenAPI description of the auth routes.

use utoipa::OpenApi;

use crate::handlers;

#[derive(OpenApi)]
#[openapi(
    paths(handlers::register, handlers::login, handlers::me, handlers::update_me),
    components(schemas(
        nolose_shared::domain::User,
        nolose_shared::error::ErrorBody,
        handlers::RegisterRequest,
        handlers::LoginRequest,
        handlers::RenameRequest,
        crate::login::TokenResponse
    ))
)]
pub struct AuthApi;
