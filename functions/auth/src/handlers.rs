use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use nolose_shared::auth::AuthUser;
use nolose_shared::domain::{Email, Password, User, UserName};
use nolose_shared::error::ErrorBody;
use nolose_shared::http::{ApiJson, ApiQuery, OptionalJson};
use nolose_shared::store::{NewUser, StoreError};
use nolose_shared::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::login::{self, TokenResponse};

#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    #[schema(example = "ana@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery")]
    pub password: String,
    #[schema(example = "Ana")]
    pub name: String,
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, Serialize, ToSchema, IntoParams)]
pub struct RenameRequest {
    /// The new display name, 1..=100 characters after trimming.
    pub name: Option<String>,
}

#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = User), (status = 409, description = "email_taken", body = ErrorBody),
        (status = 422, description = "invalid_email, weak_password, invalid_name", body = ErrorBody),
        (status = 503, description = "unavailable: the password hasher is saturated, with Retry-After", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let email = Email::parse(&req.email)?;
    let password = Password::parse(req.password)?;
    let name = UserName::parse(&req.name)?;
    let password_hash = state.passwords.hash(&password).await?;
    let new = NewUser {
        email,
        name,
        password_hash,
        created_at: state.clock.now(),
    };
    match state.store.create_user(new).await {
        Ok(user) => {
            tracing::info!(user_id = %user.id, "user registered");
            Ok((StatusCode::CREATED, Json(user)))
        }
        Err(StoreError::Conflict) => Err(ApiError::Conflict {
            code: "email_taken",
            detail: "An account with this email already exists".into(),
        }),
        Err(other) => Err(other.into()),
    }
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "too_many_attempts, with Retry-After", body = ErrorBody),
        (status = 503, description = "unavailable: the password hasher is saturated, with Retry-After", body = ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    login::run(&state, &req.email, &req.password)
        .await
        .map(Json)
}

#[utoipa::path(get, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = User), (status = 401, body = ErrorBody)))]
pub async fn me(AuthUser(user): AuthUser) -> Json<User> {
    Json(user)
}

/// The frontend sends `?name=` with no body; a JSON body wins when both are given.
#[utoipa::path(put, path = "/api/auth/me", tag = "auth", security(("bearer" = [])),
    params(RenameRequest), request_body(content = Option<RenameRequest>),
    responses((status = 200, body = User), (status = 401, body = ErrorBody),
        (status = 422, description = "invalid_name", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn update_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<RenameRequest>,
    OptionalJson(body): OptionalJson<RenameRequest>,
) -> Result<Json<User>, ApiError> {
    let raw = body.and_then(|b| b.name).or(query.name).unwrap_or_default();
    let name = UserName::parse(&raw)?;
    Ok(Json(state.store.rename_user(user.id, &name).await?))
}
