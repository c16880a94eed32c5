//! Who may post a webhook, checked before anything beyond the envelope's
//! `instance` is read: the instance's own secret in `x-webhook-secret`, or
//! the deployment's global `WEBHOOK_SECRET` as `?token=`. Both compared in
//! constant time. An instance that does not exist has no secret to match,
//! so without the global token it is a 401 (nothing to learn about which
//! instances exist); with the global token it is a 404.

use axum::body::Body;
use axum::http::HeaderMap;
use nolose_shared::domain::InstanceName;
use nolose_shared::evolution::events::{Envelope, parse_envelope};
use nolose_shared::http::WEBHOOK_BODY_LIMIT;
use nolose_shared::store::Instance;
use nolose_shared::{ApiError, AppState};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

pub const SECRET_HEADER: &str = "x-webhook-secret";

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Reads the body (413 over 4 MiB) and parses the envelope (400).
pub async fn read_envelope(body: Body) -> Result<Envelope, ApiError> {
    let bytes = axum::body::to_bytes(body, WEBHOOK_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge {
            limit: WEBHOOK_BODY_LIMIT,
        })?;
    parse_envelope(&bytes)
        .map_err(|e| ApiError::BadRequest(format!("webhook envelope: {e}").into()))
}

/// The instance the envelope names, if the caller may post for it.
pub async fn authorise(
    state: &AppState,
    envelope: &Envelope,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<Instance, ApiError> {
    let global_ok = match (state.config.webhook_secret.as_ref(), token) {
        (Some(secret), Some(token)) => same(secret.expose_secret(), token),
        _ => false,
    };
    let instance = match InstanceName::parse(&envelope.instance).and_then(|n| n.user_id()) {
        Some(user) => state.store.instance_by_user(user).await?,
        None => None,
    };
    let header = headers.get(SECRET_HEADER).and_then(|v| v.to_str().ok());
    let own_ok = matches!((&instance, header), (Some(i), Some(h)) if same(&i.webhook_secret, h));
    match instance {
        Some(i) if own_ok || global_ok => Ok(i),
        None if global_ok => Err(ApiError::NotFound {
            code: "instance_not_found",
            detail: "Unknown instance".into(),
        }),
        _ => Err(ApiError::Unauthorized {
            code: "unauthorized",
            detail: "Invalid webhook secret",
        }),
    }
}
