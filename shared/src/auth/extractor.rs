//! `AuthUser`: the caller, from `Authorization: Bearer <token>`. A missing,
//! malformed, expired or forged token, or one whose user is gone or inactive,
//! is a 401; a store that cannot answer is a 503.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::domain::User;
use crate::error::ApiError;
use crate::http::AppState;

#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(ApiError::unauthorized)?;
        let user_id = state
            .tokens
            .verify(token)
            .ok_or_else(ApiError::unauthorized)?;
        match state.store.user_by_id(user_id).await? {
            Some(user) if user.is_active => Ok(Self(user)),
            _ => Err(ApiError::unauthorized()),
        }
    }
}
