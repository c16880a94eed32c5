//! Who may post a webhook, checked before anything beyond the envelope's
//! `instance` is read: the instance's own secret in `x-webhook-secret`, or
//! the deployment's global `WEBHOOK_SECRET` as `?token=`. Both compared in
//! constant time. An instance that does not exist has no secret to match,
//! so without the global token it is a 401 (nothing to learn about which
//! instances exist); with the global token it is a 404.

use std::sync::Arc;

use axum::body::{Body, HttpBody};
use axum::http::HeaderMap;
use http_body_util::BodyExt;
use nolose_shared::domain::limits::longer_than;
use nolose_shared::domain::{InstanceName, UserId};
use nolose_shared::evolution::events::{Envelope, parse_envelope};
use nolose_shared::http::WEBHOOK_BODY_LIMIT;
use nolose_shared::{ApiError, AppState};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

pub const SECRET_HEADER: &str = "x-webhook-secret";

/// A webhook `instance` longer than this is a 401 (API.md, Limits).
pub const MAX_INSTANCE_CHARS: usize = 100;

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Reads the body (413 over 4 MiB) into one buffer sized from its
/// `Content-Length`, chunk by chunk: never twice the body in memory at once
/// (collecting the chunks and then joining them would be). Kept as it came:
/// the envelope borrows from it.
pub async fn read_body(mut body: Body) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::PayloadTooLarge {
        limit: WEBHOOK_BODY_LIMIT,
    };
    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    if hint > WEBHOOK_BODY_LIMIT {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(hint);
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| ApiError::BadRequest("webhook body could not be read".into()))?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        if bytes.len() + chunk.len() > WEBHOOK_BODY_LIMIT {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The envelope (400), `data` left unparsed until the caller is authorised.
pub fn envelope(bytes: &[u8]) -> Result<Envelope<'_>, ApiError> {
    parse_envelope(bytes).map_err(|e| ApiError::BadRequest(format!("webhook envelope: {e}").into()))
}

fn unauthorised() -> ApiError {
    ApiError::Unauthorized {
        code: "unauthorized",
        detail: "Invalid webhook secret",
    }
}

/// The secret of the user's instance, if it exists (remembered after the
/// first read: it never changes).
async fn instance_secret(state: &AppState, user: UserId) -> Result<Option<Arc<str>>, ApiError> {
    if let Some(secret) = state.webhook_secrets.get(user) {
        return Ok(Some(secret));
    }
    let instance = state.store.instance_by_user(user).await?;
    Ok(instance.map(|i| state.webhook_secrets.remember(user, &i.webhook_secret)))
}

/// The user whose instance the envelope names, if the caller may post for it.
pub async fn authorise(
    state: &AppState,
    envelope: &Envelope<'_>,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<UserId, ApiError> {
    // No instance has such a name (API.md, Limits), whatever the token.
    if longer_than(&envelope.instance, MAX_INSTANCE_CHARS) {
        return Err(unauthorised());
    }
    let global_ok = match (state.config.webhook_secret.as_ref(), token) {
        (Some(secret), Some(token)) => same(secret.expose_secret(), token),
        _ => false,
    };
    let user = InstanceName::parse(&envelope.instance).and_then(|n| n.user_id());
    let secret = match user {
        Some(user) => instance_secret(state, user).await?,
        None => None,
    };
    let header = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    let own_ok = matches!((&secret, header), (Some(s), Some(h)) if same(s, h));
    match (user, secret) {
        (Some(user), Some(_)) if own_ok || global_ok => Ok(user),
        (_, None) if global_ok => Err(ApiError::NotFound {
            code: "instance_not_found",
            detail: "Unknown instance".into(),
        }),
        _ => Err(unauthorised()),
    }
}
