//! `POST /api/evolution/send/text` (API.md, Sending): parse at the edge,
//! then one send — under its idempotency key when the client gave one.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use nolose_shared::auth::AuthUser;
use nolose_shared::error::ErrorBody;
use nolose_shared::http::ApiJson;
use nolose_shared::{ApiError, AppState};

use crate::deliver::deliver;
use crate::idempotent::{Patience, send_once};
use crate::request::{SendText, SendTextBody, SendTextResponse};

#[utoipa::path(post, path = "/api/evolution/send/text", tag = "send", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1..=128 characters, scoped to the user: a repeat within 24 hours replays the first success")),
    request_body = SendTextBody,
    responses((status = 200, body = SendTextResponse),
        (status = 409, description = "not_connected, idempotency_key_reused, request_in_progress", body = ErrorBody),
        (status = 422, description = "invalid_phone_number, invalid_text, idempotency_key_mismatch, not_on_whatsapp", body = ErrorBody),
        (status = 502, description = "Evolution answered with an error", body = ErrorBody),
        (status = 503, description = "Evolution or the store is unreachable or timed out", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.id, to = tracing::field::Empty))]
pub async fn send_text(
    State(state): State<AppState>,
    Extension(patience): Extension<Patience>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SendTextBody>,
) -> Result<Json<SendTextResponse>, ApiError> {
    let mut request = SendText::parse(&headers, body)?;
    tracing::Span::current().record("to", request.recipient.masked());
    let sent = match request.key.take() {
        Some(key) => send_once(&state, patience, user.id, key, request).await?,
        None => deliver(&state, user.id, &request).await?,
    };
    Ok(Json(sent))
}
