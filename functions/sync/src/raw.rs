//! The two debug views of the frontend: Evolution's own `findChats` and
//! `findMessages` answers for the caller's instance, passed through.

use axum::Json;
use axum::extract::State;
use nolose_shared::auth::AuthUser;
use nolose_shared::error::ErrorBody;
use nolose_shared::http::OptionalJson;
use nolose_shared::{ApiError, AppState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::sync::connected;

#[derive(Serialize, ToSchema)]
pub struct Raw {
    #[schema(value_type = Object)]
    pub raw: Value,
}

#[utoipa::path(get, path = "/api/evolution/chats/raw", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = Raw), (status = 409, description = "not_connected", body = ErrorBody)))]
pub async fn chats_raw(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Raw>, ApiError> {
    let instance = connected(&state, user.id).await?;
    let chats = state.evolution.find_chats(&instance.name).await?;
    Ok(Json(Raw {
        raw: Value::Array(chats),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RawMessagesRequest {
    pub remote_jid: String,
    pub limit: Option<u32>,
}

#[utoipa::path(post, path = "/api/evolution/chats/messages/raw", tag = "sync", security(("bearer" = [])),
    request_body = RawMessagesRequest,
    responses((status = 200, body = Raw), (status = 409, description = "not_connected", body = ErrorBody)))]
pub async fn messages_raw(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    OptionalJson(body): OptionalJson<RawMessagesRequest>,
) -> Result<Json<Raw>, ApiError> {
    let instance = connected(&state, user.id).await?;
    let body = body.ok_or_else(|| ApiError::validation("remote_jid: is required"))?;
    let limit = body.limit.unwrap_or(50).clamp(1, 500);
    let page = state
        .evolution
        .find_messages(&instance.name, &body.remote_jid, 1, limit)
        .await?;
    Ok(Json(Raw { raw: page.raw }))
}
