//! The four instance routes of API.md. Evolution is asked, and what it
//! answers goes through the one status machine ([`nolose_shared::connection`])
//! before the stored row is returned, so webhooks and these calls never
//! disagree about what a QR or a `connecting` means.

use axum::Json;
use axum::extract::State;
use nolose_shared::auth::AuthUser;
use nolose_shared::connection::{ConnectionChange, apply, update_instance};
use nolose_shared::domain::{InstanceName, UserId};
use nolose_shared::error::ErrorBody;
use nolose_shared::evolution::EvolutionError;
use nolose_shared::evolution::gateway::{
    Connect, Created, RemoteState, WEBHOOK_EVENTS, WebhookTarget,
};
use nolose_shared::store::{ConnectionStatus, Instance};
use nolose_shared::{ApiError, AppState};

use crate::view::{Disconnected, InstanceStatus, QrCode};

fn instance_not_found() -> ApiError {
    ApiError::NotFound {
        code: "instance_not_found",
        detail: "No WhatsApp instance yet: create one first".into(),
    }
}

/// 32 random bytes as hex: the per-instance webhook secret.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn webhook_target(state: &AppState, instance: &Instance) -> WebhookTarget {
    WebhookTarget {
        url: format!(
            "{}/api/webhook/evolution",
            state.config.public_url.trim_end_matches('/')
        ),
        secret: instance.webhook_secret.clone(),
        events: WEBHOOK_EVENTS.to_vec(),
    }
}

/// Applies `change` to the stored instance and returns the saved row.
async fn record(
    state: &AppState,
    user: UserId,
    change: ConnectionChange,
) -> Result<Instance, ApiError> {
    let now = state.clock.now();
    update_instance(state.store.as_ref(), user, |i| apply(i, &change, now))
        .await?
        .ok_or_else(instance_not_found)
}

fn change_of(connect: &Connect) -> ConnectionChange {
    match connect {
        Connect::Open => ConnectionChange::Open {
            phone_number: None,
            profile_name: None,
        },
        Connect::Qr(qr) => ConnectionChange::Qr {
            base64: qr.base64.clone(),
            pairing_code: qr.pairing_code.clone(),
        },
        Connect::NotReady => ConnectionChange::Connecting,
    }
}

#[utoipa::path(post, path = "/api/evolution/instance/create", tag = "instance", security(("bearer" = [])),
    responses((status = 200, body = InstanceStatus), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<InstanceStatus>, ApiError> {
    let name = InstanceName::for_user(user.id);
    let instance = state
        .store
        .create_instance(user.id, &name, &new_secret(), state.clock.now())
        .await?;
    let target = webhook_target(&state, &instance);
    let first_qr = match state.evolution.create_instance(&name, &target).await? {
        Created::New { qr } => qr,
        Created::AlreadyExists => {
            // A backend whose PUBLIC_URL changed repairs itself here.
            state.evolution.set_webhook(&name, &target).await?;
            None
        }
    };
    let connect = match first_qr {
        Some(qr) => Connect::Qr(qr),
        None => state.evolution.connect(&name).await?,
    };
    let saved = record(&state, user.id, change_of(&connect)).await?;
    Ok(Json(InstanceStatus::from(&saved)))
}

#[utoipa::path(get, path = "/api/evolution/instance/status", tag = "instance", security(("bearer" = [])),
    responses((status = 200, body = InstanceStatus)))]
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn status(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<InstanceStatus>, ApiError> {
    let Some(stored) = state.store.instance_by_user(user.id).await? else {
        return Ok(Json(InstanceStatus::none(user.id)));
    };
    let change = match state.evolution.connection_state(&stored.name).await {
        Ok(RemoteState::Open) => ConnectionChange::Open {
            phone_number: None,
            profile_name: None,
        },
        Ok(RemoteState::Connecting) => ConnectionChange::Connecting,
        Ok(RemoteState::Close) | Err(EvolutionError::InstanceNotFound) => ConnectionChange::Closed,
        Err(e) => {
            // The stored status is the best answer while Evolution cannot give one.
            tracing::warn!(error = %e, "connectionState failed; answering the stored status");
            return Ok(Json(InstanceStatus::from(&stored)));
        }
    };
    let saved = record(&state, user.id, change).await?;
    Ok(Json(InstanceStatus::from(&saved)))
}

#[utoipa::path(get, path = "/api/evolution/instance/qrcode", tag = "instance", security(("bearer" = [])),
    responses((status = 200, body = QrCode),
        (status = 404, description = "instance_not_found", body = ErrorBody),
        (status = 409, description = "already_connected, qr_not_ready", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn qrcode(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<QrCode>, ApiError> {
    let stored = state
        .store
        .instance_by_user(user.id)
        .await?
        .ok_or_else(instance_not_found)?;
    let saved = match state.evolution.connect(&stored.name).await {
        Ok(connect) => record(&state, user.id, change_of(&connect)).await?,
        Err(EvolutionError::InstanceNotFound) => {
            record(&state, user.id, ConnectionChange::Closed).await?;
            return Err(instance_not_found());
        }
        // A QR we already hold is still worth showing while Evolution is away.
        Err(e) if stored.status == ConnectionStatus::Qr && stored.qr_code.is_some() => {
            tracing::warn!(error = %e, "connect failed; answering the stored QR");
            stored
        }
        Err(e) => return Err(e.into()),
    };
    match (saved.status, saved.qr_code) {
        (ConnectionStatus::Connected, _) => Err(ApiError::Conflict {
            code: "already_connected",
            detail: "WhatsApp is already connected".into(),
        }),
        (_, Some(qr_code)) => Ok(Json(QrCode {
            qr_code,
            instance_name: saved.name.to_string(),
            pairing_code: saved.pairing_code,
        })),
        (_, None) => Err(ApiError::Conflict {
            code: "qr_not_ready",
            detail: "The QR code is not ready yet, please retry in a few seconds".into(),
        }),
    }
}

#[utoipa::path(delete, path = "/api/evolution/instance/disconnect", tag = "instance", security(("bearer" = [])),
    responses((status = 200, body = Disconnected), (status = 404, description = "instance_not_found", body = ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %user.id))]
pub async fn disconnect(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Disconnected>, ApiError> {
    let stored = state
        .store
        .instance_by_user(user.id)
        .await?
        .ok_or_else(instance_not_found)?;
    // Evolution's own logout is fire-and-forget (EVOLUTION.md §2.5): a failure
    // there must not keep the user connected here.
    if let Err(e) = state.evolution.logout(&stored.name).await {
        tracing::warn!(error = %e, "Evolution logout failed");
    }
    if let Err(e) = state.evolution.delete_instance(&stored.name).await {
        tracing::warn!(error = %e, "Evolution delete failed");
    }
    record(&state, user.id, ConnectionChange::Closed).await?;
    Ok(Json(Disconnected {
        message: "WhatsApp disconnected".into(),
    }))
}
